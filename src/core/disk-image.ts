/**
 * The builder box disk, made bit-for-bit reproducible without device-mapper,
 * loop devices or a boot: pure planning of the partition table, the ext4
 * filesystem ids, the inode-time fix-up and the GRUB boot sectors.
 *
 * Every id that tools would draw at random (partition-table id, fs UUID,
 * directory hash seed) is derived from the box name instead, so the same box
 * name always yields the same bytes and different boxes never share ids.
 */
import { createHash } from 'node:crypto';
import { command, type Command } from './command.js';

export const SECTOR_BYTES = 512;
/** The root partition starts at 1 MiB; GRUB's core image lives in the gap before it. */
export const PARTITION_START_SECTOR = 2048;
export const PARTITION_OFFSET_BYTES = PARTITION_START_SECTOR * SECTOR_BYTES;
/** Sector of the disk where core.img is embedded (right after the MBR). */
export const CORE_IMAGE_SECTOR = 1;

export interface DiskIdentity {
  /** sfdisk label-id, e.g. 0x1a2b3c4d. */
  readonly labelId: string;
  readonly rootUuid: string;
  readonly hashSeed: string;
}

export function computeDiskIdentity(boxName: string): DiskIdentity {
  const digest = createHash('sha256').update(`tails-build disk identity\0${boxName}`).digest('hex');
  return {
    labelId: `0x${digest.slice(0, 8)}`,
    rootUuid: asUuid(digest.slice(8, 40)),
    hashSeed: asUuid(digest.slice(32, 64)),
  };
}

/**
 * The builder's kernel command line: GRUB's menu entry on the disk, and the
 * box's direct kernel boot (the box's `cmdline` member), the same text.
 * `quiet`: under TCG every console byte is an emulated port write.
 */
export function planKernelCommandLine(identity: Pick<DiskIdentity, 'rootUuid'>): string {
  return `root=UUID=${identity.rootUuid} ro console=tty0 console=ttyS0,115200n8 net.ifnames=0 mitigations=off quiet`;
}

