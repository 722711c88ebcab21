import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  computeBootVolumeNames,
  computeBoxVolumeName,
  escapeBoxName,
  findDomainsUsing,
  isBoxBootVolumeOf,
  isBoxPoolVolumeOf,
  isBoxVolumeOf,
  parseDomainDiskFiles,
  parseDpkgStatusVersion,
  parsePluginListVersion,
  parsePluginVersion,
  parseVagrantBoxList,
  parseVolInfoBytes,
  parseVolList,
  parseVolumeBackingPath,
  parseVolumeFormat,
  planBoxBoot,
  poolVolumeName,
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

describe('poolVolumeName per installed vagrant-libvirt (handle_box_image.rb get_volume_name at each tag)', () => {
  const box = 'tails-builder-amd64-bookworm-20240902-f5bd6a8';
  const mtimeName = `${box}_vagrant_box_image_0_1795309113_box.img`;
  // [vagrant-libvirt version, box version, expected volume (undefined: do not pre-seed)]
  const table: [string | undefined, string, string | undefined][] = [
    ['0.11.2', '0', mtimeName], // Debian 12; 0.11.2 handle_box_image.rb:132-147
    ['0.11.2-1', '0', mtimeName], // as dpkg-query prints it
    ['0.11.2', '', mtimeName],
    ['0.11.2', '12.20240905.1', `${box}_vagrant_box_image_12.20240905.1_box.img`],
    ['0.12.2', '0', mtimeName], // Debian 13; 0.12.2 handle_box_image.rb:134-149, the same body
    ['0.12.2-4', '0', mtimeName],
    ['1:0.12.2+dfsg-4', '0', mtimeName],
    ['0.12.2', '12.20240905.1', `${box}_vagrant_box_image_12.20240905.1_box.img`],
    ['0.12.0', '0', mtimeName],
    ['0.10.0', '0', mtimeName], // 66e0fa7 (first in 0.10.0) made "0" use the mtime
    ['0.10.8', '0', mtimeName],
    ['0.9.0', '0', undefined], // named …_image_0_box.img there, not read as current: unknown
    ['0.3.0', '0', undefined], // Debian 11
    ['0.12.3', '0', undefined], // not released when read: unknown
    ['0.13.0', '0', undefined],
    ['1.0.0', '0', undefined],
    ['0.12.3.pre.1', '0', undefined],
    ['0.12.2~rc1-1', '0', undefined],
    ['', '0', undefined],
    ['unknown', '0', undefined],
    [undefined, '0', undefined],
  ];
  for (const [pluginVersion, boxVersion, expected] of table) {
    it(`vagrant-libvirt ${pluginVersion ?? '(unknown)'}, box v${boxVersion || '(none)'} → ${expected ?? 'undefined (do not pre-seed)'}`, () => {
      assert.equal(poolVolumeName(box, { pluginVersion, boxVersion, mtime: 1795309113 }), expected);
    });
  }
  it('escapes slashes in the box name', () => {
    assert.equal(
      poolVolumeName('tb/x', { pluginVersion: '0.12.2', boxVersion: '0', mtime: 7 }),
      'tb-VAGRANTSLASH-x_vagrant_box_image_0_7_box.img',
    );
  });
  it('reads upstream versions, as vagrant and dpkg print them', () => {
    assert.deepEqual(parsePluginVersion('0.11.2'), [0, 11, 2]);
    assert.deepEqual(parsePluginVersion(' 0.12.2-4\n'), [0, 12, 2]);
    assert.deepEqual(parsePluginVersion('2:0.12.2+dfsg-1+b1'), [0, 12, 2]);
    assert.equal(parsePluginVersion('0.12'), undefined);
    assert.equal(parsePluginVersion(undefined), undefined);
  });
});

