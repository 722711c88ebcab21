/**
 * List and remove builder boxes: observe vagrant's boxes, their pool volumes
 * and the domains that read them; plan with core/basebox-retention; apply
 * under the host-wide lock, observing again there so a box that became busy
 * meanwhile is kept.
 */
import { findDomainsUsing, isBoxPoolVolumeOf, type PoolVolumeInfo } from '../core/box-store.js';
import { boxStoreMessages as msg } from '../core/messages/index.js';
import { planCleanAll, planCleanOld, readBoxDate, type RetentionPlan } from '../core/basebox-retention.js';
import { LIBVIRT_LOCK, type BoxStoreDeps } from './basebox-import.js';

export interface BaseboxEntry {
  readonly name: string;
  /** YYYYMMDD from the name, if it follows the formula. */
  readonly date: string | undefined;
  readonly version: string;
  /** Its pool volumes (normally one; none until imported or first booted). */
  readonly volumes: readonly PoolVolumeInfo[];
  /** Bytes its pool volumes take on disk; undefined when it has none. */
  readonly sizeBytes: number | undefined;
  readonly inUse: boolean;
  /** The defined domains whose disks read one of its volumes. */
  readonly usedBy: readonly string[];
}

/** Every libvirt box named `<prefix>-…`, oldest first. Read-only: never creates the pool. */
export async function listBaseboxes(deps: Pick<BoxStoreDeps, 'vagrant' | 'pool'>, options: { prefix: string }): Promise<readonly BaseboxEntry[]> {
  const boxes = (await deps.vagrant.listBoxes()).filter((b) => b.provider === 'libvirt' && b.name.startsWith(`${options.prefix}-`));
  if (boxes.length === 0) return [];
  const hasPool = await deps.pool.hasPool();
  const volumes = hasPool ? await deps.pool.listVolumes() : [];
  const domains = hasPool ? await deps.pool.listDomainDisks() : [];
  const entries: BaseboxEntry[] = [];
  for (const box of boxes) {
    const mine: PoolVolumeInfo[] = [];
    for (const v of volumes.filter((v) => isBoxPoolVolumeOf(v.name, box.name))) mine.push(await deps.pool.readVolumeInfo(v.name));
    const usedBy = findDomainsUsing(
      mine.map((v) => v.path),
      domains,
    );
    entries.push({
      name: box.name,
      date: readBoxDate(box.name, options.prefix),
      version: box.version,
      volumes: mine,
      sizeBytes: mine.length === 0 ? undefined : mine.reduce((sum, v) => sum + v.allocationBytes, 0),
      inUse: usedBy.length > 0,
      usedBy,
    });
  }
  return entries.sort((a, b) => (a.date ?? '99999999').localeCompare(b.date ?? '99999999') || a.name.localeCompare(b.name));
}

export type CleanRequest =
  | { readonly mode: 'old'; readonly prefix: string; readonly current: string | undefined; readonly months: number; readonly dryRun: boolean }
  | { readonly mode: 'all'; readonly prefix: string; readonly current: string | undefined; readonly dryRun: boolean };

export interface RemovedBox {
  readonly name: string;
  readonly volumes: readonly string[];
}

export interface CleanResult {
  readonly plan: RetentionPlan;
  readonly removed: readonly RemovedBox[];
  readonly failures: readonly { readonly name: string; readonly error: unknown }[];
}

export function planClean(entries: readonly BaseboxEntry[], request: CleanRequest, now: Date): RetentionPlan {
  const boxes = entries.map((e) => ({ name: e.name, inUse: e.inUse }));
  return request.mode === 'old'
    ? planCleanOld({ boxes, prefix: request.prefix, current: request.current, now, months: request.months })
    : planCleanAll({ boxes, prefix: request.prefix, current: request.current });
}

/** Plans (and unless dry-run, applies) clean-old or clean-all. Failures are collected per box, not thrown. */
export async function cleanBaseboxes(deps: BoxStoreDeps, request: CleanRequest): Promise<CleanResult> {
  if (request.dryRun) {
    return { plan: planClean(await listBaseboxes(deps, request), request, deps.clock.now()), removed: [], failures: [] };
  }
  return deps.locks.withLock(
    LIBVIRT_LOCK,
    async () => {
      const entries = await listBaseboxes(deps, request);
      const plan = planClean(entries, request, deps.clock.now());
      const removed: RemovedBox[] = [];
      const failures: { name: string; error: unknown }[] = [];
      for (const decision of plan.decisions) {
        if (decision.action !== 'remove') continue;
        const volumes = entries.find((e) => e.name === decision.name)?.volumes ?? [];
        try {
          deps.out.info(`Removing ${decision.name}${volumes.length > 0 ? ` and its pool volume ${volumes.map((v) => v.name).join(', ')}` : ''}.`);
          await deps.vagrant.removeBox(decision.name);
          for (const v of volumes) await deps.pool.deleteVolume(v.name);
          removed.push({ name: decision.name, volumes: volumes.map((v) => v.name) });
        } catch (error) {
          failures.push({ name: decision.name, error });
        }
      }
      return { plan, removed, failures };
    },
    {
      onWait: (holder) => {
        deps.out.info(`Waiting for the host lock ${holder.lockPath}, held by pid ${holder.pid} (${holder.command}) since ${holder.startedAt}.`);
      },
    },
  );
}

export function verifyCleanSucceeded(result: CleanResult): void {
  if (result.failures.length > 0) throw msg.removeFailed(result.failures);
}
