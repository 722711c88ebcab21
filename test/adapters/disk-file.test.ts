/** The files port's adapter on a real temp dir: text files, directories, stat, remove, rename, copy, hashes. */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
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

  it('says what is at a path: file (with its size, mode and owner), directory, other, or nothing', async () => {
    const file = join(root, 'sized');
    await diskFiles.writeText(file, 'héllo');
    chmodSync(file, 0o640);
    assert.deepEqual(await diskFiles.stat(file), { kind: 'file', bytes: 6, mode: 0o640, uid: process.getuid?.(), gid: process.getgid?.() });
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

describe('diskFiles.openLog', () => {
  it('writes piece by piece; a write to a file that cannot be written keeps the error instead of throwing', async () => {
    const root = makeTempDir('tb-log-');
    const log = diskFiles.openLog(join(root, 'build.log'));
    log.write('one\n');
    log.write('two\n');
    await log.close();
    assert.equal(log.error(), undefined);
    assert.equal(readFileSync(join(root, 'build.log'), 'utf8'), 'one\ntwo\n');
    // A directory that does not exist: the open fails later, as a full disk does.
    const broken = diskFiles.openLog(join(root, 'missing', 'build.log'));
    broken.write('lost\n');
    await broken.close();
    assert.match(String(broken.error()?.message), /ENOENT/);
    rmSync(root, { recursive: true, force: true });
  });
});
