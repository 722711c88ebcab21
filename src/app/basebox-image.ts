/**
 * The builder box disk image, as steps: root tree (mmdebstrap) → ext4 disk
 * image → GRUB in the MBR gap → qcow2. Bit-for-bit reproducible: same box
 * name, serials and definition give the same bytes (see core/disk-image.ts).
 */
import { join } from 'node:path';
import { planAptSources, planMmdebstrap, type SnapshotSource, BUILDER_HOSTNAME } from '../core/basebox-build.js';
import { classifyAptFailure } from '../core/apt-errors.js';
import { command } from '../core/command.js';
import {
  CORE_IMAGE_SECTOR,
  computeDiskIdentity,
  planKernelCommandLine,
  planBootSectors,
  planDebugfs,
  planInodeTimes,
  planMkfs,
  planPartitionTable,
  planQcow2Convert,
  SECTOR_BYTES,
} from '../core/disk-image.js';
import type { Step } from '../ui/progress.js';
import type { CleanupStack } from './cleanup.js';
import type { Deps } from './deps.js';

export interface BaseboxImageRequest {
  readonly name: string;
  /** Absolute path of the box definition dir (passed to the hook). */
  readonly definitionDir: string;
  readonly packages: readonly string[];
  /** `<definition>/customize.sh`, or the tool's default. */
  readonly customizeHook: string;
  /** Snapshots as the host reaches them (mmdebstrap). */
  readonly hostSources: readonly SnapshotSource[];
  /** The same snapshots as a build VM reaches them (written into the box). */
  readonly guestSources: readonly SnapshotSource[];
  /** A snapshot keyring the host does not have (Tails' key): written to hostPath for mmdebstrap, copied into the box at guestPath. */
  readonly keyringFile?: { readonly bytes: Uint8Array; readonly hostPath: string; readonly guestPath: string } | undefined;
  readonly codename: string;
  readonly arch: string;
  readonly sourceDateEpoch: number;
  readonly workDir: string;
  readonly diskBytes: number;
}

export interface BaseboxImageState {
  tarball?: string;
  tree?: string;
  raw?: string;
  qcow2?: string;
  /** The box's kernel and initrd, copied out of the tree for direct kernel boot. */
  kernel?: string;
  initrd?: string;
}

const TMPFS_BYTES = 8 * 1024 ** 3;

