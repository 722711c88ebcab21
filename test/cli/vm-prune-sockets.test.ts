/** `tails-build vm prune` removes the snapshot-server socket a SIGKILL'd build left in <cache>/run (built binary, a real socket). */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { snapshotSocketDir } from '../../src/app/guest-snapshots.js';
import { runTailsBuild } from '../helpers/cli.js';
import { createTempRepo, makeTempDir } from '../helpers/git-repo.js';
import { socketOfKilledServer } from '../helpers/sockets.js';

const cache = makeTempDir('tb-prune-sockets-');
const locks = makeTempDir('tb-prune-sockets-locks-');
const repo = createTempRepo();
repo.write({ README: 'x\n' });
repo.commit('Initial', '2026-11-01T12:00:00Z');
after(() => {
  for (const dir of [cache, locks]) rmSync(dir, { recursive: true, force: true });
  repo.remove();
});

describe('tails-build vm prune: stale snapshot-server sockets', () => {
  it('lists a socket whose server was killed, removes it, and says so (text and --json)', async () => {
    const env = { TAILS_BUILD_CACHE: cache, TAILS_BUILD_LOCK_DIR: locks };
    mkdirSync(snapshotSocketDir(cache), { recursive: true });
    const stale = await socketOfKilledServer(snapshotSocketDir(cache));
    const res = await runTailsBuild(['vm', 'prune'], { cwd: repo.root, env });
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, new RegExp(`^${stale}: its snapshot server is gone — removed$`, 'm'));
    assert.equal(existsSync(stale), false);

    const other = await socketOfKilledServer(snapshotSocketDir(cache));
    const json = await runTailsBuild(['--json', 'vm', 'prune'], { cwd: repo.root, env });
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual((JSON.parse(json.stdout) as { sockets: unknown }).sockets, [other]);
  });
});
