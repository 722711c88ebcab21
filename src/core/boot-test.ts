/**
 * The boot test of a built ISO, as pure data: QEMU boots it with no network
 * and its console on the serial port, once per machine an ISO meets in use
 * (an IDE CD, an AHCI CD, a USB stick); each time the image prints a marker
 * naming the commit it was built from, then powers off, so QEMU exits by itself.
 */
import type { Accelerator } from './accelerator.js';
import { command, type Command } from './command.js';

/** What the sample image prints once its userspace is up (definitions/iso/). */
export const BOOT_MARKER_PREFIX = 'TAILS-BUILD-BOOT-OK commit=';

export function bootMarker(commit: string): string {
  return `${BOOT_MARKER_PREFIX}${commit}`;
}

/** Seconds to wait for the marker and the power-off: TCG is far slower. */
export function bootTimeoutMs(accelerator: Accelerator): number {
  return accelerator === 'kvm' ? 120_000 : 300_000;
}

/**
 * Where the ISO is booted, each a different path from firmware to the
 * initramfs finding its medium:
 * - `pc`: QEMU's i440FX machine, the ISO as an IDE CD (ata_piix);
 * - `q35`: the ICH9 machine (libvirt's default for new VMs), the ISO as a CD
 *   on its built-in AHCI controller, as on real SATA hardware (ahci);
 * - `usb`: q35 with the ISO written to a USB stick behind an xHCI controller
 *   (the grub-mkrescue hybrid image; xhci-pci, usb-storage, sd_mod).
 */
export type BootMachine = 'pc' | 'q35' | 'usb';

/** The machines `--boot-test` boots, in this order; the build passes only if every one does. */
export const BOOT_MACHINES: readonly BootMachine[] = ['pc', 'q35', 'usb'];

const MACHINE_TYPE: Readonly<Record<BootMachine, string>> = { pc: 'pc', q35: 'q35', usb: 'q35' };

/** The machine in words, for progress lines and failures. */
export const MACHINE_TITLE: Readonly<Record<BootMachine, string>> = {
  pc: 'pc, IDE CD',
  q35: 'q35, AHCI CD',
  usb: 'q35, USB stick on xHCI',
};

function mediumArgs(iso: string, machine: BootMachine): string[] {
  switch (machine) {
    case 'pc':
    case 'q35':
      // `if=ide` lands on the IDE bus of pc and on the ICH9 AHCI controller of q35.
      return ['-drive', `file=${iso},media=cdrom,readonly=on,if=ide`, '-boot', 'd'];
    case 'usb':
      return ['-drive', `if=none,id=stick,file=${iso},format=raw,readonly=on`, '-device', 'qemu-xhci', '-device', 'usb-storage,drive=stick,bootindex=0'];
  }
}

/** BIOS boot of the ISO on `machine`, no NIC, serial console on stdout, no reboot. */
export function planBootTest(iso: string, accelerator: Accelerator, machine: BootMachine = 'pc', timeoutMs = bootTimeoutMs(accelerator)): Command {
  const type = MACHINE_TYPE[machine];
  const accel = accelerator === 'kvm' ? ['-machine', `${type},accel=kvm`, '-cpu', 'host'] : ['-machine', `${type},accel=tcg`];
  return command(
    'qemu-system-x86_64',
    [...accel, '-m', '512', '-smp', '1', '-nodefaults', '-no-user-config', '-display', 'none', '-monitor', 'none',
      '-serial', 'stdio', '-nic', 'none', '-no-reboot', ...mediumArgs(iso, machine)],
    { timeoutMs, effect: 'write' },
  );
}

/**
 * Where the console of `machine` is saved: `log` itself for the first machine
 * booted (boot-test.log, as before there were several), `log` with `-<machine>`
 * before its extension for the others (boot-test-q35.log, boot-test-usb.log).
 */
export function machineLogPath(log: string, machine: BootMachine, first: boolean): string {
  if (first) return log;
  const slash = log.lastIndexOf('/');
  const dot = log.lastIndexOf('.');
  return dot > slash + 1 ? `${log.slice(0, dot)}-${machine}${log.slice(dot)}` : `${log}-${machine}`;
}

