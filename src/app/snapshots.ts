/**
 * APT snapshot serial use cases: observe (serial files, the snapshot server),
 * plan (core/serials.ts), apply (the serial store, all or nothing).
 */
import { join, relative } from 'node:path';
import { compare } from '../core/compare.js';
import type { HttpResponse, SerialStore, SerialWrite } from '../core/ports.js';
import { resolveArchiveOrigin, type ProjectConfig, type SerialSetName, type SnapshotLayout } from '../core/project.js';
import {
  changedEntries,
  LATEST,
  planFreeze,
  planFreezeLookups,
  planThaw,
  selectArchivesAcross,
  validateSerialSet,
  type FreezeRequest,
  type RawSerial,
  type SerialChange,
  type SerialPlan,
  type SerialSet,
} from '../core/serials.js';
import { parseSha256sums, renderSha256sums, SHA256SUMS } from '../core/snapshot-store.js';
import { snapshotMessages as msg } from '../core/snapshot-messages.js';
import { latestSerialUrls, parseLatestSerial, releaseFileUrls, snapshotUrl } from '../core/snapshot-origin.js';
import type { Deps } from './deps.js';

export type { SerialSet } from '../core/serials.js';

/** Both sets, validated: set → archive → numeric serial or "latest" (archives sorted). */
export type SerialSets = Readonly<Record<SerialSetName, SerialSet>>;

/** What the snapshot use cases need; reads alone need only `files`. */
export type SnapshotDeps = Pick<Deps, 'files' | 'http' | 'clock' | 'out'> & { readonly serialStore: SerialStore };

export type ReadDeps = Pick<Deps, 'files'>;
export type NetDeps = Pick<Deps, 'http' | 'clock'>;

const SERIAL_FILE = 'serial';

// ---------------------------------------------------------------------------
// Reading

/**
 * Reads and validates both serial sets of the project. Throws UserError when a
 * set's directory is missing or a serial file is missing or malformed.
 */
export async function readSerialSets(deps: ReadDeps, project: ProjectConfig): Promise<SerialSets> {
  return { builder: await readSerialSet(deps, project, 'builder'), iso: await readSerialSet(deps, project, 'iso') };
}

/**
 * Reads and validates one set (`<root>/<serialDirs[set]>/<archive>/serial`).
 * `replacing` lists archives about to be overwritten, whose files may be
 * missing or malformed (see validateSerialSet).
 */
export async function readSerialSet(
  deps: ReadDeps,
  project: ProjectConfig,
  set: SerialSetName,
  options: { readonly replacing?: readonly string[] } = {},
): Promise<SerialSet> {
  return readSerialDir(deps, project, set, join(project.root, project.serialDirs[set]), options.replacing ?? []);
}

async function readSerialDir(
  deps: ReadDeps,
  project: ProjectConfig,
  set: SerialSetName,
  dir: string,
  replacing: readonly string[],
): Promise<SerialSet> {
  const raw = await readRawSerials(deps, project, set, dir);
  return validateSerialSet({
    set,
    raw,
    layoutOf: (archive) => layoutOf(project, archive),
    fileOf: (archive) => displayPath(project, join(dir, archive, SERIAL_FILE)),
    replacing,
  });
}

/** The archive directories of a serial dir (dot-files such as .placeholder and plain files ignored). */
async function listArchives(deps: ReadDeps, project: ProjectConfig, set: SerialSetName, dir: string): Promise<readonly string[]> {
  if (!(await deps.files.isDirectory(dir))) throw msg.serialDirMissing(set, displayPath(project, dir));
  return (await deps.files.listDirectories(dir)).filter((name) => !name.startsWith('.')).sort(compare);
}

async function readRawSerials(deps: ReadDeps, project: ProjectConfig, set: SerialSetName, dir: string): Promise<RawSerial[]> {
  const archives = await listArchives(deps, project, set, dir);
  const raw: RawSerial[] = [];
  for (const archive of archives) raw.push({ archive, text: await deps.files.readText(join(dir, archive, SERIAL_FILE)) });
  return raw;
}

// ---------------------------------------------------------------------------
// cat, cat-json

export interface CatRequest {
  readonly sets: readonly SerialSetName[];
  /** Only these archives (each must exist in one of the sets); empty: all. */
  readonly archives: readonly string[];
}

/** The serials of the requested sets, filtered to the requested archives. */
export async function catSerials(deps: ReadDeps, project: ProjectConfig, request: CatRequest): Promise<Partial<Record<SerialSetName, SerialSet>>> {
  const full = new Map<SerialSetName, SerialSet>();
  for (const set of request.sets) full.set(set, await readSerialSet(deps, project, set));
  const selected = selectArchivesAcross(
    request.sets.map((set) => ({ set, archives: Object.keys(full.get(set) ?? {}) })),
    request.archives,
  );
  const result: Partial<Record<SerialSetName, SerialSet>> = {};
  for (const set of request.sets) {
    const serials = full.get(set) ?? {};
    result[set] = Object.fromEntries((selected.get(set) ?? []).map((a) => [a, serials[a] ?? LATEST]));
  }
  return result;
}

/** The serials of any `DIR/<archive>/serial` tree (e.g. prepare-build's output), validated. */
export async function catSerialDir(deps: ReadDeps, project: ProjectConfig, dir: string): Promise<SerialSet> {
  const set: SerialSetName = join(project.root, project.serialDirs.builder) === dir ? 'builder' : 'iso';
  return readSerialDir(deps, project, set, dir, []);
}

// ---------------------------------------------------------------------------
// get-latest

export interface NetworkRequest {
  /** `--base-url`: replaces every archive's base URL for this run. */
  readonly baseUrl?: string | undefined;
}

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

// ---------------------------------------------------------------------------

function layoutOf(project: ProjectConfig, archive: string): SnapshotLayout {
  return resolveArchiveOrigin(project, archive).layout;
}

export function layoutsOf(project: ProjectConfig, serials: SerialSet): Record<string, SnapshotLayout> {
  return Object.fromEntries(Object.keys(serials).map((a) => [a, layoutOf(project, a)]));
}

function displayPath(project: ProjectConfig, path: string): string {
  const rel = relative(project.root, path);
  return rel.startsWith('..') ? path : rel;
}
