/** The one owner of subprocesses, against real processes. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeAccelerator } from '../../src/adapters/accelerator.js';
import { createRunner, killAllProcessGroups, TIMED_OUT } from '../../src/adapters/runner.js';
import { command } from '../../src/core/command.js';
import { ExternalCommandError, InterruptedError } from '../../src/core/errors.js';

const quiet = { info: () => undefined, warn: () => undefined, debug: () => undefined };
function runner(signal?: AbortSignal, dryRun = false): ReturnType<typeof createRunner> {
  return createRunner({ log: quiet, dryRun, path: process.env.PATH ?? '/usr/bin:/bin', baseEnv: process.env, ...(signal === undefined ? {} : { signal }) });
}

describe('runner: nothing outlives a stop', () => {
  it('stopping a helper that ignores SIGTERM escalates to SIGKILL (it used to wait forever)', async () => {
    const r = createRunner({ log: quiet, dryRun: false, path: process.env.PATH ?? '/usr/bin:/bin', baseEnv: process.env, killGraceMs: 300 });
    const helper = await r.start(command('sh', ['-c', 'trap "" TERM; echo ready; while :; do sleep 1; done']), { ready: /^ready$/, timeoutMs: 5000 });
    await helper.stop();
    assert.ok(helper.pid !== undefined);
    assert.throws(() => process.kill(helper.pid ?? 0, 0), /ESRCH/, 'the helper is gone');
  });
  it('killAllProcessGroups kills every running command with its children (a second Ctrl-C leaves no orphans)', async () => {
    const r = runner();
    const running = r.tryRun(command('sh', ['-c', 'sleep 300 & sleep 300; wait']));
    const helper = await r.start(command('sh', ['-c', 'echo ready; sleep 300']), { ready: /^ready$/, timeoutMs: 5000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(killAllProcessGroups('SIGKILL') >= 2);
    assert.equal((await running).exitCode, 128 + 9);
    await helper.stop();
    assert.equal(killAllProcessGroups('SIGKILL'), 0, 'none left');
  });
});

describe('runner under --dry-run', () => {
  it('a command that does not declare its effect is treated as a write: printed, not run (the safe default)', async () => {
    const marker = join(mkdtempSync(join(tmpdir(), 'tb-dry-')), 'touched');
    const r = await runner(undefined, true).tryRun(command('sh', ['-c', `touch ${marker}`]));
    assert.equal(r.exitCode, 0);
    assert.equal(existsSync(marker), false);
    await runner(undefined, true).tryRun(command('sh', ['-c', `touch ${marker}`], { effect: 'read' }));
    assert.equal(existsSync(marker), true, 'a declared read runs');
  });
});

describe('runner', () => {
  it('returns output and passes stdin input', async () => {
    const r = await runner().run(command('sh', ['-c', 'cat; echo done >&2'], { input: 'hello\n' }));
    assert.deepEqual(r, { stdout: 'hello', stderr: 'done', exitCode: 0 });
  });
  it('wraps a failure with the command, exit code and stderr tail', async () => {
    await assert.rejects(runner().run(command('sh', ['-c', 'echo first >&2; echo last >&2; exit 3'])), (e: unknown) => {
      assert.ok(e instanceof ExternalCommandError);
      assert.equal(e.exitCode, 3);
      assert.match(e.message, /Command `sh -c 'echo first >&2; echo last >&2; exit 3'` exited with code 3\.\n {2}\| first\n {2}\| last/);
      return true;
    });
  });
  it('reports a command killed at its timeout as 124', async () => {
    const r = await runner().tryRun(command('sleep', ['5'], { timeoutMs: 200 }));
    assert.equal(r.exitCode, TIMED_OUT);
  });
  it('reports a command killed by a signal as 128 + its number', async () => {
    const r = await runner().tryRun(command('sh', ['-c', 'echo dying >&2; kill -ABRT $$']));
    assert.equal(r.exitCode, 134);
    assert.equal(r.stderr, 'dying');
  });
  it('streams lines for progress', async () => {
    const lines: string[] = [];
    await runner().run(command('sh', ['-c', 'echo one; echo two >&2; echo three']), { onLine: (l) => lines.push(l) });
    assert.deepEqual([...lines].sort(), ['one', 'three', 'two']);
  });
  it('kills a running command on abort and refuses new ones, but runs cleanups', async () => {
    const controller = new AbortController();
    const r = runner(controller.signal);
    const running = r.run(command('sleep', ['30']));
    setTimeout(() => { controller.abort('SIGINT'); }, 100);
    await assert.rejects(running, (e: unknown) => e instanceof InterruptedError && /SIGINT/.test(e.message));
    await assert.rejects(r.run(command('true', [])), InterruptedError);
    const cleanup = await r.run(command('echo', ['unmounted']), { uninterruptible: true });
    assert.equal(cleanup.stdout, 'unmounted');
  });
  it('prints writes in a dry run but still runs reads', async () => {
    const r = runner(undefined, true);
    assert.deepEqual(await r.run(command('false', [], { effect: 'write' })), { stdout: '', stderr: '', exitCode: 0 });
    await assert.rejects(r.run(command('false', [], { effect: 'read' })), ExternalCommandError);
  });
});

describe('probeAccelerator (real QEMU)', () => {
  it('runs the KVM probe and says why it chose the accelerator', async () => {
    const choice = await probeAccelerator(runner());
    assert.ok(['kvm', 'tcg'].includes(choice.accelerator));
    // The probe itself must have run: QEMU is a prerequisite, in CI a missing one is a failure.
    assert.doesNotMatch(choice.reason, /could not be run/);
    assert.ok(choice.reason.length > 10);
  });
});
