/**
 * For test files whose `before` hook starts servers: each close is registered
 * as its thing starts, and the `after` hook runs what was registered, so a
 * `before` that failed half-way still closes what it started (a server left
 * listening keeps the test file's process alive for ever). Every close runs,
 * last started first, even when one fails.
 */
export interface Teardown {
  /** Registers the close of something just started. */
  push(close: () => unknown): void;
  /** Runs every registered close (for `after`); throws what failed. */
  run(): Promise<void>;
}

export function createTeardown(): Teardown {
  const closers: (() => unknown)[] = [];
  return {
    push: (close) => {
      closers.push(close);
    },
    run: async () => {
      const failures: unknown[] = [];
      for (const close of closers.splice(0).reverse()) {
        try {
          await close();
        } catch (error) {
          failures.push(error);
        }
      }
      if (failures.length === 1) throw failures[0];
      if (failures.length > 1) throw new AggregateError(failures, `${String(failures.length)} closes failed in an after hook`);
    },
  };
}
