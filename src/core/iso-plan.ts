/**
 * The ISO build plan: pure data computed from what was observed and what was
 * asked. `iso --dry-run --json` prints it; the build applies it.
 */
import type { BaseboxIdentity } from './basebox.js';
import { computeVmMemoryMiB, type BuildOptions, type OptionToken } from './build-options.js';
import type { BuildRef } from './git-ref.js';
import type { ProjectConfig, SerialSetName } from './project.js';

export const PLAN_SCHEMA = 'tails-build/iso-plan@1';

export interface BuildRequest {
  readonly options: BuildOptions;
  /** Every option word applied, defaults first. */
  readonly optionWords: readonly OptionToken[];
  readonly warnings: readonly string[];
  readonly git: BuildRef;
  /** Where artifacts are copied (ARTIFACTS or --artifacts), absolute. */
  readonly artifactsDir: string;
  /** APT_SNAPSHOTS_SERIALS: what `latest` resolves to, to reproduce a build. */
  readonly pinnedSerials: Readonly<Record<string, string>> | undefined;
  /** Pins the builder's debian-security snapshot (default: the latest). */
  readonly builderSecurity: string | undefined;
  /** Boot the ISO after the build (--boot-test). */
  readonly bootTest: boolean;
}

export interface PlanStep {
  readonly id: string;
  readonly title: string;
  /** False for steps whose implementation has not landed yet. */
  readonly implemented: boolean;
}

export interface IsoBuildPlan {
  readonly schema: typeof PLAN_SCHEMA;
  readonly dryRun: boolean;
  readonly project: {
    readonly root: string;
    readonly kind: ProjectConfig['kind'];
    readonly boxDefinitionDir: string;
    readonly serialDirs: ProjectConfig['serialDirs'];
  };
  readonly request: BuildRequest;
  readonly basebox: BaseboxIdentity;
  readonly serials: Readonly<Record<SerialSetName, Readonly<Record<string, string>>>>;
  readonly vm: {
    readonly cpus: number;
    readonly memoryMiB: number;
    readonly machineType: string;
    /** undefined: host-passthrough with KVM, "maximum" with TCG (decided when the accelerator is probed). */
    readonly cpuModel: string | undefined;
    readonly keep: 'destroy' | 'keep-running' | 'keep-on-failure';
  };
  readonly steps: readonly PlanStep[];
}

export interface PlanInputs {
  readonly project: ProjectConfig;
  readonly request: BuildRequest;
  readonly basebox: BaseboxIdentity;
  readonly serials: Readonly<Record<SerialSetName, Readonly<Record<string, string>>>>;
  readonly dryRun: boolean;
}

/** Space a build needs in the VM, MiB: Tails' 13 GiB; the sample ISO needs far less. */
export function buildSpaceMiB(kind: ProjectConfig['kind']): number {
  return kind === 'tails' ? 13 * 1024 : 2048;
}

export function planIsoBuild(inputs: PlanInputs): IsoBuildPlan {
  const { project, request } = inputs;
  const o = request.options;
  return {
    schema: PLAN_SCHEMA,
    dryRun: inputs.dryRun,
    project: {
      root: project.root,
      kind: project.kind,
      boxDefinitionDir: project.boxDefinitionDir,
      serialDirs: project.serialDirs,
    },
    request,
    basebox: inputs.basebox,
    serials: inputs.serials,
    vm: {
      cpus: o.cpus,
      memoryMiB: computeVmMemoryMiB(o, buildSpaceMiB(project.kind)),
      machineType: o.machineType,
      cpuModel: o.cpuModel,
      keep: o.rescue ? 'keep-on-failure' : o.keepRunning ? 'keep-running' : 'destroy',
    },
    steps: [
      { id: 'preflight', title: 'Check libvirt, host memory, the checkout (readable by QEMU) and the build command', implemented: true },
      { id: 'basebox', title: `Check the builder box ${inputs.basebox.name} is imported (if not, refuse and name: tails-build basebox create)`, implemented: true },
      {
        id: 'resolve-serials',
        title: `Resolve every "latest" ISO serial to a number${request.pinnedSerials === undefined ? '' : ' (pinned by APT_SNAPSHOTS_SERIALS)'}, and the builder's debian-security snapshot${request.builderSecurity === undefined ? ' (the latest)' : ` (pinned: ${request.builderSecurity})`}`,
        implemented: true,
      },
      { id: 'vm-up', title: 'Start a build VM from the box, checkout shared read-only over 9p, an apt-cacher-ng disk of its own attached (or none when every disk is held by a kept VM)', implemented: true },
      {
        id: 'provision',
        title: `Lock the VM to ${request.git.ref}, mount the cache, ${o.offline ? 'keep the box\'s security snapshot (offline)' : 'move the builder to that debian-security snapshot and upgrade (kernel and GRUB held)'}${o.dateOffsetDays === 0 ? '' : `, set the clock ${String(o.dateOffsetDays)} day(s) off`}`,
        implemented: true,
      },
      { id: 'build', title: `Build from a fresh clone of ${request.git.commit.slice(0, 12)} (${o.compression === 'fast' ? 'fast' : 'release'} compression, ${o.ramBuild ? 'in a tmpfs' : 'on the VM disk'})`, implemented: true },
      { id: 'artifacts', title: `Copy artifacts and the build log to ${request.artifactsDir}`, implemented: true },
      ...(request.bootTest ? [{ id: 'boot-test', title: 'Boot the ISO with QEMU (no network) and wait for the marker naming this commit', implemented: true }] : []),
      {
        id: 'cleanup',
        title: o.rescue ? 'Destroy the VM, unless the build failed (rescue keeps it)' : o.keepRunning ? 'Keep the VM for the next build of the same ref' : 'Stop the cache, then destroy the VM',
        implemented: true,
      },
    ],
  };
}
