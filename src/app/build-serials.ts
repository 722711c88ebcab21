/**
 * The serials a build really uses, resolved on the host before the VM boots:
 * every `latest` of the ISO set (APT_SNAPSHOTS_SERIALS pins them, as Tails'
 * prepare-build does), and the debian-security snapshot the builder takes its
 * security fixes from (the latest one, unless pinned to reproduce a build).
 * The result is what the recipe's apt uses and what the report records.
 */
import { planPrepareBuild, planPrepareBuildLookups, type SerialSet } from '../core/serials.js';
import type { ProjectConfig } from '../core/project.js';
import { withCleanup } from './cleanup.js';
import type { Deps } from './deps.js';
import { serveLocalSnapshotsPrivately } from './local-snapshots.js';
import { findLatestSerial } from './snapshot-queries.js';

/** The builder's archive that moves to the latest snapshot at every provisioning (Tails does the same). */
export const BUILDER_SECURITY_ARCHIVE = 'debian-security';

export interface BuildSerialsRequest {
  /** The ISO set as the project declares it (numeric or `latest`). */
  readonly declared: SerialSet;
  /** APT_SNAPSHOTS_SERIALS, parsed: what `latest` resolves to. */
  readonly pinned: Readonly<Record<string, string>> | undefined;
  /** The builder's debian-security serial to use instead of the latest (verify pins it). */
  readonly builderSecurity: string | undefined;
  /** The local store served when the project's loopback base URL has no server. */
  readonly store: string;
}

export interface BuildSerials {
  /** archive → numeric serial: no `latest` left. */
  readonly iso: SerialSet;
  /** The builder's debian-security serial for this build. */
  readonly builderSecurity: string;
  /** Where each resolved value came from, one line each, for the log. */
  readonly notes: readonly string[];
}

export async function resolveBuildSerials(
  deps: Pick<Deps, 'http' | 'clock' | 'out' | 'snapshotIo'>,
  project: ProjectConfig,
  request: BuildSerialsRequest,
): Promise<BuildSerials> {
  const lookups = planPrepareBuildLookups(request.declared, request.pinned);
  if (lookups.length === 0 && request.builderSecurity !== undefined) return finish(request, {}, request.builderSecurity);
  return withCleanup(async (cleanup) => {
    // Builds run at once: each asks a server of its own (sharing one, the first build to end stopped it mid-lookup for the other).
    const served = await serveLocalSnapshotsPrivately(deps, project, request.store, cleanup);
    const latest: Record<string, string> = {};
    for (const archive of lookups) latest[archive] = await findLatestSerial(deps, served, archive);
    const security = request.builderSecurity ?? latest[BUILDER_SECURITY_ARCHIVE] ?? (await findLatestSerial(deps, served, BUILDER_SECURITY_ARCHIVE));
    return finish(request, latest, security);
  });
}

function finish(request: BuildSerialsRequest, latest: Readonly<Record<string, string>>, builderSecurity: string): BuildSerials {
  const plan = planPrepareBuild({ set: 'iso', current: request.declared, provided: request.pinned, providedSource: 'APT_SNAPSHOTS_SERIALS', latest });
  const notes = Object.entries(plan.serials).map(([archive, serial]) => {
    const declared = request.declared[archive];
    if (declared !== 'latest') return `iso ${archive}: ${serial} (frozen in the project)`;
    return request.pinned?.[archive] !== undefined ? `iso ${archive}: latest -> ${serial} (APT_SNAPSHOTS_SERIALS)` : `iso ${archive}: latest -> ${serial} (the snapshot server's latest)`;
  });
  notes.push(...plan.notes);
  notes.push(`builder ${BUILDER_SECURITY_ARCHIVE}: ${builderSecurity} (${request.builderSecurity === undefined ? "the snapshot server's latest" : 'pinned'})`);
  return { iso: plan.serials, builderSecurity, notes };
}
