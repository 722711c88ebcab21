/** The files port's adapter on a real temp dir: text files, directories, stat, remove, rename, copy, hashes. */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { diskFiles } from '../../src/adapters/disk-file.js';
import { makeTempDir } from '../helpers/git-repo.js';

const root = makeTempDir('tb-disk-file-');
after(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('diskFiles', () => {
  it('writes, appends and reads text; a missing file reads as undefined', async () => {
    const dir = join(root, 'a/b/c');
    await diskFiles.mkdirp(dir);
    await diskFiles.mkdirp(dir);
    const file = join(dir, 'f.txt');
    assert.equal(await diskFiles.readText(file), undefined);
    await diskFiles.appendText(file, 'one\n');
    await diskFiles.appendText(file, 'two\n');
    assert.equal(await diskFiles.readText(file), 'one\ntwo\n');
    await diskFiles.writeText(file, 'three\n');
    assert.equal(readFileSync(file, 'utf8'), 'three\n');
    assert.deepEqual(await diskFiles.listDirectories(join(root, 'a')), ['b']);
  });

  it('says what is at a path: file (with its size), directory, other, or nothing', async () => {
    const file = join(root, 'sized');
    await diskFiles.writeText(file, 'héllo');
    assert.deepEqual(await diskFiles.stat(file), { kind: 'file', bytes: 6 });
    assert.equal((await diskFiles.stat(root))?.kind, 'directory');
    assert.equal(await diskFiles.stat(join(root, 'nothing')), undefined);
    assert.equal(await diskFiles.stat(join(file, 'below-a-file')), undefined);
    symlinkSync('/dev/null', join(root, 'devnull'));
    assert.equal((await diskFiles.stat(join(root, 'devnull')))?.kind, 'other');
  });

  it('renames and copies files, removes trees, and hashes what it wrote', async () => {
    const tree = join(root, 'tree');
    mkdirSync(join(tree, 'sub'), { recursive: true });
    await diskFiles.writeText(join(tree, 'sub/x.partial'), 'abc');
    await diskFiles.rename(join(tree, 'sub/x.partial'), join(tree, 'sub/x'));
    await diskFiles.copyFile(join(tree, 'sub/x'), join(tree, 'y'));
    assert.deepEqual(await diskFiles.listTree(tree), ['sub', 'sub/x', 'y']);
    assert.equal(await diskFiles.sha256File(join(tree, 'y')), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    await diskFiles.remove(tree);
    await diskFiles.remove(tree);
    assert.equal(await diskFiles.stat(tree), undefined);
  });
});
