/**
 * The build VM as pure data: its names, the settings the Vagrantfile reads,
 * the environment of the guest scripts, and what their exit codes mean.
 *
 * One project checkout has one build VM (Jenkins gives each executor its own
 * workspace, so concurrent builds never share a domain). Vagrant boots it;
 * tails-build provisions it over ssh and destroys it through libvirt, never
 * with `vagrant destroy` (vagrant-libvirt #746 deletes the cache disk).
 */
import { createHash } from 'node:crypto';
import type { Accelerator } from './accelerator.js';
import { UserError } from './errors.js';

/** Tails' lock file: the ref the VM was created for, one line. */
export const BRANCH_LOCK_FILE = '/var/lib/vagrant_box_build_from';
/** Where the checkout is mounted in the VM (Tails' name for it). */
export const CHECKOUT_GUEST_PATH = '/amnesia.git';
/** Where the guest clones and builds; artifacts land in `<dir>/artifacts`. */
export const GUEST_WORK_DIR = '/home/vagrant/tails-build';
export const CACHE_DISK_SERIAL = 'tb-acng';
/** The default name of the persistent apt-cacher-ng volume (TAILS_BUILD_CACHE_VOLUME overrides it: tests use their own). */
export const CACHE_VOLUME = 'tails-build-apt-cacher-ng.qcow2';
export const CACHE_VOLUME_GIB = 15;
/** How many cache disks the pool has by default (TAILS_BUILD_CACHE_DISKS): as many builds run at once, each warm. */
export const CACHE_DISKS_DEFAULT = 2;
export const CACHE_DISKS_MAX = 32;

/** The volume of the pool's disk `index` (0-based): the first keeps the base name, the others get -2, -3… */
export function cacheDiskVolume(base: string, index: number): string {
  if (index === 0) return base;
  return base.replace(/(\.qcow2)?$/, `-${String(index + 1)}$1`);
}

/** The host lock a build holds, for its VM's whole life, on the cache disk it attached. */
export function cacheDiskLock(volume: string): string {
  return `cache-disk-${volume}`;
}
/** Below this, provisioning asks apt-cacher-ng to clean up, then refuses. */
export const CACHE_MIN_FREE_MIB = 1024;

export interface VmIdentity {
  /** Vagrant's machine is "default": the domain is `<prefix>default`. */
  readonly domainPrefix: string;
  readonly domain: string;
  /** vagrant-libvirt's root disk: an overlay of the box volume. */
  readonly rootVolume: string;
  /** Vagrant's state (`.vagrant`), the settings and the serial log, outside the checkout. */
  readonly stateDir: string;
}

/** The VM of one checkout: named from its path, so a second checkout gets its own. */
export function vmIdentity(projectRoot: string, cacheRoot: string): VmIdentity {
  const id = createHash('sha256').update(projectRoot).digest('hex').slice(0, 10);
  const domainPrefix = `tails-build-${id}-`;
  const domain = `${domainPrefix}default`;
  return { domainPrefix, domain, rootVolume: `${domain}.img`, stateDir: `${cacheRoot}/vms/${id}` };
}

export interface VmSettingsInput {
  readonly box: string;
  readonly identity: VmIdentity;
  readonly libvirtUri: string;
  readonly pool: string;
  readonly accelerator: Accelerator;
  readonly cpus: number;
  readonly memoryMiB: number;
  readonly machineType: string;
  /** undefined: the host CPU under KVM; under TCG, qemu64 (which a Debian kernel boots reliably). */
  readonly cpuModel: string | undefined;
  readonly checkout: string;
  readonly cacheDisk: boolean;
  /** The cache volume's name in the pool (default CACHE_VOLUME). */
  readonly cacheVolume?: string;
  /** More read-only 9p shares (a Tails checkout's vagrant/ at /vagrant). */
  readonly shares?: readonly VmShare[];
  /** A second persistent disk, attached after the cache disk (Tails' website cache). */
  readonly websiteDisk?: { readonly volume: string; readonly serial: string } | null;
  /** The box's kernel, initrd and command line, booted directly; null: boot from the disk. */
  readonly boot?: VmDirectBoot | null;
}

export interface VmDirectBoot {
  readonly kernel: string;
  readonly initrd: string;
  readonly cmdline: string;
}

export interface VmShare {
  readonly host: string;
  readonly guest: string;
}

/** What vagrant/Vagrantfile reads (TAILS_BUILD_VM_SETTINGS). */
export interface VmSettings {
  readonly box: string;
  readonly bootTimeoutSeconds: number;
  readonly checkout: string;
  readonly checkoutGuestPath: string;
  readonly libvirtUri: string;
  readonly domainPrefix: string;
  readonly pool: string;
  readonly driver: 'kvm' | 'qemu';
  readonly machineType: string;
  readonly cpuModel: string | null;
  readonly cpus: number;
  readonly memoryMiB: number;
  readonly serialLog: string;
  readonly cacheDisk: { readonly volume: string; readonly serial: string } | null;
  readonly shares: readonly VmShare[];
  readonly websiteDisk: { readonly volume: string; readonly serial: string } | null;
  readonly boot: VmDirectBoot | null;
}

