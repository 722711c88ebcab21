import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BOX_MEMBER_NAMES,
  computeBoxMetadata,
  computeVirtualSizeGiB,
  GIB,
  parseQemuImgVirtualSize,
  planBoxMembers,
  renderBoxMetadata,
  renderBoxVagrantfile,
} from '../../src/core/box-archive.js';

describe('computeVirtualSizeGiB (create_box.sh: jq … | ceil)', () => {
  const table: [number, number][] = [
    [1, 1],
    [64 * 1024 * 1024, 1],
    [GIB - 1, 1],
    [GIB, 1],
    [GIB + 1, 2],
    [20 * GIB, 20],
    [20 * GIB + 512, 21],
  ];
  for (const [bytes, gib] of table) {
    it(`${bytes} bytes → ${gib} GiB`, () => {
      assert.equal(computeVirtualSizeGiB(bytes), gib);
    });
  }
  for (const bad of [0, -1, 1.5, Number.NaN]) {
    it(`rejects ${bad}`, () => {
      assert.throws(() => computeVirtualSizeGiB(bad), RangeError);
    });
  }
});

describe('metadata.json', () => {
  it('is the exact one-line text vagrant-libvirt reads, keys in a fixed order', () => {
    assert.equal(renderBoxMetadata(20 * GIB), '{"provider":"libvirt","format":"qcow2","virtual_size":20}\n');
    assert.equal(renderBoxMetadata(3 * GIB + 1), '{"provider":"libvirt","format":"qcow2","virtual_size":4}\n');
  });
  it('parses back to the same data', () => {
    assert.deepEqual(JSON.parse(renderBoxMetadata(5 * GIB)), computeBoxMetadata(5 * GIB));
  });
});

describe('the box Vagrantfile', () => {
  const text = renderBoxVagrantfile();
  it('uses the default pool and virtio disks, and leaves the driver to the project', () => {
    assert.match(text, /^\s*libvirt\.storage_pool_name = "default"$/m);
    assert.match(text, /^\s*libvirt\.disk_bus = "virtio"$/m);
    assert.doesNotMatch(text, /libvirt\.driver/);
  });
  it('declares no serial (vagrant-libvirt would put it before the project’s and take ttyS0)', () => {
    assert.doesNotMatch(text, /libvirt\.serial/);
  });
  it('is a complete Vagrant.configure block ending in a newline', () => {
    assert.match(text, /^Vagrant\.configure\("2"\) do \|config\|$/m);
    assert.ok(text.endsWith('end\n'));
  });
});

describe('planBoxMembers', () => {
  it('lists metadata.json, Vagrantfile, cmdline, vmlinuz, initrd.img, box.img in that order', () => {
    const members = planBoxMembers({ virtualSizeBytes: GIB, boxImage: '/w/box.img', boot: { kernel: '/w/vmlinuz', initrd: '/w/initrd.img', cmdline: 'root=UUID=u ro' } });
    assert.deepEqual(
      members.map((m) => m.name),
      ['metadata.json', 'Vagrantfile', 'cmdline', 'vmlinuz', 'initrd.img', 'box.img'],
    );
    assert.deepEqual(members.map((m) => m.name), [...BOX_MEMBER_NAMES]);
    assert.deepEqual(
      members.map((m) => (m.content.kind === 'file' ? m.content.path : m.content.kind)),
      ['text', 'text', 'text', '/w/vmlinuz', '/w/initrd.img', '/w/box.img'],
    );
    assert.deepEqual(members[2]?.content, { kind: 'text', text: 'root=UUID=u ro\n' });
  });
});

describe('parseQemuImgVirtualSize', () => {
  it('reads virtual-size from qemu-img info --output=json', () => {
    assert.equal(parseQemuImgVirtualSize('{"virtual-size": 67108864, "filename": "x.qcow2", "format": "qcow2"}'), 67108864);
  });
  it('rejects output without a positive size', () => {
    assert.throws(() => parseQemuImgVirtualSize('{"format": "qcow2"}'), RangeError);
    assert.throws(() => parseQemuImgVirtualSize('{"virtual-size": 0}'), RangeError);
  });
});
