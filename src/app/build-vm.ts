/**
 * One build in a throwaway VM: vagrant-libvirt boots an overlay of the builder
 * box with the checkout shared read-only over 9p and the persistent
 * apt-cacher-ng disk attached; tails-build provisions it (branch lock, cache,
 * snapshot server), runs the build from a fresh clone, copies the artifacts
 * and its log back, and destroys the VM through libvirt — on success and on
 * failure, unless keeprunning (keep) or rescue (keep on failure) says not to.
 */
import { join } from 'node:path';
import type { BootTestResult } from '../core/boot-test.js';
import { bootTestIso } from './boot-test.js';
import { retrieveArtifacts } from './artifacts.js';
import { preflight } from './build-vm-preflight.js';
import { takeCacheDisk } from './cache-disk.js';
import { resolveBuildSerials, type BuildSerials } from './build-serials.js';
import { excludeFromGit } from './git-exclude.js';
import type { AcceleratorChoice } from '../core/accelerator.js';
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
  vmIdentity,
  type VmRecord,
} from '../core/build-vm.js';
import { UserError } from '../core/errors.js';
import type { IsoBuildPlan } from '../core/iso-plan.js';
import type { ProjectConfig } from '../core/project.js';
import { progressOptions, runSteps, type ProgressMode, type StepRecord, type StepTiming } from '../ui/progress.js';
import { LIBVIRT_LOCK } from './basebox-import.js';
import { acceleratorStep } from './accelerator-step.js';
import { withCleanup } from './cleanup.js';
import { destroyVm, guestSsh, readRunningSettings, toolScript, vagrantCommands, writeRunRecord, type GuestCommand } from './build-vm-access.js';
import type { Deps } from './deps.js';
import { serveSnapshotsOverSsh } from './guest-snapshots.js';

