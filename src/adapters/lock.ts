/**
 * Host-wide exclusive locks that the kernel keeps: flock(2) on one file per
 * lock. Used around box import, pool writes and VM network operations, which
 * race between concurrent builds (vagrant-libvirt #278, #104).
 *
 * The lock is held by an open file description of this process, so the kernel
 * releases it when we close the file or die, however we die (SIGKILL, OOM):
 * nothing is ever stale and no pid is ever trusted. Node has no flock(2), so
 * util-linux's flock(1) makes the call for us on a descriptor we hand it (its
 * fd 3): the lock belongs to the open file description we share, and stays
 * with our descriptor after flock(1) has exited. No process lives on while
 * the lock is held; our descriptor is close-on-exec, so no program we start
 * inherits the lock either.
 *
 * The holder writes who it is (pid, command, start, a token) into the lock
 * file after taking the lock, for the messages of those who wait; the flock
 * is the truth, the contents are only words. Releasing removes the file while
 * still holding it; a waiter who then gets the lock on the removed file sees
 * that the path no longer names it and starts over on the new file.
 *
 * Default directory: /run/lock/tails-build (sticky, world-writable), lock
 * files 0666, so builds of different users on one host share them.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, lstat, mkdir, open, readdir, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { InterruptedError, UserError } from '../core/errors.js';
import type { HostLocks } from '../core/ports.js';

export const DEFAULT_LOCK_DIR = '/run/lock/tails-build';

export interface LockHolder {
  readonly pid: number;
  readonly command: string;
  /** ISO 8601. */
  readonly startedAt: string;
  /** Unique per acquisition, so one holder is told from the next. */
  readonly token: string;
}

export interface HostLockOptions {
  /** Give up after waiting this long. */
  readonly timeoutMs: number;
  /** Called when the lock is held by someone else, once per distinct holder. */
  readonly onWait?: (holder: LockHolder, lockPath: string) => void;
  /** Where lock files live (default /run/lock/tails-build). */
  readonly dir?: string;
  /** What this process is doing, for the next one who waits (default: its argv). */
  readonly command?: string;
  /** How often a waiter rereads who holds the lock, to announce a new holder. */
  readonly pollMs?: number;
  /**
   * Aborted by SIGINT/SIGTERM: a waiter stops waiting at once (its flock(1)
   * killed and reaped) and rejects with InterruptedError, holding nothing.
   */
  readonly signal?: AbortSignal;
}

const LOCK_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** flock(1)'s exit status when the lock is held by someone else (EX_TEMPFAIL). */
const BUSY = 75;
/**
 * A waiter blocks in flock(2) this long at a time: if this process is killed
 * while it waits, the flock(1) it started (which shares our descriptor) gives
 * up within this time instead of waiting on alone.
 */
const WAIT_SLICE_MS = 1000;
/** Locks this process holds, kept reachable so a lost release never lets the GC close (and so release) one. */
const held = new Set<FileHandle>();
/** flock(1) processes running now, ended if this process exits while they wait. */
const helpers = new Set<{ kill: () => void }>();
let exitHookInstalled = false;

/** Runs `fn` while holding the host-wide lock `name`; releases it in every case. */
export async function withHostLock<T>(name: string, fn: () => Promise<T>, options: HostLockOptions): Promise<T> {
  const release = await acquireHostLock(name, options);
  try {
    return await fn();
  } finally {
    await release();
  }
}

