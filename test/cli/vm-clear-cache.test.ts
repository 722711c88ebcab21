/**
 * `tails-build vm clear-cache` against the real libvirt pool: it deletes every
 * disk of the cache pool, each under that disk's host lock, and names and keeps
 * one a build holds. Volumes and locks of its own: never a user's cache.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { createHostLocks } from '../../src/adapters/lock.js';
import { cacheDiskLock } from '../../src/core/build-vm.js';
import { tryVirsh, virsh } from '../helpers/box-store.js';
import { runTailsBuild } from '../helpers/cli.js';
import { createTempRepo, makeTempDir } from '../helpers/git-repo.js';

const base = `tb-clear-test-${String(process.pid)}.qcow2`;
const second = base.replace('.qcow2', '-2.qcow2');
const locks = makeTempDir('tb-clear-locks-');
const repo = createTempRepo();
repo.write({ README: 'x\n' });
repo.commit('Initial', '2026-11-01T12:00:00Z');
const env = { TAILS_BUILD_CACHE_VOLUME: base, TAILS_BUILD_LOCK_DIR: locks };

after(() => {
  for (const v of [base, second]) spawnSync('virsh', ['vol-delete', '--pool', 'default', v]);
  rmSync(locks, { recursive: true, force: true });
  repo.remove();
});

describe('tails-build vm clear-cache (real libvirt pool)', () => {
  it('deletes every disk of the pool, but not one a build holds: that one is named, and kept until it is free', async () => {
    if (tryVirsh('pool-info', 'default') === undefined) {
      virsh('pool-define-as', 'default', 'dir', '--target', '/var/lib/libvirt/images');
      virsh('pool-build', 'default');
      virsh('pool-start', 'default');
    }
    for (const v of [base, second]) virsh('vol-create-as', 'default', v, '1M', '--format', 'qcow2');
    // A build holds the second disk.
    const held = await createHostLocks({ dir: locks, timeoutMs: 1000, command: 'tails-build iso (the test)' }).tryAcquire(cacheDiskLock(second));
    assert.ok('release' in held);
    const busy = await runTailsBuild(['vm', 'clear-cache'], { cwd: repo.root, env });
    assert.equal(busy.code, 3, busy.stderr);
    assert.match(busy.stdout, new RegExp(`${base.replaceAll('.', '\\.')}: deleted`));
    assert.match(busy.stderr, new RegExp(`Not deleted, in use: ${second.replaceAll('.', '\\.')} is held by tails-build iso \\(the test\\) \\(pid ${String(process.pid)}\\)`));
    assert.equal(tryVirsh('vol-info', '--pool', 'default', base), undefined, 'the free disk is gone');
    assert.notEqual(tryVirsh('vol-info', '--pool', 'default', second), undefined, 'the held disk is kept');
    await held.release();
    const free = await runTailsBuild(['vm', 'clear-cache'], { cwd: repo.root, env });
    assert.equal(free.code, 0, free.stderr);
    assert.equal(tryVirsh('vol-info', '--pool', 'default', second), undefined);
  });
});
