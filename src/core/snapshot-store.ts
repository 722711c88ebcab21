/**
 * The local time-based snapshot store, in Tails' URL layout. Pure: paths,
 * serial numbering, the trace and SHA256SUMS texts, request routing, and the
 * ports the store's adapters implement.
 *
 * Layout under the store root (paths below are relative to it):
 *   <archive>/<serial>/dists/<suite>/InRelease      upstream's, byte for byte
 *   <archive>/<serial>/dists/<suite>/<index>        listed in that InRelease, unmodified
 *   <archive>/<serial>/.tails-build.json            where the serial came from (not served)
 *   <archive>/pool/<path>                           pool files, once per archive (fixed per name)
 *   <archive>/project/trace/<archive>               "Archive serial: N" of the latest serial
 * Served as <archive>/<serial>/{dists,pool}/…, <archive>/project/trace/<archive>,
 * and <archive>/<serial>/SHA256SUMS (generated from the stored InReleases).
 */
import { isSafeRelativePath } from './apt-index.js';
import { compare } from './compare.js';
import { snapshotStoreMessages as msg } from './messages/index.js';

export const SHA256SUMS = 'SHA256SUMS';
export const SERIAL_META = '.tails-build.json';

const SERIAL = /^\d{10}$/;
const ARCHIVE = /^[a-z0-9][a-z0-9.+_-]*$/;

export function isStoreSerial(value: string): boolean {
  return SERIAL.test(value);
}

export function isArchiveName(value: string): boolean {
  return ARCHIVE.test(value);
}

/** Store-relative paths (always "/"-separated). */
export const storePaths = {
  serialDir: (archive: string, serial: string) => `${archive}/${serial}`,
  inRelease: (archive: string, serial: string, suite: string) => `${archive}/${serial}/dists/${suite}/InRelease`,
  distsFile: (archive: string, serial: string, suite: string, path: string) => `${archive}/${serial}/dists/${suite}/${path}`,
  meta: (archive: string, serial: string) => `${archive}/${serial}/${SERIAL_META}`,
  /** `path` as a Packages index's Filename gives it: `pool/main/h/hello/…`. */
  pool: (archive: string, path: string) => `${archive}/${path}`,
  trace: (archive: string) => `${archive}/project/trace/${archive}`,
};

/**
 * The serial to take now: today's date (UTC, from the injected clock) and the
 * next 2-digit counter after any serial already taken today.
 */
export function planNextSerial(existing: readonly string[], now: Date): string {
  const day = `${now.getUTCFullYear()}${pad(now.getUTCMonth() + 1)}${pad(now.getUTCDate())}`;
  let counter = 0;
  for (const serial of existing) {
    if (serial.startsWith(day) && isStoreSerial(serial)) counter = Math.max(counter, Number(serial.slice(8)));
  }
  if (counter >= 99) throw msg.serialsExhausted(day);
  return `${day}${pad(counter + 1)}`;
}

/** The greatest serial of a list, if any. */
export function latestOf(serials: readonly string[]): string | undefined {
  return serials.filter(isStoreSerial).sort(compare).at(-1);
}

/** A Tails-style trace file naming `serial` as the latest. */
export function renderTrace(serial: string, now: Date): string {
  return `Date: ${now.toUTCString().replace('GMT', '+0000')}\nArchive serial: ${serial}\nRunning on host: tails-build snapshots mirror\nSuite: time-based\n`;
}

/** `<sha256>  dists/<suite>/InRelease` lines, sorted by suite. */
export function renderSha256sums(entries: Readonly<Record<string, string>>): string {
  return Object.keys(entries)
    .sort(compare)
    .map((suite) => `${entries[suite] ?? ''}  dists/${suite}/InRelease\n`)
    .join('');
}

/** suite → sha256 of its InRelease; undefined when the text is not a SHA256SUMS of InRelease files. */
export function parseSha256sums(text: string): Readonly<Record<string, string>> | undefined {
  const result: Record<string, string> = {};
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const m = /^([0-9a-f]{64}) [ *]dists\/([^/\s]+)\/InRelease$/.exec(line.trimEnd());
    if (m?.[1] === undefined || m[2] === undefined) return undefined;
    result[m[2]] = m[1];
  }
  return Object.keys(result).length === 0 ? undefined : result;
}

/** What a serial records about its origin (`.tails-build.json`, not served). */
export interface SerialMeta {
  readonly upstream: string;
  readonly suites: readonly string[];
  readonly components: readonly string[];
  readonly architectures: readonly string[];
  /** ISO 8601. */
  readonly taken: string;
}

export function renderSerialMeta(meta: SerialMeta): string {
  return `${JSON.stringify(meta, null, 2)}\n`;
}

export function parseSerialMeta(text: string): SerialMeta | undefined {
  try {
    const v = JSON.parse(text) as Partial<SerialMeta>;
    const list = (x: unknown): x is string[] => Array.isArray(x) && x.every((s) => typeof s === 'string');
    if (typeof v.upstream !== 'string' || !list(v.suites) || !list(v.components) || !list(v.architectures)) return undefined;
    return { upstream: v.upstream, suites: v.suites, components: v.components, architectures: v.architectures, taken: typeof v.taken === 'string' ? v.taken : '' };
  } catch {
    return undefined;
  }
}

/** A request to the snapshot server, routed. */
export type StoreRequest =
  | { readonly kind: 'trace'; readonly archive: string }
  | { readonly kind: 'sha256sums'; readonly archive: string; readonly serial: string }
  | { readonly kind: 'dists'; readonly archive: string; readonly serial: string; readonly suite: string; readonly path: string }
  | { readonly kind: 'pool'; readonly archive: string; readonly serial: string; readonly path: string }
  | { readonly kind: 'not-found' };

