/**
 * Import a builder box: `vagrant box add` under its name, then pre-seed the
 * libvirt pool with the box image under exactly the volume name the installed
 * vagrant-libvirt looks for, so the first `vagrant up` finds it and skips its
 * own (slow) upload. When that name is not known (a vagrant-libvirt whose naming
 * was not read, or no version found), nothing is pre-seeded: vagrant-libvirt
 * uploads the box itself at the first `vagrant up`, and the import says so.
 * All of it under the host-wide lock.
 */
import {
  findDomainsUsing,
  computeBootVolumeNames,
  isBoxPoolVolumeOf,
  isBoxVolumeOf,
  poolVolumeName,
  VOLUME_NAMING_READ_TEXT,
  type LibvirtPool,
  type PluginVersion,
  type VagrantBox,
  type VagrantBoxImage,
  type VagrantBoxes,
} from '../core/box-store.js';
import { boxStoreMessages as msg } from '../core/messages/index.js';
import type { Clock, HostLocks, Log } from '../core/ports.js';

/** The lock guarding box import, pool writes and VM networks on this host. */
export const LIBVIRT_LOCK = 'libvirt';

export interface BoxStoreDeps {
  readonly vagrant: VagrantBoxes;
  readonly pool: LibvirtPool;
  readonly locks: HostLocks;
  readonly clock: Clock;
  readonly out: Log;
  /** For messages only. */
  readonly vagrantHome: string;
}

export interface ImportBaseboxRequest {
  readonly name: string;
  /** The .box file (tar of metadata.json, Vagrantfile, box.img). */
  readonly boxFile: string;
}

/** ImportBaseboxResult.volume when nothing was pre-seeded. */
export const NOT_PRESEEDED = 'none pre-seeded (vagrant-libvirt uploads the box at the first vagrant up)';

export interface ImportBaseboxResult {
  readonly name: string;
  /** The pool volume vagrant-libvirt will use as the VM disk's backing file; NOT_PRESEEDED when `preseeded` is false. */
  readonly volume: string;
  /** Its path; '' when `preseeded` is false. */
  readonly volumePath: string;
  /** Whether box.img was uploaded into the pool under the name vagrant-libvirt looks for. */
  readonly preseeded: boolean;
  /** The installed vagrant-libvirt the name was computed for (undefined: unknown). */
  readonly vagrantLibvirt: PluginVersion;
  /** box.img as vagrant unpacked it under VAGRANT_HOME. */
  readonly boxImage: string;
  /** Whether a box of that name was already in vagrant (and was replaced). */
  readonly replacedBox: boolean;
  /** The box's kernel and initrd uploaded beside its image volume (direct kernel boot), sorted; none for a box without them. */
  readonly bootVolumes: readonly string[];
  /** Stale pool volumes of that name removed first (vagrant-libvirt #350 would reuse them). */
  readonly removedVolumes: readonly string[];
  readonly timingsMs: { readonly waitLock: number; readonly vagrantAdd: number; readonly volumeUpload: number; readonly total: number };
}

