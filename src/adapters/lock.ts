/**
 * Host-wide exclusive locks: one file per lock, created with O_EXCL, holding
 * the holder's pid, command and start time. A lock whose pid is gone is stale
 * and is broken by the next taker. Used around box import, pool writes and VM
 * network operations, which race between concurrent builds (vagrant-libvirt
 * #278, #104).
 *
 * Default directory: /run/lock/tails-build (sticky, world-writable, so builds
 * of different users on one host share it), created on first use.
 */
import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { UserError } from '../core/errors.js';
import type { HostLocks } from '../core/ports.js';

export const DEFAULT_LOCK_DIR = '/run/lock/tails-build';

export interface LockHolder {
  readonly pid: number;
  readonly command: string;
  /** ISO 8601. */
  readonly startedAt: string;
  /** Unique per acquisition, so a stale lock is never confused with a fresh one. */
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
  readonly pollMs?: number;
}

const LOCK_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** A lock file with no readable holder yet (being written) is trusted this long. */
const UNREADABLE_GRACE_MS = 10_000;

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
  if (!LOCK_NAME.test(name)) throw new RangeError(`bad lock name "${name}"`);
  const dir = options.dir ?? DEFAULT_LOCK_DIR;
  await ensureLockDir(dir);
  const path = join(dir, `${name}.lock`);
  const me: LockHolder = {
    pid: process.pid,
    command: options.command ?? process.argv.slice(1).join(' '),
    startedAt: new Date().toISOString(),
    token: randomBytes(8).toString('hex'),
  };
  const deadline = Date.now() + options.timeoutMs;
  const pollMs = options.pollMs ?? 250;
  let lastAnnounced: string | undefined;
  let unreadableSince: number | undefined;

  for (;;) {
    if (await tryCreate(path, me)) {
      return async () => {
        // Remove only our own lock, never a successor's.
        const holder = await readHolder(path);
        if (holder?.token === me.token) await unlink(path).catch(() => undefined);
      };
    }
    const holder = await readHolder(path);
    if (holder === undefined) {
      // Vanished (retry at once) or being written right now (give it a moment).
      unreadableSince ??= Date.now();
      if (Date.now() - unreadableSince > UNREADABLE_GRACE_MS) await breakStale(path, undefined);
    } else {
      unreadableSince = undefined;
      if (!isAlive(holder.pid)) {
        await breakStale(path, holder);
        continue;
      }
      if (lastAnnounced !== holder.token) {
        lastAnnounced = holder.token;
        options.onWait?.(holder, path);
      }
    }
    const left = deadline - Date.now();
    if (left <= 0) throw lockTimeout(name, path, holder, options.timeoutMs);
    await delay(Math.min(pollMs, left));
  }
}

/** Takes the lock if it is free (breaking a stale one), without waiting; otherwise returns its holder. */
export async function tryHostLock(name: string, options: Pick<HostLockOptions, 'dir' | 'command'>): Promise<{ release: () => Promise<void> } | { heldBy: LockHolder | undefined; path: string }> {
  if (!LOCK_NAME.test(name)) throw new RangeError(`bad lock name "${name}"`);
  const dir = options.dir ?? DEFAULT_LOCK_DIR;
  await ensureLockDir(dir);
  const path = join(dir, `${name}.lock`);
  const me: LockHolder = { pid: process.pid, command: options.command ?? process.argv.slice(1).join(' '), startedAt: new Date().toISOString(), token: randomBytes(8).toString('hex') };
  for (let attempt = 0; attempt < 3; attempt += 1) {
    if (await tryCreate(path, me)) {
      return {
        release: async () => {
          const holder = await readHolder(path);
          if (holder?.token === me.token) await unlink(path).catch(() => undefined);
        },
      };
    }
    const holder = await readHolder(path);
    if (holder !== undefined && !isAlive(holder.pid)) {
      await breakStale(path, holder);
      continue;
    }
    return { heldBy: holder, path };
  }
  return { heldBy: await readHolder(path), path };
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

async function tryCreate(path: string, holder: LockHolder): Promise<boolean> {
  // Write the holder to a private file, then link it into place: the lock file
  // appears complete or not at all (link fails with EEXIST if someone holds it).
  const temp = `${path}.${holder.token}`;
  const handle = await open(temp, 'wx', 0o644);
  try {
    await handle.writeFile(`${JSON.stringify(holder)}\n`);
  } finally {
    await handle.close();
  }
  try {
    await link(temp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

async function readHolder(path: string): Promise<LockHolder | undefined> {
  try {
    const value = JSON.parse(await readFile(path, 'utf8')) as Partial<LockHolder>;
    if (typeof value.pid !== 'number' || typeof value.token !== 'string') return undefined;
    return { pid: value.pid, command: typeof value.command === 'string' ? value.command : '', startedAt: typeof value.startedAt === 'string' ? value.startedAt : '', token: value.token };
  } catch {
    return undefined;
  }
}

/** Whether a process with this pid exists (EPERM: it does, under another user). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes a stale lock without ever removing a live one: move it aside
 * atomically, check it is the stale holder we judged, and put it back if a
 * new holder slipped in meanwhile.
 */
async function breakStale(path: string, stale: LockHolder | undefined): Promise<void> {
  const aside = `${path}.stale-${randomBytes(6).toString('hex')}`;
  try {
    await rename(path, aside);
  } catch {
    return; // someone else broke it first
  }
  const moved = await readHolder(aside);
  if (stale === undefined ? moved === undefined || !isAlive(moved.pid) : moved?.token === stale.token) {
    await unlink(aside).catch(() => undefined);
    return;
  }
  await link(aside, path).catch(() => undefined); // a live holder's lock: restore it (unless a third taker won)
  await unlink(aside).catch(() => undefined);
}

function lockTimeout(name: string, path: string, holder: LockHolder | undefined, timeoutMs: number): UserError {
  const who = holder === undefined ? 'an unknown process' : `pid ${holder.pid} (${holder.command}) since ${holder.startedAt}`;
  return new UserError('lock-timeout', `Gave up after ${Math.round(timeoutMs / 1000)} s waiting for the host lock "${name}" (${path}), held by ${who}.`, {
    hint:
      holder === undefined
        ? `Retry when the other build is done; if no tails-build runs, remove the lock: rm ${path}`
        : `Retry when it is done (ps -p ${holder.pid} -o args), or raise the wait with TAILS_BUILD_LOCK_TIMEOUT (seconds).`,
  });
}

/** Removes the lock files whose holder process is gone (what a killed run left); returns their paths. */
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
    const holder = await readHolder(path);
    if (holder === undefined || isAlive(holder.pid)) continue;
    await breakStale(path, holder);
    removed.push(path);
  }
  return removed;
}

/** The HostLocks port: every lock in one directory, with one wait limit. */
export function createHostLocks(options: { dir: string; timeoutMs: number; command?: string }): HostLocks {
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
        ...(options.command === undefined ? {} : { command: options.command }),
        onWait: (holder, lockPath) => extra?.onWait?.({ pid: holder.pid, command: holder.command, startedAt: holder.startedAt, lockPath }),
      }),
    withLock: (name, fn, extra) =>
      withHostLock(name, fn, {
        dir: options.dir,
        timeoutMs: options.timeoutMs,
        ...(options.command === undefined ? {} : { command: options.command }),
        onWait: (holder, lockPath) => extra?.onWait?.({ pid: holder.pid, command: holder.command, startedAt: holder.startedAt, lockPath }),
      }),
  };
}
