/** `tails-build iso`: build the ISO in a throwaway VM (for now: resolve and print the plan). */
import type { Command } from 'commander';
import type { IsoBuildPlan } from '../../core/iso-plan.js';
import { formatTailsEnvironment } from '../../core/tails-environment.js';
import type { TailsGitState } from '../../core/tails-git-state.js';
import type { Output } from '../../ui/output.js';
import { join } from 'node:path';
import { suiteFromSteps } from '../../core/junit.js';
import { withJUnit } from '../junit.js';
import type { StepRecord } from '../../ui/progress.js';
import type { VmBuildResult } from '../../app/build-vm.js';
import { addBuildFlags, isoInputs, vmBuildBase, type BuildCommandFlags } from '../build-flags.js';
import { depsFor, type CliContext } from '../context.js';

export interface IsoFlags extends BuildCommandFlags {
  readonly dryRun?: boolean;
  readonly artifacts?: string;
}

export function registerIso(program: Command, ctx: CliContext): void {
  const iso = program
    .command('iso')
    .description('build the ISO inside a throwaway builder VM and copy the artifacts back')
    .option('-n, --dry-run', 'resolve the request and print the plan; run nothing')
    .option('--artifacts <dir>', 'where artifacts and the build log are copied (env ARTIFACTS; default: the project root)');
  addBuildFlags(iso, 'after the build, boot the ISO with QEMU (no network) and wait for the marker naming this commit; a failed boot fails the build')
    .addHelpText(
      'after',
      `
Options may also come from TAILS_BUILD_OPTIONS, space-separated, with Tails' names:
  keeprunning rescue forcecleanup ignorechanges offline cpus=N memory=N ram noram
  vmproxy extproxy vmproxy+extproxy noproxy dateoffset=[+-]N
  cachewebsite[=yes|no] fastcomp gzipcomp defaultcomp machinetype=TYPE
  cpumodel=MODEL nomergebasebranch
Flags win over TAILS_BUILD_OPTIONS; an unknown or malformed option is an error.
In this tool's own layout extproxy, vmproxy+extproxy and noproxy are refused:
the VM fetches from tails-build's own snapshot server, which a proxy outside the
VM cannot reach. In a Tails checkout they mean what they mean to rake build
(http_proxy must be set for the ext modes; offline needs a proxy), and
cachewebsite applies to a Tails checkout only. The recipe is told the rest (TAILS_BUILD_COMPRESSION,
TAILS_BUILD_RAM, …: see definitions/README.md).
APT_SNAPSHOTS_SERIALS='{"debian":"2024101502"}' pins what "latest" resolves to;
the host resolves every other "latest" before the VM boots, and the report and
tails-build-env.list record the numbers apt used.

The build runs in this checkout's own VM (tails-build vm status): an overlay of
the builder box, the checkout read-only over 9p, the shared apt-cacher-ng disk
attached. The VM is destroyed after the build, success or failure, unless
--keep-running (reused by the next build of the same ref) or --rescue (kept when
the build fails). A VM created for another ref is never reused: destroy it first.
Artifacts and the whole build log (build.log) are copied back even on failure.

Environment: ARTIFACTS (like --artifacts), TAILS_BUILD_NETNS (the network
namespace of VM networks; default: the one libvirtd runs in),
TAILS_BUILD_CACHE_MIN_FREE_MIB (below it the cache disk counts as full; 1024)
and TAILS_BUILD_CACHE_DISKS (how many apt-cacher-ng disks builds share, one
build per disk, so that as many run at once, each warm; 2).

Examples:
  tails-build iso --boot-test                    build, then boot the ISO and check it
  tails-build iso --dry-run                      show what would be built and how
  tails-build iso --dry-run --json | jq .basebox.name
  TAILS_BUILD_OPTIONS="keeprunning cpus=4" tails-build iso
  tails-build iso --no-ram --memory 4096 --artifacts /srv/artifacts
  tails-build iso --rescue && tails-build vm ssh -c 'ls ~/tails-build'
  tails-build vm destroy`,
    )
    .action(async (flags: IsoFlags, cmd: Command) => {
      const dryRun = flags.dryRun === true;
      // Loaded when the command runs (start-up, --help: none of it).
      const [{ loadProject }, { computeIsoPlan }, { buildInVm }] = await Promise.all([import('../../app/project.js'), import('../../app/iso-plan.js'), import('../../app/build-vm.js')]);
      const { deps, globals } = depsFor(ctx, cmd, { dryRun });
      // --dry-run --json prints the plan as one document; a build streams events.
      if (!dryRun) deps.out.startEvents('iso');
      const steps: StepRecord[] = [];
      const started = deps.clock.now().toISOString();
      let plan: IsoBuildPlan | undefined;
      // The JUnit report is written whatever happens, a refusal before any step included.
      await withJUnit(ctx, dryRun ? undefined : flags.junit, (outcome) => [suiteFromSteps('tails-build iso', started, steps, outcome, plan === undefined ? {} : junitProperties(plan))], async (outcome) => {
        const project = await loadProject(deps, { projectDir: globals.project, cwd: ctx.cwd });
        plan = await computeIsoPlan(deps, project, isoInputs(ctx, flags, dryRun));
        if (dryRun) {
          if (globals.json) deps.out.data(plan);
          else printPlan(deps.out, plan);
          return;
        }
        if (!globals.json) printPlan(deps.out, plan);
        deps.out.event({ event: 'plan', plan });
        // A refused plan (a Tails checkout) runs its first step, which refuses: the run lists what the plan listed.
        const result = await buildInVm(deps, { ...vmBuildBase(ctx, globals, flags, project.buildCommand), project, plan, onStep: (s) => steps.push(s) });
        const failure = result.failure;
        outcome.set(failure);
        emitBuildEvents(deps.out, result);
        if (globals.json) {
          const { exitCode: buildExitCode, ok: _ok, ...rest } = result;
          deps.out.result({ ...rest, buildExitCode, plan });
        } else printResult(deps.out, plan, result);
        if (failure !== undefined) throw failure;
      });
    });
}

