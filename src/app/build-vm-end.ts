/**
 * The build VM's beginning and end around the steps: a VM a dead build left
 * running is replaced before a new one boots; once the build is over, the VM
 * is destroyed, kept or left as vmFate decides, and what became of it is
 * recorded for the report and the cleanup step's title.
 */
import { join } from 'node:path';
import { vmFate } from '../core/build-vm.js';
import { judgeRun, parseRunRecord, RUN_RECORD } from '../core/vm-run.js';
import { destroyVm, writeRunRecord } from './build-vm-access.js';
import type { BuildRun } from './build-vm-steps.js';

/**
 * A VM left running by a build whose process is gone (SIGKILL, a crashed
 * agent) is not a kept VM: its ssh forwards and half-done state belong to a
 * dead build. Destroy it (the cache disk stays) and start clean.
 */
export async function replaceDeadBuildsVm(run: BuildRun, report: (line: string) => void): Promise<void> {
  const { deps, vm } = run;
  if ((await deps.domains.state(vm.domain)) !== 'running') return;
  const text = await deps.disk.readText(join(vm.stateDir, RUN_RECORD));
  const record = text === undefined ? undefined : parseRunRecord(text);
  if (record === undefined || judgeRun(record, deps.host.processStart(record.pid)) !== 'orphaned') return;
  run.replaced = `the VM left by a build that died (pid ${String(record.pid)}, started ${record.startedAt})`;
  report(`destroying ${run.replaced}; this build starts a fresh one (the cache disk stays)`);
  await destroyVm(deps, vm, run.request, `left by a build that died (pid ${String(record.pid)})`);
}

/** The VM's end, decided once (vmFate) and recorded as it happened. */
export async function settleVm(run: BuildRun): Promise<void> {
  const { deps, vm, request } = run;
  const fate = vmFate({ keep: request.plan.vm.keep, failed: run.failed, notOurs: run.notOurs, setUp: run.setUp });
  if (fate.fate === 'destroy') {
    try {
      await destroyVm(deps, vm, request, fate.why);
      run.after = { vm: 'destroyed' };
    } catch (error) {
      run.after = { vm: 'destroy-failed', error: error instanceof Error ? error.message : String(error) };
      throw error;
    }
    return;
  }
  if (fate.fate === 'leave') {
    run.after = { vm: 'left' };
    return;
  }
  // Kept on purpose: never pruned, reused by the next build of the ref. Kept for a look only: its
  // run record stays this (soon gone) process's, so vm prune — and the next build — remove it.
  if (fate.kept === 'reusable') await writeRunRecord(deps, vm, request.project.root, true);
  run.after = { vm: fate.kept === 'reusable' ? 'kept' : 'kept-prunable' };
  deps.out.info(
    fate.kept === 'reusable'
      ? `The build VM ${vm.domain} was kept (${fate.why}). Inspect it with: tails-build vm ssh; remove it with: tails-build vm destroy`
      : `The build VM ${vm.domain} was kept for a look (${fate.why}), though it never finished coming up: no build reuses it. Inspect it with: tails-build vm ssh; remove it with: tails-build vm destroy (tails-build vm prune, and the next build, remove it too)`,
  );
}

export function afterTitle(run: BuildRun): string {
  switch (run.after?.vm) {
    case 'destroyed':
      return 'Cleaned up: the VM destroyed, the cache disk kept';
    case 'kept':
      return 'Cleaned up: the VM kept for the next build of the same ref';
    case 'kept-prunable':
      return 'Cleaned up: the VM kept for a look (rescue); it never came up, so vm prune removes it';
    case 'left':
      return "Cleaned up: another build's VM left as it was";
    case 'destroy-failed':
      return 'Cleanup: destroying the VM FAILED';
    case 'never-started':
    case undefined:
      return 'Cleaned up: no VM was started';
  }
}
