/**
 * Taking snapshots into the local store (`snapshots mirror`) and recreating
 * a project's pinned serials on a fresh machine (ensureSnapshots).
 *
 * A serial captures upstream's signed InRelease of each suite, byte for byte,
 * after gpgv accepted it against the Debian archive keyring, and the index
 * files apt needs, each checked against that InRelease. It is built in a
 * staging dir and renamed into place: once written, it never changes.
 */
import { createHash } from 'node:crypto';
import { DEBIAN_KEYRING } from '../core/basebox-build.js';
import { join } from 'node:path';
import { byHashPath, parseReleaseIndex, selectMirrorIndices, type IndexEntry } from '../core/apt-index.js';
import { command } from '../core/command.js';
import { resolveMirrorSource, SERIAL_SET_NAMES, type MirrorSource, type ProjectConfig } from '../core/project.js';
import { compare } from '../core/compare.js';
import {
  findHostUpstream,
  isArchiveName,
  latestOf,
  renderSerialMeta,
  renderTrace,
  planNextSerial,
  SERIAL_META,
  storePaths,
  type AptSource,
  type StoreFiles,
} from '../core/snapshot-store.js';
import { snapshotStoreMessages as msg } from '../core/messages/index.js';
import type { Deps } from './deps.js';

export type MirrorDeps = Pick<Deps, 'runner' | 'clock' | 'out' | 'files' | 'snapshotIo'>;


export interface MirrorOptions {
  /** Absolute store root. */
  readonly store: string;
  /** Archives to mirror; empty: every archive of both serial sets that has a mirror source. */
  readonly archives: readonly string[];
  /** Take a new serial even when upstream has not changed since the latest stored one. */
  readonly forceNew?: boolean;
  /** The keyring gpgv verifies InRelease files against (default: Debian's archive keyring). */
  readonly keyring?: string;
}

export interface MirrorResult {
  readonly archive: string;
  readonly serial: string;
  /** True when upstream was unchanged and the latest stored serial was kept. */
  readonly reused: boolean;
  readonly upstream: string;
  readonly suites: readonly string[];
  /** suite → sha256 of its InRelease (what SHA256SUMS records). */
  readonly inReleaseSha256: Readonly<Record<string, string>>;
  /** Index files downloaded (0 when reused). */
  readonly files: number;
  readonly bytes: number;
}

/** Takes a new serial of each archive (or reuses the latest when upstream is unchanged). */
export async function mirrorSnapshots(deps: MirrorDeps, project: ProjectConfig, options: MirrorOptions): Promise<readonly MirrorResult[]> {
  for (const a of options.archives) if (!isArchiveName(a)) throw msg.unknownArchive(a);
  const hostSources = await deps.snapshotIo.readHostAptSources();
  const explicit = options.archives.length > 0;
  const archives = explicit ? [...new Set(options.archives)].sort(compare) : await archivesOfSets(deps, project);
  const plan: { archive: string; source: MirrorSource }[] = [];
  for (const archive of archives) {
    const source = mirrorSourceFor(project, archive, hostSources);
    if (source === undefined) {
      if (explicit) throw msg.noMirrorSource(archive);
      deps.out.info(`${archive}: skipped (no upstream; set "snapshots.archives.${archive}.upstream" to mirror it)`);
      continue;
    }
    plan.push({ archive, source });
  }
  if (plan.length === 0) throw msg.nothingToMirror();
  const store = deps.snapshotIo.openStore(options.store);
  const keyring = options.keyring ?? DEBIAN_KEYRING;
  const results: MirrorResult[] = [];
  for (const { archive, source } of plan) results.push(await mirrorArchive(deps, store, archive, source, keyring, options.forceNew === true));
  return results;
}

async function mirrorArchive(deps: MirrorDeps, store: StoreFiles, archive: string, source: MirrorSource, keyring: string, forceNew: boolean): Promise<MirrorResult> {
  const inReleases = new Map<string, Buffer>();
  for (const suite of source.suites) inReleases.set(suite, await fetchVerifiedInRelease(deps, archive, source.upstream, suite, keyring));
  const sums = sha256Of(inReleases);
  const serials = await store.listDirectories(archive);
  const latest = latestOf(serials);
  if (latest !== undefined && !forceNew && (await isSameSnapshot(store, archive, latest, inReleases))) {
    await updateTrace(deps, store, archive, latest);
    deps.out.info(`${archive}: upstream unchanged since serial ${latest}; reusing it (pass --new to take a new serial anyway).`);
    return { archive, serial: latest, reused: true, upstream: source.upstream, suites: source.suites, inReleaseSha256: sums, files: 0, bytes: 0 };
  }
  const serial = planNextSerial(serials, deps.clock.now());
  const captured = await captureSerial(deps, store, archive, serial, source, inReleases);
  await updateTrace(deps, store, archive, serial);
  deps.out.info(`${archive}: took serial ${serial} from ${source.upstream} (${captured.files} index files, ${captured.bytes} bytes).`);
  return { archive, serial, reused: false, upstream: source.upstream, suites: source.suites, inReleaseSha256: sums, ...captured };
}

