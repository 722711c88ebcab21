/**
 * `snapshots prepare-build`: the serial set a build records, every `latest`
 * resolved to a number (Tails' apt-snapshots-serials prepare-build).
 */
import { join } from 'node:path';
import type { ProjectConfig, SerialSetName } from '../core/project.js';
import { parseSerialsJson, planPrepareBuild, planPrepareBuildLookups, type SerialSet } from '../core/serials.js';
import { SHA256SUMS } from '../core/snapshot-store.js';
import { layoutsOf, readSerialSet } from './serial-sets.js';
import { fetchSnapshotIdentity, findLatestSerial, type NetworkRequest } from './snapshot-queries.js';
import type { SnapshotDeps } from './freeze-thaw.js';

export interface PrepareBuildOptions extends NetworkRequest {
  readonly set: SerialSetName;
  /** APT_SNAPSHOTS_SERIALS-style JSON (from --serials or the environment) and where it came from, for messages. */
  readonly provided?: { readonly json: string; readonly source: string } | undefined;
  /** Absolute output directory (replaced as a whole). */
  readonly outputDir: string;
}

export interface PreparedBuild {
  readonly set: SerialSetName;
  readonly outputDir: string;
  /** archive → numeric serial: no `latest` left. */
  readonly serials: SerialSet;
  readonly notes: readonly string[];
}

/**
 * Resolves every `latest` of a set to a number — from the provided JSON when
 * given (it must then cover every `latest` archive), else from the server —
 * and writes the resolved set to `outputDir`.
 */
export async function prepareBuild(deps: SnapshotDeps, project: ProjectConfig, options: PrepareBuildOptions): Promise<PreparedBuild> {
  const current = await readSerialSet(deps, project, options.set);
  const provided =
    options.provided === undefined ? undefined : parseSerialsJson(options.provided.json, options.provided.source, layoutsOf(project, current));
  const latest: Record<string, string> = {};
  for (const archive of planPrepareBuildLookups(current, provided)) latest[archive] = await findLatestSerial(deps, project, archive, options.baseUrl);
  const plan = planPrepareBuild({
    set: options.set,
    current,
    provided,
    providedSource: options.provided?.source ?? '',
    latest,
  });
  // Identities: looked-up serials from the origin; pinned ones from the project's SHA256SUMS.
  const identities: Record<string, string> = {};
  for (const [archive, serial] of Object.entries(plan.serials)) {
    const sums =
      archive in latest
        ? await fetchSnapshotIdentity(deps, project, archive, serial, options.baseUrl)
        : current[archive] === serial
          ? await deps.files.readText(join(project.root, project.serialDirs[options.set], archive, SHA256SUMS))
          : undefined;
    if (typeof sums === 'string') identities[archive] = sums;
  }
  await deps.serialStore.replaceSet(options.outputDir, plan.serials, identities);
  return { set: options.set, outputDir: options.outputDir, serials: plan.serials, notes: plan.notes };
}
