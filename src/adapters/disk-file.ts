/**
 * The files port (core/ports.ts#DiskFiles): text files, directories, trees,
 * and the box image pipeline's sparse disks, sectors and hashes. Reads are
 * projectFiles' (a missing file is undefined, an unreadable one a UserError).
 * A write the host refuses (full disk, quota, permissions, read-only mount)
 * is a UserError naming the path (core/messages/files.ts), not a bug.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createWriteStream } from 'node:fs';
import { appendFile, copyFile, mkdir, mkdtemp, open, readdir, readFile, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { SECTOR_BYTES } from '../core/disk-image.js';
import { classifyFilesystemError } from '../core/messages/index.js';
import type { DiskFiles, FileInfo, LogFile } from '../core/ports.js';
import { isCode, projectFiles } from './project-files.js';

export const diskFiles: DiskFiles = {
  ...projectFiles,
  writeText: (path, text) => writing('write', path, () => writeFile(path, text)),
  appendText: (path, text) => writing('write', path, () => appendFile(path, text)),
  mkdirp: (path) => writing('create the directory', path, () => mkdirp(path)),
  makeTempDir: (parent, prefix) =>
    writing('create a directory in', parent, async () => {
      await mkdirp(parent);
      return mkdtemp(join(parent, prefix));
    }),
  stat: statPath,
  openLog,
  remove: (path) => writing('remove', path, () => rm(path, { recursive: true, force: true })),
  rename: (from, to) => writing(`move ${from} to`, to, () => rename(from, to)),
  copyFile: (from, to) => writing(`copy ${from} to`, to, () => copyFile(from, to)),
  createSparseFile: (path, bytes) => writing('create', path, () => createSparseFile(path, bytes)),
  readSector,
  writeAt: (path, offset, data) => writing('write', path, () => writeAt(path, offset, data)),
  readBytes,
  listTree,
  sha256File,
};

/** Runs a write; a refusal of the host's (ENOSPC, EDQUOT, EACCES, EPERM, EROFS) becomes the UserError that names `path`. */
async function writing<T>(action: string, path: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    throw classifyFilesystemError(action, path, error) ?? error;
  }
}

/**
 * mkdir -p. A recursive mkdir(2) refused by the host reports ENOENT (libuv
 * gives up on the first missing parent); the plain mkdir of the first missing
 * directory then says why (EROFS, EACCES, …).
 */
async function mkdirp(path: string): Promise<void> {
  try {
    await mkdir(path, { recursive: true });
  } catch (error) {
    if (!isCode(error, 'ENOENT')) throw error;
    let missing = path;
    while (dirname(missing) !== missing && (await statPath(dirname(missing)).catch(() => undefined)) === undefined) missing = dirname(missing);
    const why = await mkdir(missing).then(() => undefined, (e: unknown) => e);
    if (why === undefined) await mkdir(path, { recursive: true });
    else throw isCode(why, 'ENOENT') || isCode(why, 'EEXIST') ? error : why;
  }
}

async function statPath(path: string): Promise<FileInfo | undefined> {
  try {
    const info = await stat(path);
    return { kind: info.isFile() ? 'file' : info.isDirectory() ? 'directory' : 'other', bytes: info.size, mode: info.mode & 0o7777, uid: info.uid, gid: info.gid };
  } catch (error) {
    if (isCode(error, 'ENOENT') || isCode(error, 'ENOTDIR')) return undefined;
    throw error;
  }
}

function openLog(path: string): LogFile {
  const stream = createWriteStream(path, { flags: 'w' });
  let failed: Error | undefined;
  // A full or vanished filesystem must fail the build, not kill the process before the cleanups run.
  stream.on('error', (error) => {
    failed ??= error;
  });
  return {
    write: (text) => {
      if (!stream.destroyed) stream.write(text);
    },
    // Resolves on 'close', which follows the 'error' of a failed write: error() is then known.
    close: () =>
      new Promise<void>((resolve) => {
        if (stream.closed) {
          resolve();
          return;
        }
        stream.once('close', () => {
          resolve();
        });
        if (!stream.destroyed) stream.end();
      }),
    error: () => (failed === undefined ? undefined : (classifyFilesystemError('write', path, failed) ?? failed)),
  };
}

export async function createSparseFile(path: string, bytes: number): Promise<void> {
  await writeFile(path, '');
  await truncate(path, bytes);
}

export async function readSector(path: string, sector: number): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const buffer = new Uint8Array(SECTOR_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, SECTOR_BYTES, sector * SECTOR_BYTES);
    if (bytesRead !== SECTOR_BYTES) throw new Error(`${path} is shorter than ${sector + 1} sectors`);
    return buffer;
  } finally {
    await handle.close();
  }
}

export async function writeAt(path: string, offset: number, data: Uint8Array): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.write(data, 0, data.length, offset);
  } finally {
    await handle.close();
  }
}

export async function readBytes(path: string): Promise<Uint8Array> {
  return new Uint8Array(await readFile(path));
}

/** Every path under `root`, relative, sorted bytewise; symlinks are listed, not followed. */
export async function listTree(root: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(rel: string): Promise<void> {
    const entries = await readdir(rel === '' ? root : join(root, rel), { withFileTypes: true });
    for (const entry of entries) {
      const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
      out.push(path);
      if (entry.isDirectory()) await walk(path);
    }
  }
  await walk('');
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
