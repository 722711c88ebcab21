/**
 * `snapshots serve` for build VMs whose network lives in a namespace (as on
 * CI hosts): a relay inside the namespace reaches the host's server through a
 * unix socket. Checked from inside the namespace with curl, as a VM would.
 * Needs the namespace bootstrap.sh creates; missing, the test fails.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { MAIN } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/git-repo.js';

const NETNS = process.env.TAILS_BUILD_NETNS ?? 'tbns';
const GUEST_PORT = '8470';
const cache = makeTempDir('tb-serve-netns-');
after(() => {
  rmSync(cache, { recursive: true, force: true });
});

function relaysInNetns(): string[] {
  const pids = execFileSync('ip', ['netns', 'pids', NETNS], { encoding: 'utf8' }).split('\n').filter((p) => p !== '');
  if (pids.length === 0) return [];
  const ps = spawnSync('ps', ['-o', 'args=', '-p', pids.join(',')], { encoding: 'utf8' });
  return ps.stdout.split('\n').filter((l) => l.includes('snapshots relay') && l.includes(cache));
}

describe('snapshots serve --netns', () => {
  it('is reachable from inside the namespace through the relay, which stops with serve', async () => {
    assert.ok(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).includes(NETNS), `network namespace ${NETNS} missing: run bash provision/host/bootstrap.sh setup`);
    const trace = join(cache, 'snapshots/debian/project/trace');
    mkdirSync(trace, { recursive: true });
    writeFileSync(join(trace, 'debian'), 'Archive serial: 2026010199\n');
    const serve = spawn(process.execPath, [MAIN, 'snapshots', 'serve', '--listen', '127.0.0.1:0', '--netns', NETNS], {
      cwd: cache,
      env: { ...process.env, TAILS_BUILD_CACHE: cache },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    serve.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const [first] = (await once(serve.stdout, 'data')) as [Buffer];
    assert.match(first.toString(), /^http:\/\/127\.0\.0\.1:\d+\/\n$/, stderr);
    try {
      assert.match(stderr, new RegExp(`Build VMs reach it at http://<any address in netns ${NETNS}>:${GUEST_PORT}/`));
      const curl = spawnSync('ip', ['netns', 'exec', NETNS, 'curl', '-sf', '-m', '10', `http://127.0.0.1:${GUEST_PORT}/debian/project/trace/debian`], { encoding: 'utf8' });
      assert.equal(curl.status, 0, curl.stderr);
      assert.equal(curl.stdout, 'Archive serial: 2026010199\n');
      assert.equal(relaysInNetns().length, 1);
      // The host namespace did not get the guest port.
      const hostSide = spawnSync('curl', ['-sf', '-m', '3', `http://127.0.0.1:${GUEST_PORT}/debian/project/trace/debian`], { encoding: 'utf8' });
      assert.notEqual(hostSide.stdout, 'Archive serial: 2026010199\n');
    } finally {
      serve.kill('SIGINT');
      await once(serve, 'exit');
    }
    assert.deepEqual(relaysInNetns(), []);
    assert.deepEqual(readdirSync(join(cache, 'run')), [], 'the unix socket was left behind');
  });

  it('a serve killed outright (SIGKILL) leaves no relay behind: the relay sees its stdin end and stops', async () => {
    const serve = spawn(process.execPath, [MAIN, 'snapshots', 'serve', '--listen', '127.0.0.1:0', '--netns', NETNS], {
      cwd: cache,
      env: { ...process.env, TAILS_BUILD_CACHE: cache },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await once(serve.stdout, 'data');
    for (let i = 0; i < 50 && relaysInNetns().length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(relaysInNetns().length, 1);
    serve.kill('SIGKILL');
    await once(serve, 'exit');
    for (let i = 0; i < 50 && relaysInNetns().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(relaysInNetns(), [], 'the relay outlived the serve that started it');
  });
});
