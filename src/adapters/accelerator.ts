/** Probes whether KVM really works here (see core/accelerator.ts). */
import { access, constants, stat } from 'node:fs/promises';
import { judgeKvmProbe, planPostProbe, type Accelerator, type AcceleratorChoice, type PostRun } from '../core/accelerator.js';
import type { Runner } from '../core/ports.js';

async function timedPost(runner: Runner, accelerator: Accelerator): Promise<PostRun | undefined> {
  const started = process.hrtime.bigint();
  const result = await runner.tryRun(planPostProbe(accelerator)).catch(() => undefined);
  if (result === undefined) return undefined;
  return { result, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

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
  const kvm = await timedPost(runner, 'kvm');
  const tcg = kvm?.result.exitCode === 0 ? await timedPost(runner, 'tcg') : undefined;
  return judgeKvmProbe({ exists, writable }, kvm, tcg);
}
