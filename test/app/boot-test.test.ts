/** The boot test boots each machine in turn, saves each serial console through the files port and judges each. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bootTestIso } from '../../src/app/boot-test.js';
import { BOOT_FAILED_MARKER, bootMarker, type BootMachine } from '../../src/core/boot-test.js';
import { formatCommand, type Command } from '../../src/core/command.js';
import type { Clock, RunOptions, RunResult, Runner } from '../../src/core/ports.js';
import { memoryFiles } from '../helpers/files.js';

/** The QEMU machine and medium a boot-test command asks for, or a throw for any other command. */
function machineOf(cmd: Command): BootMachine {
  const shown = formatCommand(cmd);
  if (!shown.startsWith('qemu-system-x86_64 ')) throw new Error(`unexpected command: ${shown}`);
  if (shown.includes('-machine pc,accel=tcg') && shown.includes('file=/out/tails.iso,media=cdrom')) return 'pc';
  if (shown.includes('-machine q35,accel=tcg') && shown.includes('file=/out/tails.iso,media=cdrom')) return 'q35';
  if (shown.includes('-machine q35,accel=tcg') && shown.includes('usb-storage,drive=stick') && shown.includes('file=/out/tails.iso,format=raw')) return 'usb';
  throw new Error(`unexpected command: ${shown}`);
}

/** QEMU, played: for each machine booted, prints its lines and exits with its code; records the machines in order. */
function qemu(boots: Partial<Record<BootMachine, { lines: readonly string[]; exitCode: number }>>): Runner & { booted: BootMachine[] } {
  const booted: BootMachine[] = [];
  return {
    booted,
    run: () => Promise.reject(new Error('run: not expected')),
    tryRun: (cmd: Command, options?: RunOptions): Promise<RunResult> => {
      const machine = machineOf(cmd);
      const boot = boots[machine];
      if (boot === undefined) throw new Error(`${machine}: not expected to boot`);
      booted.push(machine);
      for (const line of boot.lines) options?.onLine?.(line);
      return Promise.resolve({ exitCode: boot.exitCode, stdout: boot.lines.join('\n'), stderr: '' });
    },
    which: () => Promise.reject(new Error('which: not expected')),
    start: () => Promise.reject(new Error('start: not expected')),
  };
}

function ticking(): Clock {
  let ms = Date.parse('2026-11-29T08:00:00Z');
  return { now: () => new Date((ms += 1500)), sleep: () => Promise.reject(new Error('sleep: not expected')) };
}

const request = { iso: '/out/tails.iso', commit: 'abc123', accelerator: 'tcg' as const, log: '/out/boot-test.log', timeoutMs: 1000 };
const good = (medium: string) => ({ lines: ['SeaBIOS', `tails-build initramfs: live medium on ${medium}`, bootMarker('abc123'), 'reboot: Power down'], exitCode: 0 });

describe('bootTestIso', () => {
  it('boots pc, q35 and USB in turn; passes when all do; one console log per machine', async () => {
    const disk = memoryFiles();
    await disk.mkdirp('/out');
    const runner = qemu({ pc: good('/dev/sr0'), q35: good('/dev/sr0'), usb: good('/dev/sda') });
    const seen: string[] = [];
    const announced: string[] = [];
    const result = await bootTestIso({ runner, clock: ticking(), disk }, { ...request, onLine: (l) => seen.push(l), onMachine: (m, log) => announced.push(`${m} ${log}`) });
    assert.deepEqual(runner.booted, ['pc', 'q35', 'usb']);
    assert.deepEqual(announced, ['pc /out/boot-test.log', 'q35 /out/boot-test-q35.log', 'usb /out/boot-test-usb.log']);
    assert.equal(result.ok, true);
    assert.equal(result.markerSeen, true);
    assert.equal(result.poweredOff, true);
    assert.equal(result.seconds, 4.5);
    assert.equal(result.log, '/out/boot-test.log');
    assert.equal(result.failure, undefined);
    assert.deepEqual(result.machines.map((m) => [m.machine, m.ok, m.seconds, m.log]), [
      ['pc', true, 1.5, '/out/boot-test.log'],
      ['q35', true, 1.5, '/out/boot-test-q35.log'],
      ['usb', true, 1.5, '/out/boot-test-usb.log'],
    ]);
    assert.match(result.machines[2]?.command ?? '', /^qemu-system-x86_64 -machine q35,accel=tcg .*-device qemu-xhci -device usb-storage,drive=stick,bootindex=0$/);
    assert.equal(seen.length, 12);
    assert.equal(disk.texts.get('/out/boot-test.log'), `SeaBIOS\ntails-build initramfs: live medium on /dev/sr0\n${bootMarker('abc123')}\nreboot: Power down\n`);
    assert.equal(disk.texts.get('/out/boot-test-usb.log'), `SeaBIOS\ntails-build initramfs: live medium on /dev/sda\n${bootMarker('abc123')}\nreboot: Power down\n`);
  });

  it('fails when q35 alone finds no medium, saying so and pointing at its console; the other boots still run', async () => {
    const disk = memoryFiles();
    await disk.mkdirp('/out');
    const noMedium = { lines: ['tails-build initramfs: no block device (CD, USB stick, disk) with an ISO 9660 /live/filesystem.squashfs after 60 s', BOOT_FAILED_MARKER, 'reboot: Power down'], exitCode: 0 };
    const runner = qemu({ pc: good('/dev/sr0'), q35: noMedium, usb: good('/dev/sda') });
    const result = await bootTestIso({ runner, clock: ticking(), disk }, { ...request, onLine: () => undefined });
    assert.deepEqual(runner.booted, ['pc', 'q35', 'usb']);
    assert.equal(result.ok, false);
    assert.equal(result.markerSeen, false);
    assert.equal(result.log, '/out/boot-test-q35.log');
    assert.equal(result.failure, 'q35 (q35, AHCI CD): the initramfs gave up: no block device (CD, USB stick, disk) with an ISO 9660 /live/filesystem.squashfs after 60 s (console: /out/boot-test-q35.log) (booted on pc, usb)');
    assert.deepEqual(result.machines.map((m) => m.ok), [true, false, true]);
    assert.match(disk.texts.get('/out/boot-test-q35.log') ?? '', new RegExp(BOOT_FAILED_MARKER));
  });

  it('fails, saying why, when the image names another commit; the console is saved all the same', async () => {
    const disk = memoryFiles();
    await disk.mkdirp('/out');
    const result = await bootTestIso({ runner: qemu({ pc: { lines: [bootMarker('def456')], exitCode: 0 } }), clock: ticking(), disk }, { ...request, machines: ['pc'], onLine: () => undefined });
    assert.equal(result.ok, false);
    assert.match(result.failure ?? '', /^pc \(pc, IDE CD\): the image booted but names commit def456, not abc123/);
    assert.equal(disk.texts.get('/out/boot-test.log'), `${bootMarker('def456')}\n`);
  });
});