/** A random-looking but fixed UUID (version 4 layout) from 32 hex digits. */
function asUuid(hex: string): string {
  const h = hex.split('');
  h[12] = '4';
  h[16] = ((Number.parseInt(h[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  const s = h.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20, 32)}`;
}

/** sfdisk input: a DOS label with a fixed id and one bootable Linux partition from 1 MiB to the end. */
export function planPartitionTable(identity: DiskIdentity): string {
  return ['label: dos', `label-id: ${identity.labelId}`, 'unit: sectors', '', `start=${PARTITION_START_SECTOR}, type=83, bootable`, ''].join('\n');
}

export interface MkfsPlan {
  readonly image: string;
  readonly tree: string;
  readonly diskBytes: number;
  readonly identity: DiskIdentity;
  readonly sourceDateEpoch: number;
}

/**
 * mkfs.ext4 straight into the partition of a raw disk image, populated from
 * a directory. E2FSPROGS_FAKE_TIME pins the superblock times and crtime.
 */
export function planMkfs(plan: MkfsPlan): Command {
  const fsBytes = plan.diskBytes - PARTITION_OFFSET_BYTES;
  return command(
    'mkfs.ext4',
    [
      '-q',
      '-F',
      '-L',
      'tails-builder',
      '-U',
      plan.identity.rootUuid,
      '-E',
      `offset=${PARTITION_OFFSET_BYTES},hash_seed=${plan.identity.hashSeed},nodiscard`,
      '-d',
      plan.tree,
      plan.image,
      `${Math.floor(fsBytes / 1024)}k`,
    ],
    { effect: 'write', env: { E2FSPROGS_FAKE_TIME: String(plan.sourceDateEpoch) } },
  );
}

/**
 * A debugfs command file that sets every inode's ctime and atime (copied by
 * `mkfs.ext4 -d` from the extraction, i.e. "now") to SOURCE_DATE_EPOCH.
 * `paths` are relative to the tree root, without a leading slash.
 */
export function planInodeTimes(paths: readonly string[], sourceDateEpoch: number): string {
  const t = `0x${sourceDateEpoch.toString(16)}`;
  const lines: string[] = [];
  for (const path of ['', 'lost+found', ...paths]) {
    if (path.includes('\n')) throw new Error(`cannot fix the times of a path with a newline: ${JSON.stringify(path)}`);
    const quoted = `"/${path.replaceAll('"', '""')}"`;
    for (const field of ['ctime', 'atime']) {
      lines.push(`sif ${quoted} ${field} ${t}`, `sif ${quoted} ${field}_extra 0`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** GRUB i386-pc boot.img offsets (grub/boot/i386/pc/boot.S). */
const KERNEL_SECTOR_OFFSET = 0x5c;
const DRIVE_CHECK_OFFSET = 0x66;
/** boot.img code ends where the disk signature and partition table begin. */
const BOOT_CODE_BYTES = 440;
/** diskboot.img (core.img's first sector) ends with a blocklist: start u64, length u16, segment u16. */
const BLOCKLIST_START_OFFSET = SECTOR_BYTES - 12;

export interface BootSectors {
  /** The new first sector of the disk. */
  readonly mbr: Uint8Array;
  /** core.img as it is written at CORE_IMAGE_SECTOR. */
  readonly core: Uint8Array;
}

/**
 * Embeds GRUB in the MBR gap as grub-bios-setup would, without needing the
 * disk to be a block device: boot.img's code goes into the MBR (keeping the
 * partition table and signature), told to load core.img from `coreSector`;
 * core.img's own blocklist points at its second sector.
 */
export function planBootSectors(mbr: Uint8Array, bootImg: Uint8Array, coreImg: Uint8Array, coreSector = CORE_IMAGE_SECTOR): BootSectors {
  if (mbr.length !== SECTOR_BYTES) throw new Error(`the MBR must be ${SECTOR_BYTES} bytes, got ${mbr.length}`);
  if (bootImg.length !== SECTOR_BYTES) throw new Error(`boot.img must be ${SECTOR_BYTES} bytes, got ${bootImg.length}`);
  if (mbr[510] !== 0x55 || mbr[511] !== 0xaa) throw new Error('the disk has no partition table (no 0x55AA signature)');
  const coreSectors = Math.ceil(coreImg.length / SECTOR_BYTES);
  if (coreSector < 1 || coreSector + coreSectors > PARTITION_START_SECTOR) {
    throw new Error(`core.img (${coreSectors} sectors at ${coreSector}) does not fit before the first partition at sector ${PARTITION_START_SECTOR}`);
  }
  const out = Uint8Array.from(mbr);
  out.set(bootImg.subarray(0, BOOT_CODE_BYTES), 0);
  const view = new DataView(out.buffer);
  view.setBigUint64(KERNEL_SECTOR_OFFSET, BigInt(coreSector), true);
  // Hard disk: replace the "trust the BIOS drive number" jump with NOPs, as grub-bios-setup does.
  out[DRIVE_CHECK_OFFSET] = 0x90;
  out[DRIVE_CHECK_OFFSET + 1] = 0x90;

  const core = Uint8Array.from(coreImg);
  new DataView(core.buffer).setBigUint64(BLOCKLIST_START_OFFSET, BigInt(coreSector + 1), true);
  return { mbr: out, core };
}

/**
 * debugfs applying a command file to the partition's filesystem. debugfs
 * stamps the superblock's write time when it closes the filesystem, so it
 * needs the same fake time as mkfs.
 */
export function planDebugfs(image: string, scriptFile: string, sourceDateEpoch: number): Command {
  return command('debugfs', ['-w', '-f', scriptFile, `${image}?offset=${PARTITION_OFFSET_BYTES}`], {
    effect: 'write',
    env: { E2FSPROGS_FAKE_TIME: String(sourceDateEpoch) },
  });
}

/** qcow2 with explicit options, so the bytes do not depend on qemu-img's defaults. */
export function planQcow2Convert(raw: string, qcow2: string): Command {
  return command('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', '-o', 'compat=1.1,cluster_size=65536', raw, qcow2], { effect: 'write' });
}
