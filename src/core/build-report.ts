/**
 * build-report.json as pure data: what was built, from what, how, what became
 * of the VM, and the sha256 of every artifact the recipe wrote. The build
 * (app/build-vm.ts) hashes the files and writes the document; this module
 * decides what goes in it.
 */
import type { BootTestResult } from './boot-test.js';
import type { IsoBuildPlan } from './iso-plan.js';
import { UserError, CleanupError } from './errors.js';

export const BUILD_REPORT_SCHEMA = 'tails-build/build-report@1';
export const BUILD_LOG = 'build.log';
/** What was built, from what, how, and the sha256 of every artifact. */
export const BUILD_REPORT = 'build-report.json';
/** The serial console of the boot test. */
export const BOOT_LOG = 'boot-test.log';
/** Files the host writes next to the artifacts: never part of what must be reproducible. */
export const HOST_FILES: readonly string[] = [BUILD_LOG, BUILD_REPORT, BOOT_LOG];

/** The host's own files are not the build's output: what is left is what must be reproducible. */
export function isHostFile(name: string): boolean {
  return HOST_FILES.includes(name) || /^boot-test(-[a-z0-9]+)?\.log$/.test(name);
}

/** How long a step took and how it ended (ui/progress.ts's StepTiming). */
export interface StepTiming {
  readonly id: string;
  readonly status: 'done' | 'skipped' | 'failed';
  readonly ms: number;
}

export interface ArtifactFile {
  readonly name: string;
  readonly bytes: number;
  readonly sha256: string;
}

export interface CacheUse {
  readonly volume: string | null;
  /** 1-based place in the pool; null without a disk. */
  readonly disk: number | null;
  readonly of: number;
  readonly why?: string;
}

/**
 * What became of the build VM, as it happened (recorded after the cleanup ran):
 * destroyed, kept on purpose (reusable), kept for a look only (prunable), left
 * alone (another build's), never started, or a destroy that failed.
 */
export type VmAfter = 'destroyed' | 'kept' | 'kept-prunable' | 'left' | 'never-started' | 'destroy-failed';

export interface BuildReportInput {
  readonly plan: IsoBuildPlan;
  readonly finishedAt: string;
  /** The serials the build used, every one numeric (the plan's may say "latest"). */
  readonly serials: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly builderSecurity: string | null;
  /** The recipe's exit code; null when it never ran. */
  readonly exitCode: number | null;
  readonly vm: {
    readonly domain: string;
    readonly accelerator: string;
    readonly reused: boolean;
    /** Set when a VM left by a build that died was destroyed first, and why. */
    readonly replaced?: string;
    readonly cache: CacheUse;
    /** How the VM booted its box, when this build started it: the box's kernel directly, or from its disk and why. */
    readonly boot?: { readonly direct: true } | { readonly direct: false; readonly why: string };
    readonly after: VmAfter;
    /** Why the destroy failed, for `destroy-failed`. */
    readonly afterError?: string;
  };
  readonly bootTest: BootTestResult | null;
  readonly timings: readonly StepTiming[];
  readonly artifacts: readonly ArtifactFile[];
  /** The first failure, if any. */
  readonly failure: unknown;
}

export interface BuildReport {
  readonly schema: typeof BUILD_REPORT_SCHEMA;
  readonly ok: boolean;
  readonly exitCode: number | null;
  readonly error: { readonly code: string; readonly message: string } | null;
  readonly finishedAt: string;
  readonly git: IsoBuildPlan['request']['git'];
  readonly box: string;
  readonly serials: BuildReportInput['serials'];
  readonly builderSecurity: string | null;
  readonly serialsDeclared: IsoBuildPlan['serials'];
  readonly options: readonly string[];
  readonly compression: 'fast' | 'default';
  readonly vm: BuildReportInput['vm'] & { readonly cpus: number; readonly memoryMiB: number; readonly cacheDisk: boolean };
  readonly bootTest: BootTestResult | null;
  readonly timings: readonly StepTiming[];
  readonly artifacts: readonly ArtifactFile[];
  readonly log: string;
}

export function assembleBuildReport(input: BuildReportInput): BuildReport {
  const { plan } = input;
  const bootFailed = input.bootTest !== null && !input.bootTest.ok;
  const ok = input.failure === undefined && input.exitCode === 0 && !bootFailed;
  return {
    schema: BUILD_REPORT_SCHEMA,
    ok,
    exitCode: input.exitCode,
    error: input.failure === undefined ? null : describeError(input.failure),
    finishedAt: input.finishedAt,
    git: plan.request.git,
    box: plan.basebox.name,
    serials: input.serials,
    builderSecurity: input.builderSecurity,
    serialsDeclared: plan.serials,
    options: plan.request.optionWords.map((w) => w.text),
    compression: plan.request.options.compression,
    vm: { ...input.vm, cpus: plan.vm.cpus, memoryMiB: plan.vm.memoryMiB, cacheDisk: input.vm.cache.volume !== null },
    bootTest: input.bootTest,
    timings: input.timings,
    artifacts: [...input.artifacts].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    log: BUILD_LOG,
  };
}

/** The code and message of a failure, for the report (a cleanup failure keeps the outcome's code). */
export function describeError(error: unknown): { code: string; message: string } {
  if (error instanceof UserError) return { code: error.code, message: error.message };
  return { code: 'internal', message: error instanceof Error ? error.message : String(error) };
}

/** The code of what went wrong first: a cleanup failure joined to an outcome keeps the outcome's. */
export function primaryCode(error: unknown): string | undefined {
  if (error instanceof CleanupError) return error.primary === undefined ? error.code : primaryCode(error.primary);
  return error instanceof UserError ? error.code : undefined;
}
