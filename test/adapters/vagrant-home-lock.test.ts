/**
 * vagrant for build VMs, as the tool runs it (vagrantCommands, runVagrant, the
 * real runner, util-linux's flock): two at once on one VAGRANT_HOME run one
 * after the other; real vagrant runs with our Vagrantfile under the lock; a
 * failure says what vagrant said. No VM is booted.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { createRunner } from '../../src/adapters/runner.js';
import { runVagrant, vagrantCommands } from '../../src/app/build-vm-access.js';
import { vmIdentity } from '../../src/core/build-vm.js';
import { ExternalCommandError } from '../../src/core/errors.js';
import { makeTempDir } from '../helpers/git-repo.js';

const TOOL_ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const work = makeTempDir('tb-vagrant-lock-');
after(() => {
  rmSync(work, { recursive: true, force: true });
});
const quiet = { info: () => undefined, warn: () => undefined, debug: () => undefined };

/** Two checkouts' VMs on one VAGRANT_HOME, each with its settings file (what build-vm writes). */
function twoVms(vagrantHome: string) {
  mkdirSync(vagrantHome, { recursive: true });
  return ['a', 'b'].map((name) => {
    const vm = vmIdentity(join(work, `checkout-${name}`), join(work, 'cache'));
    mkdirSync(vm.stateDir, { recursive: true });
    writeFileSync(
      join(vm.stateDir, 'settings.json'),
      JSON.stringify({ box: 'tails-builder-test', bootTimeoutSeconds: 60, checkout: work, checkoutGuestPath: '/amnesia.git', libvirtUri: 'qemu:///system', domainPrefix: `tb-lock-test-${name}-`, pool: 'default', driver: 'qemu', machineType: 'pc', cpus: 1, memoryMiB: 512, serialLog: join(work, `${name}.log`), cacheDisk: null }),
    );
    return vm;
  });
}

describe('vagrant under the VAGRANT_HOME lock (real flock, real runner)', () => {
  it('two vagrant commands at once on one VAGRANT_HOME never overlap: the second starts once the first has ended', async () => {
    // A vagrant that records when it runs, so overlap is visible (the real one's global state is what the lock protects).
    const bin = join(work, 'bin');
    mkdirSync(bin, { recursive: true });
    const log = join(work, 'turns.log');
    writeFileSync(log, '');
    writeFileSync(join(bin, 'vagrant'), `#!/bin/sh\necho "enter $$ $*" >> ${log}\nsleep 0.3\necho "leave $$" >> ${log}\n`);
    chmodSync(join(bin, 'vagrant'), 0o755);
    const vagrantHome = join(work, 'vagrant-home-turns');
    const vms = twoVms(vagrantHome);
    const runner = createRunner({ log: quiet, dryRun: false, path: `${bin}:${process.env.PATH ?? ''}`, baseEnv: { PATH: `${bin}:${process.env.PATH ?? ''}` } });
    const deps = { runner, vagrantHome };
    await Promise.all(
      [...vms, ...vms].map((vm, i) => runVagrant(deps, vagrantCommands(deps, { toolRoot: TOOL_ROOT, netns: undefined }, vm)(i % 2 === 0 ? ['up', '--provider=libvirt', '--no-provision'] : ['ssh-config'], 'read'))),
    );
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    assert.equal(lines.length, 8, lines.join('\n'));
    for (let i = 0; i < lines.length; i += 2) {
      const pid = lines[i]?.split(' ')[1] ?? '';
      assert.match(lines[i] ?? '', /^enter \d+ (up|ssh-config)/);
      assert.equal(lines[i + 1], `leave ${pid}`, `two vagrants overlapped:\n${lines.join('\n')}`);
    }
  });

  it('real vagrant reads our Vagrantfile under the lock (vagrant validate), and a failure is vagrant\'s own message, not a backtrace tail', async () => {
    const vagrantHome = join(work, 'vagrant-home-real');
    const [vm] = twoVms(vagrantHome);
    const path = process.env.PATH ?? '/usr/bin:/bin';
    const runner = createRunner({ log: quiet, dryRun: false, path, baseEnv: { PATH: path, HOME: process.env.HOME ?? '/root' } });
    const deps = { runner, vagrantHome };
    const vagrant = vagrantCommands(deps, { toolRoot: TOOL_ROOT, netns: undefined }, vm!);
    const ok = await runVagrant(deps, vagrant(['validate'], 'read'));
    assert.match(ok.stdout, /Vagrantfile validated successfully/);
    // A box that was never added: vagrant rescues its own error and says so.
    await assert.rejects(runVagrant(deps, vagrant(['box', 'remove', '--force', 'tails-builder-never-added'], 'write')), (error: unknown) => {
      assert.ok(error instanceof ExternalCommandError, String(error));
      assert.equal(error.exitCode, 1);
      assert.match(error.message, /^Command `flock --exclusive --close .* vagrant box remove --force tails-builder-never-added` exited with code 1\.\n {2}\| The box you requested to be removed could not be found/);
      assert.doesNotMatch(error.message, /\tfrom |\.rb:\d+/);
      assert.match(error.hint ?? '', /VAGRANT_LOG=info/);
      return true;
    });
  });
});
