/**
 * The flags the build commands (`iso`, `verify`) share: declared once
 * (addBuildFlags), and read into what planning and running a build need
 * (isoInputs, vmBuildBase).
 */
import { Option, type Command } from 'commander';
import type { IsoRequestInputs } from '../app/iso-plan.js';
import type { VmBuildRequest } from '../app/build-vm.js';
import { splitOptionString, tokensFromFlags, type BuildFlags } from '../core/build-options.js';
import { isAbsolute, join, resolve } from 'node:path';
import { UsageError } from '../core/errors.js';
import { messages } from '../core/messages/index.js';
import { boxStoreSettings, cacheDisks, cacheRoot, cacheVolume, ciEnvSet, progressMode, snapshotStoreDir, vmNetns, type CliContext, type GlobalOptions } from './context.js';

/** The flags addBuildFlags declares, as commander hands them over. */
export interface BuildCommandFlags extends BuildFlags {
  readonly bootTest?: boolean;
  readonly store?: string;
  readonly junit?: string;
  readonly builderSecuritySerial?: string;
}

/**
 * Declares the flags `iso` and `verify` share on `cmd`: the boot test (its
 * description says what it does for that command), where from, and Tails'
 * build options.
 */
export function addBuildFlags(cmd: Command, bootTest: string): Command {
  return cmd
    .option('--boot-test', bootTest)
    .option('--store <dir>', 'the local snapshot store the VM is served from (default: <cache>/snapshots)')
    .option('--junit <file>', 'also write a JUnit XML report there: one testcase per step, failures with their message and hint (Jenkins: junit)')
    .option('--builder-security-serial <serial>', "pin the builder's debian-security snapshot (default: the latest; a report's builderSecurity reproduces it)")
    .option('--keep-running', 'keep the VM and reuse it for the next build of the same ref (keeprunning)')
    .option('--rescue', 'keep a failed VM and its build dir for inspection (rescue)')
    .option('--force-cleanup', 'destroy any builder VM before the build, and always after (forcecleanup)')
    .option('--ignore-changes', 'build HEAD even though the tree has uncommitted changes (ignorechanges)')
    .option('--offline', "apt-cacher-ng in offline mode (it serves only what the cache disk holds) and no security upgrade of the builder (it keeps its box's debian-security snapshot); the VM keeps its network, and a build without a cache disk fetches from the snapshot server as usual (offline)")
    .option('--cpus <n>', 'VM CPUs (cpus=N; default: the host CPUs)')
    .option('--memory <mib>', 'VM memory in MiB (memory=N; default: computed from CPUs and --ram)')
    .option('--ram', 'build in a tmpfs inside the VM (ram, the default)')
    .option('--no-ram', 'build on the VM disk, with far less memory (noram)')
    .addOption(new Option('--proxy <mode>', 'APT proxy (vmproxy, extproxy, vmproxy+extproxy, noproxy)').choices(['vmproxy', 'extproxy', 'vmproxy+extproxy', 'noproxy']))
    .option('--date-offset <days>', 'set the VM clock N days off, e.g. --date-offset=-3 (dateoffset=±N)')
    .option('--cache-website [yes|no]', 'use the website build cache (cachewebsite[=yes|no])')
    .option('--no-cache-website', 'do not use the website build cache')
    .addOption(new Option('--compression <kind>', 'squashfs compression: fast (zstd) or default (release)').choices(['fast', 'default']))
    .option('--machine-type <type>', 'QEMU machine type (machinetype=, default q35)')
    .option('--cpu-model <model>', 'QEMU CPU model (cpumodel=; default host-passthrough on KVM, qemu64 on TCG)');
}

