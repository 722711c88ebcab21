/**
 * Makes sure the network build VMs boot on exists, with dnsmasq's no-ping
 * (core/vm-network.ts), before `vagrant up` would create it without. A network
 * of that name that exists already is left as it is (it may be a user's);
 * `bootstrap.sh setup` adds no-ping to one that no running VM uses. Run under
 * the libvirt lock, like `vagrant up`.
 */
import { hasNoPing, renderVmNetworkXml, VM_NETWORK } from '../core/vm-network.js';
import type { Deps } from './deps.js';

export type VmNetworkState = 'defined' | 'present' | 'present-without-no-ping';

export async function ensureVmNetwork(deps: Pick<Deps, 'pool'>): Promise<VmNetworkState> {
  const xml = await deps.pool.readNetworkXml(VM_NETWORK);
  if (xml !== undefined) return hasNoPing(xml) ? 'present' : 'present-without-no-ping';
  await deps.pool.defineNetwork(VM_NETWORK, renderVmNetworkXml());
  return 'defined';
}

export function describeVmNetwork(state: VmNetworkState): string | undefined {
  if (state === 'defined') return `network ${VM_NETWORK}: defined (vagrant-libvirt's defaults, with dnsmasq no-ping: each VM gets its address without a 3 s ping)`;
  if (state === 'present-without-no-ping') return `network ${VM_NETWORK}: without dnsmasq no-ping, each VM waits ~3 s longer for its address (bash provision/host/bootstrap.sh setup adds it when no VM runs)`;
  return undefined;
}
