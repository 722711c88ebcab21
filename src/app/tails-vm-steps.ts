/**
 * The parts of a build that differ for a Tails checkout (core/tails-vm.ts):
 * its disks in Tails' order, its vagrant/ shared at /vagrant, the base-branch
 * merge brought into the VM's view of the checkout, its own provisioning
 * (vagrant/provision/setup-tails-builder, as root) and build-tails (as
 * vagrant), both with the variables rake build exports, and Tails' artifacts.
 * The checkout's scripts do the in-VM work, so the tool follows Tails as it
 * changes; tails-build does what rake build does on the host.
 */
import { join } from 'node:path';
import { cacheDiskVolume, type VmShare } from '../core/build-vm.js';
import { UserError } from '../core/errors.js';
import type { IsoBuildPlan } from '../core/iso-plan.js';
import { messages } from '../core/messages/index.js';
import { isLoopbackUrl } from '../core/project.js';
import { findUnreachableHost } from '../core/unreachable-host.js';
import { vmFate } from '../core/build-vm.js';
import {
  missingTailsScript,
  TAILS_ARTIFACTS_LISTING,
  TAILS_BUILD_SCRIPT,
  TAILS_BUILD_SCRIPT_IN_CHECKOUT,
  TAILS_CLEAN_HOME,
  TAILS_GUEST_BUNDLE,
  TAILS_GUEST_CLONE,
  TAILS_SETUP_SCRIPT,
  TAILS_SETUP_SCRIPT_IN_CHECKOUT,
  TAILS_VAGRANT_GUEST_PATH,
  TAILS_WEBSITE_DISK_SERIAL,
  TAILS_WEBSITE_VOLUME_GIB,
  tailsDisks,
  tailsVmEnvironment,
  websiteVolumeFor,
  type TailsDisks,
} from '../core/tails-vm.js';
import { guestScript } from '../core/build-vm.js';
import { scpWithConfig, type GuestCommand } from './build-vm-access.js';
import type { BuildRun } from './build-vm-steps.js';
import type { Deps } from './deps.js';
import { createTailsMerge } from './tails-merge.js';

/** The variables of this run: the plan's, with the serials resolved before the VM booted. */
export function tailsRunEnvironment(run: BuildRun): Record<string, string> {
  const entries = run.request.plan.environment;
  if (entries === undefined) throw new Error('a Tails build without a planned environment');
  if (run.serials === undefined) throw new Error('the serials were not resolved');
  return tailsVmEnvironment(entries, run.serials.iso);
}

export function tailsRunDisks(run: BuildRun): TailsDisks {
  return tailsDisks(tailsRunEnvironment(run));
}

/** The checkout's vagrant/ dir, read-only at /vagrant (Tails' Vagrantfile). */
export function tailsShares(root: string): VmShare[] {
  return [{ host: join(root, 'vagrant'), guest: TAILS_VAGRANT_GUEST_PATH }];
}

/** Before any VM: the scripts the in-VM build runs are in the checkout. */
export async function checkTailsScripts(deps: Pick<Deps, 'disk'>, root: string): Promise<void> {
  for (const path of [TAILS_SETUP_SCRIPT_IN_CHECKOUT, TAILS_BUILD_SCRIPT_IN_CHECKOUT]) {
    if ((await deps.disk.stat(join(root, path))) === undefined) throw missingTailsScript(root, path);
  }
}

/**
 * The commits whose submodules the build uses: HEAD's, and with a merge both
 * parents' (the merge commit itself is not in the checkout); a fast-forward
 * builds the base's commit.
 */
export function tailsSubmoduleRevs(plan: IsoBuildPlan): string[] {
  const git = plan.tailsGit;
  if (git === undefined || !git.merge.planned) return ['HEAD'];
  if (git.merge.outcome === 'diverged') return [git.headCommit, git.merge.baseCommit];
  if (git.merge.outcome === 'fast-forward') return [git.merge.baseCommit];
  return ['HEAD'];
}

/** The website cache disk that goes with the apt-cacher-ng disk `index` of the pool, made when missing. */
export async function takeWebsiteDisk(deps: Pick<Deps, 'pool'>, cacheBase: string | undefined, index: number, report: (line: string) => void): Promise<{ volume: string; serial: string }> {
  const volume = cacheDiskVolume(websiteVolumeFor(cacheBase), index);
  await deps.pool.ensurePool();
  if (!(await deps.pool.listVolumes()).some((v) => v.name === volume)) {
    report(`creating the website cache disk ${volume} (${String(TAILS_WEBSITE_VOLUME_GIB)} GiB, qcow2) in pool ${deps.pool.name}`);
    await deps.pool.createVolume({ name: volume, capacityGiB: TAILS_WEBSITE_VOLUME_GIB });
  }
  return { volume, serial: TAILS_WEBSITE_DISK_SERIAL };
}

/** Whether the VM gets the tool's snapshot server: only for a project pointed at a local store. */
export function servesLocalSnapshots(run: BuildRun): boolean {
  return run.request.project.kind !== 'tails' || isLoopbackUrl(run.request.project.snapshots.baseUrl);
}

/**
 * The base-branch merge, made again (the same commit the plan computed:
 * deterministic) into a bundle, copied into the VM for provisioning to fetch
 * into its view of the checkout. Undefined when the build needs no new commit.
 */
