/** Runs the CLI and turns every outcome into an exit code. Never exits itself. */
import { CommanderError } from 'commander';
import { exitCodeFor, ExitCode, UserError } from '../core/errors.js';
import type { CliContext } from './context.js';
import { emitEvent, type EventStreamState } from '../ui/events.js';
import type { Writable } from '../ui/output.js';
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
  const program = createProgram(ctx);
  configureSubcommands(program, ctx);
  const wantsJson = argv.includes('--json');
  try {
    await program.parseAsync([...argv], { from: 'user' });
    if (events.active) emitEvent(ctx.stdout, () => new Date(), { event: 'result', ...events.result, exitCode: ExitCode.ok, ok: true, error: null });
    return ExitCode.ok;
  } catch (error) {
    if (error instanceof CommanderError) return commanderExitCode(error);
    const code = exitCodeFor(error);
    reportFailure(ctx, events, error, code, { json: wantsJson, stdoutUsed: stdoutBytes > 0 });
    return code;
  }
}

/**
 * A command's failure, whatever was thrown (a UserError, a CleanupError, the
 * AggregateError of a bug joined to a failed cleanup, a bare bug): the text on
 * stderr; with --json also as JSON on stdout — the closing `result` event of
 * an event stream, else one `{"error": …}` document unless stdout already
 * holds the command's result.
 */
export function reportFailure(
  io: { readonly stdout: Writable; readonly stderr: Writable },
  events: EventStreamState,
  error: unknown,
  code: number,
  options: { readonly json: boolean; readonly stdoutUsed: boolean; readonly now?: () => Date },
): void {
  reportErrorText(io.stderr, error);
  const object = errorObject(error, code);
  if (events.active) emitEvent(io.stdout, options.now ?? ((): Date => new Date()), { event: 'result', ...events.result, exitCode: code, ok: false, error: object });
  else if (options.json && !options.stdoutUsed) io.stdout.write(`${JSON.stringify({ error: object }, null, 2)}\n`);
}

export function errorObject(error: unknown, exitCode: number): Record<string, unknown> {
  if (error instanceof UserError) return { code: error.code, kind: error.kind, message: error.message, hint: error.hint ?? null, exitCode };
  if (error instanceof AggregateError) {
    // A bug joined to what followed it (joinErrors): still a bug, with every part's message and hint.
    const hints = innerErrors(error).flatMap((inner) => (inner instanceof UserError && inner.hint !== undefined ? [inner.hint] : []));
    return { code: 'internal', kind: 'internal', message: aggregateMessage(error), hint: hints.length === 0 ? null : hints.join('\n'), exitCode };
  }
  return { code: 'internal', kind: 'internal', message: error instanceof Error ? error.message : String(error), hint: null, exitCode };
}

function reportErrorText(stderr: Writable, error: unknown): void {
  if (error instanceof UserError) {
    stderr.write(`error: ${error.message}\n`);
    if (error.hint !== undefined) stderr.write(`hint: ${error.hint}\n`);
    return;
  }
  if (error instanceof AggregateError) {
    stderr.write(`error: ${aggregateMessage(error)}\n`);
    for (const inner of innerErrors(error)) {
      if (inner instanceof UserError && inner.hint !== undefined) stderr.write(`hint: ${inner.hint}\n`);
    }
    return;
  }
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  stderr.write(`internal error (a bug in tails-build; please report it with this output):\n${detail}\n`);
}

/** Its own message, else (a bare `new AggregateError(errors)`) its parts'. */
function aggregateMessage(error: AggregateError): string {
  if (error.message !== '') return error.message;
  return innerErrors(error)
    .map((inner) => (inner instanceof Error ? inner.message : String(inner)))
    .join('\n');
}

function innerErrors(error: AggregateError): unknown[] {
  return Array.isArray(error.errors) ? (error.errors as unknown[]) : [];
}