describe('vagrant-libvirt version sources', () => {
  it('reads vagrant plugin list --machine-readable (a Debian system plugin)', () => {
    const out = [
      '1795941929,,ui,info,vagrant-libvirt (0.11.2%!(VAGRANT_COMMA) system)',
      '1795941929,,plugin-name,vagrant-libvirt',
      '1795941929,vagrant-libvirt,plugin-version,0.11.2%!(VAGRANT_COMMA) system',
      '',
    ].join('\n');
    assert.equal(parsePluginListVersion(out), '0.11.2');
  });
  it('reads a plugin installed into VAGRANT_HOME, and ignores other plugins', () => {
    const out = [
      '1,,plugin-name,vagrant-mutate',
      '1,vagrant-mutate,plugin-version,1.2.0%!(VAGRANT_COMMA) global',
      '1,,plugin-name,vagrant-libvirt',
      '1,vagrant-libvirt,plugin-version,0.12.2%!(VAGRANT_COMMA) global',
      '1,vagrant-libvirt,plugin-version-constraint,0.12.2',
    ].join('\n');
    assert.equal(parsePluginListVersion(out), '0.12.2');
  });
  it('reads no version when vagrant lists no vagrant-libvirt', () => {
    assert.equal(parsePluginListVersion('1,,ui,info,No plugins installed.\n'), undefined);
  });
  it('reads dpkg-query only for an installed package', () => {
    assert.equal(parseDpkgStatusVersion('install ok installed\t0.11.2-1'), '0.11.2-1');
    assert.equal(parseDpkgStatusVersion('deinstall ok config-files\t0.11.2-1'), undefined);
    assert.equal(parseDpkgStatusVersion(''), undefined);
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

describe('the box kernel and initrd volumes (direct kernel boot)', () => {
  const box = 'tails-builder-amd64-bookworm-20240902-f5bd6a8';
  const image = `${box}_vagrant_box_image_0_1795309113_box.img`;
  const names = computeBootVolumeNames(image);
  it('are named after the image volume', () => {
    assert.deepEqual(names, { kernel: `${image}.vmlinuz`, initrd: `${image}.initrd` });
  });
  it('belong to the box (removed with it), but are not its image', () => {
    for (const v of [names.kernel, names.initrd]) {
      assert.equal(isBoxBootVolumeOf(v, box), true, v);
      assert.equal(isBoxPoolVolumeOf(v, box), true, v);
      assert.equal(isBoxVolumeOf(v, box), false, v);
    }
    assert.equal(isBoxPoolVolumeOf(image, box), true);
    assert.equal(isBoxBootVolumeOf(image, box), false);
    assert.equal(isBoxBootVolumeOf(`${box}0_vagrant_box_image_0_1_box.img.vmlinuz`, box), false);
    assert.equal(isBoxPoolVolumeOf(`${box}_default.img`, box), false);
  });

  const files = { kernel: '/v/boxes/b/vmlinuz', initrd: '/v/boxes/b/initrd.img', cmdline: 'root=UUID=u ro quiet' };
  const vol = (name: string): { name: string; path: string } => ({ name, path: `/pool/${name}` });
  it('boot the VM directly when the box has them and the pool holds both beside its image', () => {
    assert.deepEqual(planBoxBoot(box, files, [vol(image), vol(names.kernel), vol(names.initrd), vol('other.qcow2')]), {
      direct: { kernel: `/pool/${names.kernel}`, initrd: `/pool/${names.initrd}`, cmdline: 'root=UUID=u ro quiet' },
    });
  });
  it('otherwise the VM boots from its disk, and says why', () => {
    const noKernel = planBoxBoot(box, undefined, [vol(image), vol(names.kernel), vol(names.initrd)]);
    assert.equal(noKernel.direct, null);
    assert.match('why' in noKernel ? noKernel.why : '', /carries no kernel/);
    const notUploaded = planBoxBoot(box, files, [vol(image), vol(names.kernel)]);
    assert.equal(notUploaded.direct, null);
    assert.match('why' in notUploaded ? notUploaded.why : '', /not in the pool/);
    // A kernel left from an earlier image volume of the box is not this image's.
    assert.equal(planBoxBoot(box, files, [vol(`${box}_vagrant_box_image_0_1_box.img`), vol(names.kernel), vol(names.initrd)]).direct, null);
  });
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
