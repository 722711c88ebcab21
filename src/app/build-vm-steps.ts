/**
 * The steps of one build in a throwaway VM, one small function per step of
 * the plan (core/iso-plan.ts BUILD_STEP_IDS), each registering the cleanup of
 * what it acquires (vagrant-libvirt's actions, debos' Verify/Run/Cleanup).
 * build-vm.ts runs them in the plan's order; they share one BuildRun.
 */
import { describeVmNetwork, ensureVmNetwork } from './vm-network.js';
import { describeBoxBoot, findBoxBoot, type BoxBoot } from './box-boot.js';
import { join } from 'node:path';
import type { AcceleratorChoice } from '../core/accelerator.js';
import type { BootTestResult } from '../core/boot-test.js';
import { BOOT_LOG, type CacheUse, type VmAfter } from '../core/build-report.js';
import {
  buildEnv,
  CACHE_DISK_SERIAL,
  CACHE_DISKS_DEFAULT,
  CACHE_VOLUME,
  guestScript,
  planVmSettings,
  provisionEnv,
  provisionFailure,
  vmFate,
  type VmIdentity,
  type VmRecord,
} from '../core/build-vm.js';
import { InterruptedError, UserError } from '../core/errors.js';
import type { BuildStepId } from '../core/iso-plan.js';
import { messages } from '../core/messages/index.js';
import type { FailedStep } from '../ui/progress.js';
import { retrieveArtifacts } from './artifacts.js';
import { LIBVIRT_LOCK } from './basebox-import.js';
import { bootTestIso } from './boot-test.js';
import { afterTitle, replaceDeadBuildsVm, settleVm } from './build-vm-end.js';
import { checkBasebox, checkHost } from './build-vm-preflight.js';
import { destroyVm, guestSsh, readRunningSettings, runVagrant, sshWithConfig, toolScript, vagrantCommands, writeRunRecord, type GuestCommand } from './build-vm-access.js';
import { resolveBuildSerials, type BuildSerials } from './build-serials.js';
import { takeCacheDisk } from './cache-disk.js';
import type { CleanupStack } from './cleanup.js';
import type { Deps } from './deps.js';
import { serveSnapshotsOverSsh } from './guest-snapshots.js';
import type { VmBuildRequest } from './build-vm.js';
import { TAILS_CACHE_VOLUME } from '../core/tails-vm.js';
import { checkTailsSubmodules } from './tails-submodules.js';
import {
  checkTailsScripts,
  runTailsBuild,
  runTailsSetup,
  servesLocalSnapshots,
  TAILS_ARTIFACTS,
  tailsProvisionedTitle,
  tailsRunDisks,
  tailsShares,
  tailsSubmoduleRevs,
  takeWebsiteDisk,
  uploadTailsMerge,
} from './tails-vm-steps.js';

/** What the steps of one build share: the request, and what each step found or made. */
export interface BuildRun {
  readonly deps: Deps;
  readonly request: VmBuildRequest;
  readonly vm: VmIdentity;
  readonly cleanup: CleanupStack;
  /** The build log on the host (opened by preflight, once the artifacts dir is known to be writable). */
  readonly log: string;
  writeLog: (line: string) => void;
  logOpened: boolean;
  logError: () => Error | undefined;
  record: VmRecord;
  accelerator?: AcceleratorChoice;
  serials?: BuildSerials;
  /** A kept VM of this checkout was reused (no boot). */
  reused: boolean;
  /** A VM left running by a build that died was destroyed first: why. */
  replaced?: string;
  cache?: CacheUse;
  /** How vm-up booted the box (unset for a reused VM). */
  boot?: BoxBoot;
  /** The VM came up and was provisioned (or was reused, up already). */
  setUp: boolean;
  /** Kept by an earlier build for another ref or box: not ours to destroy. */
  notOurs: boolean;
  ssh?: GuestCommand;
  /** The recipe's exit code, once it ran. */
  exitCode?: number;
  artifacts: string[];
  bootTest?: BootTestResult;
  /** What became of the VM, once the cleanup ran. */
  after?: { readonly vm: VmAfter; readonly error?: string };
  /** Whether the build failed so far (for the keep/rescue decision). */
  failed: boolean;
}

