/**
 * The machine-readable event stream of the long commands (iso, verify,
 * basebox create, basebox test) with --json: NDJSON on stdout, one object per
 * line, each with `event` and `time`, in the versioned schema
 * `tails-build/events@1` (core/events-schema.ts, documented in the README).
 * The first line is `run`; the last is always `result`, with the exit code
 * and the error, if any. Human progress stays on stderr.
 */
import type { Writable } from './output.js';

export const EVENTS_SCHEMA = 'tails-build/events@1';

/** Shared by a run's Output and the CLI's error reporting: whether stdout is an event stream. */
export interface EventStreamState {
  active: boolean;
  /** Output lines of steps as events too (--json-output). */
  outputLines: boolean;
  /** What the command puts in the closing `result` event (runCli writes it, success or failure). */
  result?: Readonly<Record<string, unknown>>;
}

export function emitEvent(stdout: Writable, now: () => Date, event: Readonly<Record<string, unknown>> & { readonly event: string }): void {
  stdout.write(`${JSON.stringify({ ...event, time: now().toISOString() })}\n`);
}
