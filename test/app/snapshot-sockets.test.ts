/**
 * Snapshot-server sockets a SIGKILL'd build left in <cache>/run: real unix
 * sockets, one whose server process was killed (its file stays), one this
 * process still serves; pruned by pid liveness through the real host and
 * files adapters, when the next server starts and by `vm prune`.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { diskFiles } from '../../src/adapters/disk-file.js';
import { systemHost } from '../../src/adapters/host.js';
import { pruneStaleSnapshotSockets, serveSnapshotsOverSsh, snapshotSocketDir } from '../../src/app/guest-snapshots.js';
import { makeTempDir } from '../helpers/git-repo.js';
import { socketOfKilledServer } from '../helpers/sockets.js';
import { testDeps } from '../helpers/snapshot-store-deps.js';
import { createTeardown } from '../helpers/teardown.js';

const teardown = createTeardown();
after(() => teardown.run());

async function listen(path: string): Promise<Server> {
  const server = createServer();
  server.listen(path);
  await once(server, 'listening');
  teardown.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      }),
  );
  return server;
}

describe('stale snapshot-server sockets', () => {
  it('removes the socket of a server whose process is gone; leaves a live one and files of other names', async () => {
    const cache = makeTempDir('tb-sockets-');
    teardown.push(() => {
      rmSync(cache, { recursive: true, force: true });
    });
    const dir = snapshotSocketDir(cache);
    mkdirSync(dir, { recursive: true });
    const stale = await socketOfKilledServer(dir);
    assert.ok(statSync(stale).isSocket(), 'SIGKILL left the socket file');
    const live = join(dir, `snapshots-${String(process.pid)}-1764700000001.sock`);
    await listen(live);
    writeFileSync(join(dir, 'notes.txt'), 'not a socket of ours\n');

    assert.deepEqual(await pruneStaleSnapshotSockets({ host: systemHost, disk: diskFiles }, cache, { dryRun: true }), [stale]);
    assert.equal(existsSync(stale), true, 'a dry run removes nothing');
    assert.deepEqual(await pruneStaleSnapshotSockets({ host: systemHost, disk: diskFiles }, cache), [stale]);
    assert.equal(existsSync(stale), false);
    assert.ok(statSync(live).isSocket(), 'the live server keeps its socket');
    assert.equal(existsSync(join(dir, 'notes.txt')), true);
    assert.deepEqual(await pruneStaleSnapshotSockets({ host: systemHost, disk: diskFiles }, cache), [], 'nothing left to prune');
  });

  it('the next build\'s snapshot server prunes them as it starts, on a socket of its own', async () => {
    const cache = makeTempDir('tb-sockets-next-');
    teardown.push(() => {
      rmSync(cache, { recursive: true, force: true });
    });
    const dir = snapshotSocketDir(cache);
    mkdirSync(dir, { recursive: true });
    const stale = await socketOfKilledServer(dir);
    const deps = testDeps();
    const forward = await serveSnapshotsOverSsh({ ...deps, disk: diskFiles, host: systemHost }, { project: undefined, store: makeTempDir('tb-store-'), cacheRoot: cache });
    teardown.push(() => forward.close());
    assert.equal(existsSync(stale), false, 'the stale socket is gone');
    assert.ok(statSync(forward.socket).isSocket(), 'the new server listens on its own socket');
    assert.match(forward.socket, new RegExp(`^${dir}/snapshots-${String(process.pid)}-\\d+\\.sock$`));
  });

  it('a cache without a run dir has nothing to prune', async () => {
    assert.deepEqual(await pruneStaleSnapshotSockets({ host: systemHost, disk: diskFiles }, '/nonexistent/tb-cache'), []);
  });
});