/** Takes the lock, waiting up to `timeoutMs`; returns the release function. */
export async function acquireHostLock(name: string, options: HostLockOptions): Promise<() => Promise<void>> {
  verifyNotAborted(options.signal);
  const path = await lockPath(name, options.dir);
  const me = newHolder(options.command);
  const deadline = Date.now() + options.timeoutMs;
  const pollMs = options.pollMs ?? 250;
  let lastSeen: LockHolder | undefined;
  let waiting = true;
  const look = async (): Promise<void> => {
    const holder = await readHolder(path);
    if (!waiting || holder === undefined || holder.token === me.token) return;
    const isNew = lastSeen?.token !== holder.token;
    lastSeen = holder;
    if (isNew) options.onWait?.(holder, path);
  };

  for (;;) {
    verifyNotAborted(options.signal);
    const file = await openLockFile(path, true);
    let got: boolean;
    try {
      got = await flock(file.handle, 0);
      if (!got) {
        await look();
        // The holder is re-read while we wait; a read still in flight is awaited before we settle,
        // so that no descriptor of ours is open on the lock file once the wait has ended.
        let reading: Promise<void> = Promise.resolve();
        const timer = setInterval(() => {
          reading = reading.then(look).catch(() => undefined);
        }, pollMs);
        try {
          for (let left = deadline - Date.now(); !got && left > 0; left = deadline - Date.now()) {
            got = await flock(file.handle, Math.min(left, WAIT_SLICE_MS), options.signal);
          }
        } finally {
          clearInterval(timer);
          await reading;
        }
      }
    } catch (error) {
      waiting = false;
      // Interrupted or failed while waiting: closing our descriptor drops whatever flock(1) got for us.
      await file.handle.close();
      throw error;
    }
    if (got && (await stillAt(file.handle, path))) {
      waiting = false;
      await writeHolder(file, me);
      return releaser(file, path);
    }
    await file.handle.close();
    if (got) continue; // we locked a file its last holder had just removed: take the one at the path now
    waiting = false;
    throw lockTimeout(name, path, (await readHolder(path)) ?? lastSeen, options.timeoutMs);
  }
}

/** Takes the lock if it is free now, without waiting; otherwise returns its holder (undefined: not said yet). */
export async function tryHostLock(name: string, options: Pick<HostLockOptions, 'dir' | 'command'>): Promise<{ release: () => Promise<void> } | { heldBy: LockHolder | undefined; path: string }> {
  const path = await lockPath(name, options.dir);
  const me = newHolder(options.command);
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const file = await openLockFile(path, true);
    let got: boolean;
    try {
      got = await flock(file.handle, 0);
    } catch (error) {
      await file.handle.close();
      throw error;
    }
    if (got && (await stillAt(file.handle, path))) {
      await writeHolder(file, me);
      return { release: releaser(file, path) };
    }
    await file.handle.close();
    if (!got) return { heldBy: await readHolder(path), path };
  }
  // The file was removed under us five times over: others are taking it right now.
  return { heldBy: await readHolder(path), path };
}

/** Whether a process with this pid exists (EPERM: it does, under another user). Not used to judge locks: a pid proves nothing. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the lock files nobody holds (what a killed run left); returns their paths. A held lock is never touched. */
export async function pruneStaleLocks(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names.filter((n) => n.endsWith('.lock')).sort()) {
    const path = join(dir, name);
    let file: LockFile | undefined;
    try {
      file = await openLockFile(path, false);
      if (file === undefined || !(await flock(file.handle, 0)) || !(await stillAt(file.handle, path))) continue;
      // Removed while we hold it: whoever waits on this file starts over on a new one.
      await unlink(path);
      removed.push(path);
    } catch {
      // Not ours to remove (another user's file), or not a lock file: leave it.
    } finally {
      await file?.handle.close();
    }
  }
  return removed;
}

/** The HostLocks port: every lock in one directory, with one wait limit. */
export function createHostLocks(options: { dir: string; timeoutMs: number; command?: string; signal?: AbortSignal }): HostLocks {
  const interruptible = options.signal === undefined ? {} : { signal: options.signal };
  return {
    pruneStale: () => pruneStaleLocks(options.dir),
    tryAcquire: async (name) => {
      const got = await tryHostLock(name, { dir: options.dir, ...(options.command === undefined ? {} : { command: options.command }) });
      if ('release' in got) return { release: got.release };
      return { heldBy: got.heldBy === undefined ? undefined : { pid: got.heldBy.pid, command: got.heldBy.command, startedAt: got.heldBy.startedAt, lockPath: got.path } };
    },
    acquire: (name, extra) =>
      acquireHostLock(name, {
        dir: options.dir,
        timeoutMs: options.timeoutMs,
        ...interruptible,
        ...(options.command === undefined ? {} : { command: options.command }),
        onWait: (holder, lockPath) => extra?.onWait?.({ pid: holder.pid, command: holder.command, startedAt: holder.startedAt, lockPath }),
      }),
    withLock: (name, fn, extra) =>
      withHostLock(name, fn, {
        dir: options.dir,
        timeoutMs: options.timeoutMs,
        ...interruptible,
        ...(options.command === undefined ? {} : { command: options.command }),
        onWait: (holder, lockPath) => extra?.onWait?.({ pid: holder.pid, command: holder.command, startedAt: holder.startedAt, lockPath }),
      }),
  };
}

