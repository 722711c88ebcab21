import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { createSerialStore } from '../../src/adapters/serial-store.js';
import { UserError } from '../../src/core/errors.js';
import { makeTempDir } from '../helpers/git-repo.js';

/** Every file under `dir` with its content, so "nothing changed" is one deepEqual. */
function snapshotTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const full = join(entry.parentPath, entry.name);
    out[full.slice(dir.length)] = entry.isFile() ? readFileSync(full, 'utf8') : '<dir>';
  }
  return out;
}

describe('serial store', () => {
  let root: string;
  let dir: string;
  beforeEach(() => {
    root = makeTempDir('tb-serials-');
    dir = join(root, 'APT_snapshots.d');
    for (const [archive, value] of [['debian', '2024101502'], ['debian-security', 'latest'], ['torproject', '2024103001']] as const) {
      mkdirSync(join(dir, archive), { recursive: true });
      writeFileSync(join(dir, archive, 'serial'), `${value}\n`);
    }
    writeFileSync(join(dir, '.placeholder'), '');
  });
  afterEach(() => { rmSync(root, { recursive: true, force: true }); });

  it('writes one line with a trailing newline and leaves no temp files', async () => {
    await createSerialStore().write([
      { dir, archive: 'debian', value: '2024101601' },
      { dir, archive: 'debian-security', value: '2024101602' },
    ]);
    assert.equal(readFileSync(join(dir, 'debian', 'serial'), 'utf8'), '2024101601\n');
    assert.equal(readFileSync(join(dir, 'debian-security', 'serial'), 'utf8'), '2024101602\n');
    assert.deepEqual(readdirSync(join(dir, 'debian')), ['serial']);
  });

  it('creates a missing serial file in an existing archive dir', async () => {
    mkdirSync(join(dir, 'tails'));
    await createSerialStore().write([{ dir, archive: 'tails', value: '2024101601' }]);
    assert.equal(readFileSync(join(dir, 'tails', 'serial'), 'utf8'), '2024101601\n');
  });

  it('changes nothing when one archive dir has been replaced by a file', async () => {
    rmSync(join(dir, 'torproject'), { recursive: true });
    writeFileSync(join(dir, 'torproject'), 'not a dir\n');
    const before = snapshotTree(dir);
    await assert.rejects(
      createSerialStore().write([
        { dir, archive: 'debian', value: '2024101601' },
        { dir, archive: 'torproject', value: '2024103101' },
      ]),
      (e: unknown) => e instanceof UserError && /torproject is not a directory\. No serial file was changed\./.test(e.message),
    );
    assert.deepEqual(snapshotTree(dir), before);
  });

  it('changes nothing when one serial file is a directory', async () => {
    rmSync(join(dir, 'torproject', 'serial'));
    mkdirSync(join(dir, 'torproject', 'serial', 'inner'), { recursive: true });
    const before = snapshotTree(dir);
    await assert.rejects(
      createSerialStore().write([
        { dir, archive: 'debian', value: '2024101601' },
        { dir, archive: 'torproject', value: '2024103101' },
      ]),
      /not a regular file/,
    );
    assert.deepEqual(snapshotTree(dir), before);
  });

  it('puts back the files already replaced when a later rename fails', async () => {
    const before = snapshotTree(dir);
    let renames = 0;
    const store = createSerialStore({
      rename: async (from, to) => {
        renames++;
        if (to.includes('torproject')) throw Object.assign(new Error(`EACCES: permission denied, rename '${from}' -> '${to}'`), { code: 'EACCES' });
        await rename(from, to);
      },
    });
    await assert.rejects(
      store.write([
        { dir, archive: 'debian', value: '2024101601' },
        { dir, archive: 'debian-security', value: '2024101602' },
        { dir, archive: 'torproject', value: '2024103101' },
      ]),
      (e: unknown) => e instanceof UserError && e.code === 'serial-write-failed' && /No serial file was changed/.test(e.message),
    );
    assert.equal(renames, 3);
    assert.deepEqual(snapshotTree(dir), before);
  });

  it('refuses multi-line values before writing anything', async () => {
    const before = snapshotTree(dir);
    await assert.rejects(createSerialStore().write([{ dir, archive: 'debian', value: '1\n2' }]), /bug: refusing/);
    assert.deepEqual(snapshotTree(dir), before);
  });

  it('replaceSet writes a fresh tree, dropping what was there', async () => {
    const out = join(root, 'tmp', 'APT_snapshots.d');
    mkdirSync(join(out, 'stale'), { recursive: true });
    writeFileSync(join(out, 'stale', 'serial'), 'latest\n');
    await createSerialStore().replaceSet(out, { debian: '2024101502', 'debian-security': '2024101503' });
    assert.deepEqual(snapshotTree(out), {
      '/debian': '<dir>',
      '/debian/serial': '2024101502\n',
      '/debian-security': '<dir>',
      '/debian-security/serial': '2024101503\n',
    });
    assert.deepEqual(readdirSync(join(root, 'tmp')), ['APT_snapshots.d']);
  });

  it('replaceSet keeps the old tree when the swap fails', async () => {
    const out = join(root, 'out');
    mkdirSync(join(out, 'debian'), { recursive: true });
    writeFileSync(join(out, 'debian', 'serial'), '2024090201\n');
    const store = createSerialStore({
      rename: async (from, to) => {
        if (to === out) throw new Error('EIO: simulated');
        await rename(from, to);
      },
    });
    await assert.rejects(store.replaceSet(out, { debian: '2024101502' }), /Cannot write .*out: EIO: simulated\. No serial file was changed\./);
    assert.deepEqual(snapshotTree(out), { '/debian': '<dir>', '/debian/serial': '2024090201\n' });
    assert.deepEqual(readdirSync(root).sort(), ['APT_snapshots.d', 'out']);
  });
});

describe('serial store: replaceSet guards its target', () => {
  it('refuses to replace a directory that is not a serial tree', async () => {
    const root = makeTempDir('tb-serials-');
    try {
      writeFileSync(join(root, 'precious.txt'), 'keep me\n');
      mkdirSync(join(root, 'src'));
      await assert.rejects(createSerialStore().replaceSet(root, { debian: '2024101502' }), /holds precious\.txt, which is not <archive>\/serial; refusing to replace it/);
      assert.equal(readFileSync(join(root, 'precious.txt'), 'utf8'), 'keep me\n');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
