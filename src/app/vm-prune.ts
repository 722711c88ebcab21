/**
 * `tails-build vm prune`: what killed runs left behind. A build killed outright
 * (SIGKILL, a crashed agent) cannot clean up, and a Jenkins workspace that is
 * deleted never builds again to remove its VM. Every build records its process
 * next to its VM's state (core/vm-run.ts); here, the VMs whose process is gone
 * and that were not kept on purpose are removed (the cache stopped cleanly when
 * the VM still answers), with their root volume and state, and so are the host
 * locks of processes that are gone, and the snapshot-server sockets of builds
 * that are gone. Never a running build's VM, never a kept one.
 */
import { join } from 'node:path';
import { judgeRun, parseRunRecord, RUN_RECORD, type RunVerdict } from '../core/vm-run.js';
import { destroyVm, type VmAccess } from './build-vm-access.js';
import type { Deps } from './deps.js';
import { pruneStaleSnapshotSockets } from './guest-snapshots.js';

export interface PrunedRun {
  readonly domain: string;
  readonly checkout: string;
  readonly pid: number;
  readonly startedAt: string;
  readonly verdict: RunVerdict;
  /** What prune did: removed (orphaned), or left alone (running, kept), or would remove (dry run). */
  readonly action: 'removed' | 'left' | 'would remove';
}

export interface PruneResult {
  readonly runs: readonly PrunedRun[];
  readonly locks: readonly string[];
  /** Snapshot-server sockets (<cache>/run) whose server process is gone, removed. */
  readonly sockets: readonly string[];
}

/** The runs recorded under `<cacheRoot>/vms`, judged; nothing is changed. */
export async function findRuns(deps: Pick<Deps, 'host' | 'disk'>, cacheRoot: string): Promise<{ stateDir: string; run: PrunedRun; rootVolume: string }[]> {
  const vms = join(cacheRoot, 'vms');
  // An unreadable vms/ is as good as none: doctor asks too, and must not fail on it.
  const ids = await deps.disk.listDirectories(vms).catch(() => []);
  const found: { stateDir: string; run: PrunedRun; rootVolume: string }[] = [];
  for (const id of ids) {
    const stateDir = join(vms, id);
    const text = await deps.disk.readText(join(stateDir, RUN_RECORD)).catch(() => undefined);
    const record = text === undefined ? undefined : parseRunRecord(text);
    if (record === undefined) continue;
    const verdict = judgeRun(record, deps.host.processStart(record.pid));
    found.push({ stateDir, rootVolume: record.rootVolume, run: { domain: record.domain, checkout: record.checkout, pid: record.pid, startedAt: record.startedAt, verdict, action: 'left' } });
  }
  return found;
}

export async function pruneVms(deps: Deps, request: VmAccess & { readonly cacheRoot: string; readonly dryRun: boolean }): Promise<PruneResult> {
  const runs: PrunedRun[] = [];
  for (const { stateDir, rootVolume, run } of await findRuns(deps, request.cacheRoot)) {
    if (run.verdict !== 'orphaned') {
      runs.push(run);
      continue;
    }
    if (request.dryRun) {
      runs.push({ ...run, action: 'would remove' });
      continue;
    }
    const domainPrefix = run.domain.endsWith('default') ? run.domain.slice(0, -'default'.length) : run.domain;
    await destroyVm(deps, { domainPrefix, domain: run.domain, rootVolume, stateDir }, request, `its build (pid ${String(run.pid)}, started ${run.startedAt}) is gone`);
    await deps.disk.remove(stateDir);
    runs.push({ ...run, action: 'removed' });
  }
  const locks = request.dryRun ? [] : await deps.locks.pruneStale();
  const sockets = request.dryRun ? [] : await pruneStaleSnapshotSockets(deps, request.cacheRoot);
  return { runs, locks, sockets };
}