async function lockPath(name: string, dir: string | undefined): Promise<string> {
  if (!LOCK_NAME.test(name)) throw new RangeError(`bad lock name "${name}"`);
  const where = dir ?? DEFAULT_LOCK_DIR;
  await ensureLockDir(where);
  return join(where, `${name}.lock`);
}

function newHolder(command: string | undefined): LockHolder {
  return { pid: process.pid, command: command ?? process.argv.slice(1).join(' '), startedAt: new Date().toISOString(), token: randomBytes(8).toString('hex') };
}

async function ensureLockDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    if (dir === DEFAULT_LOCK_DIR) await chmod(dir, 0o1777).catch(() => undefined);
  } catch (error) {
    throw new UserError('lock-dir', `Cannot create the lock directory ${dir}: ${error instanceof Error ? error.message : String(error)}.`, {
      hint: `Create it writable for every builder (sudo install -d -m 1777 ${dir}), or set TAILS_BUILD_LOCK_DIR.`,
      cause: error,
    });
  }
}

interface LockFile {
  readonly handle: FileHandle;
  /** False when we may only read it (another user's file we cannot write): we hold the lock but cannot say so. */
  readonly writable: boolean;
}

/** Never follows a symlink, never blocks on a FIFO (the directory is world-writable). */
const SAFE = constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * Opens the lock file, creating it 0666 whatever our umask. An existing file
 * is opened without O_CREAT: fs.protected_regular refuses O_CREAT on another
 * user's file in a sticky directory. Returns undefined if it is missing and
 * `create` is false.
 */
async function openLockFile(path: string, create: true): Promise<LockFile>;
async function openLockFile(path: string, create: boolean): Promise<LockFile | undefined>;
async function openLockFile(path: string, create: boolean): Promise<LockFile | undefined> {
  for (;;) {
    let file: LockFile;
    try {
      file = { handle: await open(path, constants.O_RDWR | SAFE), writable: true };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        if (!create) return undefined;
        try {
          const handle = await open(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | SAFE, 0o666);
          await handle.chmod(0o666);
          return { handle, writable: true };
        } catch (createError) {
          if ((createError as NodeJS.ErrnoException).code === 'EEXIST') continue;
          throw lockFileError(path, createError);
        }
      }
      if (code !== 'EACCES' && code !== 'EPERM' && code !== 'EROFS') throw lockFileError(path, error);
      try {
        file = { handle: await open(path, constants.O_RDONLY | SAFE), writable: false };
      } catch (readError) {
        throw lockFileError(path, readError);
      }
    }
    if ((await file.handle.stat()).isFile()) return file;
    await file.handle.close();
    throw lockFileError(path, new Error('not a regular file'));
  }
}

function lockFileError(path: string, error: unknown): UserError {
  const why = (error as NodeJS.ErrnoException).code === 'ELOOP' ? 'it is a symbolic link' : error instanceof Error ? error.message : String(error);
  return new UserError('lock-file', `Cannot open the host lock ${path}: ${why}.`, {
    hint: `It should be a regular file every builder can read and write; remove it when no tails-build runs (rm ${path}).`,
    cause: error,
  });
}

/**
 * flock(2) on our open file, through flock(1): exclusive, without waiting
 * (`waitMs` 0) or for up to `waitMs`. True when we now hold it. When `signal`
 * is aborted, flock(1) is killed and, once it is gone, the promise rejects
 * with InterruptedError; if it had got the lock meanwhile, the lock is on our
 * descriptor, which the caller then closes.
 */
