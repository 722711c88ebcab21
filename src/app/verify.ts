/**
 * `tails-build verify`: the same commit built in two fresh VMs, the second
 * pinned to the serials the first resolved (or one build pinned to what a
 * published build report describes), and every reproducible artifact
 * compared by sha256. On a mismatch both artifact sets stay, and diffoscope
 * (when installed) explains each difference next to them.
 */
import { join } from 'node:path';
import { command } from '../core/command.js';
import { UserError } from '../core/errors.js';
import type { IsoBuildPlan } from '../core/iso-plan.js';
import { compareArtifacts, type Comparison, type HashedFile, type PublishedBuild } from '../core/verify.js';
import { buildInVm, type VmBuildRequest, type VmBuildResult } from './build-vm.js';
import type { Deps } from './deps.js';
import type { StepRecord } from '../ui/progress.js';

export interface VerifyRequest {
  readonly build: Omit<VmBuildRequest, 'plan'>;
  readonly plan: IsoBuildPlan;
  /** Each build's artifacts go to `<outputDir>/build-N`. */
  readonly outputDir: string;
  /** verify --against: one build pinned to this report, compared with its hashes. */
  readonly against?: { readonly report: PublishedBuild; readonly source: string };
  /** Called before each build, for progress. */
  readonly onBuild?: (n: number, of: number, what: string) => void;
}

export interface VerifyResult {
  readonly identical: boolean;
  readonly comparison: Comparison;
  readonly builds: readonly { readonly label: string; readonly artifactsDir: string; readonly report: string | undefined; readonly files: readonly HashedFile[] }[];
  /** diffoscope reports written, one per differing file. */
  readonly diffoscope: readonly string[];
  /** Why no diffoscope report was written, when the sets differ. */
  readonly diffoscopeNote: string | undefined;
}

/** How verify runs one build: buildInVm; the unit tests pass a strict fake. */
export type BuildOne = (deps: Deps, request: VmBuildRequest) => Promise<VmBuildResult>;

export async function verify(deps: Deps, request: VerifyRequest, buildOne: BuildOne = buildInVm): Promise<VerifyResult> {
  const { plan } = request;
  if (plan.request.options.keepRunning && !plan.request.options.rescue) {
    throw new UserError('verify-keeprunning', 'verify builds in fresh VMs, so keeprunning does not apply to it.', { kind: 'usage', hint: 'Drop --keep-running (or keeprunning from TAILS_BUILD_OPTIONS); --rescue still keeps a VM whose build fails.' });
  }
  const against = request.against;
  if (against !== undefined) {
    if (against.report.commit !== plan.request.git.commit) {
      throw new UserError('verify-other-commit', `${against.source} describes commit ${against.report.commit}; this checkout is at ${plan.request.git.commit}.`, {
        hint: `Check out the commit it describes first: git checkout ${against.report.commit}`,
      });
    }
    if (against.report.box !== plan.basebox.name) {
      throw new UserError('verify-other-box', `${against.source} was built in the builder box ${against.report.box}; this checkout's box is ${plan.basebox.name}.`, {
        hint: 'Rebuild with the same box definition and builder serials (the same commit gives the same box): tails-build basebox create',
      });
    }
    request.onBuild?.(1, 1, `pinned to ${against.source}`);
    const one = await build(deps, buildOne, request, 1, against.report.isoSerials, against.report.builderSecurity);
    const comparison = compareArtifacts(against.report.artifacts, one.files);
    const builds = [
      { label: 'published', artifactsDir: '', report: against.source, files: against.report.artifacts },
      { label: 'rebuild', artifactsDir: one.artifactsDir, report: one.report, files: one.files },
    ];
    return { identical: comparison.identical, comparison, builds, diffoscope: [], diffoscopeNote: comparison.identical ? undefined : 'the published artifacts are not here to compare with diffoscope; fetch them and run: diffoscope PUBLISHED REBUILT' };
  }
  request.onBuild?.(1, 2, 'resolving the serials');
  const first = await build(deps, buildOne, request, 1, plan.request.pinnedSerials, request.build.builderSecurity);
  if (first.serials === undefined) throw new Error('the first build resolved no serials');
  request.onBuild?.(2, 2, `pinned to the first: ${Object.entries(first.serials.iso).map(([a, s]) => `${a}=${s}`).join(' ')}, builder debian-security=${first.serials.builderSecurity}`);
  const second = await build(deps, buildOne, request, 2, first.serials.iso, first.serials.builderSecurity);
  const comparison = compareArtifacts(first.files, second.files);
  const builds = [first, second].map((b, i) => ({ label: `build ${String(i + 1)}`, artifactsDir: b.artifactsDir, report: b.report, files: b.files }));
  if (comparison.identical) return { identical: true, comparison, builds, diffoscope: [], diffoscopeNote: undefined };
  const explained = await explain(deps, request.outputDir, comparison, first.artifactsDir, second.artifactsDir);
  return { identical: false, comparison, builds, ...explained };
}