/** GETs `dists/<suite>/InRelease` and verifies its signature with gpgv; returns the bytes, unmodified. */
export async function fetchVerifiedInRelease(deps: MirrorDeps, archive: string, upstream: string, suite: string, keyring: string): Promise<Buffer> {
  const url = `${upstream}dists/${suite}/InRelease`;
  const res = await deps.snapshotIo.fetchBytes(url);
  if (res.status !== 200) throw msg.inReleaseMissing(archive, url, res.status);
  if (!res.body.subarray(0, 64).toString('latin1').startsWith('-----BEGIN PGP SIGNED MESSAGE-----')) throw msg.notSigned(archive, url);
  const verdict = await deps.snapshotIo.withTempFile(res.body, (path) => deps.runner.tryRun(command('gpgv', ['--keyring', keyring, '--', path], { effect: 'read', timeoutMs: 60_000 })));
  if (verdict.exitCode !== 0) throw msg.signatureInvalid(archive, url, keyring, verdict.stderr);
  return res.body;
}

/** Writes a complete serial: InReleases, the index files they list (verified), its origin; then renames it into place. */
export async function captureSerial(
  deps: MirrorDeps,
  store: StoreFiles,
  archive: string,
  serial: string,
  source: MirrorSource,
  inReleases: ReadonlyMap<string, Buffer>,
): Promise<{ files: number; bytes: number }> {
  const staged = await store.stageSerial(archive);
  let files = 0;
  let bytes = 0;
  try {
    for (const [suite, data] of inReleases) {
      const release = parseReleaseIndex(data.toString('utf8'));
      const wanted = selectMirrorIndices(release, source.components, source.architectures);
      if (!wanted.some((e) => /\/Packages\.(gz|xz)$/.test(e.path))) throw msg.nothingListed(archive, suite, source.components, source.architectures);
      await store.writeAtomic(`${staged.dir}/dists/${suite}/InRelease`, data);
      for (const entry of wanted) {
        const got = await fetchIndex(store, `${staged.dir}/dists/${suite}/${entry.path}`, source.upstream, suite, entry, release.acquireByHash);
        if (got.kind === 'missing') throw msg.indexGoneUpstream(archive, serial, `${source.upstream}dists/${suite}/${entry.path}`, got.status);
        files++;
        bytes += got.bytes;
        deps.out.debug(`${archive} ${serial}: dists/${suite}/${entry.path} (${got.bytes} bytes)`);
      }
    }
    const meta = { upstream: source.upstream, suites: source.suites, components: source.components, architectures: source.architectures, taken: deps.clock.now().toISOString() };
    await store.writeAtomic(`${staged.dir}/${SERIAL_META}`, renderSerialMeta(meta));
    await staged.commit(serial);
  } catch (error) {
    await staged.discard();
    throw error;
  }
  return { files, bytes };
}

/**
 * Downloads one index file listed in an InRelease into the store, by hash
 * when the archive publishes by-hash URLs (immune to the mirror updating
 * mid-way), else by name.
 */
export async function fetchIndex(
  store: StoreFiles,
  path: string,
  upstream: string,
  suite: string,
  entry: IndexEntry,
  acquireByHash: boolean,
): ReturnType<StoreFiles['download']> {
  const base = `${upstream}dists/${suite}/`;
  if (acquireByHash) {
    const got = await store.download(path, `${base}${byHashPath(entry)}`, entry);
    if (got.kind === 'stored') return got;
  }
  return store.download(path, `${base}${entry.path}`, entry);
}

async function isSameSnapshot(store: StoreFiles, archive: string, serial: string, inReleases: ReadonlyMap<string, Buffer>): Promise<boolean> {
  const suites = await store.listDirectories(`${archive}/${serial}/dists`);
  if (suites.length !== inReleases.size) return false;
  for (const [suite, data] of inReleases) {
    const stored = await store.read(storePaths.inRelease(archive, serial, suite));
    if (stored === undefined || !stored.equals(data)) return false;
  }
  return true;
}

/** Points the trace at `serial` unless a later serial is already the latest. */
export async function updateTrace(deps: MirrorDeps, store: StoreFiles, archive: string, serial: string): Promise<void> {
  const latest = latestOf([...(await store.listDirectories(archive)), serial]) ?? serial;
  const current = (await store.read(storePaths.trace(archive)))?.toString('utf8');
  if (current !== undefined && current.includes(`Archive serial: ${latest}\n`)) return;
  await store.writeAtomic(storePaths.trace(archive), renderTrace(latest, deps.clock.now()));
}

function sha256Of(inReleases: ReadonlyMap<string, Buffer>): Record<string, string> {
  return Object.fromEntries([...inReleases].map(([suite, data]) => [suite, createHash('sha256').update(data).digest('hex')]));
}

/**
 * Where `archive` is mirrored from: the project config, else the mirror the
 * host's apt uses for its first suite (only when that mirror's path names the
 * archive, e.g. …/debian-security for debian-security), else deb.debian.org.
 */
export function mirrorSourceFor(project: ProjectConfig, archive: string, hostSources: readonly AptSource[]): MirrorSource | undefined {
  const fallback = resolveMirrorSource(project, archive);
  const suite = fallback?.suites[0] ?? project.codename;
  const host = findHostUpstream(hostSources, suite);
  const hostUpstream = host !== undefined && host.replace(/\/+$/, '').split('/').at(-1) === archive ? host : undefined;
  return resolveMirrorSource(project, archive, hostUpstream);
}

async function archivesOfSets(deps: Pick<Deps, 'files'>, project: ProjectConfig): Promise<string[]> {
  const names = new Set<string>();
  for (const set of SERIAL_SET_NAMES) {
    for (const name of await deps.files.listDirectories(join(project.root, project.serialDirs[set]))) if (!name.startsWith('.')) names.add(name);
  }
  return [...names].sort(compare);
}
