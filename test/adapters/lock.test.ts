/** Host locks between real processes: mutual exclusion, waiting, timeout, stale locks. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { withHostLock } from '../../src/adapters/lock.js';
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
  event: 'waiting' | 'acquired' | 'released' | 'error';
  pid: number;
  t: number;
  holderPid?: number;
  holderCommand?: string;
  code?: string;
  message?: string;
  hint?: string;
}

function runChild(dir: string, name: string, holdMs: number, timeoutMs: number): { pid: number; done: Promise<{ code: number | null; events: Event[] }> } {
  const child = spawn(process.execPath, [CHILD, dir, name, String(holdMs), String(timeoutMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const done = new Promise<{ code: number | null; events: Event[] }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({
        code,
        events: out
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => JSON.parse(l) as Event),
      });
    });
  });
  return { pid: child.pid ?? -1, done };
}

function eventOf(events: Event[], kind: Event['event']): Event {
  const found = events.find((e) => e.event === kind);
  assert.ok(found, `no "${kind}" event in ${JSON.stringify(events)}`);
  return found;
}

async function waitForFile(path: string): Promise<void> {
  for (let i = 0; i < 200 && !existsSync(path); i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(existsSync(path), `${path} never appeared`);
}

describe('withHostLock across processes', () => {
  it('serialises two processes: the second waits, naming the holder, and runs after the first released', async () => {
    const dir = lockDir();
    const a = runChild(dir, 'libvirt', 1200, 10_000);
    await waitForFile(join(dir, 'libvirt.lock'));
    const b = runChild(dir, 'libvirt', 100, 10_000);
    const [ra, rb] = await Promise.all([a.done, b.done]);
    assert.equal(ra.code, 0);
    assert.equal(rb.code, 0);
    const waiting = eventOf(rb.events, 'waiting');
    assert.equal(waiting.holderPid, a.pid);
    assert.equal(waiting.holderCommand, 'lock-child libvirt');
    assert.ok(eventOf(rb.events, 'acquired').t >= eventOf(ra.events, 'released').t, 'B acquired only after A released');
    assert.deepEqual(readdirSync(dir), [], 'no lock file or temp file is left behind');
  });

  it('fails after the timeout with a message naming the holder and the lock file', async () => {
    const dir = lockDir();
    const a = runChild(dir, 'libvirt', 2500, 10_000);
    await waitForFile(join(dir, 'libvirt.lock'));
    const rb = await runChild(dir, 'libvirt', 0, 400).done;
    assert.equal(rb.code, 3);
    const error = eventOf(rb.events, 'error');
    assert.equal(error.code, 'lock-timeout');
    assert.match(error.message ?? '', new RegExp(`held by pid ${a.pid} \\(lock-child libvirt\\)`));
    assert.match(error.message ?? '', new RegExp(join(dir, 'libvirt.lock').replaceAll('/', '\\/')));
    const ra = await a.done;
    assert.equal(ra.code, 0);
    // The outcome, not a duration: B gave up while A still held the lock.
    assert.ok(eventOf(rb.events, 'error').t < eventOf(ra.events, 'released').t, 'B gave up before A released');
  });

  it('different lock names do not exclude each other', async () => {
    const dir = lockDir();
    const a = runChild(dir, 'one', 800, 5000);
    await waitForFile(join(dir, 'one.lock'));
    const rb = await runChild(dir, 'two', 0, 5000).done;
    assert.equal(rb.code, 0);
    assert.equal(rb.events.some((e) => e.event === 'waiting'), false);
    await a.done;
  });

  it('breaks a stale lock whose pid is gone', async () => {
    const dir = lockDir();
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(dead.stdout);
    writeFileSync(join(dir, 'libvirt.lock'), JSON.stringify({ pid: deadPid, command: 'crashed build', startedAt: '2026-01-01T00:00:00Z', token: 'dead' }));
    const rb = await runChild(dir, 'libvirt', 0, 2000).done;
    assert.equal(rb.code, 0);
    assert.equal(rb.events.some((e) => e.event === 'waiting'), false);
    assert.deepEqual(readdirSync(dir), []);
  });

  it('releases the lock when the function throws, and rethrows', async () => {
    const dir = lockDir();
    await assert.rejects(
      withHostLock('libvirt', () => Promise.reject(new Error('boom')), { dir, timeoutMs: 1000 }),
      /boom/,
    );
    assert.deepEqual(readdirSync(dir), []);
    assert.equal(await withHostLock('libvirt', () => Promise.resolve(42), { dir, timeoutMs: 1000 }), 42);
  });
});
