/**
 * Which accelerator a VM gets. KVM where it really works (a developer's
 * laptop); TCG otherwise. /dev/kvm existing is not enough: on paravirtual
 * KVM (kvm_pvm) QEMU aborts at once with -cpu host ("failed to set MSR").
 */
import { command, type Command } from './command.js';
import { TIMED_OUT, type RunResult } from './ports.js';

export type Accelerator = 'kvm' | 'tcg';

export interface AcceleratorChoice {
  readonly accelerator: Accelerator;
  /** Why, in words a user can act on. */
  readonly reason: string;
}

/** Each POST run is killed after this long: a working accelerator finishes in well under a second. */
export const KVM_PROBE_MS = 10_000;

/**
 * The firmware's power-on self test with no boot device: SeaBIOS runs, finds
 * nothing to boot, reboots at once, and -no-reboot makes QEMU exit. Run once
 * under KVM with the host CPU and once under TCG, the times compared.
 */
export function planPostProbe(accelerator: Accelerator): Command {
  const accel = accelerator === 'kvm' ? ['-machine', 'pc,accel=kvm', '-cpu', 'host'] : ['-machine', 'pc,accel=tcg'];
  return command(
    'qemu-system-x86_64',
    [...accel, '-m', '64', '-nodefaults', '-no-user-config', '-display', 'none', '-monitor', 'none', '-serial', 'none', '-no-reboot', '-boot', 'reboot-timeout=0'],
    { effect: 'read', timeoutMs: KVM_PROBE_MS },
  );
}

/** One timed POST run. */
export interface PostRun {
  readonly result: RunResult;
  readonly seconds: number;
}

/**
 * KVM only when QEMU runs the firmware under it at least about as fast as
 * under TCG. /dev/kvm existing is not enough: on paravirtual KVM (kvm_pvm)
 * QEMU either aborts at once with -cpu host ("failed to set MSR") or runs
 * every instruction through slow emulation (the POST took 1.3 s against TCG's
 * 0.08 s here, and a Debian guest never reached its login prompt).
 */
export function judgeKvmProbe(kvmDevice: { exists: boolean; writable: boolean }, kvm: PostRun | undefined, tcg?: PostRun): AcceleratorChoice {
  if (!kvmDevice.exists) return { accelerator: 'tcg', reason: '/dev/kvm does not exist (no hardware virtualization here); using TCG, which is much slower' };
  if (!kvmDevice.writable) return { accelerator: 'tcg', reason: '/dev/kvm is not writable by this user; using TCG (add yourself to the kvm group for KVM)' };
  if (kvm === undefined) return { accelerator: 'tcg', reason: 'qemu-system-x86_64 could not be run to probe KVM; using TCG' };
  if (kvm.result.exitCode === TIMED_OUT) return { accelerator: 'tcg', reason: `KVM is present but unusable (the firmware did not finish its self test within ${String(KVM_PROBE_MS / 1000)} s); using TCG` };
  if (kvm.result.exitCode !== 0) {
    const why = kvm.result.stderr.split('\n').find((l) => l.trim() !== '')?.trim() ?? `exit code ${String(kvm.result.exitCode)}`;
    return { accelerator: 'tcg', reason: `KVM is present but unusable (${why}); using TCG` };
  }
  if (tcg !== undefined && tcg.result.exitCode === 0 && kvm.seconds > 2 * tcg.seconds + 0.25) {
    return { accelerator: 'tcg', reason: `KVM is present but emulated, not accelerated (the firmware self test took ${kvm.seconds.toFixed(2)} s under KVM, ${tcg.seconds.toFixed(2)} s under TCG); using TCG` };
  }
  return { accelerator: 'kvm', reason: `KVM works with the host CPU (firmware self test ${kvm.seconds.toFixed(2)} s${tcg === undefined ? '' : `, TCG ${tcg.seconds.toFixed(2)} s`})` };
}
