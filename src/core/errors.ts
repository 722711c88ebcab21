/**
 * Typed errors and the stable exit codes CI relies on. Only src/main.ts turns
 * them into an exit status; everything else throws.
 */

export const ExitCode = {
  ok: 0,
  /** A bug or an error we did not anticipate. */
  internal: 1,
  /** Bad command line or TAILS_BUILD_OPTIONS. */
  usage: 2,
  /** The project or input is not in a state we can work with (dirty tree, bad serial, lock mismatch). */
  precondition: 3,
  /** Something outside us failed: a command, the network, libvirt. */
  external: 4,
  /** A required host prerequisite is missing (see `tails-build doctor`). */
  prerequisite: 5,
  /** Interrupted by SIGINT/SIGTERM. */
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export type ErrorKind = 'usage' | 'precondition' | 'external' | 'prerequisite' | 'interrupted';

/**
 * An error whose message is for the user: it names the problem and the fact
 * behind it; `hint` names the next command.
 */
export class UserError extends Error {
  override readonly name: string = 'UserError';
  readonly kind: ErrorKind;
  readonly hint: string | undefined;
  readonly code: string;

  constructor(
    code: string,
    message: string,
    options: { hint?: string | undefined; kind?: ErrorKind; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.kind = options.kind ?? 'precondition';
    this.hint = options.hint;
  }
}

export class UsageError extends UserError {
  override readonly name = 'UsageError';
  constructor(code: string, message: string, hint?: string) {
    super(code, message, { hint, kind: 'usage' });
  }
}

/** A subprocess failed. Carries the command, its exit code and the tail of stderr. */
export class ExternalCommandError extends UserError {
  override readonly name = 'ExternalCommandError';
  readonly command: string;
  readonly exitCode: number | undefined;
  readonly stderrTail: string;

  constructor(args: { command: string; exitCode: number | undefined; stderrTail: string; hint?: string; cause?: unknown }) {
    const status = args.exitCode === undefined ? 'could not be run' : `exited with code ${args.exitCode}`;
    const tail = args.stderrTail.trim() === '' ? '' : `\n${indent(args.stderrTail.trim())}`;
    super('command-failed', `Command \`${args.command}\` ${status}.${tail}`, {
      kind: 'external',
      hint: args.hint,
      cause: args.cause,
    });
    this.command = args.command;
    this.exitCode = args.exitCode;
    this.stderrTail = args.stderrTail;
  }
}

/** The network or a remote server failed us (timeout, 5xx after retries, unreachable). */
export class NetworkError extends UserError {
  override readonly name = 'NetworkError';
  readonly url: string;
  readonly status: number | undefined;

  constructor(args: { url: string; status?: number | undefined; message: string; hint?: string; cause?: unknown }) {
    super('network', args.message, { kind: 'external', hint: args.hint, cause: args.cause });
    this.url = args.url;
    this.status = args.status;
  }
}

export class InterruptedError extends UserError {
  override readonly name = 'InterruptedError';
  constructor(signal: string) {
    super('interrupted', `Interrupted by ${signal}; cleanup ran before exiting.`, { kind: 'interrupted' });
  }
}

export function exitCodeFor(error: unknown): ExitCode {
  if (!(error instanceof UserError)) return ExitCode.internal;
  switch (error.kind) {
    case 'usage':
      return ExitCode.usage;
    case 'precondition':
      return ExitCode.precondition;
    case 'external':
      return ExitCode.external;
    case 'prerequisite':
      return ExitCode.prerequisite;
    case 'interrupted':
      return ExitCode.interrupted;
  }
}

/**
 * A cleanup that failed, beside the outcome it followed. The exit code stays
 * the outcome's (130 after Ctrl-C, 3 after a refusal, …); after a success it
 * is 4: the command did not finish what it said it would (a VM may be left).
 * Only a bug as the outcome makes it internal.
 */
export class CleanupError extends UserError {
  override readonly name: string = 'CleanupError';
  /** The outcome: undefined when the work itself succeeded. */
  readonly primary: unknown;
  readonly cleanup: unknown;

  constructor(primary: unknown, cleanup: unknown) {
    const kind: ErrorKind = primary === undefined ? 'external' : primary instanceof UserError ? primary.kind : 'external';
    const head = primary === undefined ? 'The work itself succeeded, but cleaning up after it failed' : describe(primary);
    const hints = [primary instanceof UserError ? primary.hint : undefined, cleanup instanceof UserError ? cleanup.hint : undefined].filter((h): h is string => h !== undefined);
    super(primary instanceof UserError ? primary.code : 'cleanup-failed', `${head}\nWhile cleaning up: ${describe(cleanup)}`, {
      kind,
      hint: [...hints, 'Anything a failed cleanup left behind (a build VM, its volume) is listed by: tails-build vm status'].join('\n'),
      cause: primary ?? cleanup,
    });
    this.primary = primary;
    this.cleanup = cleanup;
  }
}

/** Joins a cleanup failure to the outcome that caused the cleanup; neither is dropped, and the outcome's exit code is kept. */
export function joinErrors(primary: unknown, secondary: unknown): unknown {
  if (secondary === undefined) return primary;
  // A bug stays a bug (exit 1), with the cleanup failure in its message.
  if (primary !== undefined && !(primary instanceof UserError)) {
    return new AggregateError([primary, secondary], `${describe(primary)}\nWhile cleaning up: ${describe(secondary)}`);
  }
  if (primary instanceof CleanupError) return new CleanupError(primary.primary, joinErrors(primary.cleanup, secondary));
  return new CleanupError(primary, secondary);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  | ${line}`)
    .join('\n');
}
