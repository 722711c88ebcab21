/**
 * Where snapshots live, for both origin layouts. Pure URL builders and parsers.
 *
 * - tails (time-based.snapshots.deb.tails.boum.org, `tails-build snapshots serve`):
 *   snapshot `<base><archive>/<serial>/`; latest serial on the `Archive serial: N`
 *   line of `<base><archive>/project/trace/<archive>`.
 * - debian (snapshot.debian.org): snapshot `<base>archive/<archive>/<YYYYMMDDTHHMMSSZ>/`;
 *   latest = the greatest timestamp link of the month listing
 *   `<base>archive/<archive>/?year=YYYY&month=M`.
 */
import type { ArchiveOrigin } from './project.js';
import { isSerial } from './serials.js';

/** The snapshot root of `archive` at `serial`, ending in "/". */
export function snapshotUrl(origin: ArchiveOrigin, archive: string, serial: string): string {
  const a = encodeURIComponent(archive);
  const s = encodeURIComponent(serial);
  return origin.layout === 'tails' ? `${origin.baseUrl}${a}/${s}/` : `${origin.baseUrl}archive/${a}/${s}/`;
}

/** The Release files proving a snapshot exists, in the order to try: InRelease, then Release. */
export function releaseFileUrls(origin: ArchiveOrigin, archive: string, serial: string): readonly [string, string] {
  const dists = `${snapshotUrl(origin, archive, serial)}dists/${encodeURIComponent(origin.suite)}/`;
  return [`${dists}InRelease`, `${dists}Release`];
}

/** The Tails trace file whose `Archive serial:` line is the latest serial. */
export function traceUrl(origin: ArchiveOrigin, archive: string): string {
  const a = encodeURIComponent(archive);
  return `${origin.baseUrl}${a}/project/trace/${a}`;
}

/**
 * The snapshot.debian.org month listings to search for the latest snapshot:
 * the month of `now` (UTC), then the month before.
 */
export function monthListingUrls(origin: ArchiveOrigin, archive: string, now: Date): readonly [string, string] {
  const year = now.getUTCFullYear();
  const month = now.getUTCMonth() + 1;
  const prev = month === 1 ? { year: year - 1, month: 12 } : { year, month: month - 1 };
  const url = (y: number, m: number): string => `${origin.baseUrl}archive/${encodeURIComponent(archive)}/?year=${y}&month=${m}`;
  return [url(year, month), url(prev.year, prev.month)];
}

/** Where to look up the latest serial: one trace URL (tails), or month listings to try in order (debian). */
export function latestSerialUrls(origin: ArchiveOrigin, archive: string, now: Date): readonly string[] {
  return origin.layout === 'tails' ? [traceUrl(origin, archive)] : monthListingUrls(origin, archive, now);
}

/** The serial on the `Archive serial: N` line of a Tails trace file, if it holds a valid one. */
export function parseTraceSerial(text: string): string | undefined {
  for (const line of text.split('\n')) {
    const m = /^Archive serial:\s*(\S+)\s*$/.exec(line);
    if (m?.[1] !== undefined) return isSerial(m[1], 'tails') ? m[1] : undefined;
  }
  return undefined;
}

/** The greatest `YYYYMMDDTHHMMSSZ/` link of a snapshot.debian.org month listing, if any. */
export function parseMonthListing(html: string): string | undefined {
  let best: string | undefined;
  for (const m of html.matchAll(/href="(?:[^"]*\/)?(\d{8}T\d{6}Z)\/"/g)) {
    const ts = m[1];
    if (ts !== undefined && isSerial(ts, 'debian') && (best === undefined || ts > best)) best = ts;
  }
  return best;
}

/** Parses whatever a latest-serial URL returned, per layout. */
export function parseLatestSerial(origin: ArchiveOrigin, body: string): string | undefined {
  return origin.layout === 'tails' ? parseTraceSerial(body) : parseMonthListing(body);
}
