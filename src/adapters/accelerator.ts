/** Probes whether KVM really works here (see core/accelerator.ts). */
import { access, constants, stat } from 'node:fs/promises';
import { judgeKvmProbe, planKvmProbe, type AcceleratorChoice } from '../core/accelerator.js';
import type { Runner } from '../core/ports.js';

export async function probeAccelerator(runner: Runner): Promise<AcceleratorChoice> {
  const exists = await stat('/dev/kvm').then(
    () => true,
    () => false,
  );
  const writable = exists
    ? await access('/dev/kvm', constants.R_OK | constants.W_OK).then(
        () => true,
        () => false,
      )
    : false;
  if (!exists || !writable) return judgeKvmProbe({ exists, writable }, undefined);
  const probe = await runner.tryRun(planKvmProbe()).catch(() => undefined);
  return judgeKvmProbe({ exists, writable }, probe);
}
