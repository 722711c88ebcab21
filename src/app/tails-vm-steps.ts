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
import { command, inNetns } from '../core/command.js';
import { UserError } from '../core/errors.js';
import type { IsoBuildPlan } from '../core/iso-plan.js';
import { isLoopbackUrl } from '../core/project.js';
import {
  missingTailsScript,
  TAILS_BUILD_SCRIPT,
  TAILS_BUILD_SCRIPT_IN_CHECKOUT,
  TAILS_CLEAN_HOME,
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
import type { BuildRun } from './build-vm-steps.js';
import type { Deps } from './deps.js';
import { createTailsMerge } from './tails-merge.js';

/** Where the merge bundle lands in the VM (vagrant may write there; provisioning, as root, reads it). */
const GUEST_BUNDLE_UPLOAD = '/tmp/tails-build-base-branch-merge.bundle';

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
export async function takeWebsiteDisk(deps: Pick<Deps, 'pool'>, cacheBase: string | undefined, index: number, report: (line: string) => void): Promise<string> {
  const volume = cacheDiskVolume(websiteVolumeFor(cacheBase), index);
  await deps.pool.ensurePool();
  if (!(await deps.pool.listVolumes()).some((v) => v.name === volume)) {
    report(`creating the website cache disk ${volume} (${String(TAILS_WEBSITE_VOLUME_GIB)} GiB, qcow2) in pool ${deps.pool.name}`);
    await deps.pool.createVolume({ name: volume, capacityGiB: TAILS_WEBSITE_VOLUME_GIB });
  }
  return volume;
}

export const WEBSITE_DISK_SERIAL = TAILS_WEBSITE_DISK_SERIAL;

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
  await deps.runner.run(inNetns(request.netns, command('scp', ['-F', join(vm.stateDir, 'ssh-config'), '-q', '-o', 'Compression=no', bundleFile, `default:${GUEST_BUNDLE_UPLOAD}`], { effect: 'write' })));
  run.writeLog(`[merge] ${made.mergeCommit}: ${made.message.split('\n')[0] ?? ''} (bundle ${bundleFile})`);
  return { bundle: GUEST_BUNDLE_UPLOAD, ref: made.bundleRef };
}

/** The checkout's setup-tails-builder, as root, with Tails' variables (Tails' Vagrantfile: a shell provisioner with env). */
export function tailsSetupScript(env: Readonly<Record<string, string>>): string {
  return guestScript(env, `set -e\ncd /\nexec ${TAILS_SETUP_SCRIPT}\n`);
}

/** Rakefile: ensure_clean_home_directory, then `vagrant ssh -c "<vars> build-tails"`. */
export function tailsBuildScript(env: Readonly<Record<string, string>>): string {
  return guestScript(env, `set -e\n${TAILS_CLEAN_HOME}\nexec ${TAILS_BUILD_SCRIPT}\n`);
}

export function tailsProvisionFailed(exitCode: number, lastLines: string, log: string): UserError {
  return new UserError('tails-provision-failed', `The checkout's ${TAILS_SETUP_SCRIPT_IN_CHECKOUT} failed in the build VM (exit ${String(exitCode)}): ${lastLines}`, {
    kind: 'external',
    hint: `Its whole output is in ${log}. Keep the VM for a look with --rescue, then: tails-build vm ssh`,
  });
}
