/**
 * The persistent apt-cacher-ng disks of build VMs: a small pool, so that
 * builds running at once each get a warm cache. A build takes a disk under
 * the disk's host lock and holds the lock for its VM's whole life: the check
 * "nobody uses it" and the attach happen under it, so no disk is ever
 * mounted by two VMs. A disk attached to a VM kept running (keeprunning,
 * rescue) belongs to that VM until it is destroyed, lock or no lock.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { CACHE_VOLUME_GIB, cacheDiskLock, cacheDiskVolume, type VmIdentity } from '../core/build-vm.js';
import { InterruptedError, UserError } from '../core/errors.js';
import type { LockWaitInfo } from '../core/ports.js';
import type { Deps } from './deps.js';

/** The disk a build got: its volume and place in the pool, or none (every disk attached to a kept VM). */
export interface CacheDisk {
  /** null: this build runs without a cache. */
  readonly volume: string | null;
  /** 0-based place in the pool; -1 without a disk. */
  readonly index: number;
  readonly of: number;
  /** Why there is no disk, for titles and events. */
  readonly why?: string;
  release(): Promise<void>;
}

export interface CacheDiskRequest {
  readonly vm: VmIdentity;
  /** The first disk's volume name; the others get -2, -3… before .qcow2. */
  readonly baseVolume: string;
  /** How many disks the pool has (TAILS_BUILD_CACHE_DISKS). */
  readonly disks: number;
  /** A kept VM being reused: the volume it has attached (null: none), which it must keep. */
  readonly attached?: string | null;
  /** Give up waiting for a disk after this long. */
  readonly waitMs: number;
  readonly pollMs?: number;
  readonly report: (line: string) => void;
}

/**
 * Takes a cache disk for this build's VM, waiting while every disk is held by
 * a running build. An interrupt (deps.signal) ends the wait at once with
 * InterruptedError, no disk lock held.
 */
export async function takeCacheDisk(deps: Pick<Deps, 'locks' | 'pool' | 'domains' | 'out' | 'signal'>, request: CacheDiskRequest): Promise<CacheDisk> {
  const none = (why: string): CacheDisk => ({ volume: null, index: -1, of: request.disks, why, release: () => Promise.resolve() });
  if (request.attached === null) return none('the kept VM runs without a cache disk');
  const all = Array.from({ length: request.disks }, (_, i) => cacheDiskVolume(request.baseVolume, i));
  const candidates = request.attached === undefined ? all : all.filter((v) => v === request.attached);
  if (candidates.length === 0 && request.attached !== undefined) {
    // Reused VM whose disk is beyond a pool made smaller since: it keeps its disk all the same.
    candidates.push(request.attached);
  }
  const deadline = Date.now() + request.waitMs;
  let announced = '';
  for (;;) {
    verifyNotInterrupted(deps.signal);
    const held: string[] = [];
    const kept: string[] = [];
    for (const volume of candidates) {
      const got = await deps.locks.tryAcquire(cacheDiskLock(volume));
      if (!('release' in got)) {
        held.push(`${volume}: ${holderText(got.heldBy)}`);
        continue;
      }
      try {
        const users = await runningUsers(deps, volume, request.vm.domain);
        if (users.length > 0) {
          kept.push(`${volume} is attached to the kept VM ${users.join(', ')}`);
          await got.release();
          continue;
        }
        await ensureVolume(deps, volume, request.report);
      } catch (error) {
        await got.release();
        throw error;
      }
      return { volume, index: all.indexOf(volume), of: request.disks, release: got.release };
    }
    if (held.length === 0) {
      const why = `all ${String(request.disks)} cache disk(s) are attached to kept VMs (${kept.join('; ')})`;
      deps.out.warn(`${capitalise(why)}: this build runs without a cache (packages come straight from the snapshot server). Destroy a kept VM (tails-build vm destroy, in its checkout) or raise TAILS_BUILD_CACHE_DISKS.`);
      return none(why);
    }
    const line = `waiting for a cache disk: ${[...held, ...kept].join('; ')} (TAILS_BUILD_CACHE_DISKS=${String(request.disks)}; one build per disk)`;
    if (line !== announced) {
      announced = line;
      request.report(line);
      deps.out.info(line);
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new UserError('cache-disks-busy', `Gave up after ${String(Math.round(request.waitMs / 1000))} s waiting for an apt-cacher-ng disk: ${held.join('; ')}.`, {
        hint: `Retry when a build is done, raise TAILS_BUILD_CACHE_DISKS (now ${String(request.disks)}) so that more builds run at once, or raise the wait with TAILS_BUILD_LOCK_TIMEOUT (seconds).`,
      });
    }
    await delay(Math.min(request.pollMs ?? 1000, left), undefined, { signal: deps.signal }).catch((error: unknown) => {
      verifyNotInterrupted(deps.signal);
      throw error;
    });
  }
}

/** The error the runner throws for the same interrupt (its reason: SIGINT, SIGTERM…). */
function verifyNotInterrupted(signal: AbortSignal): void {
  if (signal.aborted) throw new InterruptedError(String(signal.reason ?? 'a signal'));
}

function holderText(holder: LockWaitInfo | undefined): string {
  return holder === undefined ? 'held by another build' : `held by ${holder.command} (pid ${String(holder.pid)}, since ${holder.startedAt})`;
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Running domains other than ours with this volume attached. */
async function runningUsers(deps: Pick<Deps, 'pool' | 'domains'>, volume: string, ours: string): Promise<string[]> {
  const found = (await deps.pool.listVolumes()).find((v) => v.name === volume);
  if (found === undefined) return [];
  const users: string[] = [];
  for (const other of (await deps.domains.usersOfFile(found.path)).filter((d) => d !== ours)) {
    if ((await deps.domains.state(other)) === 'running') users.push(other);
  }
  return users;
}

async function ensureVolume(deps: Pick<Deps, 'pool'>, name: string, report: (line: string) => void): Promise<void> {
  await deps.pool.ensurePool();
  if ((await deps.pool.listVolumes()).some((v) => v.name === name)) return;
  report(`creating the apt-cacher-ng disk ${name} (${String(CACHE_VOLUME_GIB)} GiB, qcow2) in pool ${deps.pool.name}`);
  await deps.pool.createVolume({ name, capacityGiB: CACHE_VOLUME_GIB });
}
