/** Files of the box image pipeline: sparse disks, sectors, trees, hashes. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SECTOR_BYTES } from '../core/disk-image.js';

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
