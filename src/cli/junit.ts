/** `--junit FILE`: the JUnit report of a long command, written whatever happens. */
import { dirname, resolve as resolvePath } from 'node:path';
import { renderJUnit, type JUnitSuite } from '../core/junit.js';
import { fileMessages } from '../core/messages/index.js';
import { emitEvent } from '../ui/events.js';
import { filesFor, type CliContext } from './context.js';

/**
 * Runs `body` and writes the JUnit report to `file` (when asked) whatever
 * happens; `suites` gets the outcome: what was thrown, or the failure the body
 * reported it will throw once its result is printed.
 *
 * A report that cannot be written never replaces the command's own error (nor
 * its exit code): it is a warning beside it. After a success it is the error.
 */
export async function withJUnit<T>(
  ctx: CliContext,
  file: string | undefined,
  suites: (outcome: unknown) => JUnitSuite[],
  body: (outcome: { set: (error: unknown) => void }) => Promise<T>,
): Promise<T> {
  let outcome: unknown;
  const run = (): Promise<T> => body({ set: (error) => (outcome = error) });
  if (file === undefined) return run();
  const path = resolvePath(ctx.cwd, file);
  let result: { value: T } | undefined;
  try {
    result = { value: await run() };
  } catch (error) {
    outcome = error;
  }
  const unwritten = await writeReport(ctx, path, suites(outcome)).then(
    () => undefined,
    (error: unknown) => ({ error }),
  );
  if (result === undefined) {
    if (unwritten !== undefined) warn(ctx, fileMessages.junitUnwritableWarning(path, unwritten.error));
    throw outcome;
  }
  if (unwritten !== undefined) throw fileMessages.junitUnwritable(path, unwritten.error);
  return result.value;
}

async function writeReport(ctx: CliContext, path: string, suites: JUnitSuite[]): Promise<void> {
  const files = filesFor(ctx);
  await files.mkdirp(dirname(path));
  await files.writeText(path, renderJUnit(suites));
}

/** As Output.warn does: on stderr, and as a `warning` event when stdout is an event stream. */
function warn(ctx: CliContext, message: string): void {
  ctx.stderr.write(`warning: ${message}\n`);
  if (ctx.events?.active === true) emitEvent(ctx.stdout, () => new Date(), { event: 'warning', message });
}
