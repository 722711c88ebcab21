/**
 * readVmStatus: the ref comes from the VM's branch lock, read over ssh while
 * it runs (strict fakes for libvirt and the runner; real files for the state dir).
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { diskFiles } from '../../src/adapters/disk-file.js';
import type { DomainState, LibvirtDomains } from '../../src/adapters/libvirt-domains.js';
import { readVmStatus } from '../../src/app/vm-status.js';
import { vmIdentity } from '../../src/core/build-vm.js';
import { formatCommand, type Command } from '../../src/core/command.js';
import type { RunResult, Runner } from '../../src/core/ports.js';
import { makeTempDir } from '../helpers/git-repo.js';

const cache = makeTempDir('tb-vm-status-');
after(() => { rmSync(cache, { recursive: true, force: true }); });
const id = vmIdentity('/work/checkout', cache);
mkdirSync(id.stateDir, { recursive: true });
writeFileSync(join(id.stateDir, 'settings.json'), JSON.stringify({ box: 'tails-build-bookworm-20261201-0' }));
const ACCESS = { toolRoot: '/tool', netns: undefined };

function domains(state: DomainState): LibvirtDomains {
  const refuse = (): never => { throw new Error('vm status only reads the domain state'); };
  return {
    state: (domain) => {
      assert.equal(domain, id.domain);
      return Promise.resolve(state);
    },
    list: refuse, xml: refuse, remove: refuse, usersOfFile: refuse,
  };
}

/** Knows `vagrant ssh-config` (under the VAGRANT_HOME lock) and the one ssh command; anything else throws. */
function runner(lock: RunResult): Runner & { ran: string[] } {
  const ran: string[] = [];
  const answer = (cmd: Command): RunResult => {
    const shown = formatCommand(cmd);
    ran.push(shown);
    if (shown === 'flock --exclusive --close /vh vagrant ssh-config') return { stdout: 'Host default\n  HostName 192.168.121.5\n', stderr: '', exitCode: 0 };
    if (shown === `ssh -F ${id.stateDir}/ssh-config -o BatchMode=yes -o ConnectTimeout=30 default 'cat /var/lib/vagrant_box_build_from'`) return lock;
    throw new Error(`unexpected command: ${shown}`);
  };
  return {
    ran,
    run: (cmd) => Promise.resolve(answer(cmd)),
    tryRun: (cmd) => Promise.resolve(answer(cmd)),
    which: () => { throw new Error('unexpected which'); },
    start: () => { throw new Error('unexpected start'); },
  };
}

describe('readVmStatus', () => {
  it('a running VM: the ref its branch lock names', async () => {
    const r = runner({ stdout: 'feature/x\n', stderr: '', exitCode: 0 });
    const status = await readVmStatus({ domains: domains('running'), disk: diskFiles, runner: r, vagrantHome: '/vh' }, ACCESS, id);
    assert.deepEqual(status, { domain: id.domain, state: 'running', box: 'tails-build-bookworm-20261201-0', ref: 'feature/x', refNote: null, stateDir: id.stateDir });
    assert.equal(r.ran.length, 2);
  });

  it('a running VM never provisioned: no ref, and why', async () => {
    const r = runner({ stdout: '', stderr: 'cat: /var/lib/vagrant_box_build_from: No such file or directory\n', exitCode: 1 });
    const status = await readVmStatus({ domains: domains('running'), disk: diskFiles, runner: r, vagrantHome: '/vh' }, ACCESS, id);
    assert.equal(status.ref, null);
    assert.equal(status.refNote, 'none: the VM has no branch lock (/var/lib/vagrant_box_build_from) yet; the next build records its ref there');
  });

  it('a VM that is shut off: ref unknown, nothing run', async () => {
    const r = runner({ stdout: 'never\n', stderr: '', exitCode: 0 });
    const status = await readVmStatus({ domains: domains('shut off'), disk: diskFiles, runner: r, vagrantHome: '/vh' }, ACCESS, id);
    assert.equal(status.ref, null);
    assert.equal(status.refNote, 'unknown: the branch lock (/var/lib/vagrant_box_build_from) is inside the VM, which is shut off');
    assert.deepEqual(r.ran, []);
  });
});
