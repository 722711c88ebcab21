import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  computeBoxVolumeName,
  escapeBoxName,
  findDomainsUsing,
  isBoxVolumeOf,
  parseDomainDiskFiles,
  parseVagrantBoxList,
  parseVolInfoBytes,
  parseVolList,
  parseVolumeBackingPath,
  parseVolumeFormat,
} from '../../src/core/box-store.js';

describe('computeBoxVolumeName (vagrant-libvirt 0.11.2 HandleBoxImage.get_volume_name)', () => {
  const table: [string, string, number, string][] = [
    ['tails-builder-amd64-bookworm-20240902-f5bd6a8', '0', 1795309113, 'tails-builder-amd64-bookworm-20240902-f5bd6a8_vagrant_box_image_0_1795309113_box.img'],
    ['tails-builder-amd64-bookworm-20240902-f5bd6a8', '', 42, 'tails-builder-amd64-bookworm-20240902-f5bd6a8_vagrant_box_image_0_42_box.img'],
    ['debian/bookworm64', '12.20240905.1', 42, 'debian-VAGRANTSLASH-bookworm64_vagrant_box_image_12.20240905.1_box.img'],
  ];
  for (const [name, version, mtime, expected] of table) {
    it(`${name} v${version || '(none)'} → ${expected}`, () => {
      assert.equal(computeBoxVolumeName({ name, version }, { mtimeSeconds: mtime }), expected);
    });
  }
  it('escapes slashes like vagrant', () => {
    assert.equal(escapeBoxName('a/b/c'), 'a-VAGRANTSLASH-b-VAGRANTSLASH-c');
  });
});

describe('isBoxVolumeOf', () => {
  const box = 'tails-builder-amd64-bookworm-20240902-f5bd6a8';
  const table: [string, boolean][] = [
    [`${box}_vagrant_box_image_0_1795309113_box.img`, true],
    [`${box}_vagrant_box_image_0.img`, true], // older vagrant-libvirt, as in Tails' Rakefile
    [`${box}_default.img`, false], // the VM's own disk
    [`${box}0_vagrant_box_image_0_1_box.img`, false],
    [`tails-builder-amd64-bookworm-20240902-f5bd6a_vagrant_box_image_0_1_box.img`, false],
    ['apt-cacher-ng.qcow2', false],
  ];
  for (const [volume, expected] of table) {
    it(`${volume} → ${expected}`, () => {
      assert.equal(isBoxVolumeOf(volume, box), expected);
    });
  }
});

describe('parseVagrantBoxList', () => {
  it('reads name/provider/version triples of --machine-readable', () => {
    const out = [
      '1795308895,,ui,info,tb-probe/x (libvirt%!(VAGRANT_COMMA) 0)',
      '1795308895,,box-name,tb-probe/x',
      '1795308895,,box-provider,libvirt',
      '1795308895,,box-version,0',
      '1795308895,,ui,info,tails-builder-amd64-bookworm-20240101-abc (libvirt%!(VAGRANT_COMMA) 0)',
      '1795308895,,box-name,tails-builder-amd64-bookworm-20240101-abc',
      '1795308895,,box-provider,libvirt',
      '1795308895,,box-version,0',
      '',
    ].join('\n');
    assert.deepEqual(parseVagrantBoxList(out), [
      { name: 'tb-probe/x', provider: 'libvirt', version: '0' },
      { name: 'tails-builder-amd64-bookworm-20240101-abc', provider: 'libvirt', version: '0' },
    ]);
  });
  it('reads an empty store', () => {
    assert.deepEqual(parseVagrantBoxList('1795308895,,ui,info,There are no installed boxes!\n'), []);
  });
});

describe('virsh output', () => {
  it('parses vol-list', () => {
    const out = ` Name                 Path
-------------------------------------------------------------
 a_vagrant_box_image_0_1_box.img   /var/lib/libvirt/images/a_vagrant_box_image_0_1_box.img
 cache.qcow2          /var/lib/libvirt/images/cache.qcow2

`;
    assert.deepEqual(parseVolList(out), [
      { name: 'a_vagrant_box_image_0_1_box.img', path: '/var/lib/libvirt/images/a_vagrant_box_image_0_1_box.img' },
      { name: 'cache.qcow2', path: '/var/lib/libvirt/images/cache.qcow2' },
    ]);
    assert.deepEqual(parseVolList(' Name   Path\n--------------\n\n'), []);
  });
  it('parses vol-info --bytes', () => {
    const out = 'Name:           x.img\nType:           file\nCapacity:       67108864 bytes\nAllocation:     200704 bytes\n\n';
    assert.deepEqual(parseVolInfoBytes(out), { capacityBytes: 67108864, allocationBytes: 200704 });
    assert.throws(() => parseVolInfoBytes('Capacity: 64.00 MiB\n'), RangeError);
  });
  it('finds every disk file of a domain, backing stores included, and no cdrom-less noise', () => {
    const xml = `<domain type='qemu'>
  <devices>
    <disk type='file' device='disk'>
      <source file='/var/lib/libvirt/images/vm_default.img' index='2'/>
      <backingStore type='file' index='1'>
        <format type='qcow2'/>
        <source file='/var/lib/libvirt/images/box_vagrant_box_image_0_1_box.img'/>
        <backingStore/>
      </backingStore>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type="file" device="disk"><source file="/srv/it&apos;s.qcow2"/></disk>
    <serial type='file'><source path='/tmp/serial.log'/></serial>
  </devices>
</domain>`;
    assert.deepEqual(parseDomainDiskFiles(xml), [
      '/var/lib/libvirt/images/vm_default.img',
      '/var/lib/libvirt/images/box_vagrant_box_image_0_1_box.img',
      "/srv/it's.qcow2",
    ]);
  });
  it('reads the backing path of a volume', () => {
    const xml = `<volume type='file'>
  <name>vm_default.img</name>
  <target><path>/var/lib/libvirt/images/vm_default.img</path></target>
  <backingStore>
    <path>/var/lib/libvirt/images/box_vagrant_box_image_0_1_box.img</path>
    <format type='qcow2'/>
  </backingStore>
</volume>`;
    assert.equal(parseVolumeBackingPath(xml), '/var/lib/libvirt/images/box_vagrant_box_image_0_1_box.img');
    assert.equal(parseVolumeBackingPath("<volume><target><path>/x</path></target></volume>"), undefined);
  });
  it('reads the format of a volume, not of its backing store', () => {
    const xml = `<volume type='file'>
  <target><path>/p/vm.img</path><format type='qcow2'/></target>
  <backingStore><path>/p/base.raw</path><format type='raw'/></backingStore>
</volume>`;
    assert.equal(parseVolumeFormat(xml), 'qcow2');
    assert.equal(parseVolumeFormat("<volume><target><path>/p/x</path><format type=\"raw\"/></target></volume>"), 'raw');
    assert.equal(parseVolumeFormat('<volume/>'), undefined);
  });
  it('finds the domains using a path', () => {
    const domains = [
      { domain: 'a', files: ['/p/a.img', '/p/box1.img'] },
      { domain: 'b', files: ['/p/b.img'] },
    ];
    assert.deepEqual(findDomainsUsing(['/p/box1.img'], domains), ['a']);
    assert.deepEqual(findDomainsUsing(['/p/none.img'], domains), []);
  });
});
