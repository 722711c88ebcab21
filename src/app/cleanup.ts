/**
 * Cleanups registered as resources are acquired, run in reverse order in a
 * `finally` (and so also after SIGINT). A cleanup failure is joined to the
 * error that caused the cleanup, never dropped.
 */
import { joinErrors } from '../core/errors.js';

export interface CleanupStack {
  push(title: string, fn: () => Promise<void>): void;
}

export async function withCleanup<T>(body: (cleanup: CleanupStack) => Promise<T>): Promise<T> {
  const steps: { title: string; fn: () => Promise<void> }[] = [];
  const stack: CleanupStack = { push: (title, fn) => steps.push({ title, fn }) };
  let failure: unknown;
  let result: T | undefined;
  try {
    result = await body(stack);
  } catch (error) {
    failure = error;
  }
  let cleanupFailure: unknown;
  for (const step of steps.reverse()) {
    try {
      await step.fn();
    } catch (error) {
      const wrapped = new Error(`cleanup "${step.title}" failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      cleanupFailure = cleanupFailure === undefined ? wrapped : joinErrors(cleanupFailure, wrapped);
    }
  }
  if (failure !== undefined || cleanupFailure !== undefined) throw joinErrors(failure, cleanupFailure);
  return result as T;
}
