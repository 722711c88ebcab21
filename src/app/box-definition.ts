/**
 * What `basebox create` builds the box from: the package list and customize
 * hook (the project's own `packages` + `customize.sh`; for a Tails checkout
 * without them, the packages of Tails' vmdb2 spec plus what this tool's box
 * needs, with this tool's hook; else this tool's default definition), and the
 * keyring the builder snapshots are verified with (Tails' key when they come
 * from Tails' server). The box name is not decided here (basebox-name.ts).
 */
import { join } from 'node:path';
import { DEBIAN_KEYRING, parsePackageList } from '../core/basebox-build.js';
import { messages } from '../core/messages/index.js';
import { toBinaryKeyring } from '../core/openpgp-keyring.js';
import { isLoopbackUrl, resolveArchiveOrigin, type ProjectConfig } from '../core/project.js';
import { parseTailsBuilderScript } from '../core/tails-box-definition.js';
import type { Deps } from './deps.js';

/** In a Tails box definition dir: the script that writes the vmdb2 spec. */
export const TAILS_BUILDER_SCRIPT = 'generate-tails-builder-box.sh';
/** Tails' archive signing key in a Tails checkout (armored; Tails' box script imports it for debootstrap). */
export const TAILS_KEYRING_FILE = 'config/chroot_sources/tails.chroot.gpg';
/** Where the box's apt finds Tails' key (the path Tails' own box installs it at). */
export const TAILS_GUEST_KEYRING = '/usr/share/keyrings/tails-archive-keyring.gpg';

/**
 * What this tool's box must have to work as a build VM, whatever the
 * project's package list: the needs of this tool's customize.sh
 * (definitions/builder/customize.sh), of the boot it sets up, and of the
 * provisioning (vagrant/provision/setup-build-vm.sh, run-build.sh). Added to
 * a Tails checkout's list, which is made for vmdb2's image (vmdb2 brings its
 * own boot pieces), not for mmdebstrap's minbase.
 */
export const BUILD_VM_PACKAGES: Readonly<Record<string, string>> = {
  'systemd-sysv': 'systemd as init: customize.sh enables and masks units with systemctl',
  'systemd-resolved': 'customize.sh points /etc/resolv.conf at its stub resolver and enables it',
  dbus: 'systemd-networkd and systemd-resolved, and the systemctl/timedatectl calls into them, talk over D-Bus',
  udev: 'the cache disk is found by its /dev/disk/by-id/virtio-<serial> link (setup-build-vm.sh, udevadm settle); virtio and 9p modules load on device events',
  kmod: 'setup-build-vm.sh runs modprobe 9pnet_virtio and overlay; 9p and loop load on demand through it',
  'initramfs-tools': 'customize.sh rebuilds the initramfs with MODULES=list (virtio_pci, virtio_blk, ext4, virtio_rng)',
  'linux-image-amd64': "the kernel customize.sh's grub.cfg boots (/vmlinuz), held by apt-mark",
  'grub-common': 'customize.sh runs grub-mkimage and holds it; the host embeds the core image in the MBR gap',
  'grub-pc-bin': "customize.sh copies the i386-pc modules and boot.img from it, and holds it",
  'e2fsprogs': 'the ext4 root is checked at boot (fstab pass 1); setup-build-vm.sh formats and checks the cache disk',
  'openssh-server': "vagrant's ssh: customize.sh enables ssh.service and makes host keys at first boot",
  sudo: "vagrant runs provisioning as root through sudo; customize.sh writes /etc/sudoers.d/vagrant",
  'apt-cacher-ng': 'customize.sh disables its service (it fails without it); setup-build-vm.sh runs it on the cache disk',
  git: 'setup-build-vm.sh fetches the base-branch merge bundle; run-build.sh clones the checkout',
  iproute2: "vagrant's Debian guest finds the network interfaces with ip",
  netbase: '/etc/services and /etc/protocols, read by ssh and apt',
  'debian-archive-keyring': "the box's apt sources of a local store are signed by Debian: Signed-By " + DEBIAN_KEYRING,
};

export interface BoxDefinition {
  /** The dir customize.sh reads (TB_DEFINITION_DIR: vagrant-insecure.pub). */
  readonly dir: string;
  /** Sorted, each once. */
  readonly packages: readonly string[];
  /** The customize hook's path. */
  readonly hook: string;
  /** own: the project's packages + customize.sh; tails: Tails' vmdb2 spec + BUILD_VM_PACKAGES; tool: this tool's definitions/builder. */
  readonly source: 'own' | 'tails' | 'tool';
  /** Where the package list came from (absolute). */
  readonly packagesFrom: string;
  /** For source "tails": the packages BUILD_VM_PACKAGES added to Tails' list. */
  readonly added: readonly string[];
}

/**
 * The project's packages and customize.sh; for a Tails checkout without them,
 * Tails' package list with this tool's needs and hook; else this tool's
 * default definition. Says which on `deps.out`.
 */