function flock(handle: FileHandle, waitMs: number, signal?: AbortSignal): Promise<boolean> {
  const how = waitMs <= 0 ? ['--nonblock'] : ['--wait', (waitMs / 1000).toFixed(3)];
  const args = ['--exclusive', ...how, '--conflict-exit-code', String(BUSY), '3'];
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(interrupted(signal));
      return;
    }
    const child = spawn('flock', args, { stdio: ['ignore', 'ignore', 'pipe', handle.fd] });
    const helper = { kill: () => child.kill('SIGKILL') };
    helpers.add(helper);
    installExitHook();
    const onAbort = (): void => {
      helper.kill();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const settled = (): void => {
      helpers.delete(helper);
      signal?.removeEventListener('abort', onAbort);
    };
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (error) => {
      settled();
      reject(
        (error as NodeJS.ErrnoException).code === 'ENOENT'
          ? new UserError('lock-tool', 'Cannot take a host lock: flock(1) is not installed.', { kind: 'prerequisite', hint: 'Install util-linux (sudo apt-get install util-linux).', cause: error })
          : error,
      );
    });
    child.on('close', (code, signalName) => {
      settled();
      if (signal?.aborted === true) reject(interrupted(signal));
      else if (code === 0) resolve(true);
      else if (code === BUSY) resolve(false);
      else reject(new Error(`flock ${args.join(' ')} ${signalName === null ? `exited with code ${String(code)}` : `was killed by ${signalName}`}${stderr.trim() === '' ? '' : `: ${stderr.trim()}`}`));
    });
  });
}

/** The error the runner throws for the same interrupt (SIGINT, SIGTERM…: the signal's reason). */
function interrupted(signal: AbortSignal): InterruptedError {
  return new InterruptedError(String(signal.reason ?? 'a signal'));
}

function verifyNotAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw interrupted(signal);
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const helper of helpers) helper.kill();
  });
}

/** Whether the path still names the file we hold (a releasing holder removes it). */
async function stillAt(handle: FileHandle, path: string): Promise<boolean> {
  const [ours, there] = await Promise.all([handle.stat(), lstat(path).catch(() => undefined)]);
  return there !== undefined && ours.dev === there.dev && ours.ino === there.ino;
}

async function writeHolder(file: LockFile, me: LockHolder): Promise<void> {
  if (!file.writable) return;
  try {
    await file.handle.truncate(0);
    await file.handle.write(`${JSON.stringify(me)}\n`, 0);
  } catch {
    // Only words for those who wait; the lock is ours all the same.
  }
}

function releaser(file: LockFile, path: string): () => Promise<void> {
  held.add(file.handle);
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    try {
      // Remove it while we hold it (a waiter on it then starts over); if it is
      // another user's file in the sticky directory, at least stop naming us.
      if (await stillAt(file.handle, path)) await unlink(path).catch(() => (file.writable ? file.handle.truncate(0) : undefined));
    } catch {
      // The lock goes with the descriptor all the same.
    } finally {
      held.delete(file.handle);
      await file.handle.close();
    }
  };
}

async function readHolder(path: string): Promise<LockHolder | undefined> {
  try {
    const handle = await open(path, constants.O_RDONLY | SAFE);
    let text: string;
    try {
      text = await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
    const value = JSON.parse(text) as Partial<LockHolder>;
    if (typeof value.pid !== 'number' || typeof value.token !== 'string') return undefined;
    return { pid: value.pid, command: typeof value.command === 'string' ? value.command : '', startedAt: typeof value.startedAt === 'string' ? value.startedAt : '', token: value.token };
  } catch {
    return undefined;
  }
}

function lockTimeout(name: string, path: string, holder: LockHolder | undefined, timeoutMs: number): UserError {
  const who = holder === undefined ? 'an unknown process' : `pid ${holder.pid} (${holder.command}) since ${holder.startedAt}`;
  return new UserError('lock-timeout', `Gave up after ${Math.round(timeoutMs / 1000)} s waiting for the host lock "${name}" (${path}), held by ${who}.`, {
    hint:
      holder === undefined
        ? `Retry when the other build is done (fuser -v ${path} lists the processes that hold or await it).`
        : `Retry when it is done (ps -p ${holder.pid} -o args), or raise the wait with TAILS_BUILD_LOCK_TIMEOUT (seconds).`,
  });
}
