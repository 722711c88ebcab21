import { readdir, readFile, stat } from 'node:fs/promises';
import { UserError } from '../core/errors.js';
import type { ProjectFiles } from '../core/ports.js';

export const projectFiles: ProjectFiles = {
  async readText(path) {
    try {
      return await readFile(path, 'utf8');
    } catch (error) {
      if (isCode(error, 'ENOENT')) return undefined;
      throw unreadable(path, error);
    }
  },
  async isDirectory(path) {
    try {
      return (await stat(path)).isDirectory();
    } catch (error) {
      if (isCode(error, 'ENOENT') || isCode(error, 'ENOTDIR')) return false;
      throw unreadable(path, error);
    }
  },
  async listDirectories(path) {
    try {
      const entries = await readdir(path, { withFileTypes: true });
      return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
    } catch (error) {
      if (isCode(error, 'ENOENT')) return [];
      throw unreadable(path, error);
    }
  },
};

export function isCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}

function unreadable(path: string, error: unknown): UserError {
  const reason = error instanceof Error ? error.message : String(error);
  return new UserError('unreadable', `Cannot read ${path}: ${reason}.`, {
    hint: `Check the permissions of ${path} (ls -ld ${path}).`,
    cause: error,
  });
}