/** What `iso` and `verify` read from flags and the environment to plan a build. */
export function isoInputs(ctx: CliContext, flags: BuildCommandFlags & { readonly artifacts?: string }, dryRun: boolean): IsoRequestInputs {
  return {
    optionWords: [...splitOptionString(ctx.env.TAILS_BUILD_OPTIONS), ...tokensFromFlags(flags)],
    httpProxy: ctx.env.http_proxy ?? ctx.env.HTTP_PROXY,
    // Jenkins sets GIT_BRANCH/GIT_COMMIT; another CI (GitLab: see contrib/gitlab) may export them too.
    ci: { jenkinsUrl: ctx.env.JENKINS_URL !== undefined && ctx.env.JENKINS_URL !== '' ? ctx.env.JENKINS_URL : ciEnvSet(ctx) ? 'CI' : undefined, gitBranch: ctx.env.GIT_BRANCH, gitCommit: ctx.env.GIT_COMMIT },
    artifactsDir: flags.artifacts ?? ctx.env.ARTIFACTS,
    cwd: ctx.cwd,
    pinnedSerialsJson: ctx.env.APT_SNAPSHOTS_SERIALS,
    dryRun,
    builderSecurity: flags.builderSecuritySerial,
    bootTest: flags.bootTest === true,
    // The base-branch merge's throwaway repository (a Tails checkout): $TMPDIR, as mktemp uses it.
    scratchDir: ctx.env.TMPDIR !== undefined && ctx.env.TMPDIR !== '' ? ctx.env.TMPDIR : '/tmp',
  };
}

/**
 * Where `verify` writes build-1/, build-2/ and verify-report.json: `--artifacts`
 * (the flag iso has for its artifacts; `--output` is its older name), else
 * `<artifactsDir>/verify`, artifactsDir being ARTIFACTS or the project root.
 */
export function verifyOutputDir(cwd: string, flags: { readonly artifacts?: string; readonly output?: string }, artifactsDir: string): string {
  const explicit = verifyExplicitDir(cwd, flags);
  return explicit ?? join(artifactsDir, 'verify');
}

/** The directory `verify --artifacts` (or `--output`) names, absolute; undefined when neither is given. */
export function verifyExplicitDir(cwd: string, flags: { readonly artifacts?: string; readonly output?: string }): string | undefined {
  const { artifacts, output } = flags;
  if (artifacts !== undefined && output !== undefined && resolve(cwd, artifacts) !== resolve(cwd, output)) throw messages.verify.twoOutputDirs(artifacts, output);
  const dir = artifacts ?? output;
  if (dir === undefined) return undefined;
  return isAbsolute(dir) ? dir : resolve(cwd, dir);
}

/** Everything a VM build needs besides the project and the plan. */
export function vmBuildBase(ctx: CliContext, globals: GlobalOptions, flags: BuildCommandFlags, buildCommand: string | undefined): Omit<VmBuildRequest, 'project' | 'plan'> {
  // undefined: the plan refuses the build (a Tails checkout), and its first step says so.
  return {
    buildCommand,
    netns: vmNetns(ctx),
    cacheRoot: cacheRoot(ctx),
    store: snapshotStoreDir(ctx, flags.store),
    toolRoot: ctx.toolRoot,
    self: ctx.self,
    progress: progressMode(ctx, globals),
    renderStream: ctx.stderrStream,
    bootTest: flags.bootTest === true,
    cacheVolume: cacheVolume(ctx),
    cacheDisks: cacheDisks(ctx),
    cacheWaitMs: boxStoreSettings(ctx).lockTimeoutMs,
    ...(flags.builderSecuritySerial === undefined ? {} : { builderSecurity: flags.builderSecuritySerial }),
    ...cacheMinFree(ctx.env.TAILS_BUILD_CACHE_MIN_FREE_MIB),
  };
}

function cacheMinFree(value: string | undefined): { cacheMinFreeMiB?: number } {
  if (value === undefined || value === '') return {};
  if (!/^\d+$/.test(value)) throw new UsageError('bad-env', `TAILS_BUILD_CACHE_MIN_FREE_MIB=${value} is not a number of MiB.`, 'Set it to a whole number, e.g. TAILS_BUILD_CACHE_MIN_FREE_MIB=2048, or unset it (default 1024).');
  return { cacheMinFreeMiB: Number(value) };
}