export interface BuildStep {
  readonly doneTitle?: (run: BuildRun) => string;
  readonly skip?: (run: BuildRun, failed: FailedStep | undefined) => string | undefined;
  readonly run: (run: BuildRun, report: (line: string) => void) => Promise<void>;
}

/** One function per step of the plan: the plan's ids are exactly these keys. */
export const BUILD_STEPS: Readonly<Record<BuildStepId, BuildStep>> = {
  preflight: { run: preflightStep },
  basebox: { run: async (run) => checkBasebox(run.deps, run.request) },
  accelerator: {
    run: async (run, report) => {
      run.accelerator = await run.deps.accelerator.probe();
      report(`${run.accelerator.accelerator}: ${run.accelerator.reason}`);
      run.deps.out.info(`accelerator: ${run.accelerator.accelerator} (${run.accelerator.reason})`);
    },
  },
  'resolve-serials': { run: resolveSerialsStep },
  'vm-up': {
    doneTitle: (run) =>
      `Started the build VM from ${run.request.plan.basebox.name} (checkout over 9p, ${run.cache?.volume === null || run.cache === undefined ? 'no cache disk' : `cache disk ${run.cache.volume}`})${run.reused ? ', reused (keeprunning)' : ''}${run.replaced === undefined ? '' : `, after destroying ${run.replaced}`}`,
    run: vmUpStep,
  },
  provision: {
    // Without a cache disk, provisioning mounts none and stops apt-cacher-ng: the title says so.
    doneTitle: (run) => run.request.project.kind === 'tails' ? tailsProvisionedTitle(run) : `Provisioned: branch lock for ${run.record.ref}, ${run.cache?.volume !== null && run.cache !== undefined ? 'cache disk mounted, apt-cacher-ng running' : 'no cache disk (apt goes straight to the snapshot server)'}, the snapshot server forwarded by ssh`,
    run: provisionStep,
  },
  build: { run: buildStep },
  artifacts: {
    skip: (run, failed) => (failed?.error instanceof InterruptedError ? 'interrupted' : run.ssh === undefined ? 'the VM never came up, so it holds no artifacts' : undefined),
    run: async (run) => {
      if (run.ssh === undefined) throw new Error('the VM was not provisioned');
      const from = { ssh: run.ssh, netns: run.request.netns, sshConfig: join(run.vm.stateDir, 'ssh-config') };
      run.artifacts = await retrieveArtifacts(run.deps, run.request.project.kind === 'tails' ? { ...from, ...TAILS_ARTIFACTS } : from, run.request.plan.request.artifactsDir);
    },
  },
  'boot-test': { run: bootTestStep },
  cleanup: {
    doneTitle: (run) => afterTitle(run),
    run: async (run) => {
      const failure: unknown = await run.cleanup.runNow();
      if (failure !== undefined) rethrow(failure);
    },
  },
};

async function preflightStep(run: BuildRun): Promise<void> {
  const { deps, request } = run;
  const refusal = request.plan.refusal;
  if (refusal !== undefined) throw new UserError(refusal.code, refusal.message, { hint: refusal.hint });
  // Before the host's checks: what the checkout lacks is found without libvirt.
  if (request.project.kind === 'tails') {
    await checkTailsScripts(deps, request.project.root);
    // build-tails clones each submodule from .git/modules in the VM: the commits the build records must be there.
    const refused = await checkTailsSubmodules(deps, request.project.root, { revs: tailsSubmoduleRevs(request.plan) });
    if (refused !== undefined) throw refused;
  }
  await checkHost(deps, request, run.vm);
  if (request.plan.request.options.forceCleanup) await destroyVm(deps, run.vm, request, 'forcecleanup');
  // A full or vanished artifacts filesystem fails the build, never kills the process before the cleanups run.
  const logFile = deps.disk.openLog(run.log);
  run.cleanup.push('close the build log', () => logFile.close());
  run.writeLog = (line) => {
    logFile.write(`${line}\n`);
  };
  run.logError = () => logFile.error();
  run.logOpened = true;
}