/** The artifacts, the serials and the boot test as events (with --json). */
export function emitBuildEvents(out: Output, result: VmBuildResult): void {
  if (result.serials !== undefined) out.event({ event: 'serials', iso: result.serials.iso, builderSecurity: result.serials.builderSecurity });
  for (const f of result.files) out.event({ event: 'artifact', name: f.name, bytes: f.bytes, sha256: f.sha256, path: join(result.artifactsDir, f.name) });
  if (result.bootTest !== undefined) out.event({ event: 'boot-test', ...result.bootTest });
}

function printResult(out: Output, plan: IsoBuildPlan, result: VmBuildResult): void {
  out.line(`Build ${result.exitCode === 0 ? 'succeeded' : `FAILED (exit ${String(result.exitCode)})`}; accelerator ${result.accelerator.accelerator}; VM ${result.domain} ${result.vm}.`);
  if (result.serials !== undefined) out.line(`Serials used: ${Object.entries(result.serials.iso).map(([a, v]) => `${a}=${v}`).join(' ')}; builder debian-security=${result.serials.builderSecurity}`);
  for (const a of result.artifacts) out.line(`  ${join(result.artifactsDir, a)}`);
  for (const f of result.files.filter((x) => x.name.endsWith('.iso'))) out.line(`ISO: ${join(result.artifactsDir, f.name)} (${String(f.bytes)} bytes, sha256 ${f.sha256})`);
  const skipped = result.timings.find((t) => t.id === 'boot-test' && t.status === 'skipped');
  if (skipped !== undefined) out.line('Boot test: skipped (the build failed, so there was no ISO to boot).');
  if (result.bootTest !== undefined) {
    out.line(result.bootTest.ok ? `Boot test: booted (${result.bootTest.accelerator}, ${String(result.bootTest.seconds)} s), marker for ${plan.request.git.commit.slice(0, 12)} seen, powered off by itself.` : `Boot test: FAILED: ${result.bootTest.failure ?? ''} (console: ${result.bootTest.log})`);
  }
}

