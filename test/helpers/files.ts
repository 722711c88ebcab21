/**
 * A strict in-memory files port (core/ports.ts#DiskFiles): text files and
 * directories in maps. Writing into a directory that was not made, renaming or
 * copying what is not there, and everything a test did not ask for (disk
 * images, hashes) throws.
 */
import { dirname } from 'node:path';
import type { DiskFiles, FileInfo } from '../../src/core/ports.js';

export interface MemoryFiles extends DiskFiles {
  /** Text files by absolute path. */
  readonly texts: Map<string, string>;
  /** Directories by absolute path ('/' included). */
  readonly dirs: Set<string>;
}

export function memoryFiles(initial: Readonly<Record<string, string>> = {}): MemoryFiles {
  const texts = new Map<string, string>();
  const dirs = new Set<string>(['/']);
  const mkdirp = (path: string): void => {
    for (let p = path; !dirs.has(p); p = dirname(p)) {
      if (texts.has(p)) throw new Error(`memoryFiles: ${p} is a file, not a directory`);
      dirs.add(p);
    }
  };
  const within = (path: string, root: string): boolean => path === root || path.startsWith(root === '/' ? '/' : `${root}/`);
  const parentMustExist = (what: string, path: string): void => {
    if (!dirs.has(dirname(path))) throw new Error(`memoryFiles: ${what} ${path}: no directory ${dirname(path)} (ENOENT)`);
    if (dirs.has(path)) throw new Error(`memoryFiles: ${what} ${path}: is a directory (EISDIR)`);
  };
  const fileAt = (what: string, path: string): string => {
    const text = texts.get(path);
    if (text === undefined) throw new Error(`memoryFiles: ${what} ${path}: no such file (ENOENT)`);
    return text;
  };
  const unexpected = (name: string) => (...args: unknown[]): Promise<never> =>
    Promise.reject(new Error(`memoryFiles: unexpected ${name}(${args.map((a) => JSON.stringify(a)).join(', ')})`));

  for (const [path, text] of Object.entries(initial)) {
    mkdirp(dirname(path));
    texts.set(path, text);
  }

  return {
    texts,
    dirs,
    readText: async (path) => {
      if (dirs.has(path)) throw new Error(`memoryFiles: readText ${path}: is a directory (EISDIR)`);
      return texts.get(path);
    },
    isDirectory: async (path) => dirs.has(path),
    listDirectories: async (path) => [...dirs].filter((d) => d !== path && dirname(d) === path).map((d) => d.slice(path === '/' ? 1 : path.length + 1)).sort(),
    writeText: async (path, text) => {
      parentMustExist('writeText', path);
      texts.set(path, text);
    },
    appendText: async (path, text) => {
      parentMustExist('appendText', path);
      texts.set(path, (texts.get(path) ?? '') + text);
    },
    openLog: (path) => {
      parentMustExist('openLog', path);
      texts.set(path, '');
      return {
        write: (text: string) => {
          texts.set(path, (texts.get(path) ?? '') + text);
        },
        close: async () => undefined,
        error: () => undefined,
      };
    },
    mkdirp: async (path) => {
      mkdirp(path);
    },
    makeTempDir: async (parent, prefix) => {
      mkdirp(parent);
      let n = 0;
      while (dirs.has(`${parent}/${prefix}${String(n)}`)) n += 1;
      mkdirp(`${parent}/${prefix}${String(n)}`);
      return `${parent}/${prefix}${String(n)}`;
    },
    stat: async (path): Promise<FileInfo | undefined> => {
      if (dirs.has(path)) return { kind: 'directory', bytes: 0, mode: 0o755, uid: 0, gid: 0 };
      const text = texts.get(path);
      return text === undefined ? undefined : { kind: 'file', bytes: Buffer.byteLength(text), mode: 0o644, uid: 0, gid: 0 };
    },
    remove: async (path) => {
      for (const p of [...texts.keys()]) if (within(p, path)) texts.delete(p);
      for (const d of [...dirs]) if (d !== '/' && within(d, path)) dirs.delete(d);
    },
    rename: async (from, to) => {
      const text = fileAt('rename', from);
      parentMustExist('rename', to);
      texts.delete(from);
      texts.set(to, text);
    },
    copyFile: async (from, to) => {
      const text = fileAt('copyFile', from);
      parentMustExist('copyFile', to);
      texts.set(to, text);
    },
    createSparseFile: unexpected('createSparseFile'),
    readSector: unexpected('readSector'),
    writeAt: unexpected('writeAt'),
    readBytes: unexpected('readBytes'),
    listTree: unexpected('listTree'),
    sha256File: unexpected('sha256File'),
  };
}
