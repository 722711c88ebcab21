/** The .box written twice from a real qcow2: byte-identical, fixed order/owners/mtime, right metadata. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeBoxArchive } from '../../src/adapters/box-archive.js';
import { parseQemuImgVirtualSize, renderBoxVagrantfile } from '../../src/core/box-archive.js';
import { makeTempDir } from '../helpers/git-repo.js';

const EPOCH = 1725235200; // 2024-09-02T00:00:00Z
let dir: string;
let qcow2: string;
let virtualSize: number;
let boot: { kernel: string; initrd: string; cmdline: string };

before(() => {
  dir = makeTempDir('tb-boxarchive-');
  qcow2 = join(dir, 'x.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', qcow2, '64M']);
  virtualSize = parseQemuImgVirtualSize(execFileSync('qemu-img', ['info', '--output=json', qcow2], { encoding: 'utf8' }));
  boot = { kernel: join(dir, 'vmlinuz-6.1'), initrd: join(dir, 'initrd.img-6.1'), cmdline: 'root=UUID=x ro quiet' };
  writeFileSync(boot.kernel, 'a kernel\n');
  writeFileSync(boot.initrd, 'an initrd, longer than the kernel\n');
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('writeBoxArchive', () => {
  it('writes byte-identical boxes from the same inputs, and reports their sha256 and size', async () => {
    const a = await writeBoxArchive({ output: join(dir, 'a.box'), boxImage: qcow2, boot, virtualSizeBytes: virtualSize, mtime: EPOCH });
    const b = await writeBoxArchive({ output: join(dir, 'b.box'), boxImage: qcow2, boot, virtualSizeBytes: virtualSize, mtime: EPOCH });
    assert.equal(a.sha256, b.sha256);
    assert.equal(a.sha256, sha256(join(dir, 'a.box')), 'the hash computed while writing is the file’s');
    assert.equal(a.sizeBytes, statSync(join(dir, 'a.box')).size);
    assert.equal(b.sha256, sha256(join(dir, 'b.box')));
  });

  it('changes with the mtime (it is part of the identity)', async () => {
    const a = await writeBoxArchive({ output: join(dir, 'm1.box'), boxImage: qcow2, boot, virtualSizeBytes: virtualSize, mtime: EPOCH });
    const b = await writeBoxArchive({ output: join(dir, 'm2.box'), boxImage: qcow2, boot, virtualSizeBytes: virtualSize, mtime: EPOCH + 1 });
    assert.notEqual(a.sha256, b.sha256);
  });

  it('holds metadata.json, Vagrantfile, cmdline, vmlinuz, initrd.img, box.img in that order, 0644 root:root (0/0), at SOURCE_DATE_EPOCH, uncompressed ustar', async () => {
    const box = join(dir, 'list.box');
    await writeBoxArchive({ output: box, boxImage: qcow2, boot, virtualSizeBytes: virtualSize, mtime: EPOCH });
    const listing = execFileSync('tar', ['--numeric-owner', '--full-time', '-tvf', box], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
    const rows = listing
      .trim()
      .split('\n')
      .map((l) => l.split(/\s+/));
    assert.deepEqual(
      rows.map((r) => r[5]),
      ['metadata.json', 'Vagrantfile', 'cmdline', 'vmlinuz', 'initrd.img', 'box.img'],
    );
    for (const r of rows) {
      assert.equal(r[0], '-rw-r--r--');
      assert.equal(r[1], '0/0');
      assert.equal(`${r[3]} ${r[4]}`, '2024-09-02 00:00:00');
    }
    assert.equal(Number(rows[5]?.[2]), statSync(qcow2).size);
    assert.equal(Number(rows[4]?.[2]), statSync(boot.initrd).size);
    const header = readFileSync(box).subarray(0, 512);
    assert.equal(header.subarray(257, 263).toString('latin1'), 'ustar\0', 'POSIX ustar magic');
    assert.equal(header.subarray(265, 297).toString('latin1').replaceAll('\0', ''), '', 'empty uname');
    assert.equal(header.subarray(297, 329).toString('latin1').replaceAll('\0', ''), '', 'empty gname');
  });

  it('stores the metadata (virtual size in GiB, rounded up), the Vagrantfile, the kernel command line and the files unchanged', async () => {
    const box = join(dir, 'content.box');
    await writeBoxArchive({ output: box, boxImage: qcow2, boot, virtualSizeBytes: 3 * 1024 ** 3 + 1, mtime: EPOCH });
    const out = join(dir, 'extract');
    mkdirSync(out);
    execFileSync('tar', ['-xf', box, '-C', out]);
    assert.deepEqual(JSON.parse(readFileSync(join(out, 'metadata.json'), 'utf8')), { provider: 'libvirt', format: 'qcow2', virtual_size: 4 });
    assert.equal(readFileSync(join(out, 'Vagrantfile'), 'utf8'), renderBoxVagrantfile());
    assert.equal(sha256(join(out, 'box.img')), sha256(qcow2));
    assert.equal(readFileSync(join(out, 'vmlinuz'), 'utf8'), 'a kernel\n');
    assert.equal(readFileSync(join(out, 'initrd.img'), 'utf8'), 'an initrd, longer than the kernel\n');
    assert.equal(readFileSync(join(out, 'cmdline'), 'utf8'), 'root=UUID=x ro quiet\n');
    const small = join(dir, 'small.box');
    await writeBoxArchive({ output: small, boxImage: qcow2, boot, virtualSizeBytes: virtualSize, mtime: EPOCH });
    assert.match(execFileSync('tar', ['-xOf', small, 'metadata.json'], { encoding: 'utf8' }), /"virtual_size":1\}/);
  });

  it('leaves no output and no partial file when the image cannot be read', async () => {
    const sub = join(dir, 'fail');
    mkdirSync(sub);
    await assert.rejects(writeBoxArchive({ output: join(sub, 'x.box'), boxImage: join(dir, 'missing.qcow2'), boot, virtualSizeBytes: virtualSize, mtime: EPOCH }));
    assert.deepEqual(readdirSync(sub), []);
    assert.equal(existsSync(join(sub, 'x.box')), false);
  });
});
