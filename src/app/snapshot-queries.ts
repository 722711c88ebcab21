/**
 * Queries to the APT snapshot servers (each archive's origin, or `--base-url`):
 * the latest serial of an archive, whether a serial exists (its InRelease or
 * Release), and the identity (SHA256SUMS) it serves. They read; nothing here
 * writes a file.
 */
import { compare } from '../core/compare.js';
import type { HttpResponse } from '../core/ports.js';
import { resolveArchiveOrigin, type ProjectConfig, type SerialSetName } from '../core/project.js';
import { parseSha256sums, renderSha256sums, SHA256SUMS } from '../core/snapshot-store.js';
import { snapshotMessages as msg } from '../core/messages/index.js';
import { latestSerialUrls, parseLatestSerial, releaseFileUrls, snapshotUrl } from '../core/snapshot-origin.js';
import type { Deps } from './deps.js';
import { readSerialSets, type ReadDeps } from './serial-sets.js';

/** What a query to a snapshot server needs. */
export type NetDeps = Pick<Deps, 'http' | 'clock'>;

export interface NetworkRequest {
  /** `--base-url`: replaces every archive's base URL for this run. */
  readonly baseUrl?: string | undefined;
}

// ---------------------------------------------------------------------------
// get-latest

/**
 * The latest serial of each archive on its snapshot server. Without
 * archives: every archive of both sets.
 */
export async function getLatest(
  deps: ReadDeps & NetDeps,
  project: ProjectConfig,
  request: NetworkRequest & { readonly archives: readonly string[] },
): Promise<Readonly<Record<string, string>>> {
  let archives = [...new Set(request.archives)];
  if (archives.length === 0) {
    const sets = await readSerialSets(deps, project);
    archives = [...new Set([...Object.keys(sets.builder), ...Object.keys(sets.iso)])];
  }
  const result: Record<string, string> = {};
  for (const archive of archives.sort(compare)) result[archive] = await findLatestSerial(deps, project, archive, request.baseUrl);
  return result;
}

/** Looks up the latest serial of one archive: the Tails trace file, or snapshot.debian.org month listings. */
export async function findLatestSerial(deps: NetDeps, project: ProjectConfig, archive: string, baseUrl?: string): Promise<string> {
  const origin = resolveArchiveOrigin(project, archive, baseUrl);
  const urls = latestSerialUrls(origin, archive, deps.clock.now());
  if (origin.layout === 'tails') {
    const url = urls[0] ?? '';
    const res = await deps.http.get(url);
    if (res.status !== 200) throw msg.traceNotFound(archive, url, res.status);
    const serial = parseLatestSerial(origin, res.body);
    if (serial === undefined) throw msg.traceUnparsable(archive, url);
    return serial;
  }
  for (const url of urls) {
    const res = await deps.http.get(url);
    if (res.status === 404) continue;
    if (res.status !== 200) throw msg.traceNotFound(archive, url, res.status);
    const serial = parseLatestSerial(origin, res.body);
    if (serial !== undefined) return serial;
  }
  throw msg.noSnapshotInListings(archive, urls);
}

// ---------------------------------------------------------------------------
// One serial: its identity, its Release file

/**
 * The SHA256SUMS a snapshot origin serves for a serial (the sha256 of each
 * suite's InRelease, as `tails-build snapshots serve` publishes it), or null
 * when it has none (a Tails server, snapshot.debian.org).
 */
export async function fetchSnapshotIdentity(
  deps: NetDeps,
  project: ProjectConfig,
  archive: string,
  serial: string,
  baseUrl?: string,
): Promise<string | null> {
  const origin = resolveArchiveOrigin(project, archive, baseUrl);
  if (origin.layout !== 'tails') return null;
  const url = `${snapshotUrl(origin, archive, serial)}${SHA256SUMS}`;
  const res = await deps.http.get(url);
  if (res.status === 404 || res.status === 410) return null;
  if (res.status !== 200) throw msg.identityUnavailable(archive, serial, url, `HTTP ${res.status}`);
  const sums = parseSha256sums(res.body);
  if (sums === undefined) throw msg.identityUnavailable(archive, serial, url, 'it is not "<sha256>  dists/<suite>/InRelease" lines');
  return renderSha256sums(sums);
}

/** Throws unless the snapshot's InRelease, else its Release, answers 200. */
export async function verifySnapshotExists(
  deps: NetDeps,
  project: ProjectConfig,
  set: SerialSetName,
  archive: string,
  serial: string,
  baseUrl?: string,
): Promise<void> {
  const found = await fetchReleaseFile(deps, project, archive, serial, baseUrl);
  if (found.status !== 200) throw msg.snapshotMissing(set, archive, serial, found.urls, found.status);
}

/** GETs the snapshot's InRelease, falling back to Release; the last answer and the URLs tried. */
export async function fetchReleaseFile(
  deps: NetDeps,
  project: ProjectConfig,
  archive: string,
  serial: string,
  baseUrl: string | undefined,
): Promise<HttpResponse & { readonly urls: readonly string[] }> {
  const origin = resolveArchiveOrigin(project, archive, baseUrl);
  const [inRelease, release] = releaseFileUrls(origin, archive, serial);
  const first = await deps.http.get(inRelease);
  if (first.status === 200) return { ...first, urls: [inRelease] };
  return { ...(await deps.http.get(release)), urls: [inRelease, release] };
}
