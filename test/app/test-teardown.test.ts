/**
 * A test file whose `before` hook fails must end by itself, failing: with
 * loopback down (a network namespace of its own, `unshare -n`, lo never set
 * up) the snapshot-server tests' before hook fails after their fake mirror
 * started listening; its after hook used to throw on the server that never
 * started and leave the mirror open, so the file hung (over 9 minutes seen).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const SNAPSHOT_SERVER_TESTS = fileURLToPath(new URL('./snapshot-server.test.js', import.meta.url));
/** A guard, not a timing assertion: the file fails within seconds; a hang is killed here instead of hanging this run. */
const KILL_DEADLINE_MS = 180_000;

describe('test files end by themselves when a before hook fails', () => {
  it('snapshot-server.test.js with loopback down: the child exits non-zero, the hook failure reported, without being killed', { timeout: KILL_DEADLINE_MS + 30_000 }, async () => {
    // Not the parent's test-runner context: the child is a run of its own.
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    // No --test-timeout: the after hook alone must let the file end.
    const child = spawn('unshare', ['-n', process.execPath, '--test', '--test-reporter=tap', SNAPSHOT_SERVER_TESTS], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, KILL_DEADLINE_MS);
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    assert.equal(killed, false, `the child hung and was killed after ${String(KILL_DEADLINE_MS)} ms:\n${output}`);
    assert.notEqual(code, 0, output);
    assert.match(output, /failureType: 'hookFailed'/);
    assert.match(output, /ENETUNREACH/);
  });
});