export function baseboxImageSteps(
  deps: Pick<Deps, 'runner' | 'disk'>,
  req: BaseboxImageRequest,
  cleanup: CleanupStack,
): Step<BaseboxImageState>[] {
  const identity = computeDiskIdentity(req.name);
  let mounted = false;
  const unmount = async (tree: string): Promise<void> => {
    if (!mounted) return;
    await deps.runner.run(command('umount', [tree], { effect: 'write' }), { uninterruptible: true });
    mounted = false;
  };

  return [
    {
      id: 'tree',
      title: `Bootstrap the root tree from the frozen snapshots (mmdebstrap, ${req.packages.length} packages)`,
      run: async (state, report) => {
        await deps.disk.mkdirp(req.workDir);
        const guestSources = join(req.workDir, 'snapshots.sources');
        await deps.disk.writeText(guestSources, planAptSources(req.guestSources));
        const keyring = req.keyringFile;
        if (keyring !== undefined) {
          // The files port writes bytes into an existing file: make it empty, then write.
          await deps.disk.createSparseFile(keyring.hostPath, 0);
          await deps.disk.writeAt(keyring.hostPath, 0, keyring.bytes);
        }
        const tarball = join(req.workDir, 'rootfs.tar');
        const cmd = planMmdebstrap({
          codename: req.codename,
          arch: req.arch,
          packages: req.packages,
          sources: req.hostSources,
          output: tarball,
          customizeHook: req.customizeHook,
          uploads: keyring === undefined ? [] : [{ from: keyring.hostPath, to: keyring.guestPath }],
          sourceDateEpoch: req.sourceDateEpoch,
          hookEnv: {
            TB_DEFINITION_DIR: req.definitionDir,
            TB_ROOT_UUID: identity.rootUuid,
            TB_APT_SOURCES: guestSources,
            TB_HOSTNAME: BUILDER_HOSTNAME,
            TB_KERNEL_CMDLINE: planKernelCommandLine(identity),
          },
        });
        const output: string[] = [];
        try {
          await deps.runner.run(cmd, {
            onLine: (line) => {
              output.push(line);
              report(line);
            },
          });
        } catch (error) {
          throw classifyAptFailure(output.join('\n')) ?? error;
        }
        state.tarball = tarball;
      },
    },
    {
      id: 'image',
      title: 'Make the ext4 disk image (fixed ids and inode times)',
      run: async (state, report) => {
        const tarball = required(state.tarball, 'tarball');
        const tree = join(req.workDir, 'tree');
        await deps.disk.mkdirp(tree);
        await deps.runner.run(command('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_BYTES},mode=0755`, 'tmpfs', tree], { effect: 'write' }));
        mounted = true;
        cleanup.push(`unmount ${tree}`, () => unmount(tree));
        state.tree = tree;
        report('extracting the root tree into tmpfs');
        await deps.runner.run(command('tar', ['--numeric-owner', '--xattrs', '--xattrs-include=*', '-xpf', tarball, '-C', tree], { effect: 'write' }));
        const raw = join(req.workDir, 'disk.raw');
        await deps.disk.createSparseFile(raw, req.diskBytes);
        await deps.runner.run(command('sfdisk', ['-q', raw], { effect: 'write', input: planPartitionTable(identity) }));
        report('mkfs.ext4 -d');
        await deps.runner.run(planMkfs({ image: raw, tree, diskBytes: req.diskBytes, identity, sourceDateEpoch: req.sourceDateEpoch }));
        report('fixing inode times');
        const script = join(req.workDir, 'inode-times.debugfs');
        await deps.disk.writeText(script, planInodeTimes(await deps.disk.listTree(tree), req.sourceDateEpoch));
        await deps.runner.run(planDebugfs(raw, script, req.sourceDateEpoch));
        state.raw = raw;
      },
    },
    {
      id: 'bootloader',
      title: 'Embed GRUB in the MBR gap; keep the kernel and initrd for direct boot',
      run: async (state) => {
        const tree = required(state.tree, 'tree');
        const raw = required(state.raw, 'raw disk');
        const grubDir = join(tree, 'boot/grub/i386-pc');
        const [bootImg, coreImg, mbr] = await Promise.all([deps.disk.readBytes(join(grubDir, 'boot.img')), deps.disk.readBytes(join(grubDir, 'core.img')), deps.disk.readSector(raw, 0)]);
        const sectors = planBootSectors(mbr, bootImg, coreImg);
        await deps.disk.writeAt(raw, 0, sectors.mbr);
        await deps.disk.writeAt(raw, CORE_IMAGE_SECTOR * SECTOR_BYTES, sectors.core);
        // The kernel and initrd GRUB boots (/vmlinuz, /initrd.img), also kept beside the disk: a build VM boots them directly.
        const kernel = join(req.workDir, 'vmlinuz');
        const initrd = join(req.workDir, 'initrd.img');
        await deps.runner.run(command('cp', ['--dereference', '--', join(tree, 'vmlinuz'), kernel], { effect: 'write' }));
        await deps.runner.run(command('cp', ['--dereference', '--', join(tree, 'initrd.img'), initrd], { effect: 'write' }));
        state.kernel = kernel;
        state.initrd = initrd;
        await unmount(tree);
      },
    },
    {
      id: 'qcow2',
      title: 'Convert the disk to qcow2',
      run: async (state) => {
        const raw = required(state.raw, 'raw disk');
        const qcow2 = join(req.workDir, 'box.img');
        await deps.runner.run(planQcow2Convert(raw, qcow2));
        await deps.disk.remove(raw);
        if (state.tarball !== undefined) await deps.disk.remove(state.tarball);
        state.qcow2 = qcow2;
      },
    },
  ];
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`internal: the ${what} was not produced by an earlier step`);
  return value;
}
