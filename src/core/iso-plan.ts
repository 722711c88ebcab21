/**
 * The ISO build plan: pure data computed from what was observed and what was
 * asked. `iso --dry-run --json` prints it; the build applies it.
 */
import type { BaseboxIdentity } from './basebox.js';
import { computeVmMemoryMiB, type BuildOptions, type OptionToken } from './build-options.js';
import type { BuildRef } from './git-ref.js';
import type { ProjectConfig, SerialSetName } from './project.js';
import type { TailsEnvEntry } from './tails-environment.js';
import type { TailsGitState } from './tails-git-state.js';
import { tailsDisks } from './tails-vm.js';

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

/** Every step a build can run, in the order it runs them (app/build-vm.ts has one function per id). */
export const BUILD_STEP_IDS = ['preflight', 'basebox', 'accelerator', 'resolve-serials', 'vm-up', 'provision', 'build', 'artifacts', 'boot-test', 'cleanup'] as const;
export type BuildStepId = (typeof BUILD_STEP_IDS)[number];

/**
 * A step of the plan: what the build runs, with this id, in this order and
 * with this title — the dry-run, the events and the JUnit testcases list the
 * same steps.
 */
export interface PlanStep {
  readonly id: BuildStepId;
  readonly title: string;
  /** Runs even when an earlier step failed (bringing back a failed build's log and artifacts; cleanup). */
  readonly always: boolean;
}

/** Why the build will be refused at its first step: the plan then holds that step only. */
export interface PlanRefusal {
  readonly code: string;
  readonly message: string;
  readonly hint: string | undefined;
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
  /** Set when the build cannot run here (a Tails checkout, today): its first step refuses, and no other step is planned. */
  readonly refusal?: PlanRefusal;
  /** A Tails checkout: the git state (base branch, its merge) of the build. */
  readonly tailsGit?: TailsGitState;
  /** A Tails checkout: every variable rake build exports into the VM, in its order, with Tails' names and values. */
  readonly environment?: readonly TailsEnvEntry[];
}

/** What a Tails checkout's build is given (app/tails-environment.ts computes it). */
export interface TailsPlanPart {
  readonly git: TailsGitState;
  readonly environment: readonly TailsEnvEntry[];
}

export interface PlanInputs {
  readonly project: ProjectConfig;
  readonly request: BuildRequest;
  readonly basebox: BaseboxIdentity;
  readonly serials: Readonly<Record<SerialSetName, Readonly<Record<string, string>>>>;
  readonly dryRun: boolean;
  /** Set when the project cannot be built by this tool (see PlanRefusal). */
  readonly refusal?: PlanRefusal;
  readonly tails?: TailsPlanPart;
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
    steps: planSteps(inputs),
    ...(inputs.refusal === undefined ? {} : { refusal: inputs.refusal }),
    ...(inputs.tails === undefined ? {} : { tailsGit: inputs.tails.git, environment: inputs.tails.environment }),
  };
}

/** The build's steps, each titled with what it will do for this request. */
export function planSteps(inputs: PlanInputs): PlanStep[] {
  const { request } = inputs;
  const o = request.options;
  const step = (id: BuildStepId, title: string, always = false): PlanStep => ({ id, title, always });
  if (inputs.refusal !== undefined) return [step('preflight', `Refuse the build: ${inputs.refusal.message}`)];
  if (inputs.tails !== undefined) return tailsSteps(inputs, step);
  return [
    step('preflight', 'Check the artifacts dir, libvirt, host memory, the checkout (readable by QEMU: permissions given inside it, as Tails does) and the build command'),
    ...boxSteps(inputs, step),
    step(
      'resolve-serials',
      `Resolve every "latest" ISO serial to a number${request.pinnedSerials === undefined ? '' : ' (pinned by APT_SNAPSHOTS_SERIALS)'}, and the builder's debian-security snapshot${request.builderSecurity === undefined ? ' (the latest)' : ` (pinned: ${request.builderSecurity})`}`,
    ),
    step('vm-up', `Start the build VM from ${inputs.basebox.name} (checkout over 9p, an apt-cacher-ng disk of its own, or none when every disk is held by a kept VM)`),
    step(
      'provision',
      `Provision: branch lock for ${request.git.ref}, the cache disk and apt-cacher-ng, the snapshot server; ${o.offline ? "keep the box's security snapshot (offline)" : 'move the builder to that debian-security snapshot and upgrade (kernel and GRUB held; none when the box was built from it)'}${o.dateOffsetDays === 0 ? '' : `, set the clock ${String(o.dateOffsetDays)} day(s) off`}`,
    ),
    step('build', `Build ${request.git.ref} at ${request.git.commit.slice(0, 12)} from a fresh clone (${o.compression === 'fast' ? 'fast' : 'release'} compression, ${o.ramBuild ? 'in a tmpfs' : 'on the VM disk'})`),
    step('artifacts', `Copy the artifacts and the build log to ${request.artifactsDir} (after a failed build too)`, true),
    ...(request.bootTest ? [step('boot-test', 'Boot the ISO with QEMU (no network) and wait for the marker naming this commit')] : []),
    step(
      'cleanup',
      o.rescue ? 'Stop the cache, then destroy the VM, unless the build failed (rescue keeps it)' : o.keepRunning ? 'Keep the VM for the next build of the same ref (destroyed if it never came up)' : 'Stop the cache, then destroy the VM (the cache disk stays)',
      true,
    ),
  ];
}

