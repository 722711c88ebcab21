import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  compareVersions,
  judgeCheck,
  missingRequired,
  planDoctorChecks,
  summariseDoctor,
  type CheckId,
  type CheckVerdict,
  type DoctorCheck,
  type DoctorInput,
  type KeyringFile,
  type KeyringObservation,
  type ProbeResult,
} from '../../src/core/doctor.js';

const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';
const SIGNED = '/var/cache/tails-build/snapshots/debian/2026120201/dists/bookworm/InRelease';
const DEBIAN_IDS = ['Debian Archive Automatic Signing Key (12/bookworm) <ftpmaster@debian.org>', 'Debian Stable Release Key (12/bookworm) <debian-release@lists.debian.org>'];
const SEARCHED = ['/var/cache/tails-build/snapshots', '/var/lib/apt/lists'];
const keyringFile = (keys: number, userIds: readonly string[]): KeyringFile => ({ kind: 'read', contents: { kind: 'keys', keys, userIds } });
/** `signed: null`: no Debian-signed file on the host. */
const observed = (file: KeyringFile, signed: string | null = SIGNED): KeyringObservation => ({ path: KEYRING, file, signedFile: signed ?? undefined, searched: SEARCHED });
const INPUT: DoctorInput = { libvirtUri: 'qemu:///system', netns: 'tbns', nodeVersion: '20.20.2', keyring: observed(keyringFile(2, DEBIAN_IDS)) };
const GPGV_NO_KEY = 'gpgv: Signature made Sat Jul 11 10:17:11 2026 UTC\ngpgv:                using RSA key 4CB50190207B4758A3F73A796ED0E7B82643E131\ngpgv: Can\'t check signature: No public key\n';

function check(id: CheckId, input = INPUT): DoctorCheck {
  const found = planDoctorChecks(input).find((c) => c.id === id);
  assert.ok(found, `no check ${id}`);
  return found;
}

const exited = (exitCode: number, stdout = '', stderr = ''): ProbeResult => ({ kind: 'exited', exitCode, stdout, stderr });

describe('planDoctorChecks', () => {
  it('lists every check once, in a stable order, with required flags', () => {
    const checks = planDoctorChecks(INPUT);
    assert.deepEqual(
      checks.map((c) => [c.id, c.required]),
      [
        ['git', true],
        ['node', true],
        ['qemu', true],
        ['qemu-img', true],
        ['libvirt', true],
        ['vagrant', true],
        ['vagrant-libvirt', true],
        ['mmdebstrap', true],
        ['debugfs', true],
        ['sfdisk', true],
        ['flock', true],
        ['debian-keyring', true],
        ['shellcheck', false],
        ['diffoscope', false],
        ['netns', false],
        ['kvm', false],
      ],
    );
  });

  it('probes are read-only command values with timeouts', () => {
    for (const c of planDoctorChecks(INPUT)) {
      for (const p of c.probes) {
        assert.equal(p.effect, 'read', c.id);
        assert.ok(p.timeoutMs !== undefined && p.timeoutMs <= 60_000, c.id);
      }
    }
  });

  it('probes libvirt at the given URI with a 60 s timeout (a new machine probes QEMU first)', () => {
    const probe = check('libvirt', { ...INPUT, libvirtUri: 'qemu+unix:///system?socket=/x' }).probes[0]!;
    assert.deepEqual([probe.file, ...probe.args], ['virsh', '-c', 'qemu+unix:///system?socket=/x', 'version']);
    assert.equal(probe.timeoutMs, 60_000);
  });

  it('asks vagrant for its plugins without phoning home', () => {
    const probe = check('vagrant-libvirt').probes[0]!;
    assert.deepEqual([probe.file, ...probe.args], ['vagrant', 'plugin', 'list']);
    assert.equal(probe.env?.VAGRANT_CHECKPOINT_DISABLE, '1');
  });

  it('names the netns from the input and probes /dev/kvm by absolute path', () => {
    assert.equal(check('netns', { ...INPUT, netns: 'ci7' }).title, 'netns ci7');
    const kvm = check('kvm').probes[0]!;
    assert.deepEqual([kvm.file, ...kvm.args], ['/usr/bin/test', '-e', '/dev/kvm']);
  });

  it('probes util-linux flock, which the host locks run', () => {
    const flock = check('flock').probes[0]!;
    assert.deepEqual([flock.file, ...flock.args], ['flock', '--version']);
    assert.equal(check('flock').required, true);
  });

  it('the keyring check verifies the signed file with gpgv, as snapshot-mirror does (not `gpgv --version`, which cannot fail)', () => {
    const probe = check('debian-keyring').probes[0]!;
    assert.deepEqual([probe.file, ...probe.args], ['gpgv', '--keyring', KEYRING, '--', SIGNED]);
  });

  it('without a signed file on the host, the keyring check only asks gpgv to be there', () => {
    const probe = check('debian-keyring', { ...INPUT, keyring: observed(keyringFile(2, DEBIAN_IDS), null) }).probes[0]!;
    assert.deepEqual([probe.file, ...probe.args], ['gpgv', '--version']);
  });

  it('the node check runs nothing: it judges the running node', () => {
    assert.deepEqual(check('node').probes, []);
  });
});

