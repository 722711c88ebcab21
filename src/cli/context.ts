/**
 * What the CLI learned from the process, once (STYLE rule 9): argv, env, cwd,
 * streams. Nothing below cli/ reads process.* directly.
 */
import type { libvirtdNetns, ownNetns } from '../adapters/host.js';
import type { Command } from 'commander';
import { resolve as resolvePath } from 'node:path';
import type { createDeps, BoxStoreSettings, Deps, Mode } from '../app/deps.js';
import type { diskFiles } from '../adapters/disk-file.js';
import { UsageError, UserError } from '../core/errors.js';
import type * as BuildVm from '../core/build-vm.js';
import type { DiskFiles } from '../core/ports.js';
import { createOutput, type Output, type Writable } from '../ui/output.js';
import type { EventStreamState } from '../ui/events.js';
import type { ProgressExtras } from '../ui/progress.js';
import { VERSION } from './version.js';

export interface CliContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly stdoutIsTTY: boolean;
  readonly stdinIsTTY?: boolean;
  /** Whether stdout has become an event stream (long commands with --json); runCli reports errors into it. */
  readonly events?: EventStreamState;
  /** The process's stderr stream, where progress renders. */
  readonly stderrStream: NodeJS.WriteStream;
  /** The effective uid (root decides the default cache dir). */
  readonly uid: number | undefined;
  /** Aborted by SIGINT/SIGTERM. */
  readonly signal: AbortSignal;
  /** The tool's own checkout/package root (its definitions/ are the defaults). */
  readonly toolRoot: string;
  /** How to run this very CLI again (node + main script), e.g. inside a network namespace. */
  readonly self: { readonly node: string; readonly script: string };
}

/**
 * What commands reach the world through (app/deps.ts, the adapters it wires,
 * core/build-vm's cache defaults), loaded when a command runs, not when the
 * program is built: `--help` and usage errors load none of it. program.ts loads
 * it in a preAction hook, before any action; the functions below that need it
 * (depsFor, filesFor, vmNetns, boxStoreSettings, cacheDisks, cacheVolume) are
 * only called from actions.
 */
interface CommandRuntime {
  readonly createDeps: typeof createDeps;
  readonly diskFiles: typeof diskFiles;
  readonly libvirtdNetns: typeof libvirtdNetns;
  readonly ownNetns: typeof ownNetns;
  readonly defaultLockDir: string;
  readonly buildVm: typeof BuildVm;
}

let runtime: CommandRuntime | undefined;

/** Loads the command runtime (once); the program's preAction hook awaits it. */
export async function loadCommandRuntime(): Promise<void> {
  if (runtime !== undefined) return;
  const [deps, disk, host, lock, buildVm] = await Promise.all([
    import('../app/deps.js'),
    import('../adapters/disk-file.js'),
    import('../adapters/host.js'),
    import('../adapters/lock.js'),
    import('../core/build-vm.js'),
  ]);
  runtime = {
    createDeps: deps.createDeps,
    diskFiles: disk.diskFiles,
    libvirtdNetns: host.libvirtdNetns,
    ownNetns: host.ownNetns,
    defaultLockDir: lock.DEFAULT_LOCK_DIR,
    buildVm,
  };
}

function loaded(): CommandRuntime {
  if (runtime === undefined) throw new Error('the command runtime is not loaded: call loadCommandRuntime() first (program.ts does, before every action)');
  return runtime;
}

export interface GlobalOptions {
  readonly project: string | undefined;
  readonly json: boolean;
  readonly verbose: boolean;
  /** --json-output: steps' output lines on the event stream. */
  readonly jsonOutput: boolean;
  /** --ci / --no-ci; undefined: decided from the environment. */
  readonly ci: boolean | undefined;
}

export function globalsOf(cmd: Command): GlobalOptions {
  const o = cmd.optsWithGlobals<{ project?: string; json?: boolean; verbose?: boolean; jsonOutput?: boolean; ci?: boolean }>();
  return { project: o.project, json: o.json === true, verbose: o.verbose === true, jsonOutput: o.jsonOutput === true, ci: o.ci };
}

/** How often CI mode says a long step is still running (TAILS_BUILD_HEARTBEAT_SECONDS, default 60; 0: never). */
export const HEARTBEAT_ENV = 'TAILS_BUILD_HEARTBEAT_SECONDS';

export function progressExtras(ctx: CliContext, globals: GlobalOptions): ProgressExtras {
  const raw = ctx.env[HEARTBEAT_ENV];
  if (raw !== undefined && raw !== '' && !/^\d+$/.test(raw)) throw new UsageError('bad-env', `${HEARTBEAT_ENV}=${raw} is not a whole number of seconds.`, `Set it to e.g. ${HEARTBEAT_ENV}=30, 0 for none, or unset it (60).`);
  const ci = isCi(ctx, globals);
  const forced = ctx.env.FORCE_COLOR !== undefined && ctx.env.FORCE_COLOR !== '' && ctx.env.FORCE_COLOR !== '0';
  return {
    outputLines: globals.jsonOutput,
    heartbeatMs: ci ? Number(raw === undefined || raw === '' ? 60 : raw) * 1000 : 0,
    noColor: !forced && (ci || (ctx.env.NO_COLOR !== undefined && ctx.env.NO_COLOR !== '')),
  };
}