export function planVmSettings(input: VmSettingsInput): VmSettings {
  const cpuModel = input.cpuModel ?? (input.accelerator === 'kvm' ? null : 'qemu64');
  return {
    box: input.box,
    bootTimeoutSeconds: input.accelerator === 'kvm' ? 300 : 900,
    checkout: input.checkout,
    checkoutGuestPath: CHECKOUT_GUEST_PATH,
    libvirtUri: input.libvirtUri,
    domainPrefix: input.identity.domainPrefix,
    pool: input.pool,
    driver: input.accelerator === 'kvm' ? 'kvm' : 'qemu',
    machineType: input.machineType,
    cpuModel,
    cpus: input.cpus,
    memoryMiB: input.memoryMiB,
    serialLog: `${input.identity.stateDir}/serial.log`,
    cacheDisk: input.cacheDisk ? { volume: input.cacheVolume ?? CACHE_VOLUME, serial: CACHE_DISK_SERIAL } : null,
    shares: input.shares ?? [],
    websiteDisk: input.websiteDisk ?? null,
    boot: input.boot ?? null,
  };
}

/** What the VM records about the build it was created for (next to Tails' one-line lock). */
export interface VmRecord {
  readonly ref: string;
  readonly commit: string;
  readonly box: string;
  readonly serials: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

/**
 * A guest script with its settings prepended as `export NAME='value'` lines,
 * fed to `bash -s` over ssh: values never pass through a remote command line.
 */
export function guestScript(env: Readonly<Record<string, string>>, body: string): string {
  const lines = Object.entries(env).map(([name, value]) => {
    if (!ENV_NAME.test(name)) throw new Error(`not an environment variable name: ${name}`);
    return `export ${name}='${value.replaceAll("'", `'\\''`)}'`;
  });
  return `${lines.join('\n')}\n${body}`;
}

export interface ProvisionInput {
  readonly record: VmRecord;
  /** The builder's debian-security snapshot for this build (its sources move there), or undefined when offline. */
  readonly builderSecuritySerial: string | undefined;
  /** The host's clock, seconds, and how many days off the VM clock is set (dateoffset). */
  readonly hostEpoch: number;
  readonly dateOffsetDays: number;
  /** Host and port of the guest base URL; host '' when the VM uses remote snapshots (no forward, no hosts entry). */
  readonly snapshotHost: string;
  readonly snapshotPort: number;
  readonly offline: boolean;
  /** Free space the cache disk must have for a build (default CACHE_MIN_FREE_MIB). */
  readonly cacheMinFreeMiB?: number;
  /** The checkout's real path on the host (its 9p tag is derived from it, as vagrant-libvirt derives it). */
  readonly checkoutHostPath: string;
  /** More read-only shares the Vagrantfile attached (settings.shares). */
  readonly shares?: readonly VmShare[];
  /** A Tails build's base-branch merge: the bundle in the VM and the ref it holds. */
  readonly merge?: { readonly bundle: string; readonly ref: string };
  /** A Tails checkout: its own setup-tails-builder does the disks, the upgrade and the clock. */
  readonly tailsKind?: boolean;
}

/**
 * The 9p mount tag vagrant-libvirt 0.11.2 gives a synced folder: the first 31
 * hex digits of the MD5 of its host path (after realpath), cap/synced_folder_9p.rb.
 * Vagrant attaches the device (mount: false); provisioning mounts it in one command.
 */
export function ninePMountTag(hostPath: string): string {
  return createHash('md5').update(hostPath).digest('hex').slice(0, 31);
}

export function provisionEnv(input: ProvisionInput): Record<string, string> {
  return {
    GIT_REF: input.record.ref,
    VM_RECORD_JSON: JSON.stringify(input.record),
    LOCK_FILE: BRANCH_LOCK_FILE,
    SNAPSHOT_HOST: input.snapshotHost,
    SNAPSHOT_PORT: String(input.snapshotPort),
    CACHE_SERIAL: CACHE_DISK_SERIAL,
    CACHE_MIN_FREE_MIB: String(input.cacheMinFreeMiB ?? CACHE_MIN_FREE_MIB),
    OFFLINE: input.offline ? '1' : '0',
    BUILDER_SECURITY_SERIAL: input.builderSecuritySerial ?? '',
    HOST_EPOCH: String(Math.floor(input.hostEpoch)),
    DATE_OFFSET_DAYS: String(input.dateOffsetDays),
    CHECKOUT_GUEST: CHECKOUT_GUEST_PATH,
    CHECKOUT_TAG: ninePMountTag(input.checkoutHostPath),
    SHARES: (input.shares ?? []).map((share) => `${share.guest}=${ninePMountTag(share.host)}`).join(' '),
    MERGE_BUNDLE: input.merge?.bundle ?? '',
    MERGE_REF: input.merge?.ref ?? '',
    TAILS_KIND: input.tailsKind === true ? '1' : '0',
  };
}

/** What the recipe is told about its build (the recipe contract, see definitions/README.md). */
export interface RecipeInput {
  readonly record: VmRecord;
  readonly buildCommand: string;
  /** The ISO set, every serial numeric. */
  readonly isoSerials: Readonly<Record<string, string>>;
  readonly builderSecuritySerial: string;
  /** The snapshot server as the VM reaches it. */
  readonly snapshotsUrl: string;
  readonly arch: string;
  readonly codename: string;
  readonly compression: 'fast' | 'default';
  /** Build in a tmpfs (ram) or on the VM disk (noram). */
  readonly ramBuild: boolean;
  readonly cacheWebsite: boolean;
}

export function buildEnv(input: RecipeInput): Record<string, string> {
  const { record } = input;
  const iso = Object.entries(input.isoSerials).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    GIT_REF: record.ref,
    GIT_COMMIT: record.commit,
    CHECKOUT: CHECKOUT_GUEST_PATH,
    BUILD_COMMAND: input.buildCommand,
    WORK_DIR: GUEST_WORK_DIR,
    APT_SNAPSHOTS_SERIALS: JSON.stringify(Object.fromEntries(iso)),
    TAILS_BUILD_ISO_SERIALS: iso.map(([archive, serial]) => `${archive}=${serial}`).join(' '),
    TAILS_BUILD_BUILDER_SECURITY_SERIAL: input.builderSecuritySerial,
    TAILS_BUILD_SNAPSHOTS: input.snapshotsUrl,
    TAILS_BUILD_ARCH: input.arch,
    TAILS_BUILD_CODENAME: input.codename,
    TAILS_BUILD_BOX: record.box,
    TAILS_BUILD_COMPRESSION: input.compression,
    TAILS_BUILD_RAM: input.ramBuild ? '1' : '0',
    TAILS_WEBSITE_CACHE: input.cacheWebsite ? '1' : '0',
  };
}

/** Exit codes of vagrant/provision/setup-build-vm.sh that are the user's to fix. */
export const PROVISION_EXIT = { branchLock: 3, cacheFull: 4, cacheMissing: 5 } as const;

/** Turns a failed provisioning into the error a user can act on, or undefined for a plain failure. */
export function provisionFailure(exitCode: number, stderr: string, ctx: { readonly ref: string; readonly domain: string }): UserError | undefined {
  const said = stderr.split('\n').filter((l) => l.startsWith('E: ')).map((l) => l.slice(3)).join(' ');
  switch (exitCode) {
    case PROVISION_EXIT.branchLock: {
      const locked = /created to build (.+), not /.exec(said)?.[1] ?? 'another ref';
      return new UserError(
        'vm-branch-lock',
        `The build VM ${ctx.domain} was created to build ${locked}; this build is for ${ctx.ref}. Another ref may pin older snapshots, and reusing the VM would downgrade it.`,
        { hint: `Destroy it first: tails-build vm destroy   (or build with --force-cleanup)` },
      );
    }
    case PROVISION_EXIT.cacheFull:
      return new UserError('vm-cache-full', `The apt-cacher-ng disk is full: ${said}`, {
        hint: 'Nothing was lost: it only caches packages. Empty it with: tails-build vm destroy && tails-build vm clear-cache (the next build refills it from the snapshots).',
      });
    case PROVISION_EXIT.cacheMissing:
      return new UserError('vm-cache-missing', `The build VM has no cache disk: ${said}`, {
        hint: 'Destroy the VM so the next build attaches it: tails-build vm destroy',
      });
    default:
      return undefined;
  }
}

export type VmKeep = 'destroy' | 'keep-running' | 'keep-on-failure';

/** What becomes of the build VM when a build ends. */
export interface VmFate {
  /** leave: not ours to touch (kept by an earlier build for another ref or box). */
  readonly fate: 'destroy' | 'keep' | 'leave';
  /** Why, in Tails' option words, for messages. */
  readonly why: 'keeprunning' | 'rescue' | "another build's VM" | 'after the build' | 'it never came up';
  /**
   * For a kept VM: `reusable` — kept on purpose, never pruned, the next build of
   * the same ref reuses it; `prunable` — kept for a look only (it never finished
   * coming up): `vm prune` removes it once this build is gone, and the next
   * build destroys it and starts afresh.
   */
  readonly kept?: 'reusable' | 'prunable';
}

export interface VmFateInput {
  readonly keep: VmKeep;
  readonly failed: boolean;
  readonly notOurs: boolean;
  /** The VM came up and was provisioned (or was reused, up already): only such a VM is one to reuse. */
  readonly setUp: boolean;
}

/** The one keep/rescue/destroy decision (the cleanup, the messages and the report use it). */
export function vmFate(input: VmFateInput): VmFate {
  if (input.notOurs) return { fate: 'leave', why: "another build's VM" };
  if (input.keep === 'keep-on-failure' && input.failed) return { fate: 'keep', why: 'rescue', kept: input.setUp ? 'reusable' : 'prunable' };
  if (input.keep === 'keep-running') return input.setUp ? { fate: 'keep', why: 'keeprunning', kept: 'reusable' } : { fate: 'destroy', why: 'it never came up' };
  return { fate: 'destroy', why: 'after the build' };
}
