/**
 * `tails-build snapshots mirror|serve` end to end: the built binary, a real
 * git checkout, a fake signed upstream; the serial tools (get-latest, freeze)
 * against our own server, freeze recording SHA256SUMS.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MAIN, runTailsBuild } from '../helpers/cli.js';
import { buildSuite, createTestKey, sha256, startFakeMirror, type FakeMirror, type TestKey } from '../helpers/fake-debian-mirror.js';
import { createTempRepo, makeTempDir, type TempRepo } from '../helpers/git-repo.js';
import { createTeardown } from '../helpers/teardown.js';

const BUILDER = 'definitions/builder/APT_snapshots.d';

function today(): string {
  return new Date().toISOString().slice(0, 10).replaceAll('-', '');
}

function project(upstream: string): TempRepo {
  const repo = createTempRepo();
  repo.write({
    'tails-build.json': JSON.stringify({ snapshots: { archives: { debian: { upstream, suite: 'testing', suites: ['testing'] } } } }),
    [`${BUILDER}/debian/serial`]: '2024090201\n',
    'definitions/iso/APT_snapshots.d/debian/serial': 'latest\n',
  });
  repo.commit('init', '2026-11-01T12:00:00Z');
  return repo;
}

describe('tails-build snapshots mirror|serve', () => {
  let key: TestKey;
  let mirror: FakeMirror;
  const teardown = createTeardown();
  before(async () => {
    key = createTestKey();
    teardown.push(() => {
      key.remove();
    });
    mirror = await startFakeMirror('debian', buildSuite(key, 'testing', [{ name: 'hello', version: '1.0-1', content: Buffer.from('hello\n') }]));
    teardown.push(() => mirror.close());
  });
  after(() => teardown.run());

  it('mirror prints "archive: serial", reuses it when upstream is unchanged, and --json describes it', async () => {
    const repo = project(mirror.url);
    const store = makeTempDir('tb-store-');
    const args = ['snapshots', 'mirror', '--store', store, '--keyring', key.keyring];
    const first = await runTailsBuild(args, { cwd: repo.root });
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, `debian: ${today()}01\n`);
    const json = await runTailsBuild(['--json', ...args], { cwd: repo.root });
    assert.equal(json.code, 0, json.stderr);
    const doc = JSON.parse(json.stdout) as Record<string, { serial: string; reused: boolean; inRelease: Record<string, string> }>;
    assert.equal(doc.debian?.serial, `${today()}01`);
    assert.equal(doc.debian.reused, true);
    assert.equal(doc.debian.inRelease.testing, sha256(mirror.files.get('dists/testing/InRelease')!));
    assert.match(json.stderr, /upstream unchanged since serial \d{10}; reusing it/);
  });

  it('mirror fails with exit 4 and says why when the signature does not verify', async () => {
    const repo = project(mirror.url);
    const res = await runTailsBuild(['snapshots', 'mirror', '--store', makeTempDir('tb-store-')], { cwd: repo.root });
    assert.equal(res.code, 4, res.stderr);
    assert.match(res.stderr, /signature does not verify against \/usr\/share\/keyrings\/debian-archive-keyring\.gpg/);
  });

  it('serve answers the serial tools (get-latest, freeze records SHA256SUMS) and exits 0 on SIGTERM', async () => {
    const repo = project(mirror.url);
    const store = makeTempDir('tb-store-');
    const mirrored = await runTailsBuild(['snapshots', 'mirror', '--store', store, '--keyring', key.keyring], { cwd: repo.root });
    assert.equal(mirrored.code, 0, mirrored.stderr);
    const serial = mirrored.stdout.trim().split(' ')[1] ?? '';

    const child = spawn(process.execPath, [MAIN, 'snapshots', 'serve', '--store', store, '--listen', '127.0.0.1:0'], { cwd: repo.root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      for (let i = 0; i < 200 && !stdout.includes('\n'); i++) await new Promise((r) => setTimeout(r, 25));
      const url = stdout.trim();
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/, stderr);

      const latest = await runTailsBuild(['snapshots', 'get-latest', '--base-url', url, 'debian'], { cwd: repo.root });
      assert.equal(latest.stdout, `debian: ${serial}\n`, latest.stderr);
      const frozen = await runTailsBuild(['snapshots', 'freeze', '--set', 'builder', '--base-url', url], { cwd: repo.root });
      assert.equal(frozen.code, 0, frozen.stderr);
      assert.equal(readFileSync(join(repo.root, BUILDER, 'debian/serial'), 'utf8'), `${serial}\n`);
      assert.equal(
        readFileSync(join(repo.root, BUILDER, 'debian/SHA256SUMS'), 'utf8'),
        `${sha256(mirror.files.get('dists/testing/InRelease')!)}  dists/testing/InRelease\n`,
      );
      assert.match(frozen.stderr, new RegExp(`git commit .*${BUILDER}/debian/serial ${BUILDER}/debian/SHA256SUMS`));

      const pool = await fetch(`${url}debian/${serial}/pool/main/h/hello/hello_1.0-1_amd64.deb`);
      assert.equal(await pool.text(), 'hello\n');
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, stderr);
    assert.match(stderr, /^200 GET \/debian\/project\/trace\/debian \d+ store$/m);
    assert.match(stderr, /SIGTERM: closing the snapshot server/);
    assert.ok(existsSync(join(store, 'debian/pool/main/h/hello/hello_1.0-1_amd64.deb')));
  });

  it('serve closes on SIGHUP (a closed terminal, an aborted Jenkins job) as on SIGTERM; it used to die without cleaning up', async () => {
    const repo = project(mirror.url);
    const child = spawn(process.execPath, [MAIN, 'snapshots', 'serve', '--store', makeTempDir('tb-store-'), '--listen', '127.0.0.1:0'], { cwd: repo.root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<[number | null, string | null]>((resolve) => child.on('close', (code, signal) => { resolve([code, signal]); }));
    for (let i = 0; i < 200 && !stdout.includes('\n'); i++) await new Promise((r) => setTimeout(r, 25));
    assert.match(stdout, /^http:\/\/127\.0\.0\.1:\d+\/$/m, stderr);
    child.kill('SIGHUP');
    assert.deepEqual(await exited, [0, null], stderr);
    assert.match(stderr, /SIGHUP: closing the snapshot server/);
  });

  it('serve refuses a malformed --listen (exit 2)', async () => {
    const repo = project(mirror.url);
    const res = await runTailsBuild(['snapshots', 'serve', '--store', makeTempDir(), '--listen', 'nope'], { cwd: repo.root });
    assert.equal(res.code, 2);
    assert.match(res.stderr, /--listen must be HOST:PORT/);
  });
});
