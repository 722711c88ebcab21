/** The persistent apt-cacher-ng disk of build VMs: created on first use, never attached to two running VMs. */
import { CACHE_VOLUME_GIB, type VmIdentity } from '../core/build-vm.js';
import type { Deps } from './deps.js';

export /** The cache volume, created on first use; false when another VM holds it (never two writers). */
async function ensureCacheDisk(deps: Deps, vm: VmIdentity, name: string, report: (line: string) => void): Promise<boolean> {
  await deps.pool.ensurePool();
  const volumes = await deps.pool.listVolumes();
  let volume = volumes.find((v) => v.name === name);
  if (volume === undefined) {
    report(`creating the apt-cacher-ng disk ${name} (${String(CACHE_VOLUME_GIB)} GiB, qcow2) in pool ${deps.pool.name}`);
    await deps.pool.createVolume({ name, capacityGiB: CACHE_VOLUME_GIB });
    volume = (await deps.pool.listVolumes()).find((v) => v.name === name);
  }
  const users = (await deps.domains.usersOfFile(volume?.path ?? name)).filter((d) => d !== vm.domain);
  for (const other of users) {
    if ((await deps.domains.state(other)) === 'running') {
      deps.out.warn(`The apt-cacher-ng disk is in use by the running VM ${other}; this build runs without the cache (packages come straight from the snapshot server).`);
      return false;
    }
  }
  return true;
}

