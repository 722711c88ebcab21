/**
 * `tails-build vm status` names the ref (or why it cannot), and `vm ssh -c
 * --json` writes one JSON document to stdout, the command's output inside it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runVmCommand } from '../../src/cli/commands/vm.js';
import { command, type Command } from '../../src/core/command.js';
import type { RunResult, Runner } from '../../src/core/ports.js';
import { createOutput } from '../../src/ui/output.js';
import { runTailsBuild } from '../helpers/cli.js';
import { createTempRepo } from '../helpers/git-repo.js';

describe('tails-build vm status (real libvirt: this checkout has no VM)', () => {
  it('--json has the ref, null with the reason; the text says "ref unknown"', async () => {
    const repo = createTempRepo();
    try {
      repo.write({ README: 'x\n' });
      repo.commit('Initial', '2026-11-01T12:00:00Z');
      const j = await runTailsBuild(['--json', 'vm', 'status'], { cwd: repo.root });
      assert.equal(j.code, 0, j.stderr);
      const status = JSON.parse(j.stdout) as Record<string, unknown>;
      assert.equal(status.state, 'absent');
      assert.ok('ref' in status, j.stdout);
      assert.equal(status.ref, null);
      assert.equal(status.refNote, 'unknown: the branch lock (/var/lib/vagrant_box_build_from) is inside the VM, which is absent');
      const t = await runTailsBuild(['vm', 'status'], { cwd: repo.root });
      assert.match(t.stdout, /^tails-build-[0-9a-f]{10}-default: absent, ref unknown: the branch lock /m);
    } finally {
      repo.remove();
    }
  });
});

/** A runner that answers the one guest command, streaming its lines as the real runner does. */
function guestRunner(guest: Command, result: RunResult): Runner {
  return {
    run: () => { throw new Error('vm ssh uses tryRun'); },
    tryRun: (cmd, options) => {
      assert.deepEqual(cmd, guest);
      for (const l of `${result.stdout}${result.stderr}`.split('\n')) if (l.trim() !== '') options?.onLine?.(l);
      return Promise.resolve(result);
    },
    which: () => { throw new Error('unexpected which'); },
    start: () => { throw new Error('unexpected start'); },
  };
}

function capture(json: boolean): { out: ReturnType<typeof createOutput>; stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { out: createOutput({ stdout: { write: (s: string) => stdout.push(s) }, stderr: { write: (s: string) => stderr.push(s) }, json, verbose: false }), stdout, stderr };
}

describe('runVmCommand (vm ssh -c)', () => {
  const guest = command('ssh', ['-F', '/c', 'default', 'cat /etc/hostname'], { effect: 'read' });

  it('--json: stdout is one JSON document, with the output inside it', async () => {
    const c = capture(true);
    await runVmCommand({ runner: guestRunner(guest, { stdout: 'builder\n', stderr: '', exitCode: 0 }), out: c.out }, true, 'dom', 'cat /etc/hostname', guest);
    const doc = JSON.parse(c.stdout.join('')) as unknown;
    assert.deepEqual(doc, { domain: 'dom', command: 'cat /etc/hostname', exitCode: 0, stdout: 'builder\n', stderr: '' });
  });

  it('--json, the command fails: still one document on stdout, then the error', async () => {
    const c = capture(true);
    await assert.rejects(
      runVmCommand({ runner: guestRunner(guest, { stdout: '', stderr: 'cat: x: No such file\n', exitCode: 1 }), out: c.out }, true, 'dom', 'cat x', guest),
      /"cat x" exited with 1 in dom: cat: x: No such file/,
    );
    assert.deepEqual(JSON.parse(c.stdout.join('')), { domain: 'dom', command: 'cat x', exitCode: 1, stdout: '', stderr: 'cat: x: No such file\n' });
  });

  it('without --json: the output streamed, line by line, and nothing else', async () => {
    const c = capture(false);
    await runVmCommand({ runner: guestRunner(guest, { stdout: 'builder\n', stderr: '', exitCode: 0 }), out: c.out }, false, 'dom', 'cat /etc/hostname', guest);
    assert.deepEqual(c.stdout, ['builder\n']);
  });
});