describe('judgeCheck', () => {
  const table: readonly {
    name: string;
    id: CheckId;
    input?: DoctorInput;
    results: readonly ProbeResult[];
    ok: boolean;
    detail: string | RegExp;
    hint: string | RegExp | null;
  }[] = [
    { name: 'git present', id: 'git', results: [exited(0, 'git version 2.39.5\n')], ok: true, detail: 'git version 2.39.5', hint: null },
    {
      name: 'git missing',
      id: 'git',
      results: [{ kind: 'not-found' }],
      ok: false,
      detail: 'git not found on PATH',
      hint: 'apt-get install --no-install-recommends git',
    },
    {
      name: 'qemu missing names the Debian package',
      id: 'qemu',
      results: [{ kind: 'not-found' }],
      ok: false,
      detail: 'qemu-system-x86_64 not found on PATH',
      hint: 'apt-get install --no-install-recommends qemu-system-x86',
    },
    {
      name: 'qemu-img broken',
      id: 'qemu-img',
      results: [exited(127, '', 'qemu-img: error while loading shared libraries\n')],
      ok: false,
      detail: /exited with code 127: qemu-img: error while loading shared libraries/,
      hint: 'apt-get install --no-install-recommends qemu-utils',
    },
    {
      name: 'flock missing names util-linux',
      id: 'flock',
      results: [{ kind: 'not-found' }],
      ok: false,
      detail: 'flock not found on PATH',
      hint: 'apt-get install --no-install-recommends util-linux',
    },
    {
      name: 'mmdebstrap timed out',
      id: 'mmdebstrap',
      results: [{ kind: 'failed', reason: 'timed out after 5000 ms' }],
      ok: false,
      detail: '`mmdebstrap --version` could not run: timed out after 5000 ms',
      hint: 'apt-get install --no-install-recommends mmdebstrap',
    },
    { name: 'node new enough', id: 'node', results: [], ok: true, detail: 'node 20.20.2', hint: null },
    { name: 'node exactly the minimum', id: 'node', input: { ...INPUT, nodeVersion: '20.5.0' }, results: [], ok: true, detail: 'node 20.5.0', hint: null },
    {
      name: 'node too old',
      id: 'node',
      input: { ...INPUT, nodeVersion: '18.19.0' },
      results: [],
      ok: false,
      detail: 'node 18.19.0 is running; tails-build needs 20.5.0 or newer',
      hint: /Node\.js 20\.5 or newer/,
    },
    {
      name: 'libvirt answers',
      id: 'libvirt',
      results: [exited(0, 'Compiled against library: libvirt 9.0.0\nUsing library: libvirt 9.0.0\nUsing API: QEMU 9.0.0\nRunning hypervisor: QEMU 7.2.22\n')],
      ok: true,
      detail: 'qemu:///system: Running hypervisor: QEMU 7.2.22',
      hint: null,
    },
    {
      name: 'libvirt down: the specific error line and how to start it',
      id: 'libvirt',
      results: [
        exited(1, '', "error: failed to connect to the hypervisor\nerror: Failed to connect socket to '/run/libvirt/libvirt-sock': No such file or directory\n"),
      ],
      ok: false,
      detail: "libvirt at qemu:///system is not reachable: error: Failed to connect socket to '/run/libvirt/libvirt-sock': No such file or directory",
      hint: /bootstrap\.sh setup .*ip netns exec tbns libvirtd -d/,
    },
    {
      name: 'libvirt at a custom URI unreachable',
      id: 'libvirt',
      input: { ...INPUT, libvirtUri: 'qemu+unix:///system?socket=/nonexistent' },
      results: [exited(1, '', "error: Failed to connect socket to '/nonexistent': No such file or directory\n")],
      ok: false,
      detail: /^libvirt at qemu\+unix:\/\/\/system\?socket=\/nonexistent is not reachable/,
      hint: /Check that a libvirtd serves qemu\+unix/,
    },
    {
      name: 'libvirt hangs',
      id: 'libvirt',
      results: [{ kind: 'failed', reason: 'timed out after 60000 ms' }],
      ok: false,
      detail: /not reachable: .*timed out after 60000 ms/,
      hint: /bootstrap\.sh setup/,
    },
    {
      name: 'virsh missing: install the client and daemon',
      id: 'libvirt',
      results: [{ kind: 'not-found' }],
      ok: false,
      detail: 'virsh not found on PATH',
      hint: 'apt-get install --no-install-recommends libvirt-daemon-system libvirt-clients',
    },
    {
      name: 'vagrant-libvirt listed',
      id: 'vagrant-libvirt',
      results: [exited(0, 'vagrant-libvirt (0.11.2, system)\n')],
      ok: true,
      detail: 'vagrant-libvirt (0.11.2, system)',
      hint: null,
    },
    {
      name: 'another plugin only',
      id: 'vagrant-libvirt',
      results: [exited(0, 'vagrant-libvirt-extras (0.1.0, global)\nvagrant-mutate (1.2.0, system)\n')],
      ok: false,
      detail: '`vagrant plugin list` does not list vagrant-libvirt',
      hint: 'apt-get install --no-install-recommends vagrant-libvirt',
    },
    {
      name: 'no plugins at all',
      id: 'vagrant-libvirt',
      results: [exited(0, 'No plugins installed.\n')],
      ok: false,
      detail: '`vagrant plugin list` does not list vagrant-libvirt',
      hint: 'apt-get install --no-install-recommends vagrant-libvirt',
    },
    {
      name: 'vagrant missing for the plugin check',
      id: 'vagrant-libvirt',
      results: [{ kind: 'not-found' }],
      ok: false,
      detail: 'vagrant not found on PATH',
      hint: 'apt-get install --no-install-recommends vagrant-libvirt',
    },
    {
      name: 'shellcheck: the version line',
      id: 'shellcheck',
      results: [exited(0, 'ShellCheck - shell script analysis tool\nversion: 0.9.0\nlicense: GNU GPLv3\n')],
      ok: true,
      detail: 'version: 0.9.0',
      hint: null,
    },
    {
      name: 'netns present among others',
      id: 'netns',
      results: [exited(0, 'other (id: 1)\ntbns (id: 0)\n')],
      ok: true,
      detail: 'namespace tbns exists (VM networks live there)',
      hint: null,
    },
    {
      name: 'netns absent (a prefix is not a match)',
      id: 'netns',
      results: [exited(0, 'tbns2\n')],
      ok: false,
      detail: '`ip netns list` does not list tbns',
      hint: /ip netns add tbns && ip -n tbns link set lo up/,
    },
    {
      name: 'ip missing',
      id: 'netns',
      results: [{ kind: 'not-found' }],
      ok: false,
      detail: 'ip not found on PATH',
      hint: 'apt-get install --no-install-recommends iproute2',
    },
    {
      name: '/dev/kvm present',
      id: 'kvm',
      results: [exited(0)],
      ok: true,
      detail: 'present; whether KVM really works is probed when a VM starts; TCG is used otherwise',
      hint: null,
    },
    {
      name: 'keyring: gpgv verifies the signed file',
      id: 'debian-keyring',
      results: [exited(0, '', 'gpgv: Good signature from "Debian Archive Automatic Signing Key (12/bookworm) <ftpmaster@debian.org>"\n')],
      ok: true,
      detail: `gpgv verified ${SIGNED} against ${KEYRING} (2 keys)`,
      hint: null,
    },
    {
      name: 'keyring missing: fails whatever gpgv says',
      id: 'debian-keyring',
      input: { ...INPUT, keyring: observed({ kind: 'missing' }) },
      results: [exited(0)],
      ok: false,
      detail: `keyring ${KEYRING} does not exist`,
      hint: /--reinstall gpgv debian-archive-keyring/,
    },
    {
      name: 'keyring missing, no signed file either: still fails',
      id: 'debian-keyring',
      input: { ...INPUT, keyring: observed({ kind: 'missing' }, null) },
      results: [exited(0, 'gpgv (GnuPG) 2.2.40\n')],
      ok: false,
      detail: `keyring ${KEYRING} does not exist`,
      hint: /--reinstall gpgv debian-archive-keyring/,
    },
    {
      name: 'keyring is a directory',
      id: 'debian-keyring',
      input: { ...INPUT, keyring: observed({ kind: 'not-a-file' }) },
      results: [exited(2)],
      ok: false,
      detail: `keyring ${KEYRING} is not a file`,
      hint: /doctor --keyring FILE/,
    },
    {
      name: 'keyring unreadable',
      id: 'debian-keyring',
      input: { ...INPUT, keyring: observed({ kind: 'unreadable', reason: 'EACCES: permission denied' }) },
      results: [exited(2)],
      ok: false,
      detail: `keyring ${KEYRING} cannot be read: EACCES: permission denied`,
      hint: /debian-archive-keyring/,
    },
    {
      name: 'keyring empty, no signed file: fails',
      id: 'debian-keyring',
      input: { ...INPUT, keyring: observed(keyringFile(0, []), null) },
      results: [exited(0, 'gpgv (GnuPG) 2.2.40\n')],
      ok: false,
      detail: `keyring ${KEYRING} is empty: it holds no keys`,
      hint: /debian-archive-keyring/,
    },
    {
      name: 'keyring armored or garbage',
      id: 'debian-keyring',
      input: { ...INPUT, keyring: observed({ kind: 'read', contents: { kind: 'not-a-keyring', reason: 'no OpenPGP packet at byte 0' } }) },
      results: [exited(2)],
      ok: false,
      detail: `${KEYRING} is not a binary OpenPGP keyring (no OpenPGP packet at byte 0); an armored .asc key needs \`gpg --dearmor\``,
      hint: /debian-archive-keyring/,
    },
    {
      name: "keyring without Debian's keys: gpgv's reason",
      id: 'debian-keyring',
      input: { ...INPUT, keyring: observed(keyringFile(1, ['Throwaway <t@example.org>'])) },
      results: [exited(2, '', GPGV_NO_KEY)],
      ok: false,
      detail: `gpgv does not verify ${SIGNED} against ${KEYRING} (1 key(s), 0 with a Debian user ID): gpgv: Can't check signature: No public key`,
      hint: /gpgv --keyring \/usr\/share\/keyrings\/debian-archive-keyring\.gpg -- /,
    },
    {
      name: "keyring without Debian's keys, no signed file: fails on the user IDs",
      id: 'debian-keyring',
      input: { ...INPUT, keyring: observed(keyringFile(1, ['Throwaway <t@example.org>']), null) },
      results: [exited(0, 'gpgv (GnuPG) 2.2.40\n')],
      ok: false,
      detail: `keyring ${KEYRING} holds 1 key(s), none with a Debian user ID (Throwaway <t@example.org>)`,
      hint: /debian-archive-keyring/,
    },
    {
      name: 'Debian keyring, no signed file: ok, and says no signature was verified',
      id: 'debian-keyring',
      input: { ...INPUT, keyring: observed(keyringFile(2, DEBIAN_IDS), null) },
      results: [exited(0, 'gpgv (GnuPG) 2.2.40\n')],
      ok: true,
      detail: `keyring ${KEYRING} holds 2 keys, 2 with a Debian user ID; no signature verified: no Debian-signed InRelease under /var/cache/tails-build/snapshots or /var/lib/apt/lists (\`tails-build snapshots mirror\` or apt-get update fetches one)`,
      hint: null,
    },
    {
      name: 'gpgv missing: install it, whatever the keyring',
      id: 'debian-keyring',
      results: [{ kind: 'not-found' }],
      ok: false,
      detail: 'gpgv not found on PATH',
      hint: 'apt-get install --no-install-recommends gpgv debian-archive-keyring',
    },
    { name: '/dev/kvm absent', id: 'kvm', results: [exited(1)], ok: false, detail: /absent; VMs run under TCG/, hint: /Nothing to install/ },
    { name: 'test itself missing', id: 'kvm', results: [{ kind: 'not-found' }], ok: false, detail: /absent/, hint: /Nothing to install/ },
  ];

  for (const row of table) {
    it(row.name, () => {
      const c = check(row.id, row.input);
      const verdict = judgeCheck(c, row.results);
      assert.equal(verdict.id, row.id);
      assert.equal(verdict.required, c.required);
      assert.equal(verdict.ok, row.ok, verdict.detail);
      if (typeof row.detail === 'string') assert.equal(verdict.detail, row.detail);
      else assert.match(verdict.detail, row.detail);
      if (row.hint === null || typeof row.hint === 'string') assert.equal(verdict.hint, row.hint);
      else assert.match(verdict.hint ?? '', row.hint);
    });
  }

  it('clips a very long detail line', () => {
    const verdict = judgeCheck(check('git'), [exited(0, `${'x'.repeat(500)}\n`)]);
    assert.ok(verdict.detail.length <= 120);
  });

  it('refuses a result count that does not match the probes (a caller bug)', () => {
    assert.throws(() => judgeCheck(check('git'), []), /got 0 result\(s\) for 1 probe\(s\)/);
  });
});