export async function uploadTailsMerge(run: BuildRun): Promise<{ bundle: string; ref: string } | undefined> {
  const { deps, request, vm } = run;
  const git = request.plan.tailsGit;
  if (git === undefined) return undefined;
  const bundleFile = join(vm.stateDir, 'base-branch-merge.bundle');
  const made = await createTailsMerge(deps, { root: request.project.root, git, scratchParent: vm.stateDir, bundleFile });
  if (made?.bundle === undefined || made.bundleRef === undefined) return undefined;
  const planned = git.merge.planned ? git.merge.commit : undefined;
  if (planned !== undefined && planned !== made.mergeCommit) {
    throw new Error(`the base-branch merge gave ${made.mergeCommit}, the plan said ${planned}`);
  }
  // scp: the bundle is binary; the same ssh config the artifacts come back with.
  await deps.runner.run(scpWithConfig(request, join(vm.stateDir, 'ssh-config'), [bundleFile], `default:${TAILS_GUEST_BUNDLE}`));
  run.writeLog(`[merge] ${made.mergeCommit}: ${made.message.split('\n')[0] ?? ''} (bundle ${bundleFile})`);
  return { bundle: TAILS_GUEST_BUNDLE, ref: made.bundleRef };
}

/** Rakefile list_artifacts: where build-tails leaves them, and Tails' names only. */
export const TAILS_ARTIFACTS = { dir: TAILS_GUEST_CLONE, listing: TAILS_ARTIFACTS_LISTING } as const;

/** The checkout's setup-tails-builder, as root, with the variables rake build exports (Tails' Vagrantfile: a shell provisioner with env). */
export async function runTailsSetup(run: BuildRun, ssh: GuestCommand, report: (line: string) => void): Promise<void> {
  const script = guestScript(tailsRunEnvironment(run), `set -e\ncd /\nexec ${TAILS_SETUP_SCRIPT}\n`);
  const { exitCode, lines } = await runLogged(run, ssh('sudo bash -s', 'write', script), report);
  if (exitCode === 0) return;
  throw unreachableOr(lines, 'provision', run.log) ?? tailsProvisionFailed(exitCode, lines.slice(-5).join(' | '), run.log);
}

/** Rakefile: ensure_clean_home_directory, then `vagrant ssh -c "<vars> build-tails"`. */
export async function runTailsBuild(run: BuildRun, ssh: GuestCommand, report: (line: string) => void): Promise<void> {
  const script = guestScript(tailsRunEnvironment(run), `set -e\n${TAILS_CLEAN_HOME}\nexec ${TAILS_BUILD_SCRIPT}\n`);
  const { exitCode, lines } = await runLogged(run, ssh('bash -s', 'write', script), report);
  run.exitCode = exitCode;
  if (exitCode === 0) return;
  const kept = vmFate({ keep: run.request.plan.vm.keep, failed: true, notOurs: false, setUp: true }).fate === 'keep';
  throw unreachableOr(lines, 'build', run.log) ?? messages.iso.buildFailed(exitCode, run.log, kept);
}

/** What provisioning did for a Tails checkout, for its done title. */
export function tailsProvisionedTitle(run: BuildRun): string {
  const merge = run.request.plan.tailsGit?.merge;
  return `Provisioned: branch lock for ${run.record.ref}${merge?.planned === true && merge.commit !== undefined ? `, the base-branch merge ${merge.commit.slice(0, 12)} in the VM's view of the checkout` : ''}${servesLocalSnapshots(run) ? ', the snapshot server forwarded by ssh' : ''}, the checkout's setup-tails-builder run as root (exit 0)`;
}

/** Runs a guest command, its output (stdout and stderr) into the build log and the progress lines, and kept for the error. */
async function runLogged(run: BuildRun, cmd: Parameters<BuildRun['deps']['runner']['tryRun']>[0], report: (line: string) => void): Promise<{ exitCode: number; lines: string[] }> {
  const lines: string[] = [];
  const result = await run.deps.runner.tryRun(cmd, {
    onLine: (l) => {
      lines.push(l);
      run.writeLog(l);
      report(l);
    },
  });
  return { exitCode: result.exitCode, lines: [...lines, ...result.stderr.split('\n').filter((l) => l.trim() !== '')] };
}

/** A failed in-VM step that stopped at a host this machine cannot reach: that, named with the script; else undefined. */
function unreachableOr(lines: readonly string[], step: 'provision' | 'build', log: string): UserError | undefined {
  const found = findUnreachableHost(lines.slice(-400));
  if (found === undefined) return undefined;
  return messages.iso.hostUnreachable(found, log, step === 'provision' ? "the checkout's vagrant/provision/setup-tails-builder (step provision)" : "the checkout's build-tails (step build)");
}

function tailsProvisionFailed(exitCode: number, lastLines: string, log: string): UserError {
  return new UserError('tails-provision-failed', `The checkout's ${TAILS_SETUP_SCRIPT_IN_CHECKOUT} failed in the build VM (exit ${String(exitCode)}): ${lastLines}`, {
    kind: 'external',
    hint: `Its whole output is in ${log}. Keep the VM for a look with --rescue, then: tails-build vm ssh`,
  });
}