async function resolveSerialsStep(run: BuildRun, report: (line: string) => void): Promise<void> {
  const { deps, request } = run;
  const { plan, project } = request;
  const options = plan.request.options;
  run.serials = await resolveBuildSerials(deps, project, {
    declared: plan.serials.iso,
    pinned: plan.request.pinnedSerials,
    builderSecurity: options.offline ? (request.builderSecurity ?? plan.serials.builder['debian-security']) : request.builderSecurity,
    store: request.store,
  });
  run.record = { ...run.record, serials: { builder: { ...plan.serials.builder, 'debian-security': run.serials.builderSecurity }, iso: run.serials.iso } };
  for (const note of run.serials.notes) {
    run.writeLog(`[serials] ${note}`);
    report(note);
  }
}

async function vmUpStep(run: BuildRun, report: (line: string) => void): Promise<void> {
  const { deps, request, vm } = run;
  const { plan, project } = request;
  await replaceDeadBuildsVm(run, report);
  run.reused = (await deps.domains.state(vm.domain)) === 'running';
  const running = run.reused ? await readRunningSettings(deps, vm) : undefined;
  if (run.reused && running?.box !== undefined && running.box !== plan.basebox.name) {
    run.notOurs = true;
    throw new UserError('vm-box-changed', `The kept build VM ${vm.domain} runs the builder box ${running.box}; this build needs ${plan.basebox.name} (the builder definition or its serials changed).`, {
      hint: 'Destroy it first, so the next build boots the new box: tails-build vm destroy',
    });
  }
  // A disk of its own, under the disk's lock held until the VM is gone: builds at once each get one.
  const tails = project.kind === 'tails';
  const cacheBase = request.cacheVolume ?? (tails ? TAILS_CACHE_VOLUME : CACHE_VOLUME);
  const disk = await takeCacheDisk(deps, {
    vm,
    baseVolume: cacheBase,
    disks: request.cacheDisks ?? CACHE_DISKS_DEFAULT,
    waitMs: request.cacheWaitMs ?? 30 * 60_000,
    report,
    ...(running === undefined ? {} : { attached: running.cacheVolume }),
  });
  // Released last, once the VM is gone (its cache disk free again) — or kept with the disk attached.
  run.cleanup.push('release the cache disk lock', () => disk.release());
  // Tails' scripts find their disks by position (/dev/vdb, /dev/vdc): a Tails build never runs without its pair.
  if (tails && disk.volume === null) throw messages.iso.tailsNoCacheDisk(disk.why ?? 'no cache disk is free');
  const tailsDisks = tails ? tailsRunDisks(run) : undefined;
  const website = tailsDisks?.website === true && disk.volume !== null ? await takeWebsiteDisk(deps, request.cacheVolume, disk.index, report) : undefined;
  run.cache = { volume: disk.volume, disk: disk.volume === null ? null : disk.index + 1, of: disk.of, ...(disk.why === undefined ? {} : { why: disk.why }) };
  report(disk.volume === null ? `no cache disk: ${disk.why ?? ''}` : `cache disk ${disk.volume} (${String(disk.index + 1)} of ${String(disk.of)})`);
  deps.out.event({ event: 'cache', volume: disk.volume, disk: run.cache.disk, of: disk.of, ...(disk.why === undefined ? {} : { why: disk.why }) });
  await deps.disk.mkdirp(vm.stateDir);
  // Whose VM this is while the build runs: a run killed outright leaves it for tails-build vm prune (and the next
  // build). A kept VM this build reuses stays kept: it was kept on purpose, whatever becomes of this build.
  await writeRunRecord(deps, vm, project.root, run.reused);
  run.cleanup.push('destroy the build VM', () => settleVm(run));
  const boot = run.reused ? undefined : await findBoxBoot(deps, plan.basebox.name);
  if (boot !== undefined) {
    run.boot = boot;
    report(describeBoxBoot(boot));
  }
  const settings = planVmSettings({
    box: plan.basebox.name,
    identity: vm,
    libvirtUri: deps.libvirtUri,
    pool: deps.pool.name,
    accelerator: run.accelerator?.accelerator ?? 'tcg',
    cpus: plan.vm.cpus,
    memoryMiB: plan.vm.memoryMiB,
    machineType: plan.vm.machineType,
    cpuModel: plan.vm.cpuModel,
    checkout: project.root,
    cacheDisk: disk.volume !== null && (tailsDisks === undefined || tailsDisks.cache),
    cacheVolume: disk.volume ?? cacheBase,
    ...(tails ? { shares: tailsShares(project.root) } : {}),
    websiteDisk: website ?? null,
    boot: boot?.direct ?? null,
  });
  await deps.disk.writeText(join(vm.stateDir, 'settings.json'), `${JSON.stringify(settings, null, 2)}\n`);
  if (run.reused) {
    report(`reusing the running VM ${vm.domain} (keeprunning)`);
    run.setUp = true;
    return;
  }
  // Parallel `vagrant up`s race on libvirt networks and pool volumes (vagrant-libvirt #278).
  const vagrant = vagrantCommands(deps, request, vm);
  await deps.locks.withLock(
    LIBVIRT_LOCK,
    async () => {
      const network = describeVmNetwork(await ensureVmNetwork(deps));
      if (network !== undefined) report(network);
      await runVagrant(deps, vagrant(['up', '--provider=libvirt', '--no-provision']), { onLine: report });
    },
    {
    onWait: (holder) => {
      report(`waiting for ${holder.command} (pid ${holder.pid}) to release the libvirt lock`);
    },
  });
}

