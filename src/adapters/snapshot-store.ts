/**
 * The snapshot store on disk (layout: core/snapshot-store.ts). Every write is
 * atomic: files are written next to their target and renamed; a new serial is
 * built in a staging dir and renamed into place, never over an existing one.
 * Also wires the other snapshot adapters into the one `snapshotIo` port.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { command } from '../core/command.js';
import { UserError } from '../core/errors.js';
import type { Clock, ProjectFiles, Runner } from '../core/ports.js';
import type { SnapshotIo, StagedSerial, StoreFiles } from '../core/snapshot-store.js';
import { readHostAptSources } from './apt-sources.js';
import { createDownloader, type Downloader } from './download.js';
import { listenHttp } from './http-server.js';
import { isCode } from './project-files.js';

const gunzipAsync = promisify(gunzip);

export function createStoreFiles(root: string, downloader: Downloader, runner: Runner): StoreFiles {
  const abs = (path: string): string => join(root, ...path.split('/'));
  return {
    root,
    absolute: abs,
    async read(path) {
      try {
        return await readFile(abs(path));
      } catch (error) {
        if (isCode(error, 'ENOENT') || isCode(error, 'ENOTDIR') || isCode(error, 'EISDIR')) return undefined;
        throw storeError(abs(path), error);
      }
    },
    async sizeOf(path) {
      try {
        const s = await stat(abs(path));
        return s.isFile() ? s.size : undefined;
      } catch (error) {
        if (isCode(error, 'ENOENT') || isCode(error, 'ENOTDIR')) return undefined;
        throw storeError(abs(path), error);
      }
    },
    async exists(path) {
      try {
        await stat(abs(path));
        return true;
      } catch {
        return false;
      }
    },
    async listDirectories(path) {
      try {
        const entries = await readdir(abs(path), { withFileTypes: true });
        return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
      } catch (error) {
        if (isCode(error, 'ENOENT') || isCode(error, 'ENOTDIR')) return [];
        throw storeError(abs(path), error);
      }
    },
    async writeAtomic(path, data) {
      const target = abs(path);
      const temp = `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
      try {
        await mkdir(dirname(target), { recursive: true });
        await writeFile(temp, data, { flag: 'wx' });
        await rename(temp, target);
      } catch (error) {
        await rm(temp, { force: true }).catch(() => undefined);
        throw storeError(target, error);
      }
    },
    download: (path, url, expected) => downloader.downloadVerified(url, abs(path), expected),
    async stageSerial(archive): Promise<StagedSerial> {
      const parent = abs(archive);
      let dir: string;
      try {
        await mkdir(parent, { recursive: true });
        dir = await mkdtemp(join(parent, '.staging-'));
      } catch (error) {
        throw storeError(parent, error);
      }
      const rel = `${archive}/${dir.slice(parent.length + 1)}`;
      return {
        dir: rel,
        async commit(serial) {
          const target = join(parent, serial);
          // rename(2) replaces an empty directory silently: refuse any existing target.
          try {
            await stat(target);
            throw new UserError('store-serial-exists', `Cannot write snapshot ${archive} ${serial}: ${target} already exists, and a serial never changes.`, {
              hint: 'Another "tails-build snapshots mirror" may have taken it at the same time; run the command again.',
            });
          } catch (error) {
            if (!isCode(error, 'ENOENT')) throw error;
          }
          try {
            await rename(dir, target);
          } catch (error) {
            throw storeError(target, error);
          }
        },
        async discard() {
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
    async readPackagesIndex(path) {
      const file = abs(path);
      if (path.endsWith('.gz')) {
        const data = await readFile(file);
        return (await gunzipAsync(data)).toString('utf8');
      }
      if (path.endsWith('.xz')) return (await runner.run(command('xz', ['-dc', '--', file], { effect: 'read', timeoutMs: 120_000 }))).stdout;
      return readFile(file, 'utf8');
    },
  };
}

export function createSnapshotIo(options: { readonly runner: Runner; readonly clock: Clock; readonly files: ProjectFiles; readonly etcApt?: string }): SnapshotIo {
  const downloader = createDownloader({ clock: options.clock });
  return {
    openStore: (root) => createStoreFiles(root, downloader, options.runner),
    fetchBytes: (url) => downloader.fetchBytes(url),
    async withTempFile(data, use) {
      const dir = await mkdtemp(join(tmpdir(), 'tails-build-'));
      try {
        const path = join(dir, 'data');
        await writeFile(path, data);
        return await use(path);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    readHostAptSources: () => readHostAptSources(options.files, options.etcApt),
    listen: listenHttp,
  };
}

function storeError(path: string, error: unknown): UserError {
  if (error instanceof UserError) return error;
  return new UserError('store-io', `Cannot use the snapshot store at ${path}: ${error instanceof Error ? error.message : String(error)}.`, {
    hint: `Check that the store directory is writable (ls -ld ${dirname(path)}), or pass --store DIR.`,
    cause: error,
  });
}