export async function resolveBoxDefinition(deps: Pick<Deps, 'files' | 'out'>, project: ProjectConfig, toolRoot: string): Promise<BoxDefinition> {
  const own = join(project.root, project.boxDefinitionDir);
  const tool = join(toolRoot, 'definitions/builder');
  const ownPackagesFile = join(own, 'packages');
  const ownPackages = await deps.files.readText(ownPackagesFile);
  const hasOwnHook = (await deps.files.readText(join(own, 'customize.sh'))) !== undefined;
  if (ownPackages !== undefined && hasOwnHook) {
    return { dir: own, packages: parsePackageList(ownPackages, ownPackagesFile), hook: join(own, 'customize.sh'), source: 'own', packagesFrom: ownPackagesFile, added: [] };
  }
  const hook = join(tool, 'customize.sh');
  if (project.kind === 'tails') {
    const script = join(own, TAILS_BUILDER_SCRIPT);
    const rel = `${project.boxDefinitionDir}/${TAILS_BUILDER_SCRIPT}`;
    const text = await deps.files.readText(script);
    const tails = text === undefined ? undefined : parseTailsBuilderScript(text);
    if (tails !== undefined) {
      const added = Object.keys(BUILD_VM_PACKAGES).filter((p) => !tails.packages.includes(p)).sort();
      const packages = [...new Set([...tails.packages, ...added])].sort();
      for (const entry of tails.skipped) {
        deps.out.warn(`${rel}:${String(entry.line)}: "${entry.text}" in an apt install step is not a package name${entry.reason === 'shell-substitution' ? ' (the shell fills it in, tails-build cannot)' : ''}; it is not installed.`);
      }
      deps.out.info(
        `the box's packages: the ${String(tails.packages.length)} of ${rel} (its vmdb2 spec's ${String(tails.steps.length)} apt install step${tails.steps.length === 1 ? '' : 's'})` +
          `, plus ${added.length === 0 ? 'nothing' : `${String(added.length)} a tails-build VM needs (${added.join(', ')})`}: ${String(packages.length)} in all; customize hook: tails-build's own (${hook}).`,
      );
      return { dir: tool, packages, hook, source: 'tails', packagesFrom: script, added };
    }
    deps.out.info(`${rel} ${text === undefined ? 'is missing' : 'has no vmdb2 apt install step naming a package'}, and ${project.boxDefinitionDir} has no packages + customize.sh; using tails-build's default builder definition (${tool}).`);
  } else {
    deps.out.info(`${project.boxDefinitionDir} has no packages + customize.sh; using tails-build's default builder definition (${tool}).`);
  }
  const toolPackagesFile = join(tool, 'packages');
  const text = await deps.files.readText(toolPackagesFile);
  if (text === undefined) throw messages.basebox.definitionIncomplete(tool);
  return { dir: tool, packages: parsePackageList(text, toolPackagesFile), hook, source: 'tool', packagesFrom: toolPackagesFile, added: [] };
}

/** Tails' key, binary, as mmdebstrap (host) and the box's apt (guest) read it. */
export interface SnapshotKeyringFile {
  readonly bytes: Uint8Array;
  /** Written there before mmdebstrap runs (in the box's work dir). */
  readonly hostPath: string;
  /** Copied there into the box. */
  readonly guestPath: string;
}

export interface SnapshotKeyring {
  /** The builder archives whose snapshots are verified with Tails' key (they come from Tails' server). */
  readonly tailsArchives: readonly string[];
  /** Undefined when no archive needs Tails' key: Debian's keyring (DEBIAN_KEYRING) verifies them all. */
  readonly file: SnapshotKeyringFile | undefined;
}

/**
 * Which key verifies each builder archive's snapshots. This tool's projects,
 * and a Tails checkout on a local store (a loopback base URL: `snapshots
 * mirror` keeps Debian's own signed InRelease files), use Debian's keyring.
 * A Tails checkout on Tails' server (or any remote one) gets Tails' key from
 * config/chroot_sources/tails.chroot.gpg: Tails' server signs its snapshots.
 */
export async function resolveSnapshotKeyring(
  deps: Pick<Deps, 'disk' | 'out'>,
  project: ProjectConfig,
  archives: readonly string[],
  workDir: string,
): Promise<SnapshotKeyring> {
  if (project.kind !== 'tails') return { tailsArchives: [], file: undefined };
  const origins = archives.map((archive) => ({ archive, baseUrl: resolveArchiveOrigin(project, archive).baseUrl }));
  const local = origins.filter((o) => isLoopbackUrl(o.baseUrl));
  const remote = origins.filter((o) => !isLoopbackUrl(o.baseUrl));
  const describe = (list: typeof origins): string => `${list.map((o) => o.archive).join(', ')} (${[...new Set(list.map((o) => o.baseUrl))].join(', ')})`;
  if (local.length > 0) {
    deps.out.info(`builder snapshots of ${describe(local)} come from the local store, whose signatures are Debian's own (snapshots mirror keeps Debian's InRelease): verified with ${DEBIAN_KEYRING}, not Tails' key.`);
  }
  if (remote.length === 0) return { tailsArchives: [], file: undefined };
  const path = join(project.root, TAILS_KEYRING_FILE);
  const urls = [...new Set(remote.map((o) => o.baseUrl))].join(', ');
  if ((await deps.disk.stat(path))?.kind !== 'file') throw messages.basebox.tailsKeyringMissing(path, TAILS_KEYRING_FILE, urls);
  const keyring = toBinaryKeyring(await deps.disk.readBytes(path));
  if (keyring.form === 'invalid') throw messages.basebox.tailsKeyringInvalid(path, TAILS_KEYRING_FILE, keyring.reason);
  const file = { bytes: keyring.bytes, hostPath: join(workDir, 'tails-archive-keyring.gpg'), guestPath: TAILS_GUEST_KEYRING };
  const who = keyring.userIds.length === 0 ? '' : `: ${keyring.userIds.map((u) => `"${u}"`).join(', ')}`;
  deps.out.info(
    `builder snapshots of ${describe(remote)} come from Tails' server: mmdebstrap and the box's apt verify them with Tails' key from ${TAILS_KEYRING_FILE}` +
      ` (${keyring.form === 'armored' ? 'armored, dearmored' : 'binary'}; ${String(keyring.keys)} key${keyring.keys === 1 ? '' : 's'}${who}), in the box as ${TAILS_GUEST_KEYRING}.`,
  );
  return { tailsArchives: remote.map((o) => o.archive), file };
}
