/**
 * The boot test of a built ISO, as pure data: QEMU boots it with no network
 * and its console on the serial port; the image prints a marker naming the
 * commit it was built from, then powers off, so QEMU exits by itself.
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
 * BIOS boot from the ISO as a CD on the `pc` machine (IDE: the sample's cloud
 * kernel has no AHCI), no NIC, serial console on stdout, no reboot.
 */
export function planBootTest(iso: string, accelerator: Accelerator, timeoutMs = bootTimeoutMs(accelerator)): Command {
  const accel = accelerator === 'kvm' ? ['-machine', 'pc,accel=kvm', '-cpu', 'host'] : ['-machine', 'pc,accel=tcg'];
  return command(
    'qemu-system-x86_64',
    [...accel, '-m', '512', '-smp', '1', '-nodefaults', '-no-user-config', '-display', 'none', '-monitor', 'none',
      '-serial', 'stdio', '-nic', 'none', '-no-reboot', '-drive', `file=${iso},media=cdrom,readonly=on,if=ide`, '-boot', 'd'],
    { timeoutMs, effect: 'write' },
  );
}

export interface BootTestResult {
  readonly ok: boolean;
  /** The marker with this build's commit was seen on the console. */
  readonly markerSeen: boolean;
  /** QEMU exited by itself (the image powered off) before the timeout. */
  readonly poweredOff: boolean;
  readonly seconds: number;
  readonly accelerator: Accelerator;
  readonly iso: string;
  /** The serial console, saved next to the artifacts. */
  readonly log: string;
  /** Why it failed, in words; undefined when ok. */
  readonly failure?: string;
}

/** Judges a finished boot: the marker for THIS commit, then QEMU exiting on its own. */
export function judgeBoot(args: { readonly commit: string; readonly console: string; readonly exitCode: number; readonly timedOut: boolean }): { markerSeen: boolean; poweredOff: boolean; failure?: string } {
  const markerSeen = args.console.split(/\r?\n/).some((line) => line.includes(bootMarker(args.commit)));
  const poweredOff = !args.timedOut && args.exitCode === 0;
  if (!markerSeen) {
    const other = new RegExp(`${BOOT_MARKER_PREFIX}([0-9a-f]+)`).exec(args.console)?.[1];
    const failure = other !== undefined
      ? `the image booted but names commit ${other}, not ${args.commit}`
      : args.timedOut ? 'no boot marker on the serial console before the timeout' : `QEMU exited (code ${String(args.exitCode)}) before the boot marker appeared`;
    return { markerSeen, poweredOff, failure };
  }
  if (!poweredOff) return { markerSeen, poweredOff, failure: args.timedOut ? 'the image printed its marker but did not power off before the timeout' : `QEMU exited with code ${String(args.exitCode)}` };
  return { markerSeen, poweredOff };
}