async function provisionStep(run: BuildRun, report: (line: string) => void): Promise<void> {
  const { deps, request, vm } = run;
  const { project } = request;
  const options = request.plan.request.options;
  // The server's request lines belong in the build log, not among the progress lines.
  const quiet = { ...deps, out: { ...deps.out, info: (m: string) => { run.writeLog(`[snapshots] ${m}`); } } };
  const tails = project.kind === 'tails';
  // A Tails checkout on Tails' own server gets none: its URLs are reached as they are.
  const guests = servesLocalSnapshots(run) ? await serveSnapshotsOverSsh(quiet, { project, store: request.store, cacheRoot: request.cacheRoot }) : undefined;
  if (guests !== undefined) run.cleanup.push('stop serving snapshots to the VM', () => guests.close());
  const script = await toolScript(deps, request.toolRoot, 'vagrant/provision/setup-build-vm.sh');
  const cacheDisk = run.cache?.volume !== null && run.cache !== undefined;
  const ssh = await guestSsh(deps, request, vm, guests);
  const plain = guests === undefined ? ssh : sshWithConfig(request, join(vm.stateDir, 'ssh-config'));
  // Tails' snapshot URLs are on port 80: sshd forwards a port below 1024 only where the VM lets users bind it.
  if (guests !== undefined && guests.port < 1024) await deps.runner.run(plain(`sudo sysctl -q -w net.ipv4.ip_unprivileged_port_start=${String(guests.port)}`, 'write'));
  const merge = tails ? await uploadTailsMerge(run) : undefined;
  const env = provisionEnv({
    record: run.record,
    snapshotHost: guests === undefined ? '' : new URL(project.snapshots.guestBaseUrl).hostname,
    snapshotPort: guests?.port ?? 0,
    offline: options.offline,
    builderSecuritySerial: options.offline ? undefined : run.serials?.builderSecurity,
    hostEpoch: deps.clock.now().getTime() / 1000,
    dateOffsetDays: options.dateOffsetDays,
    // git --show-toplevel is a physical path already: what vagrant realpaths it to.
    checkoutHostPath: project.root,
    ...(tails ? { shares: tailsShares(project.root), tailsKind: true, ...(merge === undefined ? {} : { merge }) } : {}),
    ...(request.cacheMinFreeMiB === undefined ? {} : { cacheMinFreeMiB: request.cacheMinFreeMiB }),
  });
  const result = await deps.runner.tryRun(ssh('sudo bash -s', 'write', guestScript({ ...env, CACHE_SERIAL: cacheDisk ? CACHE_DISK_SERIAL : '' }, script)), {
    onLine: (l) => {
      run.writeLog(l);
      report(l);
    },
  });
  run.ssh = ssh;
  if (result.exitCode !== 0) {
    const known = provisionFailure(result.exitCode, result.stderr, { ref: run.record.ref, domain: vm.domain });
    // A VM locked to another ref is not ours to destroy: it is what the message is about.
    if (known?.code === 'vm-branch-lock') run.notOurs = true;
    throw known ?? new UserError('vm-provision-failed', `Provisioning the build VM failed (exit ${String(result.exitCode)}): ${lastLines(result.stderr)}`, { kind: 'external', hint: `See ${run.log}; keep the VM for a look with --rescue` });
  }
  // The checkout's own provisioning, as root, with the variables rake build exports.
  if (tails) await runTailsSetup(run, ssh, report);
  run.setUp = true;
}