/** The build's identity, as JUnit properties. */
export function junitProperties(plan: IsoBuildPlan): Record<string, string> {
  return { commit: plan.request.git.commit, ref: plan.request.git.ref, box: plan.basebox.name };
}

export function printPlan(out: Output, plan: IsoBuildPlan): void {
  const o = plan.request.options;
  const g = plan.request.git;
  out.line(`Project:   ${plan.project.root} (${plan.project.kind} layout)`);
  out.line(`Building:  ${g.ref} at ${g.commit.slice(0, 12)}${g.releasing ? ' (release build: HEAD is a tag)' : ''}`);
  out.line(`Basebox:   ${plan.basebox.name}`);
  for (const [set, serials] of Object.entries(plan.serials)) {
    const text = Object.entries(serials)
      .map(([archive, serial]) => `${archive}=${serial}`)
      .join(' ');
    out.line(`Serials:   ${set.padEnd(8)} ${text === '' ? '(none)' : text}`);
  }
  if (plan.request.pinnedSerials !== undefined) {
    out.line(`Pinned:    ${Object.entries(plan.request.pinnedSerials).map(([a, s]) => `${a}=${s}`).join(' ')} (APT_SNAPSHOTS_SERIALS)`);
  }
  out.line(
    `VM:        ${plan.vm.cpus} CPUs, ${plan.vm.memoryMiB} MiB, ${plan.vm.machineType}, cpu ${plan.vm.cpuModel ?? 'auto'}, ${o.ramBuild ? 'RAM build' : 'disk build'}, proxy ${o.proxy}${o.offline ? ' (offline)' : ''}, then ${plan.vm.keep}`,
  );
  out.line(`Options:   ${plan.request.optionWords.map((w) => w.text).join(' ')}`);
  out.line(`Artifacts: ${plan.request.artifactsDir}`);
  if (plan.tailsGit !== undefined) out.line(`Merge:     ${describeMerge(plan.tailsGit)}`);
  if (plan.environment !== undefined) {
    out.line('Environment (what rake build exports into the VM):');
    for (const line of formatTailsEnvironment(plan.environment)) out.line(`  ${line}`);
  }
  out.line('Steps:');
  for (const step of plan.steps) out.line(`  - ${step.title}${step.always ? '  [runs after a failure too]' : ''}`);
  if (plan.refusal !== undefined) out.line(`Refused:   ${plan.refusal.message}${plan.refusal.hint === undefined ? '' : ` (${plan.refusal.hint})`}`);
  if (plan.dryRun) {
    out.line(
      plan.tailsGit === undefined
        ? 'Dry run: nothing was executed.'
        : `Dry run: no VM was started and the checkout was only read (git, to compute the state above${plan.tailsGit.merge.planned && plan.tailsGit.merge.commit !== undefined ? '; the merge commit was made in a throwaway repository under $TMPDIR, already removed' : ''}).`,
    );
  }
}

/** The base-branch merge of a Tails build, in one line. */
function describeMerge(git: TailsGitState): string {
  const m = git.merge;
  const base = `origin/${git.baseBranch} (${git.baseBranchCommit.slice(0, 12)})`;
  if (!m.planned) {
    const why = m.why === 'releasing' ? 'a release build (HEAD is a tag)' : m.why === 'on-base-branch' ? `building the base branch ${git.baseBranch} itself` : 'nomergebasebranch';
    return `none: ${why}; BASE_BRANCH_GIT_COMMIT is ${base}`;
  }
  const what =
    m.outcome === 'up-to-date'
      ? 'nothing to merge (it is in HEAD already)'
      : m.outcome === 'fast-forward'
        ? 'a fast-forward to it'
        : `a merge commit${m.commit === undefined ? '' : ` ${m.commit}`} dated ${m.date} (the top debian/changelog entry), made outside the checkout`;
  return `${base} into ${git.ref} (${git.headCommit.slice(0, 12)}): ${what}`;
}