export interface VmBuildRequest {
  readonly project: ProjectConfig;
  readonly plan: IsoBuildPlan;
  /** Run by bash in the fresh clone, inside the VM, with ARTIFACTS_DIR set. */
  readonly buildCommand: string;
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
  readonly exitCode: number;
  readonly accelerator: AcceleratorChoice;
  readonly domain: string;
  readonly vm: 'destroyed' | 'kept';
  readonly reused: boolean;
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

export interface CacheUse {
  readonly volume: string | null;
  /** 1-based place in the pool; null without a disk. */
  readonly disk: number | null;
  readonly of: number;
  readonly why?: string;
}

export interface ArtifactFile {
  readonly name: string;
  readonly bytes: number;
  readonly sha256: string;
}

interface State {
  accelerator?: AcceleratorChoice;
  serials?: BuildSerials;
  reused: boolean;
  cacheDisk: boolean;
  cache?: CacheUse;
  exitCode?: number;
  artifacts: string[];
  bootTest?: BootTestResult;
}

export const BUILD_LOG = 'build.log';
/** What was built, from what, how, and the sha256 of every artifact. */
export const BUILD_REPORT = 'build-report.json';
/** The serial console of the boot test. */
export const BOOT_LOG = 'boot-test.log';
/** Files the host writes next to the artifacts: never part of what must be reproducible. */
export const HOST_FILES: readonly string[] = [BUILD_LOG, BUILD_REPORT, BOOT_LOG];

export async function buildInVm(deps: Deps, request: VmBuildRequest): Promise<VmBuildResult> {
  const { plan, project } = request;
  const vm = vmIdentity(project.root, request.cacheRoot);
  const artifactsDir = plan.request.artifactsDir;
  const log = join(artifactsDir, BUILD_LOG);
  const keep = plan.vm.keep;
  const options = plan.request.options;
  let record: VmRecord = { ref: plan.request.git.ref, commit: plan.request.git.commit, box: plan.basebox.name, serials: plan.serials };
  const vagrant = vagrantCommands(deps, request, vm);

  await preflight(deps, request, vm);
  if (plan.request.options.forceCleanup) await destroyVm(deps, vm, request, 'forcecleanup');

  return withCleanup(async (cleanup) => {
    const state: State = { reused: false, cacheDisk: false, artifacts: [] };
    let buildFailed = false;
    let notOurs = false;
    // Released last, once the VM is gone (its cache disk free again) — or kept with the disk attached.
    let releaseCacheDisk: (() => Promise<void>) | undefined;
    cleanup.push('release the cache disk lock', async () => {
      await releaseCacheDisk?.();
    });
    let recorded = false;
    cleanup.push('destroy the build VM', async () => {
      const { fate, why } = vmFate({ keep, failed: buildFailed || state.exitCode !== 0, notOurs });
      if (fate === 'destroy') {
        await destroyVm(deps, vm, request, why);
        return;
      }
      // Kept (keeprunning, rescue), or kept by an earlier build: never pruned.
      if (recorded) await writeRunRecord(deps, vm, project.root, true);
      if (fate === 'keep') deps.out.info(`The build VM ${vm.domain} was kept (${why}). Inspect it with: tails-build vm ssh; remove it with: tails-build vm destroy`);
    });
    await deps.disk.mkdirp(artifactsDir);
    // A full or vanished artifacts filesystem fails the build (below), never kills the process before the cleanups run.
    const logFile = deps.disk.openLog(log);
    cleanup.push('close the build log', () => logFile.close());
    const writeLog = (line: string): void => {
      logFile.write(`${line}\n`);
    };

    let ssh: GuestCommand | undefined;
    const timings = await runSteps<State>(
      [
        acceleratorStep<State>(deps),
        {
          id: 'resolve-serials',
          title: 'Resolve the snapshot serials this build uses (every "latest" to a number)',
          run: async (s, report) => {
            s.serials = await resolveBuildSerials(deps, project, {
              declared: plan.serials.iso,
              pinned: plan.request.pinnedSerials,
              builderSecurity: options.offline ? (request.builderSecurity ?? plan.serials.builder['debian-security']) : request.builderSecurity,
              store: request.store,
            });
            record = { ...record, serials: { builder: { ...plan.serials.builder, 'debian-security': s.serials.builderSecurity }, iso: s.serials.iso } };
            for (const note of s.serials.notes) {
              writeLog(`[serials] ${note}`);
              report(note);
            }
          },
        },
        {
          id: 'vm-up',
          title: `Start the build VM from ${plan.basebox.name} (checkout over 9p, an apt-cacher-ng disk of its own)`,
          doneTitle: (s) => `Started the build VM from ${plan.basebox.name} (checkout over 9p, ${s.cache?.volume === null || s.cache === undefined ? 'no cache disk' : `cache disk ${s.cache.volume}`})`,
          run: async (s, report) => {
            s.reused = (await deps.domains.state(vm.domain)) === 'running';
            const running = s.reused ? await readRunningSettings(deps, vm) : undefined;
            if (s.reused) {
              if (running?.box !== undefined && running.box !== plan.basebox.name) {
                notOurs = true;
                throw new UserError('vm-box-changed', `The kept build VM ${vm.domain} runs the builder box ${running.box}; this build needs ${plan.basebox.name} (the builder definition or its serials changed).`, {
                  hint: 'Destroy it first, so the next build boots the new box: tails-build vm destroy',
                });
              }
            }
            // A disk of its own, under the disk's lock held until the VM is gone: builds at once each get one.
            const disk = await takeCacheDisk(deps, {
              vm,
              baseVolume: request.cacheVolume ?? CACHE_VOLUME,
              disks: request.cacheDisks ?? CACHE_DISKS_DEFAULT,
              waitMs: request.cacheWaitMs ?? 30 * 60_000,
              report,
              ...(running === undefined ? {} : { attached: running.cacheVolume }),
            });
            releaseCacheDisk = () => disk.release();
            s.cacheDisk = disk.volume !== null;
            s.cache = { volume: disk.volume, disk: disk.volume === null ? null : disk.index + 1, of: disk.of, ...(disk.why === undefined ? {} : { why: disk.why }) };
            report(disk.volume === null ? `no cache disk: ${disk.why ?? ''}` : `cache disk ${disk.volume} (${String(disk.index + 1)} of ${String(disk.of)})`);
            deps.out.event({ event: 'cache', volume: disk.volume, disk: s.cache.disk, of: disk.of, ...(disk.why === undefined ? {} : { why: disk.why }) });
            await deps.disk.mkdirp(vm.stateDir);
            // Whose VM this is while the build runs: a run killed outright leaves it for tails-build vm prune.
            await writeRunRecord(deps, vm, project.root, false);
            recorded = true;
            const settings = planVmSettings({
              box: plan.basebox.name,
              identity: vm,
              libvirtUri: deps.libvirtUri,
              pool: deps.pool.name,
              accelerator: s.accelerator?.accelerator ?? 'tcg',
              cpus: plan.vm.cpus,
              memoryMiB: plan.vm.memoryMiB,
              machineType: plan.vm.machineType,
              cpuModel: plan.vm.cpuModel,
              checkout: project.root,
              cacheDisk: s.cacheDisk,
              cacheVolume: disk.volume ?? request.cacheVolume ?? CACHE_VOLUME,
            });
            await deps.disk.writeText(join(vm.stateDir, 'settings.json'), `${JSON.stringify(settings, null, 2)}\n`);
            if (s.reused) {
              report(`reusing the running VM ${vm.domain} (keeprunning)`);
              return;
            }
            // Parallel `vagrant up`s race on libvirt networks and pool volumes (vagrant-libvirt #278).
            await deps.locks.withLock(LIBVIRT_LOCK, () => deps.runner.run(vagrant(['up', '--provider=libvirt', '--no-provision']), { onLine: report }), {
              onWait: (holder) => {
                report(`waiting for ${holder.command} (pid ${holder.pid}) to release the libvirt lock`);
              },
            });
          },
        },
        {
          id: 'provision',
          title: `Provision: branch lock for ${record.ref}, the cache disk and apt-cacher-ng, the snapshot server`,
          // Without a cache disk, provisioning mounts none and stops apt-cacher-ng: the title says so.
          doneTitle: (s) => `Provisioned: branch lock for ${record.ref}, ${s.cacheDisk ? 'cache disk mounted, apt-cacher-ng running' : 'no cache disk (apt goes straight to the snapshot server)'}, the snapshot server forwarded by ssh`,
          run: async (s, report) => {
            // The server's request lines belong in the build log, not among the progress lines.
            const quiet = { ...deps, out: { ...deps.out, info: (m: string) => { writeLog(`[snapshots] ${m}`); } } };
            const guests = await serveSnapshotsOverSsh(quiet, { project, store: request.store, cacheRoot: request.cacheRoot });
            cleanup.push('stop serving snapshots to the VM', () => guests.close());
            const script = await toolScript(deps, request.toolRoot, 'vagrant/provision/setup-build-vm.sh');
            const env = provisionEnv({
              record,
              snapshotHost: new URL(project.snapshots.guestBaseUrl).hostname,
              snapshotPort: guests.port,
              offline: options.offline,
              builderSecuritySerial: options.offline ? undefined : s.serials?.builderSecurity,
              hostEpoch: deps.clock.now().getTime() / 1000,
              dateOffsetDays: options.dateOffsetDays,
              ...(request.cacheMinFreeMiB === undefined ? {} : { cacheMinFreeMiB: request.cacheMinFreeMiB }),
            });
            ssh = await guestSsh(deps, request, vm, guests);
            const result = await deps.runner.tryRun(ssh('sudo bash -s', 'write', guestScript({ ...env, CACHE_SERIAL: s.cacheDisk ? CACHE_DISK_SERIAL : '' }, script)), {
              onLine: (l) => {
                writeLog(l);
                report(l);
              },
            });
            if (result.exitCode !== 0) {
              buildFailed = true;
              const known = provisionFailure(result.exitCode, result.stderr, { ref: record.ref, domain: vm.domain });
              // A VM locked to another ref is not ours to destroy: it is what the message is about.
              if (known?.code === 'vm-branch-lock') notOurs = true;
              throw known ?? new UserError('vm-provision-failed', `Provisioning the build VM failed (exit ${String(result.exitCode)}): ${lastLines(result.stderr)}`, { kind: 'external', hint: `See ${log}; keep the VM for a look with --rescue` });
            }
          },
        },
        {
          id: 'build',
          title: `Build ${record.ref} at ${record.commit.slice(0, 12)} from a fresh clone`,
          run: async (s, report) => {
            const script = await toolScript(deps, request.toolRoot, 'vagrant/provision/run-build.sh');
            if (ssh === undefined) throw new Error('the VM was not provisioned');
            if (s.serials === undefined) throw new Error('the serials were not resolved');
            const env = buildEnv({
              record,
              buildCommand: request.buildCommand,
              isoSerials: s.serials.iso,
              builderSecuritySerial: s.serials.builderSecurity,
              snapshotsUrl: project.snapshots.guestBaseUrl,
              arch: project.arch,
              codename: project.codename,
              compression: options.compression,
              ramBuild: options.ramBuild,
              cacheWebsite: options.cacheWebsite,
            });
            const result = await deps.runner.tryRun(ssh('bash -s', 'write', guestScript(env, script)), {
              onLine: (l) => {
                writeLog(l);
                report(l);
              },
            });
            s.exitCode = result.exitCode;
          },
        },
        {
          id: 'artifacts',
          title: `Copy the artifacts to ${artifactsDir}`,
          run: async (s) => {
            if (ssh === undefined) throw new Error('the VM was not provisioned');
            s.artifacts = await retrieveArtifacts(deps, { ssh, netns: request.netns, sshConfig: join(vm.stateDir, 'ssh-config') }, artifactsDir);
          },
        },
        ...(request.bootTest === true
          ? [
              {
                id: 'boot-test',
                title: 'Boot the ISO with QEMU (no network) and wait for its marker on the serial console',
                run: async (s: State, report: (line: string) => void) => {
                  if (s.exitCode !== 0) {
                    report('skipped: the build failed');
                    return;
                  }
                  const isos = s.artifacts.filter((a) => a.endsWith('.iso'));
                  if (isos.length !== 1) throw new UserError('boot-test-no-iso', `--boot-test needs exactly one .iso among the artifacts; the build brought back ${isos.length === 0 ? 'none' : isos.join(', ')}.`, { kind: 'external', hint: `See ${log}.` });
                  const iso = join(artifactsDir, isos[0] ?? '');
                  const accelerator = s.accelerator?.accelerator ?? 'tcg';
                  report(`booting ${iso} (${accelerator}, -machine pc, no network)`);
                  s.bootTest = await bootTestIso(deps, {
                    iso,
                    commit: record.commit,
                    accelerator,
                    log: join(artifactsDir, BOOT_LOG),
                    onLine: (l) => {
                      writeLog(`[boot] ${l}`);
                    },
                  });
                  report(s.bootTest.ok ? `booted in ${String(s.bootTest.seconds)} s: marker for ${record.commit.slice(0, 12)} seen, powered off` : `FAILED: ${s.bootTest.failure ?? ''}`);
                },
              },
            ]
          : []),
      ],
      state,
      { ...progressOptions(request.progress, (text) => { deps.out.line(text); }, request.renderStream, () => deps.clock.now(), deps.out.progress), ...(request.onStep === undefined ? {} : { onStep: request.onStep }) },
    );
    const logError = logFile.error();
    if (logError !== undefined) {
      throw new UserError('build-log-unwritable', `Writing the build log ${log} failed: ${logError.message}.`, {
        kind: 'external',
        hint: `Free space there, or send the artifacts elsewhere: tails-build iso --artifacts DIR (the VM was ${keep === 'destroy' ? 'destroyed' : 'handled as asked'})`,
      });
    }
    const exitCode = state.exitCode ?? 1;
    const kept = vmFate({ keep, failed: exitCode !== 0, notOurs: false }).fate !== 'destroy';
    const accelerator = state.accelerator ?? { accelerator: 'tcg' as const, reason: 'not probed' };
    const files: ArtifactFile[] = [];
    for (const name of state.artifacts.filter((a) => !HOST_FILES.includes(a))) {
      const path = join(artifactsDir, name);
      const info = await deps.disk.stat(path);
      if (info?.kind === 'file') files.push({ name, bytes: info.bytes, sha256: await deps.disk.sha256File(path) });
    }
    const bootFailed = state.bootTest !== undefined && !state.bootTest.ok;
    const cacheUse: CacheUse = state.cache ?? { volume: null, disk: null, of: request.cacheDisks ?? CACHE_DISKS_DEFAULT, why: 'the VM did not start' };
    const report = {
      schema: 'tails-build/build-report@1',
      ok: exitCode === 0 && !bootFailed,
      exitCode,
      finishedAt: deps.clock.now().toISOString(),
      git: plan.request.git,
      box: plan.basebox.name,
      // What the build used: every serial numeric (the project's files may say "latest").
      serials: record.serials,
      builderSecurity: state.serials?.builderSecurity ?? null,
      serialsDeclared: plan.serials,
      options: plan.request.optionWords.map((w) => w.text),
      compression: options.compression,
      vm: { domain: vm.domain, accelerator: accelerator.accelerator, cpus: plan.vm.cpus, memoryMiB: plan.vm.memoryMiB, reused: state.reused, cacheDisk: state.cacheDisk, cache: cacheUse, after: kept ? 'kept' : 'destroyed' },
      bootTest: state.bootTest ?? null,
      timings,
      artifacts: files,
      log: BUILD_LOG,
    };
    await deps.disk.writeText(join(artifactsDir, BUILD_REPORT), `${JSON.stringify(report, null, 2)}\n`);
    await excludeFromGit(deps, project.root, artifactsDir, [...HOST_FILES, ...state.artifacts]);
    return {
      ok: exitCode === 0 && !bootFailed,
      exitCode,
      accelerator,
      domain: vm.domain,
      vm: kept ? 'kept' : 'destroyed',
      reused: state.reused,
      cacheDisk: state.cacheDisk,
      cache: cacheUse,
      artifactsDir,
      artifacts: [...HOST_FILES.filter((f) => f !== BOOT_LOG || state.bootTest !== undefined), ...state.artifacts.filter((a) => !HOST_FILES.includes(a))],
      log,
      timings,
      serials: state.serials,
      files,
      bootTest: state.bootTest,
      report: join(artifactsDir, BUILD_REPORT),
    };
  });
}

function lastLines(text: string, n = 5): string {
  return text.trim().split('\n').slice(-n).join(' | ');
}
