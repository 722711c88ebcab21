import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withCleanup } from '../../src/app/cleanup.js';
import { CleanupError, ExitCode, exitCodeFor, InterruptedError, UserError } from '../../src/core/errors.js';

describe('withCleanup', () => {
  it('runs cleanups in reverse order after success', async () => {
    const order: string[] = [];
    const result = await withCleanup(async (c) => {
      c.push('a', async () => {
        order.push('a');
      });
      c.push('b', async () => {
        order.push('b');
      });
      return 42;
    });
    assert.equal(result, 42);
    assert.deepEqual(order, ['b', 'a']);
  });
  it('runs them after a failure and rethrows it', async () => {
    const order: string[] = [];
    await assert.rejects(
      withCleanup(async (c) => {
        c.push('a', async () => {
          order.push('a');
        });
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.deepEqual(order, ['a']);
  });
  it('joins a cleanup failure to the original error and still runs the others', async () => {
    const order: string[] = [];
    await assert.rejects(
      withCleanup(async (c) => {
        c.push('first', async () => {
          order.push('first');
        });
        c.push('umount', async () => {
          throw new Error('target is busy');
        });
        throw new Error('mkfs failed');
      }),
      (error: Error) => /mkfs failed/.test(error.message) && /cleanup "umount" failed: target is busy/.test(error.message),
    );
    assert.deepEqual(order, ['first']);
  });
});

describe('a failed cleanup keeps the outcome\'s exit code (it used to turn every outcome into 1, "internal error")', () => {
  const failing = (c: { push: (t: string, f: () => Promise<void>) => void }): void => {
    c.push('destroy the build VM', () => Promise.reject(new Error('virsh undefine: domain is locked')));
  };
  const outcome = async (body: () => Promise<unknown>): Promise<unknown> =>
    withCleanup(async (c) => {
      failing(c);
      return body();
    }).then(
      () => undefined,
      (error: unknown) => error,
    );
  it('Ctrl-C plus a failed destroy: 130, both said', async () => {
    const error = await outcome(() => Promise.reject(new InterruptedError('SIGINT')));
    assert.ok(error instanceof CleanupError);
    assert.equal(exitCodeFor(error), ExitCode.interrupted);
    assert.match(error.message, /Interrupted by SIGINT[\s\S]*While cleaning up: cleanup "destroy the build VM" failed: virsh undefine: domain is locked/);
  });
  it('a refusal plus a failed cleanup: the refusal\'s code and hint, and the next command for what may be left', async () => {
    const error = await outcome(() => Promise.reject(new UserError('dirty-tree', 'The checkout has changes', { hint: 'git stash -u' })));
    assert.ok(error instanceof UserError);
    assert.equal(exitCodeFor(error), ExitCode.precondition);
    assert.match(String(error.hint), /git stash -u[\s\S]*tails-build vm status/);
  });
  it('a good build whose destroy fails: 4 (external), never 1, and the message says the work succeeded', async () => {
    const error = await outcome(() => Promise.resolve('built'));
    assert.ok(error instanceof CleanupError);
    assert.equal(exitCodeFor(error), ExitCode.external);
    assert.match(error.message, /The work itself succeeded, but cleaning up after it failed/);
  });
  it('a bug stays a bug (1), with the cleanup failure beside it', async () => {
    const error = await outcome(() => Promise.reject(new TypeError('x is undefined')));
    assert.equal(exitCodeFor(error), ExitCode.internal);
    assert.match((error as Error).message, /x is undefined[\s\S]*While cleaning up/);
  });
});
