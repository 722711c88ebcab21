/**
 * Ctrl-C while a real `tails-build` waits for a host lock: `basebox import`
 * waits for the libvirt lock that another process (lock-child) holds, in a
 * lock directory and VAGRANT_HOME of the test's own; SIGINT to its process
 * group, as a terminal sends it. No VM, nothing imported: the box is never
 * reached.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { MAIN } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/git-repo.js';

const LOCK_CHILD = fileURLToPath(new URL('../helpers/lock-child.js', import.meta.url));
const lockDir = makeTempDir('tb-int-locks-');
const work = makeTempDir('tb-int-work-');
after(() => {
  rmSync(lockDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

/** Spawns a process in a group of its own; resolves `text` once its output (stdout+stderr) matches, with its exit. */
function spawnWatched(file: string, args: string[], env: Record<string, string>, stdin: 'pipe' | 'ignore' = 'ignore') {
  const child = spawn(file, args, { cwd: work, env, detached: true, stdio: [stdin, 'pipe', 'pipe'] });
  let output = '';
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  const onData = (d: string): void => {
    output += d;
    for (const w of waiters) if (w.re.test(output)) w.resolve();
  };
  child.stdout?.setEncoding('utf8').on('data', onData);
  child.stderr?.setEncoding('utf8').on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => {
    child.on('close', (code, signal) => {
      resolve({ code, signal, at: Date.now() });
    });
  });
  return {
    child,
    exited,
    output: () => output,
    /** Resolves when the output matches; rejects if the process exits first or after `ms`. */
    sees: (re: RegExp, ms: number) =>
      new Promise<void>((resolve, reject) => {
        if (re.test(output)) {
          resolve();
          return;
        }
        const timer = setTimeout(() => {
          reject(new Error(`not seen within ${String(ms)} ms: ${String(re)}\n${output}`));
        }, ms);
        waiters.push({
          re,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
        void exited.then(() => {
          clearTimeout(timer);
          if (re.test(output)) resolve();
          else reject(new Error(`exited before ${String(re)}:\n${output}`));
        });
      }),
  };
}

/** Processes that have a file under `dir` open (from /proc: who can hold or await a flock there). */
function openersOf(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      if (readdirSync(`/proc/${entry}/fd`).some((fd) => readlinkSync(`/proc/${entry}/fd/${fd}`).startsWith(`${dir}/`))) pids.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return pids;
}

function groupIsGone(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

describe('Ctrl-C while waiting for a host lock (real tails-build, real flock)', () => {
  it('basebox import waiting for the libvirt lock: SIGINT → exit 130 within seconds, no process of it left, the holder keeps its lock', async () => {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/root',
      CI: 'true',
      TAILS_BUILD_LOCK_DIR: lockDir,
      TAILS_BUILD_LOCK_TIMEOUT: '1800',
      VAGRANT_HOME: join(work, 'vagrant-home'),
      GIT_CONFIG_NOSYSTEM: '1',
    };
    const holder = spawnWatched(process.execPath, [LOCK_CHILD, 'hold', lockDir, 'libvirt', '600000'], env, 'pipe');
    await holder.sees(/"event":"acquired"/, 10_000);
    const box = join(work, 'never-reached.box');
    writeFileSync(box, 'not a box: the import never gets past the lock\n');

    const tb = spawnWatched(process.execPath, [MAIN, 'basebox', 'import', box, '--name', 'tails-builder-amd64-bookworm-20260101-0000000'], env);
    const pgid = tb.child.pid ?? -1;
    try {
      await tb.sees(new RegExp(`Waiting for the host lock ${lockDir}/libvirt\\.lock, held by pid ${String(holder.child.pid)}`), 120_000);
      // Ctrl-C in a terminal: SIGINT to the whole foreground process group.
      const sentAt = Date.now();
      process.kill(-pgid, 'SIGINT');
      const late = new Promise<never>((_, reject) => setTimeout(() => { reject(new Error(`still running 20 s after SIGINT:\n${tb.output()}`)); }, 20_000).unref());
      const { code, at } = await Promise.race([tb.exited, late]);
      assert.equal(code, 130, tb.output());
      assert.ok(at - sentAt < 10_000, `exited ${String(at - sentAt)} ms after SIGINT`);
      assert.match(tb.output(), /Interrupted by SIGINT/);
      assert.ok(groupIsGone(pgid), 'no process of its group (no flock helper) is left');
      assert.deepEqual(openersOf(lockDir), [holder.child.pid], 'only the holder has a lock file open');
      assert.deepEqual(readdirSync(lockDir), ['libvirt.lock']);
      assert.equal((JSON.parse(readFileSync(join(lockDir, 'libvirt.lock'), 'utf8')) as { pid: number }).pid, holder.child.pid, 'the lock file still names its holder');
    } finally {
      if (!groupIsGone(pgid)) process.kill(-pgid, 'SIGKILL');
      holder.child.stdin?.end();
      await holder.exited;
    }
    assert.deepEqual(readdirSync(lockDir), [], 'the holder released it: nothing is left');
  });
});
