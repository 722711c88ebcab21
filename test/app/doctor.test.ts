import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runDoctor } from '../../src/app/doctor.js';
import { formatCommand, type Command } from '../../src/core/command.js';
import { planDoctorChecks } from '../../src/core/doctor.js';
import type { RunResult, Runner } from '../../src/core/ports.js';

type Answer = RunResult | 'timeout';

/** A runner that knows exactly these programs and commands; anything else throws. */
function strictRunner(onPath: readonly string[], answers: Readonly<Record<string, Answer>>): Runner & { ran: string[] } {
  const ran: string[] = [];
  return {
    ran,
    run() {
      throw new Error('doctor must not use run(): a failed probe is a finding, not an exception');
    },
    tryRun(cmd: Command) {
      const shown = formatCommand(cmd);
      ran.push(shown);
      const answer = answers[shown];
      if (answer === undefined) throw new Error(`unexpected command: ${shown}`);
      // As the real runner does: a command killed at its timeout exits 124.
      if (answer === 'timeout') return Promise.resolve({ stdout: '', stderr: '', exitCode: 124 });
      return Promise.resolve(answer);
    },
    which(file: string) {
      return Promise.resolve(onPath.includes(file) ? `/usr/bin/${file}` : undefined);
    },
    start() {
      throw new Error('doctor must not start background processes');
    },
  };
}

const ok = (stdout: string): RunResult => ({ stdout, stderr: '', exitCode: 0 });
const checks = planDoctorChecks({ libvirtUri: 'qemu:///system', netns: 'tbns', nodeVersion: '20.20.2' });

const HEALTHY: Record<string, Answer> = {
  'git --version': ok('git version 2.39.5\n'),
  'qemu-system-x86_64 --version': ok('QEMU emulator version 7.2.22\n'),
  'qemu-img --version': ok('qemu-img version 7.2.22\n'),
  'virsh -c qemu:///system version': ok('Running hypervisor: QEMU 7.2.22\n'),
  'vagrant --version': ok('Vagrant 2.3.4\n'),
  'vagrant plugin list': ok('vagrant-libvirt (0.11.2, system)\n'),
  'mmdebstrap --version': ok('mmdebstrap 1.3.5\n'),
  'debugfs -V': ok('debugfs 1.47.0 (5-Feb-2023)\n'),
  'sfdisk --version': ok('sfdisk from util-linux 2.38.1\n'),
  'flock --version': ok('flock from util-linux 2.38.1\n'),
  'gpgv --keyring /usr/share/keyrings/debian-archive-keyring.gpg --version': ok('gpgv (GnuPG) 2.2.40\n'),
  'shellcheck --version': ok('version: 0.9.0\n'),
  'diffoscope --version': ok('diffoscope 236\n'),
  'ip netns list': ok('tbns (id: 0)\n'),
  '/usr/bin/test -e /dev/kvm': { stdout: '', stderr: '', exitCode: 1 },
};
const ALL = ['git', 'qemu-system-x86_64', 'qemu-img', 'virsh', 'vagrant', 'mmdebstrap', 'debugfs', 'sfdisk', 'flock', 'gpgv', 'shellcheck', 'diffoscope', 'ip', '/usr/bin/test'];

describe('runDoctor', () => {
  it('a healthy host: every required check ok, each probe run once', async () => {
    const runner = strictRunner(ALL, HEALTHY);
    const report = await runDoctor({ runner }, checks);
    assert.equal(report.ok, true);
    assert.deepEqual(
      report.checks.filter((c) => !c.ok).map((c) => c.id),
      ['kvm'],
    );
    assert.deepEqual([...runner.ran].sort(), Object.keys(HEALTHY).sort());
  });

  it('programs not on PATH are reported missing without being run', async () => {
    const runner = strictRunner(['git', '/usr/bin/test'], {
      'git --version': HEALTHY['git --version']!,
      '/usr/bin/test -e /dev/kvm': ok(''),
    });
    const report = await runDoctor({ runner }, checks);
    assert.equal(report.ok, false);
    assert.deepEqual(
      report.checks.filter((c) => !c.ok).map((c) => [c.id, c.detail]),
      [
        ['qemu', 'qemu-system-x86_64 not found on PATH'],
        ['qemu-img', 'qemu-img not found on PATH'],
        ['libvirt', 'virsh not found on PATH'],
        ['vagrant', 'vagrant not found on PATH'],
        ['vagrant-libvirt', 'vagrant not found on PATH'],
        ['mmdebstrap', 'mmdebstrap not found on PATH'],
        ['debugfs', 'debugfs not found on PATH'],
        ['sfdisk', 'sfdisk not found on PATH'],
        ['flock', 'flock not found on PATH'],
        ['debian-keyring', 'gpgv not found on PATH'],
        ['shellcheck', 'shellcheck not found on PATH'],
        ['diffoscope', 'diffoscope not found on PATH'],
        ['netns', 'ip not found on PATH'],
      ],
    );
    assert.deepEqual([...runner.ran].sort(), ['/usr/bin/test -e /dev/kvm', 'git --version']);
  });

  it('a probe that times out is a finding, not an exception', async () => {
    const runner = strictRunner(ALL, { ...HEALTHY, 'virsh -c qemu:///system version': 'timeout' });
    const report = await runDoctor({ runner }, checks);
    const libvirt = report.checks.find((c) => c.id === 'libvirt')!;
    assert.equal(report.ok, false);
    assert.equal(libvirt.ok, false);
    assert.match(libvirt.detail, /not reachable: .*timed out after 60000 ms/);
  });
});
