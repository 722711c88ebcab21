/**
 * Cleanups registered as resources are acquired, run in reverse order in a
 * `finally` (and so also after SIGINT). A cleanup failure is joined to the
 * error that caused the cleanup, never dropped.
 */
import { joinErrors } from '../core/errors.js';

export interface CleanupStack {
  push(title: string, fn: () => Promise<void>): void;
  /**
   * Runs every cleanup registered so far, newest first, and forgets them (a
   * build's cleanup step); resolves with their joined failure, or undefined.
   */
  runNow(): Promise<unknown>;
}

export async function withCleanup<T>(body: (cleanup: CleanupStack) => Promise<T>): Promise<T> {
  const steps: { title: string; fn: () => Promise<void> }[] = [];
  const runAll = async (): Promise<unknown> => {
    let cleanupFailure: unknown;
    for (const step of steps.splice(0).reverse()) {
      try {
        await step.fn();
      } catch (error) {
        const wrapped = new Error(`cleanup "${step.title}" failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
        cleanupFailure = cleanupFailure === undefined ? wrapped : joinErrors(cleanupFailure, wrapped);
      }
    }
    return cleanupFailure;
  };
  const stack: CleanupStack = { push: (title, fn) => steps.push({ title, fn }), runNow: runAll };
  let failure: unknown;
  let result: T | undefined;
  try {
    result = await body(stack);
  } catch (error) {
    failure = error;
  }
  const cleanupFailure = await runAll();
  if (failure !== undefined || cleanupFailure !== undefined) throw joinErrors(failure, cleanupFailure);
  return result as T;
}
