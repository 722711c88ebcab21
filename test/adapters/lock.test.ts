/**
 * Host locks between real processes (flock(2), kept by the kernel): mutual
 * exclusion, who holds it, a killed holder, pid reuse, timeout, pruning.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { acquireHostLock, createHostLocks, pruneStaleLocks, tryHostLock, withHostLock, type LockHolder } from '../../src/adapters/lock.js';
import { InterruptedError, UserError } from '../../src/core/errors.js';
import { makeTempDir } from '../helpers/git-repo.js';

const CHILD = fileURLToPath(new URL('../helpers/lock-child.js', import.meta.url));
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function lockDir(): string {
  const d = makeTempDir('tb-lock-');
  dirs.push(d);
  return d;
}

interface Event {
  event: 'waiting' | 'acquired' | 'released' | 'done' | 'error';
  pid: number;
  t: number;
  holderPid?: number;
  holderCommand?: string;
  holderSince?: string;
  code?: string;
  message?: string;
}

/** A lock-child process: its events as they come, its exit, and the means to end it. */
class Child {
  readonly pid: number;
  readonly events: Event[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly process;
  private readonly listeners: (() => void)[] = [];

  constructor(args: string[]) {
    this.process = spawn(process.execPath, [CHILD, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.pid = this.process.pid ?? -1;
    let buffer = '';
    this.process.stdout.setEncoding('utf8').on('data', (d: string) => {
      buffer += d;
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        this.events.push(JSON.parse(buffer.slice(0, newline)) as Event);
        buffer = buffer.slice(newline + 1);
        for (const listener of this.listeners) listener();
      }
    });
    this.exited = new Promise((resolve, reject) => {
      this.process.on('error', reject);
      this.process.on('close', (code, signal) => {
        for (const listener of this.listeners) listener();
        resolve({ code, signal });
      });
    });
  }

  /** The first event of this kind (waits for it; fails if the child exits without it). */
  next(kind: Event['event']): Promise<Event> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = this.events.find((e) => e.event === kind);
        if (found !== undefined) resolve(found);
        else if (this.process.exitCode !== null || this.process.signalCode !== null) reject(new Error(`child ${this.pid} exited without "${kind}": ${JSON.stringify(this.events)}`));
        else return false;
        return true;
      };
      if (!check()) this.listeners.push(() => void check());
    });
  }

  has(kind: Event['event']): boolean {
    return this.events.some((e) => e.event === kind);
  }

  /** Lets a holding child release and exit. */
  finish(): Promise<{ code: number | null }> {
    this.process.stdin.end();
    return this.exited;
  }

  kill(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.process.kill('SIGKILL');
    return this.exited;
  }
}

const hold = (dir: string, name: string, timeoutMs = 30_000): Child => new Child(['hold', dir, name, String(timeoutMs)]);