/** One machine's boot. */
export interface MachineBootResult {
  readonly machine: BootMachine;
  readonly ok: boolean;
  readonly markerSeen: boolean;
  readonly poweredOff: boolean;
  readonly seconds: number;
  /** Its serial console, saved next to the artifacts. */
  readonly log: string;
  /** The QEMU command line that booted it, to boot it again by hand. */
  readonly command: string;
  /** Why it failed, in words; undefined when ok. */
  readonly failure?: string;
}

/** The whole boot test: the fields before `machines` sum up every machine's boot. */
export interface BootTestResult {
  /** Every machine booted. */
  readonly ok: boolean;
  /** The marker with this build's commit was seen on every console. */
  readonly markerSeen: boolean;
  /** QEMU exited by itself (the image powered off) before the timeout, every time. */
  readonly poweredOff: boolean;
  /** All boots together. */
  readonly seconds: number;
  readonly accelerator: Accelerator;
  readonly iso: string;
  /** The console to read: the first failed machine's, or the first machine's when all passed. */
  readonly log: string;
  /** Why it failed, in words, each failed machine named; undefined when ok. */
  readonly failure?: string;
  /** Each machine's boot, in the order booted. */
  readonly machines: readonly MachineBootResult[];
}

/** What the sample's /init prints before it powers off, failing. */
export const BOOT_FAILED_MARKER = 'TAILS-BUILD-BOOT-FAILED';

/** The reason the sample's /init printed before BOOT_FAILED_MARKER, if it gave up. */
function initramfsFailure(consoleText: string): string | undefined {
  const lines = consoleText.split(/\r?\n/);
  const end = lines.findIndex((line) => line.includes(BOOT_FAILED_MARKER));
  if (end < 0) return undefined;
  const reason = lines.slice(0, end).reverse().map((line) => /tails-build initramfs: (.*)/.exec(line)?.[1]?.trim()).find((r) => r !== undefined);
  return reason ?? 'see the console';
}

/** Judges a finished boot: the marker for THIS commit, then QEMU exiting on its own. */
export function judgeBoot(args: { readonly commit: string; readonly console: string; readonly exitCode: number; readonly timedOut: boolean }): { markerSeen: boolean; poweredOff: boolean; failure?: string } {
  const markerSeen = args.console.split(/\r?\n/).some((line) => line.includes(bootMarker(args.commit)));
  const poweredOff = !args.timedOut && args.exitCode === 0;
  if (!markerSeen) {
    const other = new RegExp(`${BOOT_MARKER_PREFIX}([0-9a-f]+)`).exec(args.console)?.[1];
    const gaveUp = initramfsFailure(args.console);
    const failure = other !== undefined
      ? `the image booted but names commit ${other}, not ${args.commit}`
      : gaveUp !== undefined
        ? `the initramfs gave up: ${gaveUp}`
        : args.timedOut ? 'no boot marker on the serial console before the timeout' : `QEMU exited (code ${String(args.exitCode)}) before the boot marker appeared`;
    return { markerSeen, poweredOff, failure };
  }
  if (!poweredOff) return { markerSeen, poweredOff, failure: args.timedOut ? 'the image printed its marker but did not power off before the timeout' : `QEMU exited with code ${String(args.exitCode)}` };
  return { markerSeen, poweredOff };
}

/** Sums up the machines' boots (in the order booted; at least one). */
export function summarizeBoots(args: { readonly accelerator: Accelerator; readonly iso: string; readonly machines: readonly MachineBootResult[] }): BootTestResult {
  const [first] = args.machines;
  if (first === undefined) throw new Error('summarizeBoots: no machine was booted');
  const failed = args.machines.filter((m) => !m.ok);
  const failure = failed.length === 0
    ? undefined
    : `${failed.map((m) => `${m.machine} (${MACHINE_TITLE[m.machine]}): ${m.failure ?? 'failed'} (console: ${m.log})`).join('; ')}${failed.length < args.machines.length ? ` (booted on ${args.machines.filter((m) => m.ok).map((m) => m.machine).join(', ')})` : ''}`;
  return {
    ok: failed.length === 0,
    markerSeen: args.machines.every((m) => m.markerSeen),
    poweredOff: args.machines.every((m) => m.poweredOff),
    seconds: Math.round(args.machines.reduce((sum, m) => sum + m.seconds, 0) * 10) / 10,
    accelerator: args.accelerator,
    iso: args.iso,
    log: (failed[0] ?? first).log,
    ...(failure === undefined ? {} : { failure }),
    machines: args.machines,
  };
}