export function outputFor(ctx: CliContext, globals: GlobalOptions): Output {
  const events = ctx.events ?? { active: false, outputLines: false };
  events.outputLines = globals.jsonOutput;
  return createOutput({
    stdout: ctx.stdout,
    stderr: ctx.stderr,
    json: globals.json,
    verbose: globals.verbose,
    events,
    version: VERSION,
    // cli/ is where process facts are read.
    nodeVersion: process.versions.node,
    progress: progressExtras(ctx, globals),
  });
}

/** Deps for a command, with the output mode its global flags ask for. */
export function depsFor(ctx: CliContext, cmd: Command, extra: { dryRun?: boolean } = {}): { deps: Deps; globals: GlobalOptions } {
  const globals = globalsOf(cmd);
  const out = outputFor(ctx, globals);
  return { deps: loaded().createDeps({ dryRun: extra.dryRun === true, env: ctx.env, http: httpTuning(ctx), boxStore: boxStoreSettings(ctx), signal: ctx.signal }, out), globals };
}

/**
 * The files port (the adapter deps.disk is), for what cli/ writes outside a
 * command's deps: the JUnit report, written whatever happened.
 */
export function filesFor(_ctx: CliContext): DiskFiles {
  return loaded().diskFiles;
}

/**
 * Tuning knobs for the HTTP client (tests shorten the backoff):
 * TAILS_BUILD_HTTP_BACKOFF_MS (first retry delay, default 500),
 * TAILS_BUILD_HTTP_TIMEOUT_MS (per attempt, default 20000),
 * TAILS_BUILD_HTTP_RETRIES (default 3).
 */
export const HTTP_ENV = {
  backoffMs: 'TAILS_BUILD_HTTP_BACKOFF_MS',
  timeoutMs: 'TAILS_BUILD_HTTP_TIMEOUT_MS',
  retries: 'TAILS_BUILD_HTTP_RETRIES',
} as const;

function httpTuning(ctx: CliContext): NonNullable<Mode['http']> {
  const tuning: { -readonly [K in keyof NonNullable<Mode['http']>]: number } = {};
  for (const [key, name] of Object.entries(HTTP_ENV) as [keyof typeof HTTP_ENV, string][]) {
    const value = ctx.env[name];
    if (value === undefined || value === '') continue;
    if (!/^\d+$/.test(value)) throw new UsageError('bad-env', `${name} must be a whole number, got "${value}".`, `Unset ${name} or give it a number.`);
    tuning[key] = Number(value);
  }
  return tuning;
}

/**
 * The cache root for snapshots, boxes and build state, outside any checkout:
 * TAILS_BUILD_CACHE, else /var/cache/tails-build for root, else
 * $XDG_CACHE_HOME/tails-build (~/.cache/tails-build).
 */
export function cacheRoot(ctx: CliContext): string {
  const explicit = ctx.env.TAILS_BUILD_CACHE;
  if (explicit !== undefined && explicit !== '') return explicit;
  if (ctx.uid === 0) return '/var/cache/tails-build';
  const xdg = ctx.env.XDG_CACHE_HOME;
  const base = xdg !== undefined && xdg !== '' ? xdg : `${ctx.env.HOME ?? '/tmp'}/.cache`;
  return `${base}/tails-build`;
}

/** The local snapshot store: `--store DIR`, else `<cache root>/snapshots`. */
export function snapshotStoreDir(ctx: CliContext, flag: string | undefined): string {
  return flag === undefined ? `${cacheRoot(ctx)}/snapshots` : resolvePath(ctx.cwd, flag);
}

/** How progress is shown: JSON events with --json, listr2 on a terminal, timestamped lines in CI mode. */
export function progressMode(ctx: CliContext, globals: GlobalOptions): 'json' | 'tty' | 'lines' {
  if (globals.json) return 'json';
  return isCi(ctx, globals) ? 'lines' : 'tty';
}

/**
 * The network namespace vagrant, ssh and scp must enter to reach VM networks:
 * TAILS_BUILD_NETNS when set ("" for none), else the one libvirtd runs in;
 * none when this process already runs there (a session started inside it).
 * Entering one takes root (`ip netns exec`): any other user is told how to
 * start a session inside it instead.
 */
