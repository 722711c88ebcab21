/** A clock for tests: a fixed now, and a sleep that returns at once and records how long it was asked to wait. */
import type { Clock } from '../../src/core/ports.js';

export function recordingClock(now = new Date('2024-10-12T08:00:00Z')): Clock & { slept: number[] } {
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: (ms) => {
      slept.push(ms);
      return Promise.resolve();
    },
  };
}
