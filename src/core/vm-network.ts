/**
 * The network build VMs get their address on: vagrant-libvirt's management
 * network under its default name and address (NAT, 192.168.121.0/24), defined
 * by tails-build before vagrant-libvirt would define it, with one difference:
 * dnsmasq's `no-ping`. By default dnsmasq pings each address it is about to
 * lease and waits 3 s for an answer, and every build VM is new to it (measured
 * in a build VM under TCG: carrier at 11.3 s, DHCPv4 lease at 14.4 s; with
 * no-ping at 11.7 s). Pure: the XML, and reading virsh's answer.
 */

export const VM_NETWORK = 'vagrant-libvirt';

export function renderVmNetworkXml(): string {
  return [
    "<network xmlns:dnsmasq='http://libvirt.org/schemas/network/dnsmasq/1.0'>",
    `  <name>${VM_NETWORK}</name>`,
    "  <forward mode='nat'/>",
    "  <ip address='192.168.121.1' netmask='255.255.255.0'>",
    '    <dhcp>',
    "      <range start='192.168.121.1' end='192.168.121.254'/>",
    '    </dhcp>',
    '  </ip>',
    '  <dnsmasq:options>',
    "    <dnsmasq:option value='no-ping'/>",
    '  </dnsmasq:options>',
    '</network>',
    '',
  ].join('\n');
}

/** Whether `virsh net-dumpxml` shows dnsmasq's no-ping. */
export function hasNoPing(xml: string): boolean {
  return /<dnsmasq:option\s+value=['"]no-ping['"]\s*\/>/.test(xml);
}
