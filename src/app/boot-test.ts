/** `iso --boot-test`: boot the ISO the build brought back, on the host, with no network. */
import type { Accelerator } from '../core/accelerator.js';
import { judgeBoot, planBootTest, type BootTestResult } from '../core/boot-test.js';
import { TIMED_OUT } from '../core/ports.js';
import type { Deps } from './deps.js';

export interface BootTestRequest {
  readonly iso: string;
  readonly commit: string;
  readonly accelerator: Accelerator;
  /** Where the serial console is saved. */
  readonly log: string;
  readonly onLine: (line: string) => void;
  readonly timeoutMs?: number;
}

export async function bootTestIso(deps: Pick<Deps, 'runner' | 'clock' | 'disk'>, request: BootTestRequest): Promise<BootTestResult> {
  const started = deps.clock.now().getTime();
  const lines: string[] = [];
  const result = await deps.runner.tryRun(planBootTest(request.iso, request.accelerator, request.timeoutMs), {
    onLine: (line) => {
      lines.push(line);
      request.onLine(line);
    },
  });
  const consoleText = lines.join('\n');
  await deps.disk.writeText(request.log, `${consoleText}\n`);
  const verdict = judgeBoot({ commit: request.commit, console: consoleText, exitCode: result.exitCode, timedOut: result.exitCode === TIMED_OUT });
  return {
    ok: verdict.failure === undefined,
    markerSeen: verdict.markerSeen,
    poweredOff: verdict.poweredOff,
    seconds: Math.round((deps.clock.now().getTime() - started) / 100) / 10,
    accelerator: request.accelerator,
    iso: request.iso,
    log: request.log,
    ...(verdict.failure === undefined ? {} : { failure: verdict.failure }),
  };
}
