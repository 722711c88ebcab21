/**
 * `snapshots check-expiry` (Tails' bin/apt-snapshots-expiry): how long each
 * pinned snapshot's Release file stays valid.
 */
import type { HttpResponse } from '../core/ports.js';
import type { ProjectConfig, SerialSetName } from '../core/project.js';
import { assessExpiry, field, parseReleaseFile } from '../core/release-file.js';
import { FREEZE_EXCEPTION, LATEST } from '../core/serials.js';
import { snapshotMessages as msg } from '../core/messages/index.js';
import { readSerialSet, type ReadDeps } from './serial-sets.js';
import { fetchReleaseFile, type NetDeps, type NetworkRequest } from './snapshot-queries.js';

export interface ExpiryEntry {
  readonly set: SerialSetName;
  readonly archive: string;
  readonly serial: string;
  /** The Release file read. */
  readonly url: string;
  /** `Valid-Until` as written in the file, or null when it has none. */
  readonly validUntilText: string | null;
  /** ISO 8601, or null. */
  readonly validUntil: string | null;
  readonly daysLeft: number | null;
  readonly ok: boolean;
}

export interface ExpiryReport {
  readonly now: string;
  readonly days: number;
  readonly checked: readonly ExpiryEntry[];
  /** Archives on `latest`: nothing pinned, nothing to expire. */
  readonly skipped: readonly { readonly set: SerialSetName; readonly archive: string }[];
  readonly warnings: readonly string[];
}

/**
 * Reads each pinned snapshot's Release file and reports how long it stays
 * valid. Returns the report; `verifyNoneExpiring` throws when some expire
 * in less than `days` days.
 */
export async function checkExpiry(
  deps: ReadDeps & NetDeps,
  project: ProjectConfig,
  options: NetworkRequest & { readonly sets: readonly SerialSetName[]; readonly days: number },
): Promise<ExpiryReport> {
  const now = deps.clock.now();
  const checked: ExpiryEntry[] = [];
  const skipped: { set: SerialSetName; archive: string }[] = [];
  const warnings: string[] = [];
  const cache = new Map<string, HttpResponse & { urls: readonly string[] }>();
  for (const set of options.sets) {
    const serials = await readSerialSet(deps, project, set);
    for (const [archive, serial] of Object.entries(serials)) {
      if (serial === LATEST) {
        skipped.push({ set, archive });
        if (archive !== FREEZE_EXCEPTION || set === 'builder') warnings.push(msg.latestNotFrozen(set, archive));
        continue;
      }
      const key = `${archive} ${serial}`;
      const res = cache.get(key) ?? (await fetchReleaseFile(deps, project, archive, serial, options.baseUrl));
      cache.set(key, res);
      if (res.status !== 200) throw msg.releaseFileMissing(archive, serial, res.urls, res.status);
      const release = parseReleaseFile(res.body);
      const verdict = assessExpiry(release.validUntil, now, options.days);
      if (release.validUntil === undefined) warnings.push(msg.noValidUntil(set, archive, serial));
      checked.push({
        set,
        archive,
        serial,
        url: res.urls[res.urls.length - 1] ?? '',
        validUntilText: field(release.fields, 'Valid-Until') ?? null,
        validUntil: release.validUntil?.toISOString() ?? null,
        daysLeft: verdict.daysLeft ?? null,
        ok: verdict.ok,
      });
    }
  }
  return { now: now.toISOString(), days: options.days, checked, skipped, warnings };
}

/** Throws UserError listing every snapshot of the report that expires too soon. */
export function verifyNoneExpiring(report: ExpiryReport): void {
  const offenders = report.checked.filter((e) => !e.ok);
  if (offenders.length === 0) return;
  throw msg.expiring(
    report.days,
    offenders.map((o) => ({ set: o.set, archive: o.archive, serial: o.serial, validUntil: o.validUntilText ?? '?', daysLeft: o.daysLeft ?? 0 })),
  );
}
