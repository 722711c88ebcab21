/**
 * APT archive indices: the SHA256 list of a Release/InRelease file, which
 * index files a snapshot needs, `by-hash` paths, and the pool entries of a
 * Packages file. Pure: text in, data out.
 */
import { field, parseReleaseFile, stripClearsign } from './release-file.js';

/** One file listed in a Release file's SHA256 section (path relative to `dists/<suite>/`). */
export interface IndexEntry {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
}

/** What a snapshot needs from its InRelease: the listed files and whether by-hash URLs exist. */
export interface ReleaseIndex {
  /** Path → entry, from the SHA256 section. */
  readonly files: ReadonlyMap<string, IndexEntry>;
  /** sha256 → entry (for `by-hash/SHA256/<hex>` requests). */
  readonly byHash: ReadonlyMap<string, IndexEntry>;
  readonly acquireByHash: boolean;
  readonly architectures: readonly string[];
  /** `No-Support-for-Architecture-all: Packages`: arch-all packages are in every binary-<arch> index. */
  readonly noArchAllIndex: boolean;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Parses the SHA256 section (and the few fields a mirror needs) of a Release or InRelease file. */
export function parseReleaseIndex(text: string): ReleaseIndex {
  const body = stripClearsign(text);
  const files = new Map<string, IndexEntry>();
  const byHash = new Map<string, IndexEntry>();
  let inSha256 = false;
  for (const line of body.split('\n')) {
    if (/^\S/.test(line)) {
      inSha256 = /^SHA256:\s*$/i.test(line);
      continue;
    }
    if (!inSha256) continue;
    const m = /^\s+([0-9a-fA-F]{64})\s+(\d+)\s+(\S+)\s*$/.exec(line);
    if (m === null) continue;
    const [, hash, size, path] = m;
    if (hash === undefined || size === undefined || path === undefined || !isSafeRelativePath(path)) continue;
    const entry: IndexEntry = { path, size: Number(size), sha256: hash.toLowerCase() };
    files.set(path, entry);
    byHash.set(entry.sha256, entry);
  }
  const fields = parseReleaseFile(text).fields;
  return {
    files,
    byHash,
    acquireByHash: (field(fields, 'Acquire-By-Hash') ?? '').toLowerCase() === 'yes',
    architectures: (field(fields, 'Architectures') ?? '').split(/\s+/).filter((a) => a !== ''),
    noArchAllIndex: /(^|\s)Packages(\s|$)/.test(field(fields, 'No-Support-for-Architecture-all') ?? ''),
  };
}

/**
 * The index files a snapshot captures for apt: per component, the Packages
 * indices of each architecture (xz and gz when listed; `all` too unless the
 * archive folds it into the others) and the English translations.
 */
export function selectMirrorIndices(release: ReleaseIndex, components: readonly string[], architectures: readonly string[]): readonly IndexEntry[] {
  const arches = [...architectures];
  if (release.architectures.includes('all') && !release.noArchAllIndex && !arches.includes('all')) arches.push('all');
  const wanted: string[] = [];
  for (const comp of components) {
    for (const arch of arches) for (const ext of ['.xz', '.gz']) wanted.push(`${comp}/binary-${arch}/Packages${ext}`);
    const translation = ['.xz', '.gz', '.bz2'].map((ext) => `${comp}/i18n/Translation-en${ext}`).find((p) => release.files.has(p));
    if (translation !== undefined) wanted.push(translation);
  }
  const selected: IndexEntry[] = [];
  for (const path of wanted) {
    const entry = release.files.get(path);
    if (entry !== undefined) selected.push(entry);
  }
  return selected;
}

/** Whether a Packages index path is one a mirror captures (used to build the pool lookup). */
export function isPackagesIndex(path: string): boolean {
  return /(^|\/)binary-[a-z0-9-]+\/Packages\.(gz|xz)$/.test(path);
}

/** `dir/by-hash/SHA256/<hex>` → its parts; undefined for any other path. */
export function parseByHashPath(path: string): { readonly dir: string; readonly sha256: string } | undefined {
  const m = /^(?:(.*)\/)?by-hash\/SHA256\/([0-9a-f]{64})$/.exec(path);
  if (m === null) return undefined;
  return { dir: m[1] ?? '', sha256: m[2] ?? '' };
}

/** The by-hash path of a listed index file (`main/binary-amd64/by-hash/SHA256/<hex>`). */
export function byHashPath(entry: IndexEntry): string {
  const slash = entry.path.lastIndexOf('/');
  const dir = slash === -1 ? '' : `${entry.path.slice(0, slash)}/`;
  return `${dir}by-hash/SHA256/${entry.sha256}`;
}

/** The listed file a by-hash request names, if it is listed in that directory. */
export function resolveByHash(release: ReleaseIndex, path: string): IndexEntry | undefined {
  const parsed = parseByHashPath(path);
  if (parsed === undefined) return undefined;
  const entry = release.byHash.get(parsed.sha256);
  if (entry === undefined) return undefined;
  const dir = entry.path.includes('/') ? entry.path.slice(0, entry.path.lastIndexOf('/')) : '';
  return dir === parsed.dir ? entry : undefined;
}

/** One .deb (or other pool file) as a Packages index describes it. */
export interface PoolEntry {
  /** Path relative to the archive root, e.g. `pool/main/h/hello/hello_2.10-3_amd64.deb`. */
  readonly filename: string;
  readonly size: number;
  readonly sha256: string;
  readonly package: string;
  readonly version: string;
}

/**
 * The pool entries of a Packages file. Only the fields needed to serve a pool
 * file are read; stanzas without Filename, Size or a valid SHA256 are skipped.
 */
export function parsePackagesIndex(text: string): PoolEntry[] {
  const entries: PoolEntry[] = [];
  let pkg = '';
  let version = '';
  let filename = '';
  let size = '';
  let sha256 = '';
  const flush = (): void => {
    if (filename !== '' && /^\d+$/.test(size) && HEX64.test(sha256) && isSafeRelativePath(filename)) {
      entries.push({ filename, size: Number(size), sha256, package: pkg, version });
    }
    pkg = version = filename = size = sha256 = '';
  };
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const line = text.slice(start, end);
    start = end + 1;
    if (line === '' || line === '\r') {
      flush();
      if (end === text.length) break;
      continue;
    }
    const c = line.charCodeAt(0);
    if (c === 32 || c === 9) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const value = line.slice(colon + 1).trim();
    switch (line.slice(0, colon)) {
      case 'Package':
        pkg = value;
        break;
      case 'Version':
        version = value;
        break;
      case 'Filename':
        filename = value;
        break;
      case 'Size':
        size = value;
        break;
      case 'SHA256':
        sha256 = value.toLowerCase();
        break;
    }
  }
  flush();
  return entries;
}

/** A relative path with no empty, `.` or `..` segment and no backslash or NUL. */
export function isSafeRelativePath(path: string): boolean {
  if (path === '' || path.startsWith('/') || /[\\\0]/.test(path)) return false;
  return path.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..');
}
