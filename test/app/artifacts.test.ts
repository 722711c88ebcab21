/** Artifacts back from the VM, with a strict fake runner: every command it is not told about fails the test. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { retrieveArtifacts } from '../../src/app/artifacts.js';
import { command, formatCommand, type Command } from '../../src/core/command.js';
import type { RunOptions, RunResult, Runner } from '../../src/core/ports.js';

/** Answers the listed commands in order; anything else, or out of order, throws. */
function strictRunner(script: { match: RegExp; result: RunResult }[]): Runner & { ran: string[] } {
  const ran: string[] = [];
  const next = (cmd: Command): RunResult => {
    const shown = formatCommand(cmd);
    const step = script.shift();
    if (step === undefined || !step.match.test(shown)) throw new Error(`unexpected command: ${shown}`);
    ran.push(shown);
    return step.result;
  };
  return {
    ran,
    run: (cmd: Command, _o?: RunOptions) => {
      const r = next(cmd);
      return r.exitCode === 0 ? Promise.resolve(r) : Promise.reject(new Error(`${formatCommand(cmd)} failed`));
    },
    tryRun: (cmd: Command, _o?: RunOptions) => Promise.resolve(next(cmd)),
    which: () => Promise.reject(new Error('which: not expected')),
    start: () => Promise.reject(new Error('start: not expected')),
  };
}

const ssh = (remote: string): Command => command('ssh', ['-F', '/s/ssh-config', 'default', remote]);
const source = { ssh, netns: 'tbns', sshConfig: '/s/ssh-config' };

describe('retrieveArtifacts', () => {
  it('lists the artifacts in the VM and copies them back with scp, in the VM netns, sorted', async () => {
    const runner = strictRunner([
      { match: /^ssh .* 'find \/home\/vagrant\/tails-build\/artifacts /, result: { exitCode: 0, stdout: 'b.iso\na.packages\n', stderr: '' } },
      { match: /^ip netns exec tbns scp -F \/s\/ssh-config .* default:\/home\/vagrant\/tails-build\/artifacts\/b\.iso default:\/home\/vagrant\/tails-build\/artifacts\/a\.packages \/out$/, result: { exitCode: 0, stdout: '', stderr: '' } },
    ]);
    assert.deepEqual(await retrieveArtifacts({ runner }, source, '/out'), ['a.packages', 'b.iso']);
    assert.equal(runner.ran.length, 2);
  });
  it('a listing that fails fails the build (it used to pass with no artifacts)', async () => {
    const runner = strictRunner([{ match: /^ssh /, result: { exitCode: 255, stdout: '', stderr: 'ssh: connect to host 192.168.121.5 port 22: Connection refused\n' } }]);
    await assert.rejects(retrieveArtifacts({ runner }, source, '/out'), (error: Error & { code?: string; kind?: string }) => {
      assert.equal(error.code, 'artifacts-unlisted');
      assert.equal(error.kind, 'external');
      assert.match(error.message, /Could not list the artifacts in the build VM .*Connection refused/);
      return true;
    });
  });
  it('an empty artifacts dir copies nothing', async () => {
    const runner = strictRunner([{ match: /^ssh /, result: { exitCode: 0, stdout: '', stderr: '' } }]);
    assert.deepEqual(await retrieveArtifacts({ runner }, source, '/out'), []);
  });
});