async function buildStep(run: BuildRun, report: (line: string) => void): Promise<void> {
  const { deps, request } = run;
  const { project } = request;
  const options = request.plan.request.options;
  if (run.ssh === undefined) throw new Error('the VM was not provisioned');
  if (run.serials === undefined) throw new Error('the serials were not resolved');
  if (project.kind === 'tails') {
    await runTailsBuild(run, run.ssh, report);
    return;
  }
  const script = await toolScript(deps, request.toolRoot, 'vagrant/provision/run-build.sh');
  if (request.buildCommand === undefined) throw new Error('the plan builds with no build command');
  const env = buildEnv({
    record: run.record,
    buildCommand: request.buildCommand,
    isoSerials: run.serials.iso,
    builderSecuritySerial: run.serials.builderSecurity,
    snapshotsUrl: project.snapshots.guestBaseUrl,
    arch: project.arch,
    codename: project.codename,
    compression: options.compression,
    ramBuild: options.ramBuild,
    cacheWebsite: options.cacheWebsite,
  });
  const result = await deps.runner.tryRun(run.ssh('bash -s', 'write', guestScript(env, script)), {
    onLine: (l) => {
      run.writeLog(l);
      report(l);
    },
  });
  run.exitCode = result.exitCode;
  if (result.exitCode !== 0) {
    const kept = vmFate({ keep: request.plan.vm.keep, failed: true, notOurs: false, setUp: true }).fate === 'keep';
    throw messages.iso.buildFailed(result.exitCode, run.log, kept);
  }
}

async function bootTestStep(run: BuildRun, report: (line: string) => void): Promise<void> {
  const { deps, request } = run;
  const artifactsDir = request.plan.request.artifactsDir;
  const isos = run.artifacts.filter((a) => a.endsWith('.iso'));
  if (isos.length !== 1) throw new UserError('boot-test-no-iso', `--boot-test needs exactly one .iso among the artifacts; the build brought back ${isos.length === 0 ? 'none' : isos.join(', ')}.`, { kind: 'external', hint: `See ${run.log}.` });
  const iso = join(artifactsDir, isos[0] ?? '');
  const accelerator = run.accelerator?.accelerator ?? 'tcg';
  report(`booting ${iso} (${accelerator}, no network)`);
  run.bootTest = await bootTestIso(deps, {
    iso,
    commit: run.record.commit,
    accelerator,
    log: join(artifactsDir, BOOT_LOG),
    onLine: (l) => {
      run.writeLog(`[boot] ${l}`);
    },
  });
  report(run.bootTest.ok ? `booted in ${String(run.bootTest.seconds)} s: marker for ${run.record.commit.slice(0, 12)} seen, powered off` : `FAILED: ${run.bootTest.failure ?? ''}`);
  if (!run.bootTest.ok) {
    const failed = run.bootTest.machines.find((m) => !m.ok);
    throw messages.iso.bootFailed(run.bootTest.failure ?? '', failed?.log ?? run.bootTest.log, failed?.command);
  }
}

function rethrow(error: unknown): never {
  throw error;
}

function lastLines(text: string, n = 5): string {
  return text.trim().split('\n').slice(-n).join(' | ');
}
