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
      { id: 'preflight', title: 'Check host prerequisites and the checkout', implemented: true },
      { id: 'resolve-serials', title: 'Resolve every "latest" snapshot serial to a number', implemented: true },
      { id: 'basebox', title: `Create and import the builder box ${inputs.basebox.name} if missing`, implemented: true },
      { id: 'vm-up', title: 'Start a build VM from the box, checkout shared read-only over 9p, cache disk attached', implemented: true },
      { id: 'branch-lock', title: `Lock the VM to ${request.git.ref}`, implemented: true },
      { id: 'build', title: 'Build the ISO inside the VM from a fresh clone of HEAD', implemented: true },
      { id: 'artifacts', title: `Copy artifacts and the build log to ${request.artifactsDir}`, implemented: true },
      {
        id: 'cleanup',
        title: o.keepRunning ? 'Keep the VM for the next build of the same ref' : 'Stop the cache, then destroy the VM',
        implemented: true,
      },
    ],
  };
}
