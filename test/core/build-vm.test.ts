import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  BRANCH_LOCK_FILE,
  buildEnv,
  CACHE_DISK_SERIAL,
  guestScript,
  planVmSettings,
  ninePMountTag,
  provisionEnv,
  provisionFailure,
  vmFate,
  vmIdentity,
} from '../../src/core/build-vm.js';

const ID = vmIdentity('/srv/tails', '/var/cache/tails-build');
const SETTINGS = {
  box: 'tails-builder-amd64-bookworm-20261122-d773bc8',
  identity: ID,
  libvirtUri: 'qemu:///system',
  pool: 'default',
  cpus: 2,
  memoryMiB: 2048,
  machineType: 'q35',
  cpuModel: undefined,
  checkout: '/srv/tails',
  cacheDisk: true,
} as const;
const RECORD = { ref: 'feature/x', commit: 'a'.repeat(40), box: SETTINGS.box, serials: { builder: { debian: '2026112201' } } };

describe('vmIdentity', () => {
  it('names the domain, its root volume and its state dir from the checkout path', () => {
    assert.match(ID.domain, /^tails-build-[0-9a-f]{10}-default$/);
    assert.equal(ID.rootVolume, `${ID.domain}.img`);
    assert.equal(ID.domain, `${ID.domainPrefix}default`);
    assert.ok(ID.stateDir.startsWith('/var/cache/tails-build/vms/'));
  });
  it('gives two checkouts (two Jenkins executors) two VMs, and one checkout always the same', () => {
    assert.notEqual(vmIdentity('/srv/a', '/c').domain, vmIdentity('/srv/b', '/c').domain);
    assert.deepEqual(vmIdentity('/srv/a', '/c'), vmIdentity('/srv/a', '/c'));
  });
});

describe('planVmSettings', () => {
  it('TCG: the qemu driver and qemu64 unless a model is asked for', () => {
    const s = planVmSettings({ ...SETTINGS, accelerator: 'tcg' });
    assert.equal(s.driver, 'qemu');
    assert.equal(s.cpuModel, 'qemu64');
    assert.equal(s.bootTimeoutSeconds, 900);
    assert.equal(planVmSettings({ ...SETTINGS, accelerator: 'tcg', cpuModel: 'max' }).cpuModel, 'max');
  });
  it('KVM: host-passthrough (no model)', () => {
    const s = planVmSettings({ ...SETTINGS, accelerator: 'kvm' });
    assert.equal(s.driver, 'kvm');
    assert.equal(s.cpuModel, null);
  });
  it('shares the checkout at /amnesia.git and attaches the cache disk by its serial', () => {
    const s = planVmSettings({ ...SETTINGS, accelerator: 'tcg' });
    assert.equal(s.checkout, '/srv/tails');
    assert.equal(s.checkoutGuestPath, '/amnesia.git');
    assert.deepEqual(s.cacheDisk, { volume: 'tails-build-apt-cacher-ng.qcow2', serial: CACHE_DISK_SERIAL });
    assert.equal(planVmSettings({ ...SETTINGS, accelerator: 'tcg', cacheDisk: false }).cacheDisk, null);
  });
  it('boots the box kernel directly only when given one (the Vagrantfile reads boot)', () => {
    assert.equal(planVmSettings({ ...SETTINGS, accelerator: 'tcg' }).boot, null);
    const boot = { kernel: '/pool/k', initrd: '/pool/i', cmdline: 'root=UUID=u ro' };
    assert.deepEqual(planVmSettings({ ...SETTINGS, accelerator: 'tcg', boot }).boot, boot);
  });
});

describe('guestScript', () => {
  it('prepends exported, single-quoted settings that bash reads back unchanged', () => {
    const tricky = `it's "quoted" $(not run) \`nor this\` \\ ; rm -rf /`;
    const script = guestScript({ A: tricky, B: '' }, 'printf "%s|%s" "$A" "$B"\n');
    assert.equal(execFileSync('bash', ['-s'], { input: script, encoding: 'utf8' }), `${tricky}|`);
  });
  it('refuses a name that is not an environment variable', () => {
    assert.throws(() => guestScript({ 'A;B': 'x' }, ''), /not an environment variable name/);
  });
});

