/**
 * `tails-build vm prune` against real libvirt: a build VM whose build process
 * is gone (SIGKILL, a deleted Jenkins workspace) is removed with its root
 * volume and state; a running build's and a kept one are left alone; a lock
 * whose holder is gone is removed; doctor names what prune would remove.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { tinyDomainXml, tryVirsh, virsh } from '../helpers/box-store.js';
import { runTailsBuild } from '../helpers/cli.js';
import { createTempRepo, makeTempDir } from '../helpers/git-repo.js';

const id = `prunetest${String(process.pid)}`;
const domain = `tails-build-${id}-default`;
const volume = `${domain}.img`;
const cache = makeTempDir('tb-prune-cache-');
const locks = makeTempDir('tb-prune-locks-');
const repo = createTempRepo();
repo.write({ README: 'x\n' });
repo.commit('Initial', '2026-11-01T12:00:00Z');

after(() => {
  if (tryVirsh('domstate', domain) !== undefined) spawnSync('virsh', ['undefine', domain]);
  spawnSync('virsh', ['vol-delete', '--pool', 'default', volume]);
  rmSync(cache, { recursive: true, force: true });
  rmSync(locks, { recursive: true, force: true });
  repo.remove();
});

/** A PID that belonged to a process that has exited. */
function deadPid(): number {
  const child = spawnSync('sh', ['-c', 'echo $$']);
  return Number(child.stdout.toString().trim());
}

function record(dir: string, fields: Record<string, unknown>): void {
  mkdirSync(join(cache, 'vms', dir), { recursive: true });
  writeFileSync(join(cache, 'vms', dir, 'run.json'), JSON.stringify({ startedAt: '2026-11-29T08:00:00Z', checkout: '/gone/workspace', kept: false, ...fields }));
}

describe('tails-build vm prune (real libvirt)', () => {
  it('removes the VM of a killed build with its volume, state and stale locks; leaves running and kept ones', async () => {
    // The pool build VMs use (a fresh host gets it from the first box import; make sure here).
    if (tryVirsh('pool-info', 'default') === undefined) {
      virsh('pool-define-as', 'default', 'dir', '--target', '/var/lib/libvirt/images');
      virsh('pool-build', 'default');
      virsh('pool-start', 'default');
    }
    virsh('vol-create-as', 'default', volume, '1M', '--format', 'qcow2');
    const path = virsh('vol-path', '--pool', 'default', volume).trim();
    const xml = join(cache, 'domain.xml');
    writeFileSync(xml, tinyDomainXml(domain, path));
    virsh('define', xml);
    const dead = deadPid();
    record(id, { pid: dead, domain, rootVolume: volume });
    record('running1', { pid: process.pid, domain: 'tails-build-running1-default', rootVolume: 'tails-build-running1-default.img' });
    record('kept1', { pid: dead, domain: 'tails-build-kept1-default', rootVolume: 'tails-build-kept1-default.img', kept: true });
    writeFileSync(join(locks, 'libvirt.lock'), JSON.stringify({ pid: dead, command: 'tails-build iso', startedAt: '2026-11-29T08:00:00Z', token: 'abc' }));
    const env = { TAILS_BUILD_CACHE: cache, TAILS_BUILD_LOCK_DIR: locks };

    const doctor = await runTailsBuild(['--json', 'doctor'], { cwd: repo.root, env, timeoutMs: 120_000 });
    const leftovers = (JSON.parse(doctor.stdout) as { leftovers: { orphanedVms: { domain: string }[]; hint: string } }).leftovers;
    assert.deepEqual(leftovers.orphanedVms.map((v) => v.domain), [domain]);
    assert.equal(leftovers.hint, 'tails-build vm prune');

    const dry = await runTailsBuild(['vm', 'prune', '--dry-run'], { cwd: repo.root, env });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, new RegExp(`${domain}: orphaned .* would remove`));
    assert.ok(tryVirsh('domstate', domain) !== undefined, 'a dry run removes nothing');

    const r = await runTailsBuild(['vm', 'prune'], { cwd: repo.root, env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`${domain}: orphaned \\(pid ${String(dead)}, /gone/workspace\\) — removed`));
    assert.match(r.stdout, /tails-build-running1-default: running .* — left/);
    assert.match(r.stdout, /tails-build-kept1-default: kept .* — left/);
    assert.match(r.stdout, /libvirt\.lock: its holder is gone — removed/);
    assert.equal(tryVirsh('domstate', domain), undefined, 'the domain is gone');
    assert.equal(tryVirsh('vol-info', '--pool', 'default', volume), undefined, 'its root volume is gone');
    assert.ok(!existsSync(join(cache, 'vms', id)), 'its state is gone');
    assert.ok(existsSync(join(cache, 'vms', 'running1', 'run.json')) && existsSync(join(cache, 'vms', 'kept1', 'run.json')));
    assert.ok(!existsSync(join(locks, 'libvirt.lock')));

    const again = await runTailsBuild(['vm', 'prune'], { cwd: repo.root, env: { ...env, TAILS_BUILD_CACHE: makeTempDir('tb-prune-empty-') } });
    assert.match(again.stdout, /Nothing to prune/);
  });
});