describe('summariseDoctor', () => {
  const v = (id: CheckId, required: boolean, ok: boolean): CheckVerdict => ({ id, title: id, required, ok, detail: '', hint: ok ? null : 'fix' });

  it('is ok when only optional checks fail', () => {
    const report = summariseDoctor([v('git', true, true), v('kvm', false, false), v('shellcheck', false, false)]);
    assert.equal(report.ok, true);
    assert.deepEqual(missingRequired(report), []);
  });

  it('is not ok when a required check fails, and names them in order', () => {
    const report = summariseDoctor([v('qemu', true, false), v('git', true, true), v('libvirt', true, false), v('kvm', false, false)]);
    assert.equal(report.ok, false);
    assert.deepEqual(missingRequired(report), ['qemu', 'libvirt']);
  });
});

describe('compareVersions', () => {
  const rows: readonly [string, string, number][] = [
    ['20.5.0', '20.5.0', 0],
    ['v20.20.2', '20.5.0', 1],
    ['20.4.9', '20.5.0', -1],
    ['21.0.0', '20.5.0', 1],
    ['18.19.0', '20.5.0', -1],
    ['20.5', '20.5.0', 0],
    ['22.0.0-nightly2024', '20.5.0', 1],
  ];
  for (const [a, b, sign] of rows) {
    it(`${a} vs ${b}`, () => { assert.equal(Math.sign(compareVersions(a, b)), sign); });
  }
});
