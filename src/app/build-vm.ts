/**
 * One build in a throwaway VM: vagrant-libvirt boots an overlay of the builder
 * box with the checkout shared read-only over 9p and the persistent
 * apt-cacher-ng disk attached; tails-build provisions it (branch lock, cache,
 * snapshot server), runs the build from a fresh clone, copies the artifacts
 * and its log back, and destroys the VM through libvirt — on success and on
 * failure, unless keeprunning (keep) or rescue (keep on failure) says not to.
 *
 * The steps are the plan's (core/iso-plan.ts): the same ids, order and
 * titles are what runs, what the events carry and what JUnit lists. Each is
 * one small function in build-vm-steps.ts; after a failure the rest are
 * skipped, saying why, except those that always run (artifacts, cleanup).
 */
import { basename, join } from 'node:path';
import type { AcceleratorChoice } from '../core/accelerator.js';
import type { BootTestResult } from '../core/boot-test.js';
import { assembleBuildReport, BOOT_LOG, BUILD_LOG, BUILD_REPORT, HOST_FILES, isHostFile, primaryCode, type ArtifactFile, type CacheUse, type VmAfter } from '../core/build-report.js';
import { CACHE_DISKS_DEFAULT, vmIdentity } from '../core/build-vm.js';
import { UserError, joinErrors } from '../core/errors.js';
import type { IsoBuildPlan } from '../core/iso-plan.js';
import type { ProjectConfig } from '../core/project.js';
import { progressOptions, runStepList, type ProgressMode, type Step, type StepRecord, type StepTiming } from '../ui/progress.js';
import { BUILD_STEPS, type BuildRun } from './build-vm-steps.js';
import type { BuildSerials } from './build-serials.js';
import { withCleanup } from './cleanup.js';
import type { Deps } from './deps.js';
import { excludeFromGit } from './git-exclude.js';

export { BOOT_LOG, BUILD_LOG, BUILD_REPORT, HOST_FILES, type ArtifactFile, type CacheUse };

export interface VmBuildRequest {
  readonly project: ProjectConfig;
  readonly plan: IsoBuildPlan;
  /** Run by bash in the fresh clone, inside the VM, with ARTIFACTS_DIR set; undefined when the plan refuses the build. */
  readonly buildCommand: string | undefined;
  readonly netns: string | undefined;
  readonly cacheRoot: string;
  readonly store: string;
  readonly toolRoot: string;
  readonly self: { readonly node: string; readonly script: string };
  readonly progress: ProgressMode;
  readonly renderStream: NodeJS.WriteStream;
  /** TAILS_BUILD_CACHE_MIN_FREE_MIB: below it, the cache disk counts as full. */
  readonly cacheMinFreeMiB?: number;
  /** The first apt-cacher-ng volume's name (TAILS_BUILD_CACHE_VOLUME; default CACHE_VOLUME). */
  readonly cacheVolume?: string;
  /** How many cache disks builds share, one build per disk (TAILS_BUILD_CACHE_DISKS; default CACHE_DISKS_DEFAULT). */
  readonly cacheDisks?: number;
  /** How long a build waits for a cache disk while every one is in use (TAILS_BUILD_LOCK_TIMEOUT). */
  readonly cacheWaitMs?: number;
  /** Pins the builder's debian-security snapshot (verify); default: the latest. */
  readonly builderSecurity?: string;
  /** Boot the ISO the build brought back (QEMU, no network) and wait for its marker. */
  readonly bootTest?: boolean;
  /** Called as each step ends, with the tail of its output (JUnit reports). */
  readonly onStep?: (record: StepRecord) => void;
}

export interface VmBuildResult {
  readonly ok: boolean;
  /** The recipe's exit code (1 when it never ran). */
  readonly exitCode: number;
  /** Why the build is not ok: the recipe failed, or the ISO did not boot (other failures are thrown). */
  readonly failure?: UserError | undefined;
  readonly accelerator: AcceleratorChoice;
  readonly domain: string;
  /** What became of the VM, as it happened. */
  readonly vm: VmAfter;
  readonly reused: boolean;
  /** A VM left by a build that died was destroyed first (what it was), else undefined. */
  readonly replaced?: string | undefined;
  readonly cacheDisk: boolean;
  /** The cache disk this build used (null: none, and why). */
  readonly cache: CacheUse;
  readonly artifactsDir: string;
  readonly artifacts: readonly string[];
  readonly log: string;
  readonly timings: readonly StepTiming[];
  /** The serials this build used: the ISO set resolved, and the builder's debian-security. */
  readonly serials: BuildSerials | undefined;
  /** The reproducible artifacts: name, size, sha256 (not the log, the report or the boot console). */
  readonly files: readonly ArtifactFile[];
  readonly bootTest: BootTestResult | undefined;
  readonly report: string;
}

/** Failures that end a build that ran: reported in the result (and the report); any other failure is thrown. */
const BUILD_OUTCOMES: readonly string[] = ['build-failed', 'boot-test-failed'];

