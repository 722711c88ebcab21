/**
 * Where results and diagnostics go. Results (text or JSON) go to stdout;
 * progress, warnings and errors to stderr, so `--json` output stays parseable.
 */
import type { Log } from '../core/ports.js';
import { emitEvent, EVENTS_SCHEMA, type EventStreamState } from './events.js';
import type { ProgressExtras } from './progress.js';

export interface Writable {
  write(chunk: string): unknown;
}

export interface Output extends Log {
  /** Whether results are printed as JSON (`--json`). */
  readonly json: boolean;
  /** A line of result text on stdout. */
  line(text: string): void;
  /** A JSON result on stdout. */
  data(value: unknown): void;
  /** Starts the event stream on stdout (long commands with --json): the `run` event. */
  startEvents(command: string, fields?: Readonly<Record<string, unknown>>): void;
  /** The fields of the closing `result` event (written by the CLI when the command ends, ok or not). */
  result(fields: Readonly<Record<string, unknown>>): void;
  /** One event on stdout, when the event stream runs; nothing otherwise. */
  event(event: Readonly<Record<string, unknown>> & { readonly event: string }): void;
  /** Progress details the CLI decided (--json-output, heartbeat, colour). */
  readonly progress: ProgressExtras;
}

export interface OutputOptions {
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly json: boolean;
  readonly verbose: boolean;
  /** Shared with the CLI, so that an error after the stream started ends it with a `result` event. */
  readonly events?: EventStreamState;
  readonly now?: () => Date;
  /** The tool's and node's versions, for the `run` event. */
  readonly version?: string;
  readonly nodeVersion?: string;
  readonly progress?: ProgressExtras;
}

export function createOutput(options: OutputOptions): Output {
  const state = options.events ?? { active: false, outputLines: false };
  const now = options.now ?? ((): Date => new Date());
  const event = (e: Readonly<Record<string, unknown>> & { readonly event: string }): void => {
    if (state.active) emitEvent(options.stdout, now, e);
  };
  return {
    json: options.json,
    progress: options.progress ?? { outputLines: state.outputLines, heartbeatMs: 0, noColor: false },
    line: (text) => options.stdout.write(`${text}\n`),
    data: (value) => options.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
    startEvents: (command, fields = {}) => {
      if (!options.json || state.active) return;
      state.active = true;
      event({ event: 'run', schema: EVENTS_SCHEMA, command, version: options.version ?? 'unknown', node: options.nodeVersion ?? 'unknown', ...fields });
    },
    event,
    result: (fields) => {
      state.result = fields;
    },
    info: (message) => options.stderr.write(`${message}\n`),
    warn: (message) => {
      options.stderr.write(`warning: ${message}\n`);
      event({ event: 'warning', message });
    },
    debug: (message) => {
      if (options.verbose) options.stderr.write(`${message}\n`);
    },
  };
}
