/** The boot test's QEMU command per machine, its log names, and its verdicts, as tables. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BOOT_FAILED_MARKER, BOOT_MACHINES, bootMarker, judgeBoot, machineLogPath, planBootTest, summarizeBoots, type MachineBootResult } from '../../src/core/boot-test.js';
import { messages } from '../../src/core/messages/index.js';

const ISO = '/out/tails-build-sample-amd64-abc.iso';
const COMMON = ['-m', '512', '-smp', '1', '-nodefaults', '-no-user-config', '-display', 'none', '-monitor', 'none', '-serial', 'stdio', '-nic', 'none', '-no-reboot'];
const CD = ['-drive', `file=${ISO},media=cdrom,readonly=on,if=ide`, '-boot', 'd'];
const STICK = ['-drive', `if=none,id=stick,file=${ISO},format=raw,readonly=on`, '-device', 'qemu-xhci', '-device', 'usb-storage,drive=stick,bootindex=0'];

describe('planBootTest', () => {
  const table = [
    { machine: 'pc', accelerator: 'tcg', args: ['-machine', 'pc,accel=tcg', ...COMMON, ...CD] },
    { machine: 'pc', accelerator: 'kvm', args: ['-machine', 'pc,accel=kvm', '-cpu', 'host', ...COMMON, ...CD] },
    // q35 has no IDE bus: an `if=ide` CD lands on its ICH9 AHCI controller.
    { machine: 'q35', accelerator: 'tcg', args: ['-machine', 'q35,accel=tcg', ...COMMON, ...CD] },
    { machine: 'q35', accelerator: 'kvm', args: ['-machine', 'q35,accel=kvm', '-cpu', 'host', ...COMMON, ...CD] },
    { machine: 'usb', accelerator: 'tcg', args: ['-machine', 'q35,accel=tcg', ...COMMON, ...STICK] },
    { machine: 'usb', accelerator: 'kvm', args: ['-machine', 'q35,accel=kvm', '-cpu', 'host', ...COMMON, ...STICK] },
  ] as const;
  for (const row of table) {
    it(`${row.machine} under ${row.accelerator}`, () => {
      const cmd = planBootTest(ISO, row.accelerator, row.machine);
      assert.equal(cmd.file, 'qemu-system-x86_64');
      assert.deepEqual(cmd.args, row.args);
      assert.equal(cmd.effect, 'write');
      assert.equal(cmd.timeoutMs, row.accelerator === 'kvm' ? 120_000 : 300_000);
    });
  }
  it('boots pc when no machine is named, and takes the given timeout', () => {
    assert.deepEqual(planBootTest(ISO, 'tcg').args, planBootTest(ISO, 'tcg', 'pc').args);
    assert.equal(planBootTest(ISO, 'tcg', 'q35', 1000).timeoutMs, 1000);
  });
  it('boots pc, q35 and USB, pc first', () => {
    assert.deepEqual(BOOT_MACHINES, ['pc', 'q35', 'usb']);
  });
});

describe('machineLogPath', () => {
  const table = [
    ['/out/boot-test.log', 'pc', true, '/out/boot-test.log'],
    ['/out/boot-test.log', 'q35', false, '/out/boot-test-q35.log'],
    ['/out/boot-test.log', 'usb', false, '/out/boot-test-usb.log'],
    ['/out.d/console', 'q35', false, '/out.d/console-q35'],
    ['/out/.log', 'usb', false, '/out/.log-usb'],
  ] as const;
  for (const [log, machine, first, expected] of table) {
    it(`${log} for ${machine}${first ? ' (first)' : ''} -> ${expected}`, () => {
      assert.equal(machineLogPath(log, machine, first), expected);
    });
  }
});

describe('judgeBoot', () => {
  const commit = 'abc123';
  const table = [
    { what: 'marker and power-off', console: `SeaBIOS\n${bootMarker(commit)}\nreboot: Power down`, exitCode: 0, timedOut: false, markerSeen: true, poweredOff: true, failure: undefined },
    { what: 'another commit', console: bootMarker('def456'), exitCode: 0, timedOut: false, markerSeen: false, poweredOff: true, failure: /names commit def456, not abc123/ },
    { what: 'the initramfs gave up', console: `tails-build initramfs: block devices: loop0\ntails-build initramfs: no block device (CD, USB stick, disk) with an ISO 9660 /live/filesystem.squashfs after 60 s\n${BOOT_FAILED_MARKER}`, exitCode: 0, timedOut: false, markerSeen: false, poweredOff: true, failure: /^the initramfs gave up: no block device \(CD, USB stick, disk\)/ },
    { what: 'the medium found, then a failure', console: `tails-build initramfs: live medium on /dev/sr0\ntails-build initramfs: cannot mount the squashfs\n${BOOT_FAILED_MARKER}`, exitCode: 0, timedOut: false, markerSeen: false, poweredOff: true, failure: /^the initramfs gave up: cannot mount the squashfs$/ },
    { what: 'nothing before the timeout', console: 'SeaBIOS', exitCode: 124, timedOut: true, markerSeen: false, poweredOff: false, failure: /no boot marker on the serial console before the timeout/ },
    { what: 'QEMU failing at once', console: '', exitCode: 1, timedOut: false, markerSeen: false, poweredOff: false, failure: /QEMU exited \(code 1\) before the boot marker/ },
    { what: 'marker, then no power-off', console: bootMarker(commit), exitCode: 124, timedOut: true, markerSeen: true, poweredOff: false, failure: /did not power off before the timeout/ },
  ] as const;
  for (const row of table) {
    it(row.what, () => {
      const verdict = judgeBoot({ commit, console: row.console, exitCode: row.exitCode, timedOut: row.timedOut });
      assert.equal(verdict.markerSeen, row.markerSeen);
      assert.equal(verdict.poweredOff, row.poweredOff);
      if (row.failure === undefined) assert.equal(verdict.failure, undefined);
      else assert.match(verdict.failure ?? '', row.failure);
    });
  }
});

describe('summarizeBoots', () => {
  const boot = (machine: MachineBootResult['machine'], seconds: number, failure?: string): MachineBootResult => ({
    machine, ok: failure === undefined, markerSeen: failure === undefined, poweredOff: true, seconds,
    log: machine === 'pc' ? '/out/boot-test.log' : `/out/boot-test-${machine}.log`, command: `qemu-system-x86_64 ${machine}`,
    ...(failure === undefined ? {} : { failure }),
  });
  it('passes only when every machine booted; seconds add up; the log is the first machine’s', () => {
    const result = summarizeBoots({ accelerator: 'tcg', iso: ISO, machines: [boot('pc', 6.2), boot('q35', 7.1), boot('usb', 8.05)] });
    assert.deepEqual({ ...result, machines: result.machines.map((m) => m.machine) }, {
      ok: true, markerSeen: true, poweredOff: true, seconds: 21.4, accelerator: 'tcg', iso: ISO, log: '/out/boot-test.log', machines: ['pc', 'q35', 'usb'],
    });
  });
  it('fails when one machine fails, naming it and its console, and which booted; the log is the failed one’s', () => {
    const result = summarizeBoots({ accelerator: 'tcg', iso: ISO, machines: [boot('pc', 6), boot('q35', 61, 'the initramfs gave up: no block device'), boot('usb', 7)] });
    assert.equal(result.ok, false);
    assert.equal(result.markerSeen, false);
    assert.equal(result.log, '/out/boot-test-q35.log');
    assert.equal(result.failure, 'q35 (q35, AHCI CD): the initramfs gave up: no block device (console: /out/boot-test-q35.log) (booted on pc, usb)');
  });
  it('names every failed machine when none booted', () => {
    const result = summarizeBoots({ accelerator: 'kvm', iso: ISO, machines: [boot('pc', 1, 'QEMU exited (code 1) before the boot marker appeared'), boot('q35', 1, 'QEMU exited (code 1) before the boot marker appeared')] });
    assert.equal(result.log, '/out/boot-test.log');
    assert.match(result.failure ?? '', /^pc \(pc, IDE CD\): QEMU exited .*; q35 \(q35, AHCI CD\): QEMU exited [^;]*$/);
    assert.doesNotMatch(result.failure ?? '', /booted on/);
  });
  it('refuses an empty list', () => {
    assert.throws(() => summarizeBoots({ accelerator: 'tcg', iso: ISO, machines: [] }), /no machine/);
  });
});

describe('messages.iso.bootFailed', () => {
  it('names the console and the command line of the machine that failed, else a generic one', () => {
    const e = messages.iso.bootFailed('q35 (AHCI CD): no marker', '/a/boot-test-q35.log', 'qemu-system-x86_64 -machine q35 -cdrom /a/x.iso');
    assert.equal(e.code, 'boot-test-failed');
    assert.match(e.hint ?? '', /boot-test-q35\.log; boot it by hand with: qemu-system-x86_64 -machine q35 -cdrom \/a\/x\.iso$/);
    assert.match(messages.iso.bootFailed('no marker', '/a/boot-test.log').hint ?? '', /-machine pc .*-cdrom <the \.iso>$/);
  });
});
