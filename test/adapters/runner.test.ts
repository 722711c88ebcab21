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
function runner(signal?: AbortSignal, dryRun = false, killGraceMs?: number): ReturnType<typeof createRunner> {
  return createRunner({
    log: quiet,
    dryRun,
    path: process.env.PATH ?? '/usr/bin:/bin',
    baseEnv: process.env,
    ...(signal === undefined ? {} : { signal }),
    ...(killGraceMs === undefined ? {} : { killGraceMs }),
  });
}

/** Whether any process of the group `pgid` is still alive. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits (at most 10 s, polling) for the group to be gone; says whether it went. */
async function groupGone(pgid: number): Promise<boolean> {
  for (let i = 0; i < 200 && groupAlive(pgid); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  return !groupAlive(pgid);
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

describe('runner: timeouts and stops (execa timeout, killSignal, forceKillAfterDelay, cancelSignal; the group follows)', () => {
  it('a timeout kills the command and what it started; tryRun reports 124 with the output so far, run throws it', async () => {
    // The background sleep keeps stdout open: without the group kill the command would never settle.
    const script = 'echo $$; sleep 300 & sleep 300; wait';
    const r = await runner().tryRun(command('sh', ['-c', script], { timeoutMs: 300 }));
    assert.equal(r.exitCode, TIMED_OUT);
    const pgid = Number(r.stdout);
    assert.ok(pgid > 0, 'the output printed before the timeout is kept');
    assert.ok(await groupGone(pgid), 'nothing of the group survives');
    await assert.rejects(runner().run(command('sh', ['-c', script], { timeoutMs: 300 })), (e: unknown) => {
      assert.ok(e instanceof ExternalCommandError);
      assert.equal(e.exitCode, TIMED_OUT);
      assert.match(e.message, /^Command `sh -c .*` exited with code 124\./);
      return true;
    });
  });
  it('a timeout sends SIGTERM first: a command that handles it gets to clean up', async () => {
    const r = await runner().tryRun(command('sh', ['-c', 'trap "echo cleaning up; exit 0" TERM; sleep 300 & wait'], { timeoutMs: 300 }));
    assert.equal(r.exitCode, TIMED_OUT);
    assert.equal(r.stdout, 'cleaning up');
  });
  it('a command ignoring SIGTERM is killed (SIGKILL) after the grace, with its children', async () => {
    const r = await runner(undefined, false, 300).tryRun(command('sh', ['-c', 'trap "" TERM; echo $$; while :; do sleep 0.1; done'], { timeoutMs: 200 }));
    assert.equal(r.exitCode, TIMED_OUT);
    const pgid = Number(r.stdout);
    assert.ok(pgid > 0);
    assert.ok(await groupGone(pgid), 'escalated to SIGKILL: nothing of the group survives');
  });
  it('an interrupt stops a command that ignores SIGTERM, and what it started: InterruptedError, nothing left', async () => {
    const controller = new AbortController();
    const lines: string[] = [];
    const running = runner(controller.signal, false, 300).run(command('sh', ['-c', 'trap "" TERM; echo $$; sleep 300 & while :; do sleep 0.1; done']), {
      onLine: (line) => {
        lines.push(line);
        controller.abort('SIGTERM');
      },
    });
    await assert.rejects(running, (e: unknown) => e instanceof InterruptedError && /Interrupted by SIGTERM/.test(e.message));
    const pgid = Number(lines[0]);
    assert.ok(pgid > 0);
    assert.ok(await groupGone(pgid));
  });
  it('start(): a helper never ready is killed and the start fails with what it printed', async () => {
    let pgid = 0;
    await assert.rejects(
      runner(undefined, false, 300).start(command('sh', ['-c', 'trap "" TERM; echo $$; echo starting; while :; do sleep 0.1; done']), { ready: /^listening$/, timeoutMs: 300 }),
      (e: unknown) => {
        assert.ok(e instanceof ExternalCommandError);
        assert.match(e.message, /not ready after 300 ms/);
        assert.match(e.message, /starting/);
        pgid = Number(/\| (\d+)/.exec(e.message)?.[1]);
        return true;
      },
    );
    assert.ok(pgid > 0);
    assert.ok(await groupGone(pgid), 'escalated to SIGKILL: nothing of the group survives');
  });
  it('start(): a helper that exits before it is ready fails the start with its exit code and output', async () => {
    await assert.rejects(runner().start(command('sh', ['-c', 'echo no port >&2; exit 4']), { ready: /^ready$/, timeoutMs: 5000 }), (e: unknown) => {
      assert.ok(e instanceof ExternalCommandError);
      assert.equal(e.exitCode, 4);
      assert.match(e.message, /no port/);
      return true;
    });
  });
});

describe('runner: output lines (execa splits them)', () => {
  it('joins a line cut across chunks, keeps a last line without a newline, skips blank lines', async () => {
    const lines: string[] = [];
    const r = await runner().run(command('sh', ['-c', "printf 'hel'; sleep 0.2; printf 'lo\\nwor'; sleep 0.2; printf 'ld\\n\\n  \\nend'"]), { onLine: (l) => lines.push(l) });
    assert.deepEqual(lines, ['hello', 'world', 'end']);
    assert.equal(r.stdout, 'hello\nworld\n\n  \nend', 'the whole output is still returned');
  });
  it('passes a line longer than a pipe chunk whole, and keeps stdout and stderr lines apart', async () => {
    const out: string[] = [];
    await runner().run(command('sh', ['-c', "head -c 200000 /dev/zero | tr '\\0' a; echo; echo err >&2; echo next"]), { onLine: (l) => out.push(l) });
    assert.deepEqual(out.map((l) => (l.length > 100 ? `a×${String(l.length)}` : l)).sort(), ['a×200000', 'err', 'next']);
  });
  it('a command that cannot start is an ExternalCommandError, also when its lines are followed', async () => {
    await assert.rejects(runner().run(command('/nonexistent/tb-no-such-command', []), { onLine: () => undefined }), (e: unknown) => {
      assert.ok(e instanceof ExternalCommandError);
      assert.equal(e.exitCode, undefined);
      assert.match(e.message, /could not be run/);
      return true;
    });
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
