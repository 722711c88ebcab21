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

/** Started paused (-S) under KVM with the host CPU: it either keeps running or aborts at once. */
export const KVM_PROBE_MS = 3000;

export function planKvmProbe(): Command {
  return command(
    'qemu-system-x86_64',
    ['-machine', 'q35,accel=kvm', '-cpu', 'host', '-m', '64', '-nodefaults', '-no-user-config', '-display', 'none', '-monitor', 'none', '-serial', 'none', '-S'],
    { timeoutMs: KVM_PROBE_MS },
  );
}

/** Judges the probe: still running at the timeout (killed, 124) means KVM works. */
export function judgeKvmProbe(kvmDevice: { exists: boolean; writable: boolean }, probe: RunResult | undefined): AcceleratorChoice {
  if (!kvmDevice.exists) return { accelerator: 'tcg', reason: '/dev/kvm does not exist (no hardware virtualization here); using TCG, which is much slower' };
  if (!kvmDevice.writable) return { accelerator: 'tcg', reason: '/dev/kvm is not writable by this user; using TCG (add yourself to the kvm group for KVM)' };
  if (probe === undefined) return { accelerator: 'tcg', reason: 'qemu-system-x86_64 could not be run to probe KVM; using TCG' };
  if (probe.exitCode === TIMED_OUT) return { accelerator: 'kvm', reason: 'KVM works with the host CPU' };
  const why = probe.stderr.split('\n').find((l) => l.trim() !== '')?.trim() ?? `exit code ${probe.exitCode}`;
  return { accelerator: 'tcg', reason: `KVM is present but unusable (${why}); using TCG` };
}
