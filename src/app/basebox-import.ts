/**
 * Import a builder box: `vagrant box add` under its name, then pre-seed the
 * libvirt pool with the box image under exactly the volume name
 * vagrant-libvirt looks for, so the first `vagrant up` finds it and skips its
 * own (slow) upload. All of it under the host-wide lock.
 */
import { computeBoxVolumeName, findDomainsUsing, isBoxVolumeOf, type LibvirtPool, type VagrantBox, type VagrantBoxes } from '../core/box-store.js';
import { boxStoreMessages as msg } from '../core/box-store-messages.js';
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

export interface ImportBaseboxResult {
  readonly name: string;
  /** The pool volume vagrant-libvirt will use as the VM disk's backing file. */
  readonly volume: string;
  readonly volumePath: string;
  /** box.img as vagrant unpacked it under VAGRANT_HOME. */
  readonly boxImage: string;
  /** Whether a box of that name was already in vagrant (and was replaced). */
  readonly replacedBox: boolean;
  /** Stale pool volumes of that name removed first (vagrant-libvirt #350 would reuse them). */
  readonly removedVolumes: readonly string[];
  readonly timingsMs: { readonly waitLock: number; readonly vagrantAdd: number; readonly volumeUpload: number; readonly total: number };
}

export async function importBasebox(deps: BoxStoreDeps, request: ImportBaseboxRequest): Promise<ImportBaseboxResult> {
  const { name, boxFile } = request;
  const started = deps.clock.now().getTime();
  const since = (t: number): number => deps.clock.now().getTime() - t;
  if (!(await deps.vagrant.isBoxFile(boxFile))) throw msg.boxFileMissing(boxFile);

  return deps.locks.withLock(
    LIBVIRT_LOCK,
    async () => {
      const waitLock = since(started);
      await deps.pool.ensurePool();

      const stale = (await deps.pool.listVolumes()).filter((v) => isBoxVolumeOf(v.name, name));
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

      const volume = computeBoxVolumeName(box, image);
      const uploadStarted = deps.clock.now().getTime();
      deps.out.info(`Uploading ${image.path} to the ${deps.pool.name} pool as ${volume}.`);
      await deps.pool.uploadVolume({ name: volume, file: image.path, format: 'qcow2' });
      const volumeUpload = since(uploadStarted);

      const boxes = (await deps.vagrant.listBoxes()).filter((b) => isOurs(b, name));
      const volumes = (await deps.pool.listVolumes()).filter((v) => isBoxVolumeOf(v.name, name));
      const only = volumes[0];
      if (boxes.length !== 1 || volumes.length !== 1 || only?.name !== volume) {
        throw msg.verifyFailed(
          name,
          boxes.length,
          volumes.map((v) => v.name),
          volume,
        );
      }
      return {
        name,
        volume,
        volumePath: only.path,
        boxImage: image.path,
        replacedBox,
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

function isOurs(box: VagrantBox, name: string): boolean {
  return box.name === name && box.provider === 'libvirt';
}
