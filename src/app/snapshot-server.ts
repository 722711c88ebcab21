/**
 * `snapshots serve`: the store, read-only over HTTP, in Tails' URL layout.
 * Index files and pool files are served from the store; one that is missing
 * is fetched from upstream once (concurrent requests share the download),
 * verified against the snapshot's own InRelease / Packages indices, stored,
 * then served. Nothing unverified is ever stored or served.
 */
import { createHash } from 'node:crypto';
import { isPackagesIndex, parsePackagesIndex, parseReleaseIndex, resolveByHash, type IndexEntry, type PoolEntry, type ReleaseIndex } from '../core/apt-index.js';
import { resolveMirrorSource, type ProjectConfig } from '../core/project.js';
import {
  parseSerialMeta,
  renderSha256sums,
  routeStoreRequest,
  storePaths,
  type DownloadOutcome,
  type ServedRequest,
  type ServedResponse,
  type StoreFiles,
} from '../core/snapshot-store.js';
import { snapshotStoreMessages as msg } from '../core/messages/index.js';
import type { Deps } from './deps.js';
import { fetchIndex } from './snapshot-mirror.js';

export type ServerDeps = Pick<Deps, 'out' | 'snapshotIo'>;

export interface SnapshotServerOptions {
  /** Absolute store root. */
  readonly store: string;
  /** Gives the upstream of serials that do not record theirs. */
  readonly project?: ProjectConfig;
  /** Default 127.0.0.1:0 (a random port) unless unixSocket is given. */
  readonly listen?: { readonly host: string; readonly port: number };
  readonly unixSocket?: string;
}

export interface RunningSnapshotServer {
  /** Base URL ending in "/" (`http+unix://…` for a unix socket). */
  readonly url: string;
  close(): Promise<void>;
}

const BINARY = 'application/octet-stream';
const TEXT = 'text/plain; charset=utf-8';

export async function startSnapshotServer(deps: ServerDeps, options: SnapshotServerOptions): Promise<RunningSnapshotServer> {
  const store = deps.snapshotIo.openStore(options.store);
  const handler = createHandler(deps, store, options.project);
  const target = options.unixSocket !== undefined ? { unixSocket: options.unixSocket } : { host: options.listen?.host ?? '127.0.0.1', port: options.listen?.port ?? 0 };
  const server = await deps.snapshotIo.listen(target, handler, (req, res, bytes) => {
    deps.out.info(`${res.status} ${req.method} ${req.path} ${bytes} ${res.origin ?? '-'}`);
  });
  return server;
}