/** Processes that have a file under `dir` open (read from /proc: the truth about who can hold a flock there). */
function openersOf(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${entry}/fd/${fd}`).startsWith(`${dir}/`)) {
          pids.push(Number(entry));
          break;
        }
      } catch {
        // gone meanwhile
      }
    }
  }
  return pids;
}

/** Command lines of running processes that mention `text` (a leftover flock, sh or cat would name the lock). */
function processesNaming(text: string): string[] {
  return execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes(text) && !line.includes(' ps -eo'));
}

async function eventually(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(ok(), what);
}

describe('host locks across processes (flock)', () => {
  it('excludes: four processes taking the lock in turns never overlap, and leave no file behind', async () => {
    const dir = lockDir();
    const log = join(dir, 'turns.log');
    writeFileSync(log, '');
    const children = [0, 1, 2, 3].map(() => new Child(['turns', dir, 'libvirt', '5', log]));
    const results = await Promise.all(children.map((c) => c.exited));
    assert.deepEqual(
      results.map((r) => r.code),
      [0, 0, 0, 0],
      JSON.stringify(children.map((c) => c.events)),
    );
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    assert.equal(lines.length, 4 * 5 * 2);
    for (let i = 0; i < lines.length; i += 2) {
      const pid = lines[i]!.split(' ')[1];
      assert.deepEqual([lines[i], lines[i + 1]], [`enter ${pid}`, `leave ${pid}`], `overlap at line ${i + 1}:\n${lines.join('\n')}`);
    }
    assert.deepEqual(readdirSync(dir), ['turns.log'], 'no lock file is left behind');
  });

  it('a waiter names the holder and gets the lock once the holder has released it', async () => {
    const dir = lockDir();
    const a = hold(dir, 'libvirt');
    await a.next('acquired');
    const b = hold(dir, 'libvirt');
    const waiting = await b.next('waiting');
    assert.equal(waiting.holderPid, a.pid);
    assert.equal(waiting.holderCommand, 'lock-child libvirt');
    assert.ok(!Number.isNaN(Date.parse(waiting.holderSince ?? '')), 'the holder says since when');
    assert.equal(b.has('acquired'), false, 'B does not get the lock while A holds it');
    const released = (await a.finish(), a.events.find((e) => e.event === 'released'));
    const acquired = await b.next('acquired');
    assert.ok(released !== undefined && acquired.t >= released.t, 'B acquired after A released');
    assert.equal((await b.finish()).code, 0);
    assert.deepEqual(readdirSync(dir), []);
  });

  it('tryAcquire says who holds the lock while it is held, and takes it once it is free', async () => {
    const dir = lockDir();
    const locks = createHostLocks({ dir, timeoutMs: 1000, command: 'the test' });
    const a = hold(dir, 'libvirt');
    await a.next('acquired');
    const busy = await locks.tryAcquire('libvirt');
    assert.ok('heldBy' in busy, 'held');
    assert.equal(busy.heldBy?.pid, a.pid);
    assert.equal(busy.heldBy.command, 'lock-child libvirt');
    assert.equal(busy.heldBy.lockPath, join(dir, 'libvirt.lock'));
    await a.finish();
    const free = await locks.tryAcquire('libvirt');
    assert.ok('release' in free, 'free once A released it');
    // Held by us now: another process sees us.
    const b = hold(dir, 'libvirt');
    const waiting = await b.next('waiting');
    assert.equal(waiting.holderPid, process.pid);
    assert.equal(waiting.holderCommand, 'the test');
    await free.release();
    await b.next('acquired');
    await b.finish();
    assert.deepEqual(openersOf(dir), [], 'no process keeps a lock file open');
  });

  it('a holder killed with SIGKILL releases the lock: it is free at once, and nothing is left holding it', async () => {
    const dir = lockDir();
    const a = hold(dir, 'libvirt');
    await a.next('acquired');
    assert.deepEqual(openersOf(dir), [a.pid], 'only the holder itself has the lock file open');
    const { signal } = await a.kill();
    assert.equal(signal, 'SIGKILL');
    assert.deepEqual(openersOf(dir), [], 'no process is left with the lock file open');
    assert.deepEqual(processesNaming(dir), [], 'no flock, sh or cat is left naming the lock');
    // Its file still names the dead holder; that does not matter.
    assert.equal((JSON.parse(readFileSync(join(dir, 'libvirt.lock'), 'utf8')) as LockHolder).pid, a.pid);
    const got = await tryHostLock('libvirt', { dir });
    assert.ok('release' in got, 'free without breaking anything');
    await got.release();
    const waits: LockHolder[] = [];
    await withHostLock('libvirt', async () => undefined, { dir, timeoutMs: 5000, onWait: (h) => waits.push(h) });
    assert.deepEqual(waits, []);
  });

  it('a waiter killed with SIGKILL leaves nothing that holds the lock later', async () => {
    const dir = lockDir();
    const a = hold(dir, 'libvirt');
    await a.next('acquired');
    const b = hold(dir, 'libvirt');
    await b.next('waiting');
    await b.kill();
    await a.finish();
    await eventually('no process is left with a lock file open', () => openersOf(dir).length === 0);
    const got = await tryHostLock('libvirt', { dir });
    assert.ok('release' in got);
    await got.release();
  });

  it('pid reuse cannot fool it: a lock file naming a live process that holds no flock is free', async () => {
    const dir = lockDir();
    for (const [name, pid] of [['mine', process.pid], ['init', 1]] as const) {
      writeFileSync(join(dir, `${name}.lock`), JSON.stringify({ pid, command: 'a build long gone', startedAt: '2026-01-01T00:00:00Z', token: `old-${name}` }));
    }
    const got = await tryHostLock('mine', { dir });
    assert.ok('release' in got, 'free although its pid is alive');
    await got.release();
    const waits: LockHolder[] = [];
    assert.equal(await withHostLock('init', async () => 42, { dir, timeoutMs: 5000, onWait: (h) => waits.push(h) }), 42);
    assert.deepEqual(waits, [], 'nobody to wait for');
  });

  it('gives up after the timeout with a lock-timeout error naming the holder, while the holder keeps the lock', async () => {
    const dir = lockDir();
    const a = hold(dir, 'libvirt');
    await a.next('acquired');
    const path = join(dir, 'libvirt.lock');
    const waits: LockHolder[] = [];
    await assert.rejects(acquireHostLock('libvirt', { dir, timeoutMs: 400, pollMs: 50, onWait: (h) => waits.push(h) }), (error: unknown) => {
      assert.ok(error instanceof UserError);
      assert.equal(error.code, 'lock-timeout');
      assert.match(error.message, new RegExp(`^Gave up after 0 s waiting for the host lock "libvirt" \\(${path.replaceAll('/', '\\/').replaceAll('.', '\\.')}\\), held by pid ${a.pid} \\(lock-child libvirt\\) since \\d{4}-`));
      assert.match(error.hint ?? '', new RegExp(`ps -p ${a.pid} -o args`));
      assert.match(error.hint ?? '', /TAILS_BUILD_LOCK_TIMEOUT/);
      return true;
    });
    assert.deepEqual(
      waits.map((h) => h.pid),
      [a.pid],
      'announced the holder once',
    );
    const still = await tryHostLock('libvirt', { dir });
    assert.ok('heldBy' in still && still.heldBy?.pid === a.pid, 'A still holds it');
    await a.finish();
  });

  it('an interrupt ends a wait at once: InterruptedError, its flock(1) gone, nothing held, the holder undisturbed', async () => {
    const dir = lockDir();
    const a = hold(dir, 'libvirt');
    await a.next('acquired');
    const interrupt = new AbortController();
    const waits: LockHolder[] = [];
    const waiting = acquireHostLock('libvirt', { dir, timeoutMs: 60_000, pollMs: 50, signal: interrupt.signal, onWait: (h) => waits.push(h) });
    await eventually('the waiter announces the holder', () => waits.length > 0);
    // Its flock(1): an opener that is neither the holder nor this process (which holds the waiter's descriptor).
    await eventually('the waiter is in flock(2): its flock(1) has the file open', () => openersOf(dir).some((pid) => pid !== a.pid && pid !== process.pid));
    const abortedAt = Date.now();
    interrupt.abort('SIGINT');
    await assert.rejects(waiting, (error: unknown) => {
      assert.ok(error instanceof InterruptedError, String(error));
      assert.equal(error.kind, 'interrupted');
      assert.match(error.message, /^Interrupted by SIGINT/);
      return true;
    });
    const took = Date.now() - abortedAt;
    assert.ok(took < 2000, `rejected ${String(took)} ms after the abort`);
    // Settled only once flock(1) is reaped: nothing but the holder has the file open, right away.
    assert.deepEqual(openersOf(dir), [a.pid], 'no flock helper and no descriptor of ours is left');
    assert.ok(!a.has('released'), 'the holder keeps its lock');
    await a.finish();
    const free = await tryHostLock('libvirt', { dir });
    assert.ok('release' in free, 'free once its holder released it: the interrupted waiter holds nothing');
    await free.release();
    assert.deepEqual(readdirSync(dir), []);
  });

  it('the port built with a signal: withLock and acquire, waiting or already interrupted, reject with InterruptedError and never run the work', async () => {
    const dir = lockDir();
    const interrupt = new AbortController();
    const locks = createHostLocks({ dir, timeoutMs: 60_000, command: 'the test', signal: interrupt.signal });
    const a = hold(dir, 'libvirt');
    await a.next('acquired');
    let ran = false;
    const waits: number[] = [];
    const waiting = locks.withLock(
      'libvirt',
      async () => {
        ran = true;
      },
      { onWait: (h) => waits.push(h.pid) },
    );
    await eventually('withLock waits for the holder', () => waits.length > 0);
    interrupt.abort('SIGTERM');
    await assert.rejects(waiting, (error: unknown) => error instanceof InterruptedError && /SIGTERM/.test(error.message));
    assert.equal(ran, false);
    // Interrupted already: refused before any lock file is opened or created.
    await assert.rejects(locks.acquire('other'), InterruptedError);
    assert.deepEqual(readdirSync(dir), ['libvirt.lock']);
    assert.deepEqual(openersOf(dir), [a.pid]);
    await a.finish();
  });

  it('pruneStale removes only the lock files nobody holds', async () => {
    const dir = lockDir();
    const a = hold(dir, 'held');
    await a.next('acquired');
    const killed = hold(dir, 'killed');
    await killed.next('acquired');
    await killed.kill();
    writeFileSync(join(dir, 'free.lock'), JSON.stringify({ pid: 1, command: 'init?', startedAt: '2026-01-01T00:00:00Z', token: 'x' }));
    writeFileSync(join(dir, 'notes.txt'), 'not a lock');
    const removed = await createHostLocks({ dir, timeoutMs: 1000 }).pruneStale();
    assert.deepEqual(removed, [join(dir, 'free.lock'), join(dir, 'killed.lock')]);
    assert.deepEqual(readdirSync(dir).sort(), ['held.lock', 'notes.txt']);
    const still = await tryHostLock('held', { dir });
    assert.ok('heldBy' in still && still.heldBy?.pid === a.pid, 'the held lock is still held');
    assert.deepEqual(await pruneStaleLocks(dir), [], 'nothing more to prune while it is held');
    await a.finish();
    assert.deepEqual(await pruneStaleLocks(join(dir, 'missing')), []);
  });

  it('two acquisitions in one process exclude each other too, the second naming this process', async () => {
    const dir = lockDir();
    const locks = createHostLocks({ dir, timeoutMs: 10_000, command: 'first' });
    const order: string[] = [];
    const waits: number[] = [];
    const release = await locks.acquire('libvirt');
    const second = locks.withLock(
      'libvirt',
      async () => {
        order.push('second');
      },
      { onWait: (h) => waits.push(h.pid) },
    );
    await eventually('the second announces the first', () => waits.length > 0);
    order.push('first releases');
    await release();
    await second;
    assert.deepEqual(order, ['first releases', 'second']);
    assert.deepEqual(waits, [process.pid]);
  });

  it('different lock names do not exclude each other', async () => {
    const dir = lockDir();
    const a = hold(dir, 'one');
    await a.next('acquired');
    const got = await tryHostLock('two', { dir });
    assert.ok('release' in got);
    await got.release();
    await a.finish();
  });

  it('releases the lock when the function throws, and rethrows', async () => {
    const dir = lockDir();
    await assert.rejects(
      withHostLock('libvirt', () => Promise.reject(new Error('boom')), { dir, timeoutMs: 1000 }),
      /boom/,
    );
    assert.deepEqual(readdirSync(dir), []);
    assert.equal(await withHostLock('libvirt', () => Promise.resolve(42), { dir, timeoutMs: 1000 }), 42);
    assert.deepEqual(openersOf(dir), []);
  });

  it('lock files are 0666 whatever the umask, so builds of other users can take them', async () => {
    const dir = lockDir();
    const old = process.umask(0o077);
    try {
      const got = await tryHostLock('shared', { dir });
      assert.ok('release' in got);
      const mode = execFileSync('stat', ['-c', '%a', join(dir, 'shared.lock')], { encoding: 'utf8' }).trim();
      await got.release();
      assert.equal(mode, '666');
    } finally {
      process.umask(old);
    }
  });

  it('refuses a symlink in place of a lock file', async () => {
    const dir = lockDir();
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'precious');
    execFileSync('ln', ['-s', victim, join(dir, 'evil.lock')]);
    await assert.rejects(tryHostLock('evil', { dir }), (error: unknown) => error instanceof UserError && error.code === 'lock-file');
    assert.equal(readFileSync(victim, 'utf8'), 'precious');
    assert.ok(existsSync(join(dir, 'evil.lock')));
  });
});