export function vmNetns(ctx: CliContext): string | undefined {
  const set = ctx.env.TAILS_BUILD_NETNS;
  const ns = set === undefined ? loaded().libvirtdNetns() : set === '' ? undefined : set;
  if (ns === undefined || loaded().ownNetns() === ns) return undefined;
  if (ctx.uid !== undefined && ctx.uid !== 0) {
    const user = ctx.env.USER ?? ctx.env.LOGNAME ?? String(ctx.uid);
    throw new UserError('netns-needs-root', `VM networks live in the network namespace ${ns} (where libvirtd runs), and entering it takes root (ip netns exec); this runs as ${user} (uid ${String(ctx.uid)}), outside it.`, {
      kind: 'prerequisite',
      hint: `Start your session inside it once, as root: ip netns exec ${ns} runuser -u ${user} -- bash -l — then run tails-build there (a Jenkins agent: start it that way).`,
    });
  }
  return ns;
}

/**
 * Whether we run unattended (Jenkins, GitLab, our .ci/run): --ci / --no-ci,
 * else CI, JENKINS_URL or BUILD_ID set, or stdin or stderr not a terminal.
 * Then: never prompt, timestamped lines, no colour, "still running" lines.
 */
export function isCi(ctx: CliContext, globals?: GlobalOptions): boolean {
  if (globals?.ci !== undefined) return globals.ci;
  const set = (name: string): boolean => ctx.env[name] !== undefined && ctx.env[name] !== '';
  if (ciEnvSet(ctx) || set('JENKINS_URL') || set('BUILD_ID')) return true;
  return ctx.stdinIsTTY !== true || !ctx.stderrStream.isTTY;
}

/** CI set in the environment (not merely no TTY): a CI system, which may state the ref it builds. */
export function ciEnvSet(ctx: CliContext): boolean {
  const ci = ctx.env.CI;
  return ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0';
}

/**
 * Where builder boxes live and how long to wait for the host lock:
 * VAGRANT_HOME (default ~/.vagrant.d), LIBVIRT_DEFAULT_URI (default
 * qemu:///system, as vagrant-libvirt), TAILS_BUILD_LOCK_DIR (default
 * /run/lock/tails-build), TAILS_BUILD_LOCK_TIMEOUT in seconds (default 1800).
 */
export const BOX_STORE_ENV = { lockDir: 'TAILS_BUILD_LOCK_DIR', lockTimeout: 'TAILS_BUILD_LOCK_TIMEOUT' } as const;

export function boxStoreSettings(ctx: CliContext): BoxStoreSettings {
  const timeout = nonEmpty(ctx.env[BOX_STORE_ENV.lockTimeout]);
  if (timeout !== undefined && !/^\d+$/.test(timeout)) {
    throw new UsageError('bad-env', `${BOX_STORE_ENV.lockTimeout} must be a whole number of seconds, got "${timeout}".`, `Unset ${BOX_STORE_ENV.lockTimeout} or give it a number.`);
  }
  return {
    vagrantHome: nonEmpty(ctx.env.VAGRANT_HOME) ?? `${ctx.env.HOME ?? '/root'}/.vagrant.d`,
    libvirtUri: nonEmpty(ctx.env.LIBVIRT_DEFAULT_URI) ?? 'qemu:///system',
    lockDir: nonEmpty(ctx.env[BOX_STORE_ENV.lockDir]) ?? loaded().defaultLockDir,
    lockTimeoutMs: (timeout === undefined ? 1800 : Number(timeout)) * 1000,
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** How many apt-cacher-ng disks builds share, one build per disk: TAILS_BUILD_CACHE_DISKS (default CACHE_DISKS_DEFAULT). */
export function cacheDisks(ctx: CliContext): number {
  const { CACHE_DISKS_DEFAULT, CACHE_DISKS_MAX } = loaded().buildVm;
  const value = ctx.env.TAILS_BUILD_CACHE_DISKS;
  if (value === undefined || value === '') return CACHE_DISKS_DEFAULT;
  if (!/^[1-9]\d*$/.test(value) || Number(value) > CACHE_DISKS_MAX) {
    throw new UsageError('bad-env', `TAILS_BUILD_CACHE_DISKS=${value} is not a number of cache disks from 1 to ${String(CACHE_DISKS_MAX)}.`, `Set it to how many builds may run at once on this host, e.g. TAILS_BUILD_CACHE_DISKS=3, or unset it (default ${String(CACHE_DISKS_DEFAULT)}).`);
  }
  return Number(value);
}

/** The persistent apt-cacher-ng volume: TAILS_BUILD_CACHE_VOLUME (tests use their own), else the default. */
export function cacheVolume(ctx: CliContext): string {
  const name = ctx.env.TAILS_BUILD_CACHE_VOLUME;
  if (name === undefined || name === '') return loaded().buildVm.CACHE_VOLUME;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*\.qcow2$/.test(name)) {
    throw new UsageError('bad-env', `TAILS_BUILD_CACHE_VOLUME=${name} is not a volume name (letters, digits, ._- ending in .qcow2).`, 'Set it to e.g. TAILS_BUILD_CACHE_VOLUME=my-apt-cacher-ng.qcow2, or unset it.');
  }
  return name;
}
