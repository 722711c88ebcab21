/**
 * A separate process taking a host lock, for tests. Prints one JSON line per
 * event (waiting, acquired, released, error) with its pid and a timestamp.
 *
 *   node lock-child.js hold DIR NAME TIMEOUT_MS
 *     takes the lock and holds it until its stdin ends (or it is killed)
 *   node lock-child.js turns DIR NAME COUNT LOG
 *     COUNT times: takes the lock, appends "enter PID" and then "leave PID" to
 *     LOG with a pause between, releases it
 */
import { appendFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { withHostLock } from '../../src/adapters/lock.js';

const [mode, dir = '/nonexistent', name = 'test', arg = '0', log = '/dev/null'] = process.argv.slice(2);
const emit = (event: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ ...event, pid: process.pid, t: Date.now() })}\n`);
};
const options = {
  dir,
  pollMs: 50,
  command: `lock-child ${name}`,
  onWait: (holder: { pid: number; command: string; startedAt: string }) => {
    emit({ event: 'waiting', holderPid: holder.pid, holderCommand: holder.command, holderSince: holder.startedAt });
  },
};
const stdinEnded = new Promise<void>((resolve) => {
  process.stdin
    .on('end', resolve)
    .on('error', () => {
      resolve();
    })
    .resume();
});

try {
  if (mode === 'hold') {
    await withHostLock(
      name,
      async () => {
        emit({ event: 'acquired' });
        await stdinEnded;
        emit({ event: 'released' });
      },
      { ...options, timeoutMs: Number(arg) },
    );
  } else if (mode === 'turns') {
    for (let i = 0; i < Number(arg); i++) {
      await withHostLock(
        name,
        async () => {
          appendFileSync(log, `enter ${process.pid}\n`);
          await delay(20);
          appendFileSync(log, `leave ${process.pid}\n`);
        },
        { ...options, timeoutMs: 30_000 },
      );
    }
    emit({ event: 'done' });
  } else {
    throw new Error(`unknown mode ${String(mode)}`);
  }
} catch (error) {
  emit({ event: 'error', code: (error as { code?: string }).code, message: (error as Error).message, hint: (error as { hint?: string }).hint });
  process.exitCode = 3;
}
process.stdin.destroy();
