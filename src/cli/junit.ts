/** `--junit FILE`: the JUnit report of a long command, written whatever happens. */
import { dirname, resolve as resolvePath } from 'node:path';
import { renderJUnit, type JUnitSuite } from '../core/junit.js';
import { filesFor, type CliContext } from './context.js';

/**
 * Runs `body` and writes the JUnit report to `file` (when asked) whatever
 * happens; `suites` gets the outcome: what was thrown, or the failure the body
 * reported it will throw once its result is printed.
 */
export async function withJUnit<T>(
  ctx: CliContext,
  file: string | undefined,
  suites: (outcome: unknown) => JUnitSuite[],
  body: (outcome: { set: (error: unknown) => void }) => Promise<T>,
): Promise<T> {
  let outcome: unknown;
  try {
    return await body({ set: (error) => (outcome = error) });
  } catch (error) {
    outcome = error;
    throw error;
  } finally {
    if (file !== undefined) {
      const path = resolvePath(ctx.cwd, file);
      const files = filesFor(ctx);
      await files.mkdirp(dirname(path));
      await files.writeText(path, renderJUnit(suites(outcome)));
    }
  }
}

