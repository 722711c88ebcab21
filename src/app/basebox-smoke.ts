/**
 * `basebox test`: boot the imported builder box in a throwaway vagrant-libvirt
 * VM and run a command over `vagrant ssh`, then destroy the VM. The accelerator
 * is probed and reported (KVM where it works, TCG otherwise).
 */
import { describeVmNetwork, ensureVmNetwork } from './vm-network.js';
import { describeBoxBoot, findBoxBoot } from './box-boot.js';
import { join } from 'node:path';
import { inNetns } from '../core/command.js';
import type { AcceleratorChoice } from '../core/accelerator.js';
import { command, type Command } from '../core/command.js';
import { UserError } from '../core/errors.js';
import { planSmokeVagrantfile } from '../core/vagrantfile.js';
import { progressOptions, runSteps, type ProgressMode, type StepTiming } from '../ui/progress.js';
import { LIBVIRT_LOCK } from './basebox-import.js';
import { acceleratorStep } from './accelerator-step.js';
import { withCleanup } from './cleanup.js';
import type { Deps } from './deps.js';

export interface SmokeRequest {
  readonly name: string;
  /** The namespace VM networks live in (CI hosts), else undefined. */
  readonly netns: string | undefined;
  readonly workDir: string;
  /** Run over `vagrant ssh -c`. */
  readonly check: string;
  readonly progress: ProgressMode;
  readonly renderStream: NodeJS.WriteStream;
}

export interface SmokeResult {
  readonly name: string;
  readonly accelerator: AcceleratorChoice;
  readonly output: string;
  readonly timings: readonly StepTiming[];
}

interface SmokeState {
  accelerator?: AcceleratorChoice;
  output?: string;
}

export async function smokeTestBasebox(deps: Deps, request: SmokeRequest): Promise<SmokeResult> {
  if (!(await deps.vagrant.listBoxes()).some((b) => b.name === request.name)) {
    throw new UserError('basebox-not-imported', `The builder box ${request.name} is not in vagrant (VAGRANT_HOME=${deps.vagrantHome}).`, {
      hint: 'Create and import it first: tails-build basebox create',
    });
  }
  const vagrant = (args: readonly string[], effect: 'read' | 'write' = 'write'): Command =>
    inNetns(request.netns, command('vagrant', args, { cwd: request.workDir, effect, env: { VAGRANT_HOME: deps.vagrantHome, VAGRANT_CHECKPOINT_DISABLE: '1' } }));

  return withCleanup(async (cleanup) => {
    const state: SmokeState = {};
    const timings = await runSteps<SmokeState>(
      [
        acceleratorStep<SmokeState>(deps),
        {
          id: 'up',
          title: `Boot ${request.name} in a throwaway VM`,
          run: async (s, report) => {
            await deps.disk.mkdirp(request.workDir);
            const boot = await findBoxBoot(deps, request.name);
            report(describeBoxBoot(boot));
            cleanup.push(`remove ${request.workDir}`, () => deps.disk.remove(request.workDir));
            await deps.disk.writeText(
              join(request.workDir, 'Vagrantfile'),
              planSmokeVagrantfile({
                box: request.name,
                accelerator: s.accelerator?.accelerator ?? 'tcg',
                cpus: Math.min(2, deps.host.cpuCount()),
                memoryMiB: 1024,
                domainPrefix: `tb-smoke-${process.pid}-`,
                serialLog: join(request.workDir, 'serial.log'),
                boot: boot.direct ?? undefined,
              }),
            );
            cleanup.push('destroy the throwaway VM', async () => {
              await deps.runner.run(vagrant(['destroy', '--force']), { uninterruptible: true });
            });
            // Parallel `vagrant up`s race on libvirt networks and pool volumes (vagrant-libvirt #278).
            await deps.locks.withLock(
              LIBVIRT_LOCK,
              async () => {
                const network = describeVmNetwork(await ensureVmNetwork(deps));
                if (network !== undefined) report(network);
                await deps.runner.run(vagrant(['up', '--provider=libvirt']), { onLine: report });
              },
              {
              onWait: (holder) => {
                report(`waiting for ${holder.command} (pid ${holder.pid}) to release the libvirt lock`);
              },
            });
          },
        },
        {
          id: 'ssh',
          title: `Run "${request.check}" over vagrant ssh`,
          run: async (s) => {
            const result = await deps.runner.run(vagrant(['ssh', '-c', request.check], 'read'));
            s.output = result.stdout.trim();
          },
        },
      ],
      state,
      progressOptions(request.progress, (text) => { deps.out.line(text); }, request.renderStream, () => deps.clock.now(), deps.out.progress),
    );
    return {
      name: request.name,
      accelerator: state.accelerator ?? { accelerator: 'tcg', reason: 'not probed' },
      output: state.output ?? '',
      timings,
    };
  });
}
