/** Runs the CLI and turns every outcome into an exit code. Never exits itself. */
import { CommanderError } from 'commander';
import { exitCodeFor, ExitCode, UserError } from '../core/errors.js';
import type { CliContext } from './context.js';
import { emitEvent, type EventStreamState } from '../ui/events.js';
import { commanderExitCode, configureSubcommands, createProgram } from './program.js';

export async function runCli(argv: readonly string[], outer: CliContext): Promise<number> {
  // Count what reaches stdout: with --json, stdout must stay one JSON document,
  // so an error after a printed result (doctor's report) goes to stderr only.
  let stdoutBytes = 0;
  // A long command with --json turns stdout into an event stream; its last line is `result`.
  const events: EventStreamState = { active: false, outputLines: false };
  const ctx: CliContext = {
    ...outer,
    events,
    stdout: {
      write: (chunk: string) => {
        stdoutBytes += chunk.length;
        return outer.stdout.write(chunk);
      },
    },
  };
  const closeStream = (exitCode: number, error: Record<string, unknown> | null): void => {
    if (events.active) emitEvent(ctx.stdout, () => new Date(), { event: 'result', ...events.result, exitCode, ok: exitCode === 0, error });
  };
  const program = createProgram(ctx);
  configureSubcommands(program, ctx);
  const wantsJson = argv.includes('--json');
  try {
    await program.parseAsync([...argv], { from: 'user' });
    closeStream(ExitCode.ok, null);
    return ExitCode.ok;
  } catch (error) {
    if (error instanceof CommanderError) return commanderExitCode(error);
    const code = exitCodeFor(error);
    // In an event stream the error is the closing `result` event's.
    reportError(ctx, error, code, wantsJson && stdoutBytes === 0 && !events.active);
    closeStream(code, errorObject(error, code));
    return code;
  }
}

function errorObject(error: unknown, exitCode: number): Record<string, unknown> {
  if (error instanceof UserError) return { code: error.code, kind: error.kind, message: error.message, hint: error.hint ?? null, exitCode };
  return { code: 'internal', kind: 'internal', message: error instanceof Error ? error.message : String(error), hint: null, exitCode };
}

function reportError(ctx: CliContext, error: unknown, code: number, json: boolean): void {
  if (error instanceof UserError) {
    ctx.stderr.write(`error: ${error.message}\n`);
    if (error.hint !== undefined) ctx.stderr.write(`hint: ${error.hint}\n`);
    if (json) {
      ctx.stdout.write(
        `${JSON.stringify({ error: { code: error.code, kind: error.kind, message: error.message, hint: error.hint ?? null, exitCode: code } }, null, 2)}\n`,
      );
    }
    return;
  }
  if (error instanceof AggregateError) {
    ctx.stderr.write(`error: ${error.message}\n`);
    for (const inner of error.errors) {
      if (inner instanceof UserError && inner.hint !== undefined) ctx.stderr.write(`hint: ${inner.hint}\n`);
    }
    return;
  }
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  ctx.stderr.write(`internal error (a bug in tails-build; please report it with this output):\n${detail}\n`);
  if (json) {
    ctx.stdout.write(`${JSON.stringify({ error: { code: 'internal', kind: 'internal', message: String(error), hint: null, exitCode: code } }, null, 2)}\n`);
  }
}