function createHandler(deps: ServerDeps, store: StoreFiles, project: ProjectConfig | undefined): (req: ServedRequest) => Promise<ServedResponse> {
  const releases = new Map<string, Promise<ReleaseIndex | undefined>>();
  const pools = new Map<string, { key: string; entries: Promise<ReadonlyMap<string, PoolEntry>> }>();
  const inflight = new Map<string, Promise<DownloadOutcome>>();

  const text = (status: number, body: string, origin?: ServedResponse['origin']): ServedResponse => ({
    status,
    contentType: TEXT,
    body: { kind: 'text', text: body },
    ...(origin === undefined ? {} : { origin }),
  });
  const notFound = (why = 'Not found\n'): ServedResponse => text(404, why);

  async function serveFile(path: string, origin: 'store' | 'fetched', contentType = BINARY): Promise<ServedResponse> {
    const size = await store.sizeOf(path);
    if (size === undefined) return notFound();
    return { status: 200, contentType, body: { kind: 'file', path: store.absolute(path), size }, origin };
  }

  function loadRelease(archive: string, serial: string, suite: string): Promise<ReleaseIndex | undefined> {
    const key = `${archive}/${serial}/${suite}`;
    let found = releases.get(key);
    if (found === undefined) {
      found = store.read(storePaths.inRelease(archive, serial, suite)).then((data) => (data === undefined ? undefined : parseReleaseIndex(data.toString('utf8'))));
      releases.set(key, found);
      found.catch(() => releases.delete(key));
    }
    return found;
  }

  async function upstreamOf(archive: string, serial: string): Promise<string | undefined> {
    const meta = await store.read(storePaths.meta(archive, serial));
    const recorded = meta === undefined ? undefined : parseSerialMeta(meta.toString('utf8'));
    if (recorded !== undefined) return recorded.upstream;
    return project === undefined ? undefined : resolveMirrorSource(project, archive)?.upstream;
  }

  /** One download per target path at a time; later requests wait for it. */
  function once(path: string, start: () => Promise<DownloadOutcome>): Promise<DownloadOutcome> {
    let running = inflight.get(path);
    if (running === undefined) {
      running = start().finally(() => inflight.delete(path));
      inflight.set(path, running);
    }
    return running;
  }

  /** The stored Packages indices of a serial (gz preferred over xz per directory) and their pool entries. */
  async function poolIndex(archive: string, serial: string): Promise<ReadonlyMap<string, PoolEntry>> {
    const chosen: string[] = [];
    for (const suite of await store.listDirectories(`${archive}/${serial}/dists`)) {
      const release = await loadRelease(archive, serial, suite);
      if (release === undefined) continue;
      const byDir = new Map<string, IndexEntry>();
      for (const entry of release.files.values()) {
        if (!isPackagesIndex(entry.path) || entry.path.includes('/by-hash/')) continue;
        if ((await store.sizeOf(storePaths.distsFile(archive, serial, suite, entry.path))) !== entry.size) continue;
        const dir = entry.path.slice(0, entry.path.lastIndexOf('/'));
        const other = byDir.get(dir);
        if (other === undefined || entry.path.endsWith('.gz')) byDir.set(dir, entry);
      }
      for (const entry of byDir.values()) chosen.push(storePaths.distsFile(archive, serial, suite, entry.path));
    }
    const key = chosen.sort().join('\n');
    const cacheKey = `${archive}/${serial}`;
    const cached = pools.get(cacheKey);
    if (cached?.key === key) return cached.entries;
    const entries = (async () => {
      const map = new Map<string, PoolEntry>();
      for (const path of chosen) for (const e of parsePackagesIndex(await store.readPackagesIndex(path))) map.set(e.filename, e);
      return map;
    })();
    pools.set(cacheKey, { key, entries });
    entries.catch(() => pools.delete(cacheKey));
    return entries;
  }

  async function serveDists(archive: string, serial: string, suite: string, path: string): Promise<ServedResponse> {
    if (path === 'InRelease') return serveFile(storePaths.inRelease(archive, serial, suite), 'store');
    const release = await loadRelease(archive, serial, suite);
    if (release === undefined) return notFound();
    const entry = release.files.get(path) ?? resolveByHash(release, path);
    if (entry === undefined) return notFound(`dists/${suite}/${path} is not listed in the InRelease of ${archive} ${serial}.\n`);
    const stored = storePaths.distsFile(archive, serial, suite, entry.path);
    if ((await store.sizeOf(stored)) === entry.size) return serveFile(stored, 'store');
    const upstream = await upstreamOf(archive, serial);
    if (upstream === undefined) return notFound(`dists/${suite}/${entry.path} of ${archive} ${serial} is not stored and its upstream is unknown.\n`);
    const got = await once(stored, () => fetchIndex(store, stored, upstream, suite, entry, release.acquireByHash));
    if (got.kind === 'missing') return notFound(`dists/${suite}/${entry.path} of ${archive} ${serial} is not stored, and upstream answered HTTP ${got.status}.\n`);
    return serveFile(stored, 'fetched');
  }

  async function servePool(archive: string, serial: string, path: string): Promise<ServedResponse> {
    if (!(await store.exists(`${archive}/${serial}/dists`))) return notFound(`There is no snapshot ${archive} ${serial} in the store.\n`);
    const entry = (await poolIndex(archive, serial)).get(path);
    if (entry === undefined) return notFound(msg.poolNotInSerial(archive, serial, path));
    const stored = storePaths.pool(archive, path);
    if ((await store.sizeOf(stored)) === entry.size) return serveFile(stored, 'store');
    const upstream = await upstreamOf(archive, serial);
    if (upstream === undefined) return notFound(`${path} of ${archive} ${serial} is not stored and its upstream is unknown.\n`);
    const url = `${upstream}${encodeURI(path)}`;
    let got: DownloadOutcome;
    try {
      got = await once(stored, () => store.download(stored, url, entry));
    } catch (error) {
      const why = msg.poolFetchFailed(archive, serial, entry.package, entry.version, error);
      deps.out.warn(why.trimEnd());
      return text(502, why);
    }
    if (got.kind === 'missing') {
      const why = msg.poolGoneUpstream(archive, serial, entry.package, entry.version, url, got.status);
      deps.out.warn(why.trimEnd());
      return notFound(why);
    }
    return serveFile(stored, 'fetched');
  }

  async function serveSha256sums(archive: string, serial: string): Promise<ServedResponse> {
    const sums: Record<string, string> = {};
    for (const suite of await store.listDirectories(`${archive}/${serial}/dists`)) {
      const data = await store.read(storePaths.inRelease(archive, serial, suite));
      if (data !== undefined) sums[suite] = createHash('sha256').update(data).digest('hex');
    }
    return Object.keys(sums).length === 0 ? notFound() : text(200, renderSha256sums(sums), 'generated');
  }

  return async (req) => {
    const route = routeStoreRequest(req.path);
    try {
      switch (route.kind) {
        case 'trace':
          return await serveFile(storePaths.trace(route.archive), 'store', TEXT);
        case 'sha256sums':
          return await serveSha256sums(route.archive, route.serial);
        case 'dists':
          return await serveDists(route.archive, route.serial, route.suite, route.path);
        case 'pool':
          return await servePool(route.archive, route.serial, route.path);
        case 'not-found':
          return notFound();
      }
    } catch (error) {
      const why = `${error instanceof Error ? error.message : String(error)}\n`;
      deps.out.warn(`${req.path}: ${why.trimEnd()}`);
      return text(502, why);
    }
  };
}
