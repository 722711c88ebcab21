/**
 * startSnapshotServer over a store mirrored from a fake upstream: pool files
 * fetched once, verified, stored; what upstream lost or corrupted is never
 * served as if it were the snapshot's.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { mirrorSnapshots } from '../../src/app/snapshot-mirror.js';
import { startSnapshotServer, type RunningSnapshotServer } from '../../src/app/snapshot-server.js';
import { buildSuite, createTestKey, poolPath, sha256, startFakeMirror, type FakeMirror, type TestKey } from '../helpers/fake-debian-mirror.js';
import { makeTempDir } from '../helpers/git-repo.js';
import { projectWith, testDeps, type TestDeps } from '../helpers/snapshot-store-deps.js';
import { createTeardown } from '../helpers/teardown.js';

const PKGS = [
  { name: 'hello', version: '1.0-1', content: Buffer.from('hello deb bytes\n') },
  { name: 'gone', version: '0.9-2', content: Buffer.from('this version was removed upstream\n') },
  { name: 'liar', version: '3.1-1', content: Buffer.from('upstream will serve other bytes\n') },
  { name: 'popular', version: '5.0-1', content: Buffer.alloc(200_000, 7) },
];
const [HELLO, GONE, LIAR, POPULAR] = PKGS as [(typeof PKGS)[0], (typeof PKGS)[0], (typeof PKGS)[0], (typeof PKGS)[0]];

/** The request-log lines naming `path`, once there are `count` (the log is written after the body is sent). */
async function logLines(deps: TestDeps, path: string, count: number): Promise<string[]> {
  for (let i = 0; i < 100; i++) {
    const lines = deps.log.filter((l) => l.includes(path));
    if (lines.length >= count) return lines;
    await new Promise((r) => setTimeout(r, 10));
  }
  return deps.log.filter((l) => l.includes(path));
}

