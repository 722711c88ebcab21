import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  computeDiskIdentity,
  planBootSectors,
  planInodeTimes,
  planKernelCommandLine,
  planMkfs,
  planPartitionTable,
  PARTITION_OFFSET_BYTES,
} from '../../src/core/disk-image.js';

describe('computeDiskIdentity', () => {
  const a = computeDiskIdentity('tails-builder-amd64-bookworm-20240902-f5bd6a877e9');
  it('is fixed for a box name', () => {
    assert.deepEqual(computeDiskIdentity('tails-builder-amd64-bookworm-20240902-f5bd6a877e9'), a);
  });
  it('differs between boxes', () => {
    const b = computeDiskIdentity('tails-builder-amd64-bookworm-20240903-0123456789a');
    assert.notEqual(b.rootUuid, a.rootUuid);
    assert.notEqual(b.labelId, a.labelId);
    assert.notEqual(b.hashSeed, a.hashSeed);
  });
  it('has the formats sfdisk and mkfs.ext4 take', () => {
    assert.match(a.labelId, /^0x[0-9a-f]{8}$/);
    assert.match(a.rootUuid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.match(a.hashSeed, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('planKernelCommandLine', () => {
  it('mounts the box root by its fixed UUID, quietly, on the serial console', () => {
    const line = planKernelCommandLine(computeDiskIdentity('tails-builder-amd64-bookworm-20240902-f5bd6a877e9'));
    assert.match(line, /^root=UUID=[0-9a-f-]{36} ro /);
    assert.ok(line.includes(`root=UUID=${computeDiskIdentity('tails-builder-amd64-bookworm-20240902-f5bd6a877e9').rootUuid} `));
    assert.match(line, / console=ttyS0,115200n8 /);
    assert.match(line, / quiet$/);
  });
});

describe('planPartitionTable', () => {
  it('is one bootable partition at 1 MiB with the fixed label id', () => {
    const text = planPartitionTable({ labelId: '0x0badcafe', rootUuid: 'x', hashSeed: 'y' });
    assert.equal(text, 'label: dos\nlabel-id: 0x0badcafe\nunit: sectors\n\nstart=2048, type=83, bootable\n');
  });
});

describe('planMkfs', () => {
  it('pins ids and times and writes into the partition', () => {
    const identity = { labelId: '0x1', rootUuid: 'u-u-i-d', hashSeed: 's-e-e-d' };
    const cmd = planMkfs({ image: '/w/disk.raw', tree: '/w/tree', diskBytes: 20 * 1024 ** 3, identity, sourceDateEpoch: 1725264000 });
    assert.equal(cmd.file, 'mkfs.ext4');
    assert.deepEqual(cmd.args, [
      '-q', '-F', '-L', 'tails-builder', '-U', 'u-u-i-d',
      '-E', `offset=${PARTITION_OFFSET_BYTES},hash_seed=s-e-e-d,nodiscard`,
      '-d', '/w/tree', '/w/disk.raw', `${(20 * 1024 ** 3 - PARTITION_OFFSET_BYTES) / 1024}k`,
    ]);
    assert.deepEqual(cmd.env, { E2FSPROGS_FAKE_TIME: '1725264000' });
    assert.equal(cmd.effect, 'write');
  });
});

describe('planInodeTimes', () => {
  it('sets ctime and atime of the root, lost+found and every path, quoting names', () => {
    const script = planInodeTimes(['etc', 'etc/we "quote"', 'a b'], 0x10);
    const lines = script.trimEnd().split('\n');
    assert.equal(lines.length, 5 * 4);
    assert.ok(lines.includes('sif "/" ctime 0x10'));
    assert.ok(lines.includes('sif "/lost+found" atime_extra 0'));
    assert.ok(lines.includes('sif "/etc/we ""quote""" ctime 0x10'));
    assert.ok(lines.includes('sif "/a b" atime 0x10'));
  });
  it('refuses a path with a newline', () => {
    assert.throws(() => planInodeTimes(['bad\nname'], 1), /newline/);
  });
});

describe('planBootSectors', () => {
  function disk(): Uint8Array {
    const mbr = new Uint8Array(512);
    mbr.fill(0xee, 440, 510); // disk signature + partition table
    mbr[510] = 0x55;
    mbr[511] = 0xaa;
    return mbr;
  }
  const boot = new Uint8Array(512).fill(0xbb);
  const core = new Uint8Array(3 * 512 + 100).fill(0xcc);

  it('puts boot.img code in the MBR and keeps the partition table', () => {
    const { mbr } = planBootSectors(disk(), boot, core);
    assert.deepEqual([...mbr.subarray(440, 510)], new Array<number>(70).fill(0xee));
    assert.equal(mbr[510], 0x55);
    assert.equal(mbr[511], 0xaa);
    assert.equal(mbr[0], 0xbb);
    assert.equal(new DataView(mbr.buffer).getBigUint64(0x5c, true), 1n);
    assert.deepEqual([mbr[0x66], mbr[0x67]], [0x90, 0x90]);
  });
  it('points core.img’s blocklist at its second sector', () => {
    const out = planBootSectors(disk(), boot, core, 1).core;
    assert.equal(new DataView(out.buffer).getBigUint64(500, true), 2n);
    assert.equal(out.length, core.length);
    assert.equal(out[499], 0xcc);
    assert.equal(out[510], 0xcc);
  });
  it('refuses a disk without a partition table and a core that does not fit', () => {
    assert.throws(() => planBootSectors(new Uint8Array(512), boot, core), /no partition table/);
    assert.throws(() => planBootSectors(disk(), boot, new Uint8Array(2048 * 512)), /does not fit/);
    assert.throws(() => planBootSectors(disk(), new Uint8Array(10), core), /boot.img must be 512 bytes/);
  });
});