describe('provisionEnv and buildEnv', () => {
  it('carry the lock file, the ref, the whole record as JSON and the offline mode', () => {
    const env = provisionEnv({ record: RECORD, snapshotHost: 'snapshots.tails-build.internal', snapshotPort: 8470, offline: true, builderSecuritySerial: undefined, hostEpoch: 1_700_000_000.7, dateOffsetDays: -3, checkoutHostPath: '/home/dev/tails' });
    assert.equal(env.LOCK_FILE, BRANCH_LOCK_FILE);
    assert.equal(env.BUILDER_SECURITY_SERIAL, '', 'offline: the builder keeps its own security snapshot');
    assert.equal(env.HOST_EPOCH, '1700000000');
    assert.equal(env.DATE_OFFSET_DAYS, '-3');
    assert.equal(env.GIT_REF, 'feature/x');
    assert.deepEqual(JSON.parse(env.VM_RECORD_JSON ?? ''), RECORD);
    assert.equal(env.OFFLINE, '1');
    assert.equal(env.CACHE_SERIAL, CACHE_DISK_SERIAL);
    // The 9p share vagrant attached: its guest path, and vagrant-libvirt's tag for the host path (md5, 31 hex digits).
    assert.equal(env.CHECKOUT_GUEST, '/amnesia.git');
    assert.equal(env.CHECKOUT_TAG, ninePMountTag('/home/dev/tails'));
    assert.equal(ninePMountTag('/home/dev/tails'), createHash('md5').update('/home/dev/tails').digest('hex').slice(0, 31));
    assert.match(env.CHECKOUT_TAG, /^[0-9a-f]{31}$/);
  });
  it('builds the recorded commit with the given command, and tells the recipe the resolved serials and options', () => {
    const env = buildEnv({
      record: RECORD,
      buildCommand: 'bash definitions/iso/build.sh',
      isoSerials: { 'debian-security': '2026112902', debian: '2026112901' },
      builderSecuritySerial: '2026112903',
      snapshotsUrl: 'http://snapshots.tails-build.internal:8470/',
      arch: 'amd64',
      codename: 'bookworm',
      compression: 'default',
      ramBuild: false,
      cacheWebsite: false,
    });
    assert.equal(env.GIT_COMMIT, RECORD.commit);
    assert.equal(env.BUILD_COMMAND, 'bash definitions/iso/build.sh');
    assert.equal(env.CHECKOUT, '/amnesia.git');
    assert.equal(env.TAILS_BUILD_ISO_SERIALS, 'debian=2026112901 debian-security=2026112902');
    assert.deepEqual(JSON.parse(env.APT_SNAPSHOTS_SERIALS ?? ''), { debian: '2026112901', 'debian-security': '2026112902' });
    assert.equal(env.TAILS_BUILD_BUILDER_SECURITY_SERIAL, '2026112903');
    assert.equal(env.TAILS_BUILD_COMPRESSION, 'default');
    assert.equal(env.TAILS_BUILD_RAM, '0');
    assert.equal(env.TAILS_WEBSITE_CACHE, '0');
  });
});

describe('provisionFailure', () => {
  const ctx = { ref: 'feature/y', domain: ID.domain };
  it('a branch lock names both refs and how to go on', () => {
    const e = provisionFailure(3, 'E: The current VM has been created to build feature/x, not feature/y.\n', ctx);
    assert.ok(e !== undefined);
    assert.equal(e.code, 'vm-branch-lock');
    assert.match(e.message, /created to build feature\/x; this build is for feature\/y/);
    assert.match(String(e.hint), /tails-build vm destroy/);
  });
  it('a full cache disk says how much is free and how to go on', () => {
    const e = provisionFailure(4, 'E: the apt-cacher-ng disk has 12 MiB free, less than the 1024 MiB a build needs.\n', ctx);
    assert.ok(e !== undefined);
    assert.equal(e.code, 'vm-cache-full');
    assert.match(e.message, /12 MiB free/);
    assert.match(String(e.hint), /tails-build vm clear-cache/);
  });
  it('anything else is left to the generic message', () => {
    assert.equal(provisionFailure(1, 'boom', ctx), undefined);
  });
});

describe('vmFate: the one keep/rescue/destroy decision', () => {
  const table: [Parameters<typeof vmFate>[0], ReturnType<typeof vmFate>][] = [
    [{ keep: 'destroy', failed: false, notOurs: false, setUp: true }, { fate: 'destroy', why: 'after the build' }],
    [{ keep: 'destroy', failed: true, notOurs: false, setUp: true }, { fate: 'destroy', why: 'after the build' }],
    [{ keep: 'destroy', failed: true, notOurs: false, setUp: false }, { fate: 'destroy', why: 'after the build' }],
    [{ keep: 'keep-running', failed: false, notOurs: false, setUp: true }, { fate: 'keep', why: 'keeprunning', kept: 'reusable' }],
    [{ keep: 'keep-running', failed: true, notOurs: false, setUp: true }, { fate: 'keep', why: 'keeprunning', kept: 'reusable' }],
    // vagrant up or provisioning failed: a half-made VM is not one to reuse.
    [{ keep: 'keep-running', failed: true, notOurs: false, setUp: false }, { fate: 'destroy', why: 'it never came up' }],
    [{ keep: 'keep-on-failure', failed: false, notOurs: false, setUp: true }, { fate: 'destroy', why: 'after the build' }],
    [{ keep: 'keep-on-failure', failed: true, notOurs: false, setUp: true }, { fate: 'keep', why: 'rescue', kept: 'reusable' }],
    // rescue keeps a VM that never came up for a look, but vm prune may remove it and no build reuses it.
    [{ keep: 'keep-on-failure', failed: true, notOurs: false, setUp: false }, { fate: 'keep', why: 'rescue', kept: 'prunable' }],
    [{ keep: 'destroy', failed: true, notOurs: true, setUp: true }, { fate: 'leave', why: "another build's VM" }],
    [{ keep: 'keep-on-failure', failed: true, notOurs: true, setUp: false }, { fate: 'leave', why: "another build's VM" }],
  ];
  for (const [input, expected] of table) {
    it(`${input.keep}, ${input.failed ? 'failed' : 'succeeded'}${input.setUp ? '' : ', never came up'}${input.notOurs ? ', not ours' : ''}: ${expected.fate}${expected.kept === undefined ? '' : ` (${expected.kept})`}`, () => {
      assert.deepEqual(vmFate(input), expected);
    });
  }
});
