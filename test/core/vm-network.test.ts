import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasNoPing, renderVmNetworkXml, VM_NETWORK } from '../../src/core/vm-network.js';

describe('the build VMs’ network (vagrant-libvirt’s management network, with dnsmasq no-ping)', () => {
  const xml = renderVmNetworkXml();
  it('has vagrant-libvirt’s default name, NAT and address, so vagrant-libvirt uses it as its own', () => {
    assert.equal(VM_NETWORK, 'vagrant-libvirt');
    assert.match(xml, /<name>vagrant-libvirt<\/name>/);
    assert.match(xml, /<forward mode='nat'\/>/);
    assert.match(xml, /<ip address='192\.168\.121\.1' netmask='255\.255\.255\.0'>/);
    assert.match(xml, /<range start='192\.168\.121\.1' end='192\.168\.121\.254'\/>/);
  });
  it('declares the dnsmasq namespace and its no-ping option, which hasNoPing reads back', () => {
    assert.match(xml, /^<network xmlns:dnsmasq='http:\/\/libvirt\.org\/schemas\/network\/dnsmasq\/1\.0'>/);
    assert.equal(hasNoPing(xml), true);
    assert.equal(hasNoPing(xml.replace(/<dnsmasq:options>[\s\S]*<\/dnsmasq:options>/, '')), false);
    assert.equal(hasNoPing('<network>\n  <dnsmasq:options>\n    <dnsmasq:option value="no-ping"/>\n  </dnsmasq:options>\n</network>'), true);
  });
});
