/**
 * `iso --boot-test`: boot the ISO the build brought back, on the host, with no
 * network, on each machine in turn (BOOT_MACHINES: pc, q35, USB); one serial
 * console log per machine; the test passes only if every boot does.
 */
import type { Accelerator } from '../core/accelerator.js';
import { BOOT_MACHINES, judgeBoot, machineLogPath, planBootTest, summarizeBoots, type BootMachine, type BootTestResult, type MachineBootResult } from '../core/boot-test.js';
import { formatCommand } from '../core/command.js';
import { TIMED_OUT } from '../core/ports.js';
import type { Deps } from './deps.js';

export interface BootTestRequest {
  readonly iso: string;
  readonly commit: string;
  readonly accelerator: Accelerator;
  /** Where the first machine's serial console is saved; the others' go next to it (machineLogPath). */
  readonly log: string;
  /** Each console line, as it comes. */
  readonly onLine: (line: string) => void;
  /** Called before each machine boots. */
  readonly onMachine?: (machine: BootMachine, log: string) => void;
  /** Per machine. */
  readonly timeoutMs?: number;
  /** Default BOOT_MACHINES. */
  readonly machines?: readonly BootMachine[];
}

export async function bootTestIso(deps: Pick<Deps, 'runner' | 'clock' | 'disk'>, request: BootTestRequest): Promise<BootTestResult> {
  const machines = request.machines ?? BOOT_MACHINES;
  const results: MachineBootResult[] = [];
  for (const [i, machine] of machines.entries()) {
    const log = machineLogPath(request.log, machine, i === 0);
    request.onMachine?.(machine, log);
    results.push(await bootOn(deps, request, machine, log));
  }
  return summarizeBoots({ accelerator: request.accelerator, iso: request.iso, machines: results });
}

async function bootOn(deps: Pick<Deps, 'runner' | 'clock' | 'disk'>, request: BootTestRequest, machine: BootMachine, log: string): Promise<MachineBootResult> {
  const started = deps.clock.now().getTime();
  const lines: string[] = [];
  const cmd = planBootTest(request.iso, request.accelerator, machine, request.timeoutMs);
  const result = await deps.runner.tryRun(cmd, {
    onLine: (line) => {
      lines.push(line);
      request.onLine(line);
    },
  });
  const consoleText = lines.join('\n');
  await deps.disk.writeText(log, `${consoleText}\n`);
  const verdict = judgeBoot({ commit: request.commit, console: consoleText, exitCode: result.exitCode, timedOut: result.exitCode === TIMED_OUT });
  return {
    machine,
    ok: verdict.failure === undefined,
    markerSeen: verdict.markerSeen,
    poweredOff: verdict.poweredOff,
    seconds: Math.round((deps.clock.now().getTime() - started) / 100) / 10,
    log,
    command: formatCommand(cmd),
    ...(verdict.failure === undefined ? {} : { failure: verdict.failure }),
  };
}
