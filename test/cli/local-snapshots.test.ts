/**
 * Serial tools against a project whose snapshot base URL is on loopback: the
 * local store is served for the command when nothing answers there, an
 * answering server is used, and a port held by something else is refused.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { MAIN, runTailsBuild } from '../helpers/cli.js';
import { createTempRepo, makeTempDir, type TempRepo } from '../helpers/git-repo.js';

const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups) c();
});

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

async function setup(): Promise<{ repo: TempRepo; cache: string; port: number }> {
  const port = await freePort();
  const repo = createTempRepo();
  const cache = makeTempDir('tb-cache-');
  cleanups.push(() => {
    repo.remove();
    rmSync(cache, { recursive: true, force: true });
  });
  repo.write({
    'definitions/builder/APT_snapshots.d/debian/serial': '2026010101\n',
    'definitions/iso/APT_snapshots.d/debian/serial': 'latest\n',
    'tails-build.json': JSON.stringify({ snapshots: { baseUrl: `http://127.0.0.1:${port}/` } }),
  });
  repo.commit('init', '2026-01-01T00:00:00Z');
  const trace = join(cache, 'snapshots/debian/project/trace');
  mkdirSync(trace, { recursive: true });
  writeFileSync(join(trace, 'debian'), 'Date: Thu, 01 Jan 2026 00:00:00 +0000\nArchive serial: 2026010103\n');
  return { repo, cache, port };
}

describe('serial tools and the local snapshot store', () => {
  it('serve the store themselves when nothing answers at the project’s loopback base URL', async () => {
    const { repo, cache } = await setup();
    const res = await runTailsBuild(['snapshots', 'get-latest', 'debian'], { cwd: repo.root, env: { TAILS_BUILD_CACHE: cache } });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, 'debian: 2026010103\n');
  });

  it('use a snapshot server that already answers there', async () => {
    const { repo, cache, port } = await setup();
    const server = spawn(process.execPath, [MAIN, 'snapshots', 'serve', '--store', join(cache, 'snapshots'), '--listen', `127.0.0.1:${port}`], {
      cwd: repo.root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    server.stderr.setEncoding('utf8').on('data', (d: string) => (log += d));
    await once(server.stdout, 'data');
    try {
      const res = await runTailsBuild(['snapshots', 'get-latest', 'debian'], { cwd: repo.root, env: { TAILS_BUILD_CACHE: cache } });
      assert.equal(res.code, 0, res.stderr);
      assert.equal(res.stdout, 'debian: 2026010103\n');
      assert.match(log, /200 GET \/debian\/project\/trace\/debian/);
    } finally {
      server.kill('SIGTERM');
      await once(server, 'exit');
    }
  });

  it('refuse a port held by something that is not a snapshot server', async () => {
    const { repo, cache, port } = await setup();
    const squatter = createServer((socket) => socket.destroy());
    squatter.listen(port, '127.0.0.1');
    await once(squatter, 'listening');
    try {
      const res = await runTailsBuild(['snapshots', 'get-latest', 'debian'], {
        cwd: repo.root,
        env: { TAILS_BUILD_CACHE: cache, TAILS_BUILD_HTTP_RETRIES: '0' },
      });
      assert.notEqual(res.code, 0, res.stdout);
      assert.match(res.stderr, new RegExp(`Something other than a tails-build snapshot server listens at http://127\\.0\\.0\\.1:${port}/`), JSON.stringify(res));
    } finally {
      squatter.close();
    }
  });

  it('leave an explicit --base-url alone (no local server behind it)', async () => {
    const { repo, cache } = await setup();
    const closed = await freePort();
    const res = await runTailsBuild(['snapshots', 'get-latest', 'debian', '--base-url', `http://127.0.0.1:${closed}/`], {
      cwd: repo.root,
      env: { TAILS_BUILD_CACHE: cache, TAILS_BUILD_HTTP_RETRIES: '0' },
    });
    assert.equal(res.code, 4);
    assert.match(res.stderr, /ECONNREFUSED/);
  });
});
