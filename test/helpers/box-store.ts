/**
 * Real vagrant and libvirt for box-store tests: tiny boxes, unique names,
 * a temp VAGRANT_HOME, and cleanup of exactly what a test created — never
 * another box, volume or domain.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeBoxArchive } from '../../src/adapters/box-archive.js';
import { makeTempDir } from './git-repo.js';

export const URI = process.env.LIBVIRT_DEFAULT_URI ?? 'qemu:///system';
export const POOL = 'default';
/** 2024-01-01T00:00:00Z */
export const EPOCH = 1704067200;

export function virsh(...args: string[]): string {
  return execFileSync('virsh', ['-c', URI, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function tryVirsh(...args: string[]): string | undefined {
  try {
    return virsh(...args);
  } catch {
    return undefined;
  }
}

/** Names of the volumes in the default pool (after a refresh). */
export function poolVolumes(): string[] {
  tryVirsh('pool-refresh', POOL);
  const out = tryVirsh('vol-list', '--pool', POOL) ?? '';
  return out
    .split('\n')
    .slice(2)
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n !== '');
}

export function volumesOf(box: string): string[] {
  return poolVolumes()
    .filter((v) => v.startsWith(`${box}_vagrant_box_image_`))
    .sort();
}

/** A box image volume with the kernel and initrd volumes imported beside it (direct kernel boot), sorted as volumesOf. */
export function withBoot(imageVolume: string): string[] {
  return [imageVolume, `${imageVolume}.initrd`, `${imageVolume}.vmlinuz`];
}

/** A box name nobody else uses: <prefix>-amd64-bookworm-<date>-<random hex>. */
export function uniqueBoxName(date: string, prefix = 'tails-builder'): string {
  return `${prefix}-amd64-bookworm-${date}-${randomBytes(5).toString('hex')}`;
}

export interface BoxSandbox {
  readonly dir: string;
  readonly vagrantHome: string;
  readonly env: Record<string, string>;
  /** A tiny real box (a 64 MiB qcow2) at dir/<label>.box. */
  makeBox(label?: string): Promise<string>;
  /** Remembers a box name to clean its volumes up in `cleanup`. */
  track(name: string): string;
  /** Remembers a domain (and its disk volume) to undefine in `cleanup`. */
  trackDomain(domain: string, volume: string): void;
  vagrantBoxes(): string[];
  vagrant(...args: string[]): string;
  cleanup(): void;
}

export function createBoxSandbox(): BoxSandbox {
  const dir = makeTempDir('tb-box-');
  const vagrantHome = join(dir, 'vagrant.d');
  mkdirSync(vagrantHome);
  const env = { VAGRANT_HOME: vagrantHome, VAGRANT_CHECKPOINT_DISABLE: '1', LIBVIRT_DEFAULT_URI: URI };
  const names: string[] = [];
  const domains: { domain: string; volume: string }[] = [];
  let qcow2: string | undefined;
  const vagrant = (...args: string[]): string =>
    execFileSync('vagrant', args, { encoding: 'utf8', env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return {
    dir,
    vagrantHome,
    env,
    async makeBox(label = 'tiny') {
      if (qcow2 === undefined) {
        qcow2 = join(dir, 'tiny.qcow2');
        execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', qcow2, '64M']);
        writeFileSync(join(dir, 'tiny.vmlinuz'), 'not a kernel\n');
        writeFileSync(join(dir, 'tiny.initrd'), 'not an initrd\n');
      }
      const output = join(dir, `${label}.box`);
      const boot = { kernel: join(dir, 'tiny.vmlinuz'), initrd: join(dir, 'tiny.initrd'), cmdline: 'root=/dev/vda1 ro' };
      await writeBoxArchive({ output, boxImage: qcow2, boot, virtualSizeBytes: 64 * 1024 * 1024, mtime: EPOCH });
      return output;
    },
    track(name) {
      names.push(name);
      return name;
    },
    trackDomain(domain, volume) {
      domains.push({ domain, volume });
    },
    vagrantBoxes() {
      return vagrant('box', 'list', '--machine-readable')
        .split('\n')
        .filter((l) => l.split(',')[2] === 'box-name')
        .map((l) => l.split(',')[3] ?? '');
    },
    vagrant,
    cleanup() {
      for (const { domain, volume } of domains) {
        tryVirsh('undefine', domain);
        tryVirsh('vol-delete', '--pool', POOL, volume);
      }
      for (const name of names) for (const v of volumesOf(name)) tryVirsh('vol-delete', '--pool', POOL, v);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Defines (never starts) a domain whose only disk is a new qcow2 volume backed
 * by `backingPath`, as vagrant-libvirt's domain disks are. No network device.
 */
/** A tiny domain (TCG, 64 MiB, no network) with one qcow2 disk: something for libvirt to know, not to boot. */
export function tinyDomainXml(name: string, disk: string): string {
  return `<domain type='qemu'>
  <name>${name}</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='${disk}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
  </devices>
</domain>
`;
}

export function defineDomainOver(sandbox: BoxSandbox, backingPath: string): string {
  const domain = `tb-test-${randomBytes(5).toString('hex')}`;
  const volume = `${domain}.img`;
  virsh('vol-create-as', '--pool', POOL, volume, '64M', '--format', 'qcow2', '--backing-vol', backingPath, '--backing-vol-format', 'qcow2');
  const path = virsh('vol-path', '--pool', POOL, volume).trim();
  sandbox.trackDomain(domain, volume);
  const xml = join(sandbox.dir, `${domain}.xml`);
  writeFileSync(
    xml,
    tinyDomainXml(domain, path),
  );
  virsh('define', xml);
  return domain;
}

/** The volume name vagrant-libvirt 0.11.2 itself computes (HandleBoxImage.get_volume_name), run in Ruby. */
export function vagrantLibvirtVolumeName(sandbox: BoxSandbox, box: string, version: string, boxDir: string): string {
  const script = join(sandbox.dir, 'volume-name.rb');
  writeFileSync(
    script,
    `require 'vagrant'
require 'vagrant-libvirt'
require 'vagrant-libvirt/action/handle_box_image'
name, version, dir = ARGV
box = Vagrant::Box.new(name, :libvirt, version, Pathname.new(dir))
puts VagrantPlugins::ProviderLibvirt::Action::HandleBoxImage.get_volume_name(box, 'box', File.join(dir, 'box.img'), Vagrant::UI::Silent.new)
`,
  );
  return execFileSync('ruby', [script, box, version, boxDir], { encoding: 'utf8' }).trim();
}
