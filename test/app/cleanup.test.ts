import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withCleanup } from '../../src/app/cleanup.js';

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
