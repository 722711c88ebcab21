/** Checks an --json event stream the way a CI consumer would: every line JSON, valid against tails-build/events@1 (ajv). */
import assert from 'node:assert/strict';
import { Ajv } from 'ajv';
import { EVENTS_JSON_SCHEMA } from '../../src/core/events-schema.js';

const validate = new Ajv({ allErrors: true, strict: true }).compile(EVENTS_JSON_SCHEMA);

export interface StreamEvent {
  readonly event: string;
  readonly [key: string]: unknown;
}

/** Every stdout line parses and validates; the first is `run`, the last `result` with this exit code. Returns the events. */
export function assertEventStream(stdout: string, exitCode: number | null): StreamEvent[] {
  const lines = stdout.split('\n').filter((l) => l !== '');
  assert.ok(lines.length >= 2, `an event stream has at least run and result:\n${stdout}`);
  const events = lines.map((line, i) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      assert.fail(`stdout line ${String(i + 1)} is not JSON: ${line}`);
    }
    assert.ok(validate(parsed), `stdout line ${String(i + 1)} does not match tails-build/events@1: ${JSON.stringify(validate.errors)}\n${line}`);
    return parsed as StreamEvent;
  });
  assert.equal(events[0]?.event, 'run');
  const last = events[events.length - 1];
  assert.equal(last?.event, 'result');
  assert.equal(last.exitCode, exitCode, `the result's exitCode is the process's: ${JSON.stringify(last)}`);
  assert.equal(events.filter((e) => e.event === 'result').length, 1, 'one result, last');
  return events;
}
