import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { diskFiles } from '../../src/adapters/disk-file.js';
import { createRunner } from '../../src/adapters/runner.js';
import { observeKeyring, runDoctor } from '../../src/app/doctor.js';
import { formatCommand, type Command } from '../../src/core/command.js';
import { planDoctorChecks, type CheckVerdict, type KeyringObservation } from '../../src/core/doctor.js';
import type { RunResult, Runner } from '../../src/core/ports.js';
import { createOutput } from '../../src/ui/output.js';
import { createTestKey, type TestKey } from '../helpers/fake-debian-mirror.js';
import { makeTempDir } from '../helpers/git-repo.js';

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
const DEBIAN_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';
const SIGNED = '/var/cache/tails-build/snapshots/debian/2026120201/dists/bookworm/InRelease';
const KEYRING: KeyringObservation = {
  path: DEBIAN_KEYRING,
  file: { kind: 'read', contents: { kind: 'keys', keys: 1, userIds: ['Debian Archive Automatic Signing Key (12/bookworm) <ftpmaster@debian.org>'] } },
  signedFile: SIGNED,
  searched: ['/var/cache/tails-build/snapshots', '/var/lib/apt/lists'],
};
const checks = planDoctorChecks({ libvirtUri: 'qemu:///system', netns: 'tbns', nodeVersion: '20.20.2', keyring: KEYRING });

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
  [`gpgv --keyring ${DEBIAN_KEYRING} -- ${SIGNED}`]: { stdout: '', stderr: 'gpgv: Good signature from "Debian Archive Automatic Signing Key (12/bookworm) <ftpmaster@debian.org>"\n', exitCode: 0 },
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

/**
 * The keyring check end to end: real keyring files read by observeKeyring,
 * real gpgv run by the real runner on a real Debian-signed InRelease of this host.
 */
describe('the keyring check (real files, real gpgv)', () => {
  const runner = createRunner({ log: createOutput({ stdout: { write: () => true }, stderr: { write: () => true }, json: false, verbose: false }), dryRun: false, path: process.env.PATH ?? '/usr/bin:/bin', baseEnv: process.env });
  const dir = makeTempDir('tb-keyring-');
  const none = join(dir, 'none');
  let key: TestKey;
  /** A store holding one real Debian InRelease, copied from this host (the test fails, never skips, without one). */
  const store = join(dir, 'store');
  before(async () => {
    key = createTestKey();
    const host = await observeKeyring({ disk: diskFiles }, DEBIAN_KEYRING, { snapshotStore: '/var/cache/tails-build/snapshots', aptLists: '/var/lib/apt/lists' });
    assert.ok(host.signedFile !== undefined, 'this host has no Debian-signed InRelease: run apt-get update');
    mkdirSync(join(store, 'debian', '2026010101', 'dists', 'bookworm'), { recursive: true });
    copyFileSync(host.signedFile, join(store, 'debian', '2026010101', 'dists', 'bookworm', 'InRelease'));
  });
  after(() => {
    key.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  async function judge(keyring: string, snapshotStore = store): Promise<CheckVerdict> {
    const observed = await observeKeyring({ disk: diskFiles }, keyring, { snapshotStore, aptLists: none });
    const keyringCheck = planDoctorChecks({ libvirtUri: 'qemu:///system', netns: 'tbns', nodeVersion: '20.20.2', keyring: observed }).filter((c) => c.id === 'debian-keyring');
    const report = await runDoctor({ runner }, keyringCheck);
    const verdict = report.checks[0];
    assert.ok(verdict !== undefined);
    return verdict;
  }
  const signed = () => join(store, 'debian', '2026010101', 'dists', 'bookworm', 'InRelease');

  it("Debian's keyring verifies the host's InRelease: ok", async () => {
    const v = await judge(DEBIAN_KEYRING);
    assert.equal(v.ok, true, v.detail);
    assert.match(v.detail, new RegExp(`^gpgv verified ${signed()} against ${DEBIAN_KEYRING} \\(\\d+ keys\\)$`));
  });

  it('a keyring that does not exist fails (gpgv --version, the old probe, exits 0 for it)', async () => {
    const v = await judge(join(dir, 'absent.gpg'));
    assert.equal(v.ok, false);
    assert.equal(v.detail, `keyring ${join(dir, 'absent.gpg')} does not exist`);
    assert.match(v.hint ?? '', /debian-archive-keyring/);
  });

  it('an empty keyring fails', async () => {
    const empty = join(dir, 'empty.gpg');
    writeFileSync(empty, '');
    const v = await judge(empty);
    assert.equal(v.ok, false);
    assert.equal(v.detail, `keyring ${empty} is empty: it holds no keys`);
  });

  it("a keyring of a throwaway key (not Debian's) fails: gpgv finds no public key", async () => {
    const v = await judge(key.keyring);
    assert.equal(v.ok, false);
    assert.equal(v.detail, `gpgv does not verify ${signed()} against ${key.keyring} (1 key(s), 0 with a Debian user ID): gpgv: Can't check signature: No public key`);
    assert.match(v.hint ?? '', /--keyring FILE/);
  });

  it("with no signed file here: Debian's keyring is ok but says nothing was verified; a throwaway one still fails", async () => {
    const good = await judge(DEBIAN_KEYRING, none);
    assert.equal(good.ok, true, good.detail);
    assert.match(good.detail, /holds \d+ keys, \d+ with a Debian user ID; no signature verified: no Debian-signed InRelease under /);
    const wrong = await judge(key.keyring, none);
    assert.equal(wrong.ok, false);
    assert.equal(wrong.detail, `keyring ${key.keyring} holds 1 key(s), none with a Debian user ID (tails-build test archive <test@tails-build.invalid>)`);
  });

  it('a signed file not from Debian is not used to judge the Debian keyring', async () => {
    const other = join(dir, 'other-store');
    mkdirSync(join(other, 'x', '1', 'dists', 's'), { recursive: true });
    writeFileSync(join(other, 'x', '1', 'dists', 's', 'InRelease'), key.clearsign('Origin: Tails\nSuite: s\n'));
    const observed = await observeKeyring({ disk: diskFiles }, DEBIAN_KEYRING, { snapshotStore: other, aptLists: none });
    assert.equal(observed.signedFile, undefined);
  });
});
