/**
 * A Tails checkout's build VM as pure data: what differs from the sample's —
 * the checkout's own vagrant/ shared at /vagrant, Tails' disks and their
 * order (/dev/vdb apt-cacher-ng with vmproxy, then the website cache), the
 * variables its provisioning and build-tails get (Rakefile EXPORTED_VARIABLES,
 * exported to both, as Tails' Vagrantfile and `vagrant ssh -c` do), and where
 * build-tails leaves its artifacts (Rakefile list_artifacts).
 */
import { UserError } from './errors.js';
import { TAILS_EXPORTED_VARIABLES, formatSerialsJson, type TailsEnvEntry } from './tails-environment.js';

/** Tails' names for its persistent volumes (Vagrantfile): a Tails developer's caches from rake build are reused. */
export const TAILS_CACHE_VOLUME = 'apt-cacher-ng-data.qcow2';
export const TAILS_WEBSITE_VOLUME = 'tails-website-cache.qcow2';
export const TAILS_WEBSITE_VOLUME_GIB = 3;
export const TAILS_WEBSITE_DISK_SERIAL = 'tb-website';
/** The checkout's vagrant/ dir, read-only over 9p (Tails' Vagrantfile). */
export const TAILS_VAGRANT_GUEST_PATH = '/vagrant';
/** The checkout's provisioning script, as the VM sees it; run as root on every build. */
export const TAILS_SETUP_SCRIPT = `${TAILS_VAGRANT_GUEST_PATH}/provision/setup-tails-builder`;
export const TAILS_SETUP_SCRIPT_IN_CHECKOUT = 'vagrant/provision/setup-tails-builder';
/** What setup-tails-builder installs, run as vagrant (Rakefile: `vagrant ssh -c "<vars> build-tails"`). */
export const TAILS_BUILD_SCRIPT = 'build-tails';
export const TAILS_BUILD_SCRIPT_IN_CHECKOUT = 'vagrant/provision/assets/build-tails';
/** Where build-tails clones and leaves its artifacts. */
export const TAILS_GUEST_CLONE = '/home/vagrant/amnesia';
/** Where the merge bundle is copied in the VM (vagrant may write there) before provisioning, as root, fetches it. */
export const TAILS_GUEST_BUNDLE = '/tmp/tails-build-base-branch-merge.bundle';

/** The website cache volume that goes with an apt-cacher-ng base volume (tests give their own base, so they get their own website disk too). */
export function websiteVolumeFor(cacheBase: string | undefined): string {
  if (cacheBase === undefined || cacheBase === TAILS_CACHE_VOLUME) return TAILS_WEBSITE_VOLUME;
  return cacheBase.replace(/(\.qcow2)?$/, '-website.qcow2');
}

/**
 * The variables rake build exports into the VM, as `name → value`: those the
 * plan knew, and APT_SNAPSHOTS_SERIALS from the serials resolved before the VM
 * booted when the plan could not know them. A variable Tails leaves unset is
 * absent (the scripts see it unset, as under rake build).
 */
export function tailsVmEnvironment(entries: readonly TailsEnvEntry[], isoSerials: Readonly<Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of TAILS_EXPORTED_VARIABLES) {
    const entry = entries.find((e) => e.name === name);
    if (entry === undefined) continue;
    if (entry.value !== null) env[name] = entry.value;
    else if (name === 'APT_SNAPSHOTS_SERIALS') env[name] = formatSerialsJson(isoSerials);
    else throw new Error(`${name} is only known at run time, and nothing computed it`);
  }
  return env;
}

/** Which disks the VM gets, in the order Tails' scripts expect them (/dev/vdb, then /dev/vdc). */
export interface TailsDisks {
  readonly cache: boolean;
  readonly website: boolean;
}

export function tailsDisks(env: Readonly<Record<string, string>>): TailsDisks {
  return { cache: env.TAILS_PROXY_TYPE === 'vmproxy', website: env.TAILS_WEBSITE_CACHE === '1' };
}

/** Rakefile list_artifacts: what build-tails left in its clone, Tails' names only. */
export const TAILS_ARTIFACTS_LISTING = `find ${TAILS_GUEST_CLONE} -maxdepth 1 \\( -name 'tails-amd64-*' -o -name tails-build-env.list \\) -printf '%f\\n'`;

/** Rakefile ensure_clean_home_directory: a kept VM holds the last build's artifacts; they are not this build's. */
export const TAILS_CLEAN_HOME = `rm -f ${TAILS_GUEST_CLONE}/tails-amd64-* ${TAILS_GUEST_CLONE}/tails-build-env.list`;

/** The checkout lacks a script Tails' in-VM build needs: refused before any VM. */
export function missingTailsScript(root: string, path: string): UserError {
  return new UserError('tails-script-missing', `${root} is a Tails checkout without ${path}: its in-VM build runs the checkout's own provisioning (vagrant/provision/setup-tails-builder) and build-tails (vagrant/provision/assets/build-tails).`, {
    hint: `Check out a Tails branch that has them (Tails 5.x and later do), or restore the file: git -C ${root} checkout HEAD -- ${path}`,
  });
}