async function build(deps: Deps, buildOne: BuildOne, request: VerifyRequest, n: number, pinned: Readonly<Record<string, string>> | undefined, builderSecurity: string | undefined): Promise<VmBuildResult> {
  const { plan } = request;
  const artifactsDir = join(request.outputDir, `build-${String(n)}`);
  const options = { ...plan.request.options, keepRunning: plan.request.options.rescue, forceCleanup: true };
  const fresh: IsoBuildPlan = {
    ...plan,
    request: { ...plan.request, artifactsDir, pinnedSerials: pinned, builderSecurity, options },
    vm: { ...plan.vm, keep: plan.request.options.rescue ? 'keep-on-failure' : 'destroy' },
  };
  const onStep = request.build.onStep;
  const result = await buildOne(deps, {
    ...request.build,
    plan: fresh,
    ...(builderSecurity === undefined ? {} : { builderSecurity }),
    ...(onStep === undefined ? {} : { onStep: (s: StepRecord) => { onStep({ ...s, id: `build-${String(n)}/${s.id}` }); } }),
  });
  if (!result.ok) {
    throw new UserError('verify-build-failed', `verify: build ${String(n)} failed (exit ${String(result.exitCode)}${result.bootTest !== undefined && !result.bootTest.ok ? `; boot test: ${result.bootTest.failure ?? ''}` : ''}), so there is nothing to compare. Its log is ${result.log}.`, {
      kind: 'external',
      hint: 'Fix the build first (tails-build iso shows the same failure); --rescue keeps the failed VM.',
    });
  }
  return result;
}

async function explain(deps: Deps, outputDir: string, comparison: Comparison, a: string, b: string): Promise<{ diffoscope: string[]; diffoscopeNote: string | undefined }> {
  const diffoscope = await deps.runner.which('diffoscope');
  if (diffoscope === undefined) return { diffoscope: [], diffoscopeNote: 'diffoscope is not installed (apt-get install --no-install-recommends diffoscope): only the hashes were compared' };
  const reports: string[] = [];
  const failed: string[] = [];
  for (const file of comparison.files.filter((f) => !f.identical && f.first !== undefined && f.second !== undefined)) {
    const out = join(outputDir, `diffoscope-${file.name}.txt`);
    // Exit 1 means "they differ": the report is what we want. Above 1, diffoscope itself failed.
    const run = await deps.runner.tryRun(command(diffoscope, ['--text', out, '--no-progress', join(a, file.name), join(b, file.secondName ?? file.name)], { effect: 'write', timeoutMs: 30 * 60_000 }));
    if (run.exitCode <= 1) reports.push(out);
    else failed.push(`${file.name} (exit ${String(run.exitCode)}: ${run.stderr.trim().split('\n').pop() ?? ''})`);
  }
  const note = failed.length === 0 ? undefined : `diffoscope could not compare ${failed.join('; ')}; run it by hand: diffoscope ${join(a, 'NAME')} ${join(b, 'NAME')}`;
  return { diffoscope: reports, diffoscopeNote: note };
}