describe('snapshots serve (fake upstream)', () => {
  let key: TestKey;
  let mirror: FakeMirror;
  let store: string;
  let deps: TestDeps;
  let server: RunningSnapshotServer;
  let base: string;
  // With loopback down the before hook fails after the mirror started: it must still be closed.
  const teardown = createTeardown();

  before(async () => {
    key = createTestKey();
    teardown.push(() => {
      key.remove();
    });
    mirror = await startFakeMirror('debian', buildSuite(key, 'testing', PKGS));
    teardown.push(() => mirror.close());
    store = makeTempDir('tb-store-');
    deps = testDeps();
    const project = projectWith(makeTempDir(), { debian: { upstream: mirror.url, suites: ['testing'] } });
    await mirrorSnapshots(deps, project, { store, archives: ['debian'], keyring: key.keyring });
    server = await startSnapshotServer(deps, { store, listen: { host: '127.0.0.1', port: 0 } });
    teardown.push(() => server.close());
    base = `${server.url}debian/2026112101/`;
  });
  after(() => teardown.run());

  it('serves the trace, InRelease byte for byte, and SHA256SUMS of the stored InReleases', async () => {
    assert.match(await (await fetch(`${server.url}debian/project/trace/debian`)).text(), /^Archive serial: 2026112101$/m);
    const inRelease = Buffer.from(await (await fetch(`${base}dists/testing/InRelease`)).arrayBuffer());
    assert.deepEqual(inRelease, mirror.files.get('dists/testing/InRelease'));
    assert.equal(await (await fetch(`${base}SHA256SUMS`)).text(), `${sha256(inRelease)}  dists/testing/InRelease\n`);
    assert.equal((await fetch(`${server.url}debian/2026112199/SHA256SUMS`)).status, 404);
  });

  it('fetches a pool file once, verified, stores it, then serves it from the store', async () => {
    const url = `${base}${poolPath(HELLO)}`;
    const first = await fetch(url);
    assert.equal(first.status, 200);
    assert.deepEqual(Buffer.from(await first.arrayBuffer()), HELLO.content);
    assert.deepEqual(readFileSync(join(store, 'debian', poolPath(HELLO))), HELLO.content);
    const before = mirror.requests.length;
    const second = await fetch(url);
    assert.deepEqual(Buffer.from(await second.arrayBuffer()), HELLO.content);
    assert.equal(mirror.requests.length, before, 'the second answer came from the store');
    const lines = await logLines(deps, poolPath(HELLO), 2);
    assert.match(lines[0] ?? '', /^200 GET \S+ 16 fetched$/);
    assert.match(lines[1] ?? '', /^200 GET \S+ 16 store$/);
  });

  it('shares one upstream download between concurrent requests for the same file', async () => {
    const url = `${base}${poolPath(POPULAR)}`;
    const answers = await Promise.all(Array.from({ length: 6 }, () => fetch(url).then(async (r) => ({ status: r.status, body: Buffer.from(await r.arrayBuffer()) }))));
    for (const a of answers) assert.deepEqual(a, { status: 200, body: POPULAR.content });
    assert.equal(mirror.requests.filter((r) => r === poolPath(POPULAR)).length, 1);
  });

  it('answers 404 naming the package and version, and saying to take a new serial, when upstream lost it', async () => {
    mirror.files.delete(poolPath(GONE));
    const res = await fetch(`${base}${poolPath(GONE)}`);
    assert.equal(res.status, 404);
    const body = await res.text();
    assert.match(body, /Package gone 0\.9-2 of snapshot debian 2026112101 is gone upstream/);
    assert.match(body, /tails-build snapshots mirror debian/);
    assert.ok(deps.log.some((l) => l.startsWith('warning: Package gone 0.9-2')));
  });

  it('never stores nor serves bytes that do not match the index', async () => {
    mirror.files.set(poolPath(LIAR), Buffer.from('upstream will serve other bytes!\n'));
    const res = await fetch(`${base}${poolPath(LIAR)}`);
    assert.equal(res.status, 502);
    assert.match(await res.text(), /liar 3\.1-1[\s\S]*SHA-256/);
    assert.equal(existsSync(join(store, 'debian', poolPath(LIAR))), false);
  });

  it('answers 404 for a path the snapshot does not list, and for unknown serials and paths', async () => {
    const res = await fetch(`${base}pool/main/n/nope/nope_1_amd64.deb`);
    assert.equal(res.status, 404);
    assert.match(await res.text(), /not listed in the Packages indices of snapshot debian 2026112101/);
    assert.equal((await fetch(`${server.url}debian/2026112102/${poolPath(HELLO)}`)).status, 404);
    assert.equal((await fetch(`${server.url}debian/2026112101/../../etc/passwd`)).status, 404);
    assert.equal((await fetch(`${base}dists/testing/main/binary-amd64/Packages.bz2`)).status, 404);
  });

  it('serves by-hash through the InRelease, and fetches a listed index it did not store, verified', async () => {
    const gz = mirror.files.get('dists/testing/main/binary-amd64/Packages.gz')!;
    const byHash = await fetch(`${base}dists/testing/main/binary-amd64/by-hash/SHA256/${sha256(gz)}`);
    assert.deepEqual(Buffer.from(await byHash.arrayBuffer()), gz);
    const plain = mirror.files.get('dists/testing/main/binary-amd64/Packages')!;
    assert.equal(existsSync(join(store, 'debian/2026112101/dists/testing/main/binary-amd64/Packages')), false);
    const lazy = await fetch(`${base}dists/testing/main/binary-amd64/Packages`);
    assert.deepEqual(Buffer.from(await lazy.arrayBuffer()), plain);
    assert.deepEqual(readFileSync(join(store, 'debian/2026112101/dists/testing/main/binary-amd64/Packages')), plain);
    assert.ok(mirror.requests.includes(`dists/testing/main/binary-amd64/by-hash/SHA256/${sha256(plain)}`), 'fetched by hash');
  });

  it('answers HEAD and Range requests', async () => {
    const url = `${base}${poolPath(HELLO)}`;
    const head = await fetch(url, { method: 'HEAD' });
    assert.equal(head.headers.get('content-length'), String(HELLO.content.length));
    const part = await fetch(url, { headers: { range: 'bytes=6-8' } });
    assert.equal(part.status, 206);
    assert.equal(await part.text(), 'deb');
  });
});