export async function buildInVm(deps: Deps, request: VmBuildRequest): Promise<VmBuildResult> {
  const { plan, project } = request;
  const vm = vmIdentity(project.root, request.cacheRoot);
  const artifactsDir = plan.request.artifactsDir;
  return withCleanup(async (cleanup) => {
    const run: BuildRun = {
      deps,
      request,
      vm,
      cleanup,
      log: join(artifactsDir, BUILD_LOG),
      writeLog: () => undefined,
      logOpened: false,
      logError: () => undefined,
      record: { ref: plan.request.git.ref, commit: plan.request.git.commit, box: plan.basebox.name, serials: plan.serials },
      reused: false,
      setUp: false,
      notOurs: false,
      artifacts: [],
      failed: false,
    };
    // The plan's steps, each run by its function: nothing runs that the plan does not list.
    const steps: Step<BuildRun>[] = plan.steps.map((planned) => {
      const impl = BUILD_STEPS[planned.id];
      return {
        id: planned.id,
        title: planned.title,
        always: planned.always,
        ...(impl.doneTitle === undefined ? {} : { doneTitle: impl.doneTitle }),
        ...(impl.skip === undefined ? {} : { skip: impl.skip }),
        run: async (r, report) => {
          try {
            await impl.run(r, report);
          } catch (error) {
            r.failed = true;
            throw error;
          }
        },
      };
    });
    const outcome = await runStepList(steps, run, {
      ...progressOptions(request.progress, (text) => { deps.out.line(text); }, request.renderStream, () => deps.clock.now(), deps.out.progress),
      ...(request.onStep === undefined ? {} : { onStep: request.onStep }),
    });
    let failure = outcome.failures.reduce<unknown>((error, f) => (error === undefined ? f.error : joinErrors(error, f.error)), undefined);
    // Refused before the build dir was known to be writable: nothing to report in it.
    if (!run.logOpened) rethrow(failure ?? new Error('preflight did not open the build log'));
    const logError = run.logError();
    if (logError !== undefined) {
      failure = joinErrors(failure, new UserError('build-log-unwritable', `Writing the build log ${run.log} failed: ${logError.message}.`, {
        kind: 'external',
        hint: `Free space there, or send the artifacts elsewhere: tails-build iso --artifacts DIR (the VM was ${run.after?.vm ?? 'never started'})`,
      }));
    }
    const files = await hashArtifacts(deps, artifactsDir, run.artifacts);
    const cache: CacheUse = run.cache ?? { volume: null, disk: null, of: request.cacheDisks ?? CACHE_DISKS_DEFAULT, why: 'the VM did not start' };
    const after: VmAfter = run.after?.vm ?? 'never-started';
    const accelerator = run.accelerator ?? { accelerator: 'tcg' as const, reason: 'not probed' };
    const report = assembleBuildReport({
      plan,
      finishedAt: deps.clock.now().toISOString(),
      serials: run.record.serials,
      builderSecurity: run.serials?.builderSecurity ?? null,
      exitCode: run.exitCode ?? null,
      vm: {
        domain: vm.domain,
        accelerator: accelerator.accelerator,
        reused: run.reused,
        ...(run.replaced === undefined ? {} : { replaced: run.replaced }),
        cache,
        ...(run.boot === undefined ? {} : { boot: run.boot.direct === null ? { direct: false as const, why: run.boot.why } : { direct: true as const } }),
        after,
        ...(run.after?.error === undefined ? {} : { afterError: run.after.error }),
      },
      bootTest: run.bootTest ?? null,
      timings: outcome.timings,
      artifacts: files,
      failure,
    });
    try {
      await deps.disk.writeText(join(artifactsDir, BUILD_REPORT), `${JSON.stringify(report, null, 2)}\n`);
      // The boot consoles (one per machine) are the host's too: never "uncommitted changes" for the next build.
      await excludeFromGit(deps, project.root, artifactsDir, [...HOST_FILES, ...bootLogs(run), ...run.artifacts]);
    } catch (error) {
      failure = joinErrors(failure, error);
    }
    const code = primaryCode(failure);
    if (failure !== undefined && (code === undefined || !BUILD_OUTCOMES.includes(code) || !(failure instanceof UserError))) rethrow(failure);
    return {
      ok: failure === undefined,
      exitCode: run.exitCode ?? 1,
      failure,
      accelerator,
      domain: vm.domain,
      vm: after,
      reused: run.reused,
      replaced: run.replaced,
      cacheDisk: cache.volume !== null,
      cache,
      artifactsDir,
      artifacts: [...HOST_FILES.filter((f) => f !== BOOT_LOG), ...bootLogs(run), ...run.artifacts.filter((a) => !isHostFile(a))],
      log: run.log,
      timings: outcome.timings,
      serials: run.serials,
      files,
      bootTest: run.bootTest,
      report: join(artifactsDir, BUILD_REPORT),
    };
  });
}

/** The boot test's console logs, by name (boot-test.log first). */
function bootLogs(run: BuildRun): string[] {
  return [...new Set((run.bootTest?.machines ?? []).map((m) => basename(m.log)))];
}

/** Throws what a step threw, whatever it is (a bug's error stays a bug's). */
function rethrow(error: unknown): never {
  throw error;
}

/** Name, size and sha256 of each artifact the recipe wrote (the host's own files are not among them). */
async function hashArtifacts(deps: Deps, dir: string, names: readonly string[]): Promise<ArtifactFile[]> {
  const files: ArtifactFile[] = [];
  for (const name of names.filter((a) => !isHostFile(a))) {
    const path = join(dir, name);
    const info = await deps.disk.stat(path);
    if (info?.kind === 'file') files.push({ name, bytes: info.bytes, sha256: await deps.disk.sha256File(path) });
  }
  return files;
}
