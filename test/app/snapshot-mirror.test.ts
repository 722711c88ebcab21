/**
 * mirrorSnapshots and ensureSnapshots against a fake upstream on 127.0.0.1
 * whose InRelease files are really signed (a throwaway key), with real gpgv,
 * real files and real HTTP.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { mirrorSnapshots } from '../../src/app/snapshot-mirror.js';
import { ensureSnapshots } from '../../src/app/snapshot-ensure.js';
import { UserError } from '../../src/core/errors.js';
import { buildSuite, createTestKey, sha256, startFakeMirror, type FakeMirror, type TestKey } from '../helpers/fake-debian-mirror.js';
import { makeTempDir } from '../helpers/git-repo.js';
import { closedPort } from '../helpers/snapshot-server.js';
import { fixedClock, projectWith, testDeps } from '../helpers/snapshot-store-deps.js';
import { createTeardown } from '../helpers/teardown.js';

const PKGS = [
  { name: 'hello', version: '1.0-1', content: Buffer.from('hello deb bytes\n') },
  { name: 'world', version: '2.0-1', content: Buffer.from('world deb bytes, a little longer\n') },
];

function rejectsWith(code: string, pattern?: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof UserError, String(error));
    assert.equal(error.code, code, error.message);
    if (pattern !== undefined) assert.match(`${error.message}\n${error.hint ?? ''}`, pattern);
    return true;
  };
}

describe('snapshots mirror (fake upstream, real gpgv)', () => {
  let key: TestKey;
  let mirror: FakeMirror;
  const teardown = createTeardown();
  before(async () => {
    key = createTestKey();
    teardown.push(() => {
      key.remove();
    });
    mirror = await startFakeMirror('debian', buildSuite(key, 'testing', PKGS));
    teardown.push(() => mirror.close());
  });
  after(() => teardown.run());

  it('takes serial YYYYMMDD01, stores InRelease and indices byte for byte, writes the trace; unchanged upstream reuses it; --new takes the next', async () => {
    const store = makeTempDir('tb-store-');
    const project = projectWith(makeTempDir(), { debian: { upstream: mirror.url, suites: ['testing'] } });
    const deps = testDeps();
    const [first] = await mirrorSnapshots(deps, project, { store, archives: ['debian'], keyring: key.keyring });
    assert.equal(first?.serial, '2026112101');
    assert.equal(first.reused, false);
    const dists = join(store, 'debian/2026112101/dists/testing');
    assert.deepEqual(readFileSync(join(dists, 'InRelease')), mirror.files.get('dists/testing/InRelease'));
    assert.deepEqual(readFileSync(join(dists, 'main/binary-amd64/Packages.gz')), mirror.files.get('dists/testing/main/binary-amd64/Packages.gz'));
    assert.match(readFileSync(join(store, 'debian/project/trace/debian'), 'utf8'), /^Archive serial: 2026112101$/m);
    assert.equal(first.inReleaseSha256.testing, sha256(mirror.files.get('dists/testing/InRelease')!));
    assert.deepEqual(readdirSync(join(store, 'debian')).sort(), ['2026112101', 'project'], 'no staging dir left');

    const [again] = await mirrorSnapshots(deps, project, { store, archives: ['debian'], keyring: key.keyring });
    assert.deepEqual({ serial: again?.serial, reused: again?.reused }, { serial: '2026112101', reused: true });
    assert.ok(deps.log.some((l) => l.includes('reusing it')));

    const [forced] = await mirrorSnapshots(deps, project, { store, archives: ['debian'], keyring: key.keyring, forceNew: true });
    assert.deepEqual({ serial: forced?.serial, reused: forced?.reused }, { serial: '2026112102', reused: false });
    assert.match(readFileSync(join(store, 'debian/project/trace/debian'), 'utf8'), /^Archive serial: 2026112102$/m);
  });

  it('refuses an InRelease whose signature gpgv does not accept, and stores nothing', async () => {
    const other = createTestKey();
    try {
      const store = makeTempDir('tb-store-');
      const project = projectWith(makeTempDir(), { debian: { upstream: mirror.url, suites: ['testing'] } });
      await assert.rejects(mirrorSnapshots(testDeps(), project, { store, archives: ['debian'], keyring: other.keyring }), rejectsWith('upstream-signature-invalid', /gpgv|keyring/));
      assert.equal(existsSync(join(store, 'debian/2026112101')), false);
    } finally {
      other.remove();
    }
  });

  it('refuses an index whose bytes do not match the InRelease, leaving no serial and no staging dir', async () => {
    const files = buildSuite(key, 'testing', PKGS);
    for (const [path, data] of files) if (path.includes('binary-amd64/') && path.endsWith('.gz') || path.includes('/by-hash/')) files.set(path, Buffer.concat([data, Buffer.from('x')]));
    const bad = await startFakeMirror('debian', files);
    try {
      const store = makeTempDir('tb-store-');
      const project = projectWith(makeTempDir(), { debian: { upstream: bad.url, suites: ['testing'] } });
      await assert.rejects(mirrorSnapshots(testDeps(), project, { store, archives: ['debian'], keyring: key.keyring }), rejectsWith('download-integrity', /Nothing was stored/));
      assert.deepEqual(readdirSync(join(store, 'debian')), []);
    } finally {
      await bad.close();
    }
  });

  it('says which URL cannot be reached when upstream is down', async () => {
    const port = await closedPort();
    const project = projectWith(makeTempDir(), { debian: { upstream: `http://127.0.0.1:${port}/debian/`, suites: ['testing'] } });
    await assert.rejects(
      mirrorSnapshots(testDeps(), project, { store: makeTempDir('tb-store-'), archives: ['debian'], keyring: key.keyring }),
      rejectsWith('network', new RegExp(`127\\.0\\.0\\.1:${port}/debian/dists/testing/InRelease`)),
    );
  });

  it('refuses an archive without an upstream', async () => {
    const project = projectWith(makeTempDir(), {});
    await assert.rejects(mirrorSnapshots(testDeps(), project, { store: makeTempDir(), archives: ['torproject'], keyring: key.keyring }), rejectsWith('no-mirror-source'));
  });
});

describe('ensureSnapshots (fake upstream)', () => {
  let key: TestKey;
  before(() => {
    key = createTestKey();
  });
  after(() => {
    key.remove();
  });

  /** A project whose builder set pins debian to `serial`, with SHA256SUMS `sums` (or none). */
  function pinned(upstream: string, serial: string, sums: string | undefined): ReturnType<typeof projectWith> {
    const root = makeTempDir('tb-proj-');
    const dir = join(root, 'definitions/builder/APT_snapshots.d/debian');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'serial'), `${serial}\n`);
    if (sums !== undefined) writeFileSync(join(dir, 'SHA256SUMS'), sums);
    return projectWith(root, { debian: { upstream, suites: ['testing'] } });
  }

  it('recreates a missing serial under its own number when upstream still matches SHA256SUMS, then finds it present', async () => {
    const mirror = await startFakeMirror('debian', buildSuite(key, 'testing', PKGS));
    try {
      const sums = `${sha256(mirror.files.get('dists/testing/InRelease')!)}  dists/testing/InRelease\n`;
      const project = pinned(mirror.url, '2024090201', sums);
      const store = makeTempDir('tb-store-');
      const deps = testDeps();
      assert.deepEqual(await ensureSnapshots(deps, project, { set: 'builder', store, keyring: key.keyring }), [
        { archive: 'debian', serial: '2024090201', action: 'recreated' },
      ]);
      assert.deepEqual(readFileSync(join(store, 'debian/2024090201/dists/testing/InRelease')), mirror.files.get('dists/testing/InRelease'));
      assert.match(readFileSync(join(store, 'debian/project/trace/debian'), 'utf8'), /^Archive serial: 2024090201$/m);
      assert.deepEqual(await ensureSnapshots(deps, project, { set: 'builder', store, keyring: key.keyring }), [
        { archive: 'debian', serial: '2024090201', action: 'present' },
      ]);
    } finally {
      await mirror.close();
    }
  });

  it('fails, saying upstream has moved on and how to take and commit a new serial, when upstream InRelease changed', async () => {
    const old = buildSuite(key, 'testing', PKGS, 'Sat, 01 Nov 2026 00:00:00 UTC');
    const mirror = await startFakeMirror('debian', buildSuite(key, 'testing', PKGS, 'Sat, 21 Nov 2026 00:00:00 UTC'));
    try {
      const project = pinned(mirror.url, '2026110101', `${sha256(old.get('dists/testing/InRelease')!)}  dists/testing/InRelease\n`);
      const store = makeTempDir('tb-store-');
      await assert.rejects(
        ensureSnapshots(testDeps(), project, { set: 'builder', store, keyring: key.keyring }),
        rejectsWith('upstream-moved-on', /moved on since serial 2026110101[\s\S]*tails-build snapshots mirror && tails-build snapshots freeze --set builder && git commit/),
      );
      assert.equal(existsSync(join(store, 'debian/2026110101')), false);
    } finally {
      await mirror.close();
    }
  });

  it('fails without a recorded SHA256SUMS, and when the store holds another snapshot under the same number', async () => {
    const mirror = await startFakeMirror('debian', buildSuite(key, 'testing', PKGS));
    try {
      const store = makeTempDir('tb-store-');
      await assert.rejects(ensureSnapshots(testDeps(), pinned(mirror.url, '2024090201', undefined), { set: 'builder', store, keyring: key.keyring }), rejectsWith('snapshot-identity-missing'));
      // Take 2026112101 locally, then pin a project to the same number with other content.
      const project = pinned(mirror.url, '2026112101', `${'0'.repeat(64)}  dists/testing/InRelease\n`);
      await mirrorSnapshots(testDeps(fixedClock()), project, { store, archives: ['debian'], keyring: key.keyring });
      await assert.rejects(ensureSnapshots(testDeps(), project, { set: 'builder', store, keyring: key.keyring }), rejectsWith('store-serial-differs'));
    } finally {
      await mirror.close();
    }
  });
});
