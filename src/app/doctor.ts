/**
 * Runs the doctor's probes through the runner and judges them. A probe that
 * cannot run is a finding, never an exception: the report always completes.
 */
import { TIMED_OUT } from '../core/ports.js';
import type { Command } from '../core/command.js';
import { judgeCheck, summariseDoctor, type DoctorCheck, type DoctorReport, type ProbeResult } from '../core/doctor.js';
import { ExternalCommandError } from '../core/errors.js';
import type { Deps } from './deps.js';

export async function runDoctor(deps: Pick<Deps, 'runner'>, checks: readonly DoctorCheck[]): Promise<DoctorReport> {
  // Checks are independent; running them side by side keeps doctor to the slowest probe.
  const verdicts = await Promise.all(
    checks.map(async (check) => judgeCheck(check, await Promise.all(check.probes.map((probe) => runProbe(deps, probe))))),
  );
  return summariseDoctor(verdicts);
}

async function runProbe(deps: Pick<Deps, 'runner'>, probe: Command): Promise<ProbeResult> {
  if ((await deps.runner.which(probe.file)) === undefined) return { kind: 'not-found' };
  try {
    const result = await deps.runner.tryRun(probe);
    if (result.exitCode === TIMED_OUT) return { kind: 'failed', reason: `timed out after ${String(probe.timeoutMs)} ms` };
    return { kind: 'exited', exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
  } catch (error) {
    if (error instanceof ExternalCommandError) return { kind: 'failed', reason: error.stderrTail.trim() || error.message };
    return { kind: 'failed', reason: error instanceof Error ? error.message : String(error) };
  }
}
