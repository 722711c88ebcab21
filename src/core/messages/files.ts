/**
 * User-facing texts for host filesystem failures (a full disk, a quota, a
 * directory this user may not write, a read-only mount). Each names the path,
 * the errno fact behind it and what to do next.
 */
import { dirname } from 'node:path';
import { UserError } from '../errors.js';

/** Where a write can go instead, whatever wrote it. */
const ELSEWHERE = 'or write elsewhere: tails-build iso --artifacts DIR, --junit FILE, basebox create --output FILE, TAILS_BUILD_CACHE=DIR';

export const fileMessages = {
  noSpace: (action: string, path: string, cause: unknown) =>
    new UserError('disk-full', `Cannot ${action} ${path}: the filesystem holding it has no space left (ENOSPC).`, {
      kind: 'external',
      hint: `Free space there (df -h ${dirname(path)}; tails-build basebox clean-old and tails-build vm clear-cache free the cache), ${ELSEWHERE}.`,
      cause,
    }),
  quotaExceeded: (action: string, path: string, cause: unknown) =>
    new UserError('disk-quota-exceeded', `Cannot ${action} ${path}: this user's disk quota on that filesystem is used up (EDQUOT).`, {
      kind: 'external',
      hint: `Free some of your quota there (quota -s; df -h ${dirname(path)}), ${ELSEWHERE}.`,
      cause,
    }),
  permissionDenied: (action: string, path: string, errno: 'EACCES' | 'EPERM', cause: unknown) =>
    new UserError('permission-denied', `Cannot ${action} ${path}: this user is not allowed to (${errno}).`, {
      hint: `Check who may write there (ls -ld ${dirname(path)}; getfacl ${dirname(path)}) and fix the permissions or run as that user, ${ELSEWHERE}.`,
      cause,
    }),
  readOnly: (action: string, path: string, cause: unknown) =>
    new UserError('read-only-filesystem', `Cannot ${action} ${path}: the filesystem holding it is mounted read-only (EROFS).`, {
      hint: `Remount it read-write (findmnt -T ${dirname(path)} shows the mount), ${ELSEWHERE}.`,
      cause,
    }),
  isDirectory: (action: string, path: string, cause: unknown) =>
    new UserError('path-is-a-directory', `Cannot ${action} ${path}: a directory is there, where a file is to go (EISDIR).`, {
      hint: `Name a file, not a directory (e.g. ${path.replace(/\/+$/, '')}/NAME), or remove the directory (ls -la ${path}).`,
      cause,
    }),
  /** `--junit FILE` could not be written after the command itself succeeded. */
  junitUnwritable: (path: string, error: unknown) =>
    new UserError('junit-unwritable', `The command succeeded, but its JUnit report ${path} could not be written: ${describe(error)}`, {
      kind: error instanceof UserError ? error.kind : 'precondition',
      hint: joinHints(error instanceof UserError ? error.hint : undefined, 'Pass --junit a file in a directory this user can write (it is created if missing), then run the command again.'),
      cause: error,
    }),
  /** The same, after the command itself failed: a warning beside the command's own error, which is what the exit code says. */
  junitUnwritableWarning: (path: string, error: unknown) =>
    `the JUnit report ${path} could not be written: ${describe(error)} The command's own error follows; pass --junit a writable file next time.`,
};

function describe(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

function joinHints(...hints: (string | undefined)[]): string {
  return hints.filter((h): h is string => h !== undefined).join('\n');
}

/**
 * The user-facing error for a failed filesystem call, when its errno is the
 * host's state (full, quota, permissions, read-only); undefined for anything
 * else (which stays what it was: ENOENT is often expected, the rest a bug).
 * EISDIR too: a file was to go where a directory is (a path the user named).
 * `action` reads after "Cannot": "write", "create the directory", ….
 */
export function classifyFilesystemError(action: string, path: string, error: unknown): UserError | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  switch (code) {
    case 'ENOSPC':
      return fileMessages.noSpace(action, path, error);
    case 'EDQUOT':
      return fileMessages.quotaExceeded(action, path, error);
    case 'EACCES':
    case 'EPERM':
      return fileMessages.permissionDenied(action, path, code, error);
    case 'EROFS':
      return fileMessages.readOnly(action, path, error);
    case 'EISDIR':
      return fileMessages.isDirectory(action, path, error);
    default:
      return undefined;
  }
}