type StepMaker = (id: BuildStepId, title: string, always?: boolean) => PlanStep;

/** The builder box and the accelerator: the same for every kind of project. */
function boxSteps(inputs: PlanInputs, step: StepMaker): PlanStep[] {
  return [
    step('basebox', `Check the builder box ${inputs.basebox.name} is imported (if not, refuse and name: tails-build basebox create)`),
    step('accelerator', 'Probe the accelerator (KVM if it really works, else TCG)'),
  ];
}

/** A Tails checkout's steps (no boot test: refused for a Tails ISO, which prints no marker): the same ids, with its own scripts doing the in-VM work (rake build's order). */
function tailsSteps(inputs: PlanInputs, step: StepMaker): PlanStep[] {
  const { request } = inputs;
  const o = request.options;
  const tails = inputs.tails;
  if (tails === undefined) throw new Error('tailsSteps: not a Tails checkout');
  const value = (name: string): string | null | undefined => tails.environment.find((e) => e.name === name)?.value;
  const merge = tails.git.merge;
  const commit = value('GIT_COMMIT') ?? request.git.commit;
  const attached = tailsDisks(Object.fromEntries(tails.environment.map((e) => [e.name, e.value ?? ''])));
  const disks = [attached.cache ? 'the apt-cacher-ng disk (/dev/vdb)' : undefined, attached.website ? 'the website cache disk' : undefined].filter((d) => d !== undefined);
  return [
    step('preflight', "Check the artifacts dir, libvirt, host memory, the checkout (readable by QEMU: permissions given inside it, as Tails does), its setup-tails-builder and build-tails"),
    ...boxSteps(inputs, step),
    step(
      'resolve-serials',
      `Resolve every "latest" ISO serial to a number${request.pinnedSerials === undefined ? '' : ' (pinned by APT_SNAPSHOTS_SERIALS)'}, for APT_SNAPSHOTS_SERIALS`,
    ),
    step('vm-up', `Start the build VM from ${inputs.basebox.name} (the checkout at /amnesia.git and vagrant/ at /vagrant over 9p, read-only; ${disks.length === 0 ? 'no cache disk' : disks.join(' and ')})`),
    step(
      'provision',
      `Provision: branch lock for ${request.git.ref}${merge.planned && merge.outcome === 'diverged' ? `, the base-branch merge ${commit.slice(0, 12)} (origin/${merge.baseBranch}) in the VM's view of the checkout` : ''}, then the checkout's vagrant/provision/setup-tails-builder as root with the ${String(tails.environment.length)} variables rake build exports`,
    ),
    step('build', `Run the checkout's build-tails for ${request.git.ref} at ${commit.slice(0, 12)} (${o.compression === 'fast' ? 'fast' : 'release'} compression, ${o.ramBuild ? 'in a tmpfs' : 'on the VM disk'})`),
    step('artifacts', `Copy tails-amd64-* and tails-build-env.list from /home/vagrant/amnesia, and the build log, to ${request.artifactsDir} (after a failed build too)`, true),
    step(
      'cleanup',
      o.rescue ? 'Destroy the VM, unless the build failed (rescue keeps it); the cache disks stay' : o.keepRunning ? 'Keep the VM for the next build of the same ref (destroyed if it never came up)' : 'Destroy the VM (the cache disks stay)',
      true,
    ),
  ];
}