export async function importBasebox(deps: BoxStoreDeps, request: ImportBaseboxRequest): Promise<ImportBaseboxResult> {
  const { name, boxFile } = request;
  const started = deps.clock.now().getTime();
  const since = (t: number): number => deps.clock.now().getTime() - t;
  if (!(await deps.vagrant.isBoxFile(boxFile))) throw msg.boxFileMissing(boxFile);
  const plugin = await deps.vagrant.readPluginVersion();
  deps.out.debug(`vagrant-libvirt ${plugin.version ?? 'version unknown'} (${plugin.source})`);

  return deps.locks.withLock(
    LIBVIRT_LOCK,
    async () => {
      const waitLock = since(started);
      await deps.pool.ensurePool();

      const stale = (await deps.pool.listVolumes()).filter((v) => isBoxPoolVolumeOf(v.name, name));
      if (stale.length > 0) {
        const users = findDomainsUsing(
          stale.map((v) => v.path),
          await deps.pool.listDomainDisks(),
        );
        if (users.length > 0) throw msg.inUse(name, users);
        for (const volume of stale) {
          deps.out.info(`Removing the stale pool volume ${volume.name} (vagrant-libvirt would reuse it instead of the new box).`);
          await deps.pool.deleteVolume(volume.name);
        }
      }

      const replacedBox = (await deps.vagrant.listBoxes()).some((b) => isOurs(b, name));
      const addStarted = deps.clock.now().getTime();
      deps.out.info(`Adding ${name} to vagrant${replacedBox ? ' (replacing the box of that name)' : ''}.`);
      await deps.vagrant.addBox(name, boxFile, { force: replacedBox });
      const vagrantAdd = since(addStarted);

      const box = (await deps.vagrant.listBoxes()).find((b) => isOurs(b, name));
      if (box === undefined) throw msg.notListed(name, deps.vagrantHome);
      const image = await deps.vagrant.readBoxImage(box);
      if (image === undefined) throw msg.notUnpacked(name, `${deps.vagrantHome}/boxes/…/box.img`);

      const volume = poolVolumeName(box.name, { pluginVersion: plugin.version, boxVersion: box.version, mtime: image.mtimeSeconds });
      const uploadStarted = deps.clock.now().getTime();
      if (volume === undefined) {
        deps.out.warn(notPreseededText(deps.pool.name, plugin, image));
      } else {
        deps.out.info(`Uploading ${image.path} to the ${deps.pool.name} pool as ${volume}.`);
        await deps.pool.uploadVolume({ name: volume, file: image.path, format: 'qcow2' });
        // A build VM boots the box's kernel directly; QEMU reads it from the pool, where it may read.
        if (image.boot !== undefined) {
          const boot = computeBootVolumeNames(volume);
          deps.out.info(`Uploading the box's kernel and initrd (direct kernel boot) as ${boot.kernel} and ${boot.initrd}.`);
          await deps.pool.uploadVolume({ name: boot.kernel, file: image.boot.kernel, format: 'raw' });
          await deps.pool.uploadVolume({ name: boot.initrd, file: image.boot.initrd, format: 'raw' });
        }
      }
      const volumeUpload = since(uploadStarted);
      const bootVolumes = volume === undefined || image.boot === undefined ? [] : Object.values(computeBootVolumeNames(volume)).sort();

      const boxes = (await deps.vagrant.listBoxes()).filter((b) => isOurs(b, name));
      const volumes = (await deps.pool.listVolumes()).filter((v) => isBoxVolumeOf(v.name, name));
      const only = volumes[0];
      const seeded = volume === undefined ? volumes.length === 0 : volumes.length === 1 && only?.name === volume;
      if (boxes.length !== 1 || !seeded) {
        throw msg.verifyFailed(
          name,
          boxes.length,
          volumes.map((v) => v.name),
          volume ?? 'none (nothing pre-seeded)',
        );
      }
      return {
        name,
        volume: volume ?? NOT_PRESEEDED,
        volumePath: volume === undefined ? '' : (only?.path ?? ''),
        preseeded: volume !== undefined,
        vagrantLibvirt: plugin,
        boxImage: image.path,
        replacedBox,
        bootVolumes,
        removedVolumes: stale.map((v) => v.name),
        timingsMs: { waitLock, vagrantAdd, volumeUpload, total: since(started) },
      };
    },
    {
      onWait: (holder) => {
        deps.out.info(`Waiting for the host lock ${holder.lockPath}, held by pid ${holder.pid} (${holder.command}) since ${holder.startedAt}.`);
      },
    },
  );
}

/** vagrant-libvirt's own upload of a ~750 MB box.img at the first `vagrant up`, measured here. */
const SELF_UPLOAD_SECONDS_PER_750_MB = 150;

/** Why nothing is pre-seeded, and what it costs: one line. */
function notPreseededText(pool: string, plugin: PluginVersion, image: Pick<VagrantBoxImage, 'path' | 'sizeBytes'>): string {
  const why =
    plugin.version === undefined
      ? `the installed vagrant-libvirt version is unknown (${plugin.source} names one)`
      : `vagrant-libvirt ${plugin.version} (${plugin.source}) is not a version whose volume naming this tool has read (${VOLUME_NAMING_READ_TEXT})`;
  const megabytes = Math.round(image.sizeBytes / 1e6);
  const seconds = Math.max(1, Math.round((image.sizeBytes / 750e6) * SELF_UPLOAD_SECONDS_PER_750_MB));
  return (
    `Not pre-seeding the ${pool} pool: ${why}, and a volume under a name it does not look for would only be a stale copy. ` +
    `The first VM start from this box will be slow: vagrant-libvirt uploads ${image.path} (${megabytes} MB) itself, about ${seconds} s here (~150 s for 750 MB).`
  );
}

function isOurs(box: VagrantBox, name: string): boolean {
  return box.name === name && box.provider === 'libvirt';
}
