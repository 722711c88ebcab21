/**
 * The files port (core/ports.ts#DiskFiles): text files, directories, trees,
 * and the box image pipeline's sparse disks, sectors and hashes. Reads are
 * projectFiles' (a missing file is undefined, an unreadable one a UserError).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createWriteStream } from 'node:fs';
import { appendFile, copyFile, mkdir, open, readdir, readFile, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SECTOR_BYTES } from '../core/disk-image.js';
import type { DiskFiles, FileInfo, LogFile } from '../core/ports.js';
import { isCode, projectFiles } from './project-files.js';

export const diskFiles: DiskFiles = {
  ...projectFiles,
  writeText: (path, text) => writeFile(path, text),
  appendText: (path, text) => appendFile(path, text),
  mkdirp: async (path) => {
    await mkdir(path, { recursive: true });
  },
  stat: statPath,
  openLog,
  remove: (path) => rm(path, { recursive: true, force: true }),
  rename: (from, to) => rename(from, to),
  copyFile: (from, to) => copyFile(from, to),
  createSparseFile,
  readSector,
  writeAt,
  readBytes,
  listTree,
  sha256File,
};

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
    close: () =>
      new Promise<void>((resolve) => {
        if (stream.destroyed) resolve();
        else stream.end(resolve);
      }),
    error: () => failed,
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
