/**
 * Where results and diagnostics go. Results (text or JSON) go to stdout;
 * progress, warnings and errors to stderr, so `--json` output stays parseable.
 */
import type { Log } from '../core/ports.js';

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
}

export interface OutputOptions {
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly json: boolean;
  readonly verbose: boolean;
}

export function createOutput(options: OutputOptions): Output {
  return {
    json: options.json,
    line: (text) => options.stdout.write(`${text}\n`),
    data: (value) => options.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
    info: (message) => options.stderr.write(`${message}\n`),
    warn: (message) => options.stderr.write(`warning: ${message}\n`),
    debug: (message) => {
      if (options.verbose) options.stderr.write(`${message}\n`);
    },
  };
}
