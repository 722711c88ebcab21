/**
 * The vagrant-libvirt box archive, as data: what goes in it, in which order,
 * with which owners, mode and time. Pure; the tar is written by
 * adapters/box-archive.ts.
 *
 * Format "v1" of vagrant-libvirt (the one create_box.sh writes and Tails
 * uses): a tar of metadata.json, Vagrantfile and box.img, where box.img is
 * the qcow2 root disk and metadata.json gives its format and virtual size.
 * Three more members, which vagrant unpacks and ignores, let tails-build boot
 * the box without firmware disk boot or GRUB (libvirt's <kernel>, <initrd>,
 * <cmdline>): `cmdline`, `vmlinuz` and `initrd.img` — the same kernel,
 * initrd and command line as the disk's GRUB entry.
 */

export const GIB = 1024 ** 3;

/** Members in the order they are written. The order is part of the box's identity (its sha256). */
export const BOX_MEMBER_NAMES = ['metadata.json', 'Vagrantfile', 'cmdline', 'vmlinuz', 'initrd.img', 'box.img'] as const;
export type BoxMemberName = (typeof BOX_MEMBER_NAMES)[number];

/** Every member is a regular file owned by 0:0 with empty user/group names and this mode. */
export const BOX_MEMBER_MODE = 0o644;

export interface BoxMember {
  readonly name: BoxMemberName;
  /** The text of a small member, or a file streamed into the archive (box.img, the kernel, the initrd). */
  readonly content: { readonly kind: 'text'; readonly text: string } | { readonly kind: 'file'; readonly path: string };
}

export interface BoxMetadata {
  readonly provider: 'libvirt';
  readonly format: 'qcow2';
  /** GiB, rounded up (vagrant-libvirt sizes the VM disk from it). */
  readonly virtual_size: number;
}

/** The qcow2 virtual size in whole GiB, rounded up like create_box.sh's `jq … | ceil`; at least 1. */
export function computeVirtualSizeGiB(virtualSizeBytes: number): number {
  if (!Number.isSafeInteger(virtualSizeBytes) || virtualSizeBytes <= 0) {
    throw new RangeError(`virtual size must be a positive whole number of bytes, got ${String(virtualSizeBytes)}`);
  }
  return Math.ceil(virtualSizeBytes / GIB);
}

export function computeBoxMetadata(virtualSizeBytes: number): BoxMetadata {
  return { provider: 'libvirt', format: 'qcow2', virtual_size: computeVirtualSizeGiB(virtualSizeBytes) };
}

/** metadata.json: one line, keys in a fixed order. */
export function renderBoxMetadata(virtualSizeBytes: number): string {
  const m = computeBoxMetadata(virtualSizeBytes);
  return `{"provider":"${m.provider}","format":"${m.format}","virtual_size":${m.virtual_size}}\n`;
}

/**
 * The box's own Vagrantfile, merged by Vagrant under the project's. Kept
 * minimal: the driver (kvm or qemu), CPU model, memory and shares depend on the
 * host and are decided by the project's Vagrantfile at VM time.
 *
 * No `libvirt.serial` here on purpose: vagrant-libvirt 0.11.2 concatenates the
 * serial lists of every Vagrantfile layer (box first), so a box-level serial
 * would take ttyS0 — the guest's console — away from the project's serial log
 * file. With none configured anywhere, vagrant-libvirt gives the domain a pty
 * serial console, which the guest's `console=ttyS0` uses.
 */
export function renderBoxVagrantfile(): string {
  return [
    '# Builder box for tails-build (vagrant-libvirt box format v1).',
    '# The project Vagrantfile chooses driver, CPU, memory and shares at VM time;',
    '# the serial console is vagrant-libvirt\'s default pty (see core/box-archive.ts).',
    'Vagrant.configure("2") do |config|',
    '  config.vm.provider :libvirt do |libvirt|',
    '    libvirt.storage_pool_name = "default"',
    '    libvirt.disk_bus = "virtio"',
    '  end',
    'end',
    '',
  ].join('\n');
}

/** The members of the box, in archive order. */
export function planBoxMembers(input: Pick<BoxArchiveInput, 'virtualSizeBytes' | 'boxImage' | 'boot'>): readonly BoxMember[] {
  return [
    { name: 'metadata.json', content: { kind: 'text', text: renderBoxMetadata(input.virtualSizeBytes) } },
    { name: 'Vagrantfile', content: { kind: 'text', text: renderBoxVagrantfile() } },
    { name: 'cmdline', content: { kind: 'text', text: `${input.boot.cmdline}\n` } },
    { name: 'vmlinuz', content: { kind: 'file', path: input.boot.kernel } },
    { name: 'initrd.img', content: { kind: 'file', path: input.boot.initrd } },
    { name: 'box.img', content: { kind: 'file', path: input.boxImage } },
  ];
}

/** Reads `virtual-size` out of `qemu-img info --output=json`. */
export function parseQemuImgVirtualSize(json: string): number {
  const info = JSON.parse(json) as { 'virtual-size'?: unknown; format?: unknown };
  const size = info['virtual-size'];
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size <= 0) {
    throw new RangeError('qemu-img info printed no positive "virtual-size"');
  }
  return size;
}

export interface BoxArchiveInput {
  /** Where the .box goes. */
  readonly output: string;
  /** The qcow2 root disk, stored as box.img. */
  readonly boxImage: string;
  /** The disk's kernel, initrd and kernel command line, stored as vmlinuz, initrd.img and cmdline. */
  readonly boot: { readonly kernel: string; readonly initrd: string; readonly cmdline: string };
  /** The qcow2 virtual size in bytes (`qemu-img info`); metadata.json gets it in GiB, rounded up. */
  readonly virtualSizeBytes: number;
  /** Every member's mtime: SOURCE_DATE_EPOCH, in seconds. */
  readonly mtime: number;
}

export interface BoxArchiveResult {
  readonly path: string;
  readonly sha256: string;
  readonly sizeBytes: number;
}
