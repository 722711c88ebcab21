/**
 * Texts of `tails-build doctor`: titles, install commands, details and the
 * error it ends with. Each failure names the fact and the command that fixes it.
 */
import { UserError } from '../errors.js';

const APT = 'apt-get install --no-install-recommends';
const SETUP = 'bash provision/host/bootstrap.sh setup';

export const doctorMessages = {
  title: {
    git: 'git',
    node: 'node >= 20.5',
    qemu: 'qemu-system-x86_64',
    qemuImg: 'qemu-img',
    libvirt: 'libvirt daemon',
    vagrant: 'vagrant',
    vagrantLibvirt: 'vagrant-libvirt plugin',
    mmdebstrap: 'mmdebstrap',
    debugfs: 'debugfs and mkfs.ext4 (box image)',
    sfdisk: 'sfdisk (box image)',
    flock: 'flock (host locks)',
    debianKeyring: 'gpgv + Debian archive keyring (snapshot signatures)',
    shellcheck: 'shellcheck',
    diffoscope: 'diffoscope (verify explains differences with it)',
    netns: (netns: string) => `netns ${netns}`,
    kvm: '/dev/kvm',
  },

  install: {
    git: `${APT} git`,
    node: 'Install Node.js 20.5 or newer with npm (Debian 12 ships 18: use a Node.js 20 LTS build), then rerun.',
    qemu: `${APT} qemu-system-x86`,
    qemuImg: `${APT} qemu-utils`,
    libvirt: `${APT} libvirt-daemon-system libvirt-clients`,
    vagrant: `${APT} vagrant vagrant-libvirt`,
    // rubygems.org is often unreachable from build hosts: Debian's package is the dependable source.
    vagrantLibvirt: `${APT} vagrant-libvirt`,
    mmdebstrap: `${APT} mmdebstrap`,
    debugfs: `${APT} e2fsprogs`,
    sfdisk: `${APT} fdisk`,
    flock: `${APT} util-linux`,
    debianKeyring: `${APT} gpgv debian-archive-keyring`,
    shellcheck: `${APT} shellcheck`,
    diffoscope: `${APT} diffoscope`,
    ip: `${APT} iproute2`,
  },

  fix: {
    libvirtDown: (uri: string, netns: string, user?: string) =>
      user !== undefined && uri === 'qemu:///system'
        ? `As ${user}, libvirt answers only if you are in the libvirt group and libvirtd lets that group in (where there is no polkit, as on hosts without systemd). As root: ${SETUP} (it starts libvirtd with a libvirt-group socket) and usermod -aG libvirt ${user}; then log in again and check with \`virsh -c ${uri} uri\`.`
        : uri === 'qemu:///system'
        ? `Start libvirt inside the ${netns} network namespace: ${SETUP} (it runs \`ip netns exec ${netns} libvirtd -d\` after virtlogd and virtlockd), then check with \`virsh -c ${uri} version\`.`
        : `Check that a libvirtd serves ${uri} (\`virsh -c '${uri}' version\`), or drop --libvirt-uri/LIBVIRT_DEFAULT_URI to use qemu:///system, which ${SETUP} starts.`,
    netnsMissing: (netns: string) => `${SETUP} creates it (ip netns add ${netns} && ip -n ${netns} link set lo up).`,
    kvmAbsent: 'Nothing to install: VMs run under TCG. For KVM, enable virtualization in the firmware and load kvm_intel or kvm_amd.',
    keyring: (path: string) =>
      `${APT} --reinstall gpgv debian-archive-keyring (it provides /usr/share/keyrings/debian-archive-keyring.gpg), or point doctor --keyring FILE at a binary keyring with Debian's archive keys; then check with \`gpgv --keyring ${path} -- /var/lib/apt/lists/*_InRelease\`.`,
  },

  detail: {
    notFound: (file: string) => `${file} not found on PATH`,
    couldNotRun: (command: string, reason: string) => `\`${command}\` could not run: ${reason}`,
    exited: (command: string, exitCode: number, output: string) =>
      `\`${command}\` exited with code ${exitCode}${output === '' ? '' : `: ${output}`}`,
    nodeTooOld: (running: string, minimum: string) => `node ${running} is running; tails-build needs ${minimum} or newer`,
    nodeOk: (running: string) => `node ${running}`,
    libvirtUnreachable: (uri: string, reason: string) => `libvirt at ${uri} is not reachable${reason === '' ? '' : `: ${reason}`}`,
    libvirtOk: (uri: string, version: string) => `${uri}: ${version}`,
    notListed: (word: string, command: string) => `\`${command}\` does not list ${word}`,
    netnsOk: (netns: string) => `namespace ${netns} exists (VM networks live there)`,
    kvmPresent: 'present; whether KVM really works is probed when a VM starts; TCG is used otherwise',
    kvmAbsent: 'absent; VMs run under TCG (software emulation), which is much slower',
    keyring: {
      missing: (path: string) => `keyring ${path} does not exist`,
      notAFile: (path: string) => `keyring ${path} is not a file`,
      unreadable: (path: string, reason: string) => `keyring ${path} cannot be read: ${reason}`,
      notAKeyring: (path: string, reason: string) => `${path} is not a binary OpenPGP keyring (${reason}); an armored .asc key needs \`gpg --dearmor\``,
      noKeys: (path: string) => `keyring ${path} is empty: it holds no keys`,
      verified: (signed: string, path: string, keys: number) => `gpgv verified ${signed} against ${path} (${String(keys)} keys)`,
      notVerified: (signed: string, path: string, keys: number, debian: number, reason: string) =>
        `gpgv does not verify ${signed} against ${path} (${String(keys)} key(s), ${String(debian)} with a Debian user ID)${reason === '' ? '' : `: ${reason}`}`,
      noDebianKeys: (path: string, keys: number, userIds: readonly string[]) =>
        `keyring ${path} holds ${String(keys)} key(s), none with a Debian user ID (${userIds.slice(0, 2).join('; ') || 'no user IDs'})`,
      unverified: (path: string, keys: number, debian: number, searched: readonly string[]) =>
        `keyring ${path} holds ${String(keys)} keys, ${String(debian)} with a Debian user ID; no signature verified: no Debian-signed InRelease under ${searched.join(' or ')} (\`tails-build snapshots mirror\` or apt-get update fetches one)`,
    },
  },

  summary: {
    allOk: 'All required prerequisites are present.',
    missing: (titles: readonly string[]) => `Missing required prerequisites: ${titles.join(', ')}.`,
  },

  prerequisitesMissing: (titles: readonly string[]) =>
    new UserError('prerequisites-missing', `${titles.length} required host prerequisite(s) missing: ${titles.join(', ')}.`, {
      kind: 'prerequisite',
      hint: `Run the install commands shown above, or ${SETUP} to install and start everything.`,
    }),
};
