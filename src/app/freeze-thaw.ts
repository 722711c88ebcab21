/**
 * Freeze and thaw, the APT snapshot serial use cases that change serials:
 * observe (app/serial-sets.ts, app/snapshot-queries.ts), plan (core/serials.ts),
 * apply (the serial store, all or nothing).
 */
import { join, relative } from 'node:path';
import type { SerialStore, SerialWrite } from '../core/ports.js';
import type { ProjectConfig, SerialSetName } from '../core/project.js';
import {
  changedEntries,
  LATEST,
  planFreeze,
  planFreezeLookups,
  planThaw,
  selectArchivesAcross,
  type FreezeRequest,
  type SerialChange,
  type SerialPlan,
} from '../core/serials.js';
import { SHA256SUMS } from '../core/snapshot-store.js';
import { snapshotMessages as msg } from '../core/messages/index.js';
import type { Deps } from './deps.js';
import { listArchives, readSerialSet, type ReadDeps } from './serial-sets.js';
import { fetchSnapshotIdentity, findLatestSerial, verifySnapshotExists, type NetworkRequest } from './snapshot-queries.js';

/** What the use cases that write serials need (freeze, prepare-build). */
export type SnapshotDeps = Pick<Deps, 'files' | 'http' | 'clock' | 'out'> & { readonly serialStore: SerialStore };

// ---------------------------------------------------------------------------
// freeze, thaw

export interface SerialUpdate {
  /** One plan per set acted on: every targeted archive, changed or not. */
  readonly plans: readonly SerialPlan[];
  /** The entries whose file was rewritten. */
  readonly changed: readonly SerialChange[];
  /** Notes for the user (e.g. the builder's debian-security frozen too). */
  readonly notes: readonly string[];
  /** `<serialDir>/<archive>/SHA256SUMS` files written or removed, relative to the project root. */
  readonly identityFiles: readonly string[];
}

export interface FreezeOptions extends NetworkRequest {
  readonly sets: readonly SerialSetName[];
  readonly archives: readonly string[];
  readonly freezeDebianSecurity: boolean;
}

/**
 * Pins archives to their latest serial (debian-security stays `latest` in the
 * ISO set unless asked). Every serial to be written is checked to exist on
 * the server before any file is touched; then all files change, or none.
 */
export async function freeze(deps: SnapshotDeps, project: ProjectConfig, options: FreezeOptions): Promise<SerialUpdate> {
  const targets = await selectTargets(deps, project, options.sets, options.archives);
  const requests: FreezeRequest[] = [];
  for (const [set, archives] of targets) {
    const current = await readSerialSet(deps, project, set, { replacing: archives });
    requests.push({ set, current, archives, freezeDebianSecurity: options.freezeDebianSecurity });
  }
  const latest: Record<string, string> = {};
  for (const archive of planFreezeLookups(requests)) latest[archive] = await findLatestSerial(deps, project, archive, options.baseUrl);
  const plans = requests.map((r) => planFreeze(r, latest));

  const identities = new Map<string, string | null>();
  for (const entry of plans.flatMap((p) => p.entries)) {
    const key = `${entry.archive} ${entry.to}`;
    if (entry.to === LATEST || identities.has(key)) continue;
    await verifySnapshotExists(deps, project, entry.set, entry.archive, entry.to, options.baseUrl);
    identities.set(key, await fetchSnapshotIdentity(deps, project, entry.archive, entry.to, options.baseUrl));
  }
  return apply(deps, project, plans, identities);
}

/** Sets archives of the ISO set to `latest`. The builder set is refused (its serials are always numeric). */
export async function thaw(
  deps: Pick<SnapshotDeps, 'files' | 'serialStore'>,
  project: ProjectConfig,
  options: { readonly set: SerialSetName; readonly archives: readonly string[] },
): Promise<SerialUpdate> {
  if (options.set === 'builder') throw msg.thawBuilderRefused();
  const targets = await selectTargets(deps, project, [options.set], options.archives);
  const plans: SerialPlan[] = [];
  for (const [set, archives] of targets) {
    plans.push(planThaw(set, await readSerialSet(deps, project, set, { replacing: archives }), archives));
  }
  return apply(deps, project, plans, new Map());
}

async function selectTargets(
  deps: ReadDeps,
  project: ProjectConfig,
  sets: readonly SerialSetName[],
  archives: readonly string[],
): Promise<ReadonlyMap<SerialSetName, readonly string[]>> {
  const listed: { set: SerialSetName; archives: readonly string[] }[] = [];
  for (const set of sets) listed.push({ set, archives: await listArchives(deps, project, set, join(project.root, project.serialDirs[set])) });
  return selectArchivesAcross(listed, archives);
}

/**
 * Writes the changed serials, and next to every serial written or kept the
 * SHA256SUMS its origin serves (`identities`, keyed "archive serial"; null
 * removes a stale one; a serial set to `latest` loses its SHA256SUMS).
 */
async function apply(
  deps: Pick<SnapshotDeps, 'serialStore' | 'files'>,
  project: ProjectConfig,
  plans: readonly SerialPlan[],
  identities: ReadonlyMap<string, string | null>,
): Promise<SerialUpdate> {
  const changed = changedEntries(plans);
  const writes: SerialWrite[] = [];
  const identityFiles: string[] = [];
  for (const entry of plans.flatMap((p) => p.entries)) {
    const dir = join(project.root, project.serialDirs[entry.set]);
    const sums = entry.to === LATEST ? null : identities.get(`${entry.archive} ${entry.to}`);
    const isChanged = entry.from !== entry.to;
    let sha256sums: string | null | undefined;
    if (sums !== undefined) {
      const file = join(dir, entry.archive, SHA256SUMS);
      const current = await deps.files.readText(file);
      if (sums === null ? current !== undefined : current !== sums) {
        sha256sums = sums;
        identityFiles.push(relative(project.root, file));
      }
    }
    if (isChanged || sha256sums !== undefined) {
      writes.push({ dir, archive: entry.archive, value: entry.to, ...(sha256sums === undefined ? {} : { sha256sums }) });
    }
  }
  await deps.serialStore.write(writes);
  return { plans, changed, notes: [...new Set(plans.flatMap((p) => p.notes))], identityFiles };
}