/** Routes a URL path (percent-encoded, query allowed) to what the store serves. */
export function routeStoreRequest(urlPath: string): StoreRequest {
  const notFound = { kind: 'not-found' } as const;
  let path: string;
  try {
    path = decodeURIComponent(urlPath.split('?')[0] ?? '');
  } catch {
    return notFound;
  }
  if (!path.startsWith('/')) return notFound;
  path = path.slice(1);
  if (!isSafeRelativePath(path)) return notFound;
  const parts = path.split('/');
  const [archive, second, third, fourth, ...rest] = parts;
  if (archive === undefined || !isArchiveName(archive) || second === undefined) return notFound;
  if (second === 'project') {
    return third === 'trace' && fourth === archive && rest.length === 0 ? { kind: 'trace', archive } : notFound;
  }
  if (!isStoreSerial(second) || third === undefined) return notFound;
  const serial = second;
  if (third === SHA256SUMS && fourth === undefined) return { kind: 'sha256sums', archive, serial };
  if (third === 'dists' && fourth !== undefined && rest.length > 0) return { kind: 'dists', archive, serial, suite: fourth, path: rest.join('/') };
  if (third === 'pool' && fourth !== undefined) return { kind: 'pool', archive, serial, path: ['pool', fourth, ...rest].join('/') };
  return notFound;
}

/** A file to serve or store, checked against an index. */
export interface Expected {
  readonly size: number;
  readonly sha256: string;
}

// ---------------------------------------------------------------------------
// Ports (implemented by adapters/snapshot-store.ts, download.ts, apt-sources.ts, http-server.ts)

/** An answer fetched whole (small files: InRelease, SHA256SUMS). */
export interface FetchedBytes {
  readonly url: string;
  readonly status: number;
  readonly body: Buffer;
}

export type DownloadOutcome =
  | { readonly kind: 'stored'; readonly bytes: number }
  /** Upstream answered a client error (404, 410…): nothing stored. */
  | { readonly kind: 'missing'; readonly status: number };

/** The snapshot store on disk, rooted at one directory; paths are store-relative. */
export interface StoreFiles {
  readonly root: string;
  /** Absolute path of a store-relative path. */
  absolute(path: string): string;
  read(path: string): Promise<Buffer | undefined>;
  /** Size of a regular file, or undefined. */
  sizeOf(path: string): Promise<number | undefined>;
  exists(path: string): Promise<boolean>;
  /** Subdirectory names (sorted), [] when the directory is missing. */
  listDirectories(path: string): Promise<readonly string[]>;
  /** Writes a file atomically (temp file + rename). */
  writeAtomic(path: string, data: Buffer | string): Promise<void>;
  /** Downloads `url` to `path`, verifying size and SHA-256 before it appears there (atomic). */
  download(path: string, url: string, expected: Expected): Promise<DownloadOutcome>;
  /** A private staging directory for a new serial; `commit` renames it to `serialDir` (which must not exist). */
  stageSerial(archive: string): Promise<StagedSerial>;
  /** The text of a stored Packages index (.gz or .xz), decompressed. */
  readPackagesIndex(path: string): Promise<string>;
}

export interface StagedSerial {
  /** Store-relative path of the staging dir: write files under it. */
  readonly dir: string;
  commit(serial: string): Promise<void>;
  discard(): Promise<void>;
}

export interface HttpListenTarget {
  readonly host?: string;
  readonly port?: number;
  readonly unixSocket?: string;
}

/** What a request handler answers; the HTTP adapter streams it (HEAD and Range included). */
export interface ServedResponse {
  readonly status: number;
  /** For the request log: where the body came from. */
  readonly origin?: 'store' | 'fetched' | 'generated';
  readonly contentType: string;
  readonly body: { readonly kind: 'file'; readonly path: string; readonly size: number } | { readonly kind: 'text'; readonly text: string };
}

export interface ServedRequest {
  readonly method: string;
  readonly path: string;
}

export interface ListeningServer {
  readonly url: string;
  close(): Promise<void>;
}

/** The world the snapshot store needs. One Deps field (`snapshotIo`). */
export interface SnapshotIo {
  openStore(root: string): StoreFiles;
  /** GET a small file whole; status as answered (retries on 5xx/network inside). */
  fetchBytes(url: string): Promise<FetchedBytes>;
  /** Writes data to a temp file for a subprocess (gpgv), removed after `use`. */
  withTempFile<T>(data: Buffer, use: (path: string) => Promise<T>): Promise<T>;
  /** The deb sources of the host's apt (sources.list, sources.list.d/*.list|*.sources). */
  readHostAptSources(): Promise<readonly AptSource[]>;
  listen(
    target: HttpListenTarget,
    handle: (req: ServedRequest) => Promise<ServedResponse>,
    onServed: (req: ServedRequest, res: ServedResponse, bytes: number) => void,
  ): Promise<ListeningServer>;
}

/** One `deb` line (or deb822 stanza) of the host's apt sources. */
export interface AptSource {
  readonly uri: string;
  readonly suites: readonly string[];
  readonly components: readonly string[];
}

/** The upstream the host's apt uses for `suite` (the first `deb` source listing it), ending in "/". */
export function findHostUpstream(sources: readonly AptSource[], suite: string): string | undefined {
  const found = sources.find((s) => s.suites.includes(suite) && /^https?:\/\//.test(s.uri));
  if (found === undefined) return undefined;
  return found.uri.endsWith('/') ? found.uri : `${found.uri}/`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
