/**
 * How a failure reaches a --json consumer (cli/run.ts#reportFailure), for
 * every shape that is thrown: the AggregateError of joinErrors (a bug joined to
 * a failed cleanup) must be in the JSON document and in the closing `result`
 * event like any other error. In-process, with the CLI's own Output writing
 * into strings.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { reportFailure } from '../../src/cli/run.js';
import { exitCodeFor, joinErrors, UserError } from '../../src/core/errors.js';
import type { EventStreamState } from '../../src/ui/events.js';
import { createOutput } from '../../src/ui/output.js';
import { assertEventStream } from '../helpers/events.js';

function capture(): { stdout: { write: (s: string) => void }; stderr: { write: (s: string) => void }; text: { out: string; err: string } } {
  const text = { out: '', err: '' };
  return { stdout: { write: (s) => (text.out += s) }, stderr: { write: (s) => (text.err += s) }, text };
}

/** A bug (a TypeError) whose cleanup then failed with a user-facing error. */
function bugThenCleanupFailure(): unknown {
  const cleanup = new UserError('vm-destroy-failed', 'virsh destroy tb-x failed: domain is locked.', { kind: 'external', hint: 'Remove it: tails-build vm prune' });
  return joinErrors(new TypeError("Cannot read properties of undefined (reading 'name')"), cleanup);
}

describe('reportFailure: an AggregateError with --json', () => {
  it('is the {"error": …} document of a short command, with both messages and the cleanup hint, exit 1', () => {
    const error = bugThenCleanupFailure();
    assert.ok(error instanceof AggregateError);
    const io = capture();
    reportFailure(io, { active: false, outputLines: false }, error, exitCodeFor(error), { json: true, stdoutUsed: false });
    const doc = JSON.parse(io.text.out) as { error: Record<string, unknown> };
    assert.deepEqual(doc, {
      error: {
        code: 'internal',
        kind: 'internal',
        message: "Cannot read properties of undefined (reading 'name')\nWhile cleaning up: virsh destroy tb-x failed: domain is locked.",
        hint: 'Remove it: tails-build vm prune',
        exitCode: 1,
      },
    });
    assert.match(io.text.err, /^error: Cannot read properties .*\nWhile cleaning up: virsh destroy .*\nhint: Remove it: tails-build vm prune\n$/);
  });

  it('is the error of the closing result event of an event stream (valid events@1)', () => {
    const error = bugThenCleanupFailure();
    const io = capture();
    const events: EventStreamState = { active: false, outputLines: false };
    createOutput({ stdout: io.stdout, stderr: io.stderr, json: true, verbose: false, events }).startEvents('iso');
    reportFailure(io, events, error, exitCodeFor(error), { json: true, stdoutUsed: true });
    const result = assertEventStream(io.text.out, 1).at(-1);
    assert.deepEqual(result?.error, {
      code: 'internal',
      kind: 'internal',
      message: "Cannot read properties of undefined (reading 'name')\nWhile cleaning up: virsh destroy tb-x failed: domain is locked.",
      hint: 'Remove it: tails-build vm prune',
      exitCode: 1,
    });
  });

  it('a bare AggregateError (no message of its own) carries its parts\' messages', () => {
    const error = new AggregateError([new Error('first'), new UserError('second', 'second failed.', { hint: 'do this' })]);
    const io = capture();
    reportFailure(io, { active: false, outputLines: false }, error, 1, { json: true, stdoutUsed: false });
    assert.deepEqual((JSON.parse(io.text.out) as { error: unknown }).error, { code: 'internal', kind: 'internal', message: 'first\nsecond failed.', hint: 'do this', exitCode: 1 });
  });

  it('after a printed result (stdout used), stdout stays that one document: the error goes to stderr only', () => {
    const io = capture();
    reportFailure(io, { active: false, outputLines: false }, bugThenCleanupFailure(), 1, { json: true, stdoutUsed: true });
    assert.equal(io.text.out, '');
    assert.match(io.text.err, /^error: /);
  });
});
