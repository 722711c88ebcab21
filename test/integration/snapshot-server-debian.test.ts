/**
 * The real thing, kept small: debian-security (bookworm-security main amd64,
 * ~0.6 MB of indices) mirrored from deb.debian.org with Debian's archive key,
 * served on 127.0.0.1, a real .deb fetched through it, and apt-get itself
 * accepting the served snapshot — and rejecting it once a stored index or the
 * InRelease is tampered with.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { mirrorSnapshots, type MirrorResult } from '../../src/app/snapshot-mirror.js';
import { startSnapshotServer, type RunningSnapshotServer } from '../../src/app/snapshot-server.js';
import { parsePackagesIndex } from '../../src/core/apt-index.js';
import { sha256 } from '../helpers/fake-debian-mirror.js';
import { makeTempDir } from '../helpers/git-repo.js';
import { projectWith, testDeps, type TestDeps } from '../helpers/snapshot-store-deps.js';

const SUITE = 'bookworm-security';
const PACKAGES_XZ = `dists/${SUITE}/main/binary-amd64/Packages.xz`;

/**
 * `apt-get update` in an isolated root against `base` (a served snapshot URL);
 * exit code and output. Asynchronous: the server answers from this process.
 */
async function aptUpdate(base: string): Promise<{ code: number | null; output: string }> {
  const root = makeTempDir('tb-apt-');
  for (const dir of ['etc/apt/sources.list.d', 'etc/apt/apt.conf.d', 'etc/apt/preferences.d', 'state/lists/partial', 'cache/archives/partial']) mkdirSync(join(root, dir), { recursive: true });
  writeFileSync(join(root, 'etc/apt/sources.list'), `deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${base} ${SUITE} main\n`);
  const opts = [
    `Dir::Etc=${join(root, 'etc/apt')}`,
    `Dir::State=${join(root, 'state')}`,
    `Dir::Cache=${join(root, 'cache')}`,
    'Dir::State::status=/dev/null',
    'Acquire::Check-Valid-Until=false',
    'Acquire::Languages=none',
    'APT::Sandbox::User=root',
    'Debug::NoLocking=1',
  ].flatMap((o) => ['-o', o]);
  const child = spawn('apt-get', ['update', ...opts], { env: { ...process.env, LANG: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  return { code, output };
}

describe('snapshot store against deb.debian.org (debian-security)', () => {
  let store: string;
  let deps: TestDeps;
  let result: MirrorResult;
  let server: RunningSnapshotServer;

  before(async () => {
    store = makeTempDir('tb-store-');
    deps = testDeps({ now: () => new Date(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) });
    const project = projectWith(makeTempDir(), { 'debian-security': { upstream: 'http://deb.debian.org/debian-security/', suites: [SUITE] } });
    const [mirrored] = await mirrorSnapshots(deps, project, { store, archives: ['debian-security'] });
    assert.ok(mirrored !== undefined);
    result = mirrored;
    server = await startSnapshotServer(deps, { store });
  });
  after(async () => {
    await server.close();
  });

  it('captures the signed InRelease and Packages.xz unmodified, under a YYYYMMDDNN serial', () => {
    assert.match(result.serial, /^\d{10}$/);
    const dir = join(store, 'debian-security', result.serial);
    const inRelease = readFileSync(join(dir, `dists/${SUITE}/InRelease`));
    assert.ok(inRelease.toString('latin1').startsWith('-----BEGIN PGP SIGNED MESSAGE-----'));
    assert.equal(sha256(inRelease), result.inReleaseSha256[SUITE]);
    const listed = new RegExp(`^ ${sha256(readFileSync(join(dir, PACKAGES_XZ)))}\\s+\\d+ main/binary-amd64/Packages\\.xz$`, 'm');
    assert.match(inRelease.toString('utf8'), listed);
  });

  it('serves a real .deb, verified against the snapshot, stored once, then from the store', async () => {
    const text = execFileSync('xz', ['-dc', join(store, 'debian-security', result.serial, PACKAGES_XZ)], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const smallest = parsePackagesIndex(text).sort((a, b) => a.size - b.size)[0];
    assert.ok(smallest !== undefined);
    const url = `${server.url}debian-security/${result.serial}/${smallest.filename}`;
    const first = Buffer.from(await (await fetch(url)).arrayBuffer());
    assert.equal(first.length, smallest.size);
    assert.equal(sha256(first), smallest.sha256);
    assert.equal(sha256(readFileSync(join(store, 'debian-security', smallest.filename))), smallest.sha256);
    const second = Buffer.from(await (await fetch(url)).arrayBuffer());
    assert.deepEqual(second, first);
    await new Promise((r) => setTimeout(r, 50));
    const log = deps.log.filter((l) => l.includes(smallest.filename));
    assert.deepEqual(log.map((l) => l.split(' ').at(-1)), ['fetched', 'store']);
  });

  it('apt-get update accepts the served snapshot (signature and hashes checked by apt)', async () => {
    const res = await aptUpdate(`${server.url}debian-security/${result.serial}/`);
    assert.equal(res.code, 0, res.output);
    assert.doesNotMatch(res.output, /^(W|E):/m, res.output);
  });

  it('apt-get update fails on a tampered index and on a tampered InRelease', async () => {
    for (const [what, file, pattern] of [
      ['index', PACKAGES_XZ, /Hash Sum mismatch|unexpected size|Hashes of expected file/],
      ['InRelease', `dists/${SUITE}/InRelease`, /signature|NO_PUBKEY|BADSIG|not signed/i],
    ] as const) {
      const copy = makeTempDir('tb-store-tampered-');
      cpSync(store, copy, { recursive: true });
      const path = join(copy, 'debian-security', result.serial, file);
      const data = readFileSync(path);
      const at = what === 'InRelease' ? data.indexOf('Description:') + 'Description: '.length : data.length >> 1;
      data[at] = (data[at] ?? 0) ^ 0x01;
      writeFileSync(path, data);
      const tampered = await startSnapshotServer(testDeps(), { store: copy });
      try {
        const res = await aptUpdate(`${tampered.url}debian-security/${result.serial}/`);
        assert.notEqual(res.code === 0 && !/^(W|E):/m.test(res.output), true, `apt accepted a tampered ${what}:\n${res.output}`);
        assert.match(res.output, pattern, res.output);
      } finally {
        await tampered.close();
      }
    }
  });
});
