/**
 * Writes serial files on disk: `<dir>/<archive>/serial`, one line. (Reads go
 * through the ProjectFiles port: see app/serial-sets.ts.) Writes are all or
 * nothing: everything is checked first, each new file is written next to its
 * target and renamed over it, and if a rename fails the files already
 * replaced are put back.
 */
import { randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { UserError } from '../core/errors.js';
import type { SerialStore, SerialWrite } from '../core/ports.js';
import type { SerialSet } from '../core/serials.js';
import { snapshotMessages as msg } from '../core/messages/index.js';
import { isCode } from './project-files.js';

export const SERIAL_FILE = 'serial';
/** The snapshot identity written next to a serial (see SerialWrite.sha256sums). */
export const SHA256SUMS_FILE = 'SHA256SUMS';

export interface SerialStoreOptions {
  /** Replaces fs.rename, so tests can make one rename fail. Defaults to node:fs/promises rename. */
  readonly rename?: (from: string, to: string) => Promise<void>;
}

interface Prepared {
  readonly path: string;
  /** The new content, written next to the target; undefined when the target is to be removed. */
  readonly temp: string | undefined;
  /** The bytes the file held before, or undefined when it did not exist. */
  readonly original: Buffer | undefined;
}

export function createSerialStore(options: SerialStoreOptions = {}): SerialStore {
  const doRename = options.rename ?? rename;

  async function write(changes: readonly SerialWrite[]): Promise<void> {
    // 1. Check every target before touching any.
    const targets: { path: string; text: string | null; original: Buffer | undefined }[] = [];
    const seen = new Set<string>();
    for (const change of changes) {
      const archiveDir = join(change.dir, change.archive);
      const path = join(archiveDir, SERIAL_FILE);
      if (change.value === '' || /[\r\n]/.test(change.value)) throw msg.badSerialValue(path, change.value);
      if (seen.has(path)) throw new Error(`bug: ${path} written twice in one change set`);
      seen.add(path);
      if (!(await isDirectory(archiveDir))) throw msg.writeTargetInvalid(path, `${archiveDir} is not a directory`);
      targets.push({ path, text: `${change.value}\n`, original: await readOriginal(path) });
      if (change.sha256sums !== undefined) {
        const sums = join(archiveDir, SHA256SUMS_FILE);
        const original = await readOriginal(sums);
        if (change.sha256sums === null ? original !== undefined : original?.toString('utf8') !== change.sha256sums) {
          targets.push({ path: sums, text: change.sha256sums, original });
        }
      }
    }

    // 2. Write every new file next to its target.
    const prepared: Prepared[] = [];
    for (const t of targets) {
      if (t.text === null) {
        prepared.push({ path: t.path, temp: undefined, original: t.original });
        continue;
      }
      const temp = tempName(t.path);
      try {
        await writeFile(temp, t.text, { flag: 'wx' });
      } catch (error) {
        await removeQuietly([temp, ...temps(prepared)]);
        throw msg.writeFailed(t.path, error, true);
      }
      prepared.push({ path: t.path, temp, original: t.original });
    }

    // 3. Rename them over the targets (or remove them); on failure put back what was replaced.
    for (let i = 0; i < prepared.length; i++) {
      const p = prepared[i];
      if (p === undefined) continue;
      try {
        if (p.temp === undefined) await unlink(p.path);
        else await doRename(p.temp, p.path);
      } catch (error) {
        await removeQuietly(temps(prepared.slice(i)));
        const restored = await restore(prepared.slice(0, i));
        throw msg.writeFailed(p.path, error, restored);
      }
    }
  }

  async function restore(done: readonly Prepared[]): Promise<boolean> {
    let ok = true;
    for (const p of done) {
      try {
        if (p.original === undefined) {
          await unlink(p.path).catch((error: unknown) => {
            if (!isCode(error, 'ENOENT')) throw error;
          });
        } else {
          const temp = tempName(p.path);
          await writeFile(temp, p.original, { flag: 'wx' });
          await rename(temp, p.path);
        }
      } catch {
        ok = false;
      }
    }
    return ok;
  }

  async function replaceSet(dir: string, serials: SerialSet, sha256sums: Readonly<Record<string, string>> = {}): Promise<void> {
    for (const [archive, value] of Object.entries(serials)) {
      if (value === '' || /[\r\n]/.test(value)) throw msg.badSerialValue(join(dir, archive, SERIAL_FILE), value);
    }
    await verifyReplaceable(dir);
    const parent = dirname(dir);
    try {
      await mkdir(parent, { recursive: true });
    } catch (error) {
      throw msg.writeFailed(dir, error, true);
    }
    let fresh: string | undefined;
    let old: string | undefined;
    try {
      fresh = await mkdtemp(join(parent, `.${basename(dir)}.new-`));
      for (const [archive, value] of Object.entries(serials)) {
        await mkdir(join(fresh, archive));
        await writeFile(join(fresh, archive, SERIAL_FILE), `${value}\n`);
        const sums = sha256sums[archive];
        if (sums !== undefined) await writeFile(join(fresh, archive, SHA256SUMS_FILE), sums);
      }
      if (await exists(dir)) {
        const moved = `${join(parent, `.${basename(dir)}.old-`)}${randomBytes(4).toString('hex')}`;
        await doRename(dir, moved);
        old = moved;
      }
      await doRename(fresh, dir);
      fresh = undefined;
    } catch (error) {
      if (fresh !== undefined) await rm(fresh, { recursive: true, force: true }).catch(() => undefined);
      let restored = true;
      if (old !== undefined) restored = await rename(old, dir).then(() => true, () => false);
      old = undefined;
      throw msg.writeFailed(dir, error, restored);
    } finally {
      if (old !== undefined) await rm(old, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  return { write, replaceSet };
}

/**
 * Refuses to replace a directory that is not a serial tree (only
 * `<archive>/serial` and dot-files), so a mistyped --output cannot wipe
 * anything else.
 */
async function verifyReplaceable(dir: string): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if (isCode(error, 'ENOENT')) return;
    throw msg.writeTargetInvalid(dir, `it cannot be listed (${reason(error)})`);
  }
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const inner = entry.isDirectory() ? await readdir(join(dir, entry.name)) : undefined;
    if (inner === undefined || inner.some((name) => name !== SERIAL_FILE && name !== SHA256SUMS_FILE && !name.startsWith('.'))) {
      throw msg.writeTargetInvalid(dir, `it exists and holds ${entry.name}${entry.isDirectory() ? '/' : ''}, which is not <archive>/serial; refusing to replace it`);
    }
  }
}

async function readOriginal(path: string): Promise<Buffer | undefined> {
  try {
    const s = await stat(path);
    if (!s.isFile()) throw msg.writeTargetInvalid(path, 'it exists but is not a regular file');
    return await readFile(path);
  } catch (error) {
    if (isCode(error, 'ENOENT')) return undefined;
    if (error instanceof UserError) throw error;
    throw msg.writeTargetInvalid(path, `it cannot be read (${reason(error)})`);
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function removeQuietly(paths: readonly string[]): Promise<void> {
  await Promise.all(paths.map((p) => unlink(p).catch(() => undefined)));
}

function temps(prepared: readonly Prepared[]): string[] {
  return prepared.flatMap((p) => (p.temp === undefined ? [] : [p.temp]));
}

function tempName(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
