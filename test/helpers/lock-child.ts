/**
 * A separate process taking a host lock, for tests:
 *   node lock-child.js DIR NAME HOLD_MS TIMEOUT_MS
 * Prints one JSON line per event (waiting, acquired, released, error) with a timestamp.
 */
import { withHostLock } from '../../src/adapters/lock.js';

const [dir, name, holdMs, timeoutMs] = process.argv.slice(2);
const emit = (event: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ ...event, pid: process.pid, t: Date.now() })}\n`);
};
try {
  await withHostLock(
    name ?? 'test',
    async () => {
      emit({ event: 'acquired' });
      await new Promise((r) => setTimeout(r, Number(holdMs)));
      emit({ event: 'released' });
    },
    {
      dir: dir ?? '/tmp',
      timeoutMs: Number(timeoutMs),
      pollMs: 50,
      command: `lock-child ${name ?? ''}`,
      onWait: (holder) => {
        emit({ event: 'waiting', holderPid: holder.pid, holderCommand: holder.command });
      },
    },
  );
} catch (error) {
  emit({ event: 'error', code: (error as { code?: string }).code, message: (error as Error).message, hint: (error as { hint?: string }).hint });
  process.exitCode = 3;
}
