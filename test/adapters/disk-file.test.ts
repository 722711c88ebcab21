/** The files port's adapter on a real temp dir: text files, directories, stat, remove, rename, copy, hashes. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { diskFiles } from '../../src/adapters/disk-file.js';
import { exitCodeFor, ExitCode, UserError } from '../../src/core/errors.js';
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

  it('makes a new empty directory under a parent it creates, a different one each time', async () => {
    const parent = join(root, 'scratch/parent');
    const one = await diskFiles.makeTempDir(parent, 'tails-merge-');
    const two = await diskFiles.makeTempDir(parent, 'tails-merge-');
    assert.notEqual(one, two);
    assert.match(one, new RegExp(`^${parent}/tails-merge-[A-Za-z0-9]{6}$`));
    assert.deepEqual(await diskFiles.listDirectories(parent), [one, two].map((d) => d.slice(parent.length + 1)).sort());
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

/** The parts of a UserError a test compares. */
function facts(error: unknown): { name: string; code: string; kind: string; exit: number } {
  assert.ok(error instanceof UserError, `a UserError, not ${String(error)}`);
  return { name: error.name, code: error.code, kind: error.kind, exit: exitCodeFor(error) };
}

describe('diskFiles: a write the host refuses is a user-facing error naming the path, not a bug', () => {
  it('a full filesystem (/dev/full: ENOSPC) is disk-full, exit 4, naming the path and what frees space', async () => {
    const error: unknown = await diskFiles.writeText('/dev/full', 'x'.repeat(65536)).then(() => undefined, (e: unknown) => e);
    assert.deepEqual(facts(error), { name: 'UserError', code: 'disk-full', kind: 'external', exit: ExitCode.external });
    assert.match((error as UserError).message, /^Cannot write \/dev\/full: .*no space left \(ENOSPC\)\.$/);
    assert.match(String((error as UserError).hint), /df -h \/dev; .*--artifacts DIR/);
    // A log on a full filesystem keeps the same error for the build to throw.
    const log = diskFiles.openLog('/dev/full');
    log.write('x'.repeat(65536));
    await log.close();
    assert.equal((log.error() as UserError | undefined)?.code, 'disk-full');
  });

  describe('a read-only mount (a tmpfs of this test, ro: EROFS)', () => {
    const mountPoint = makeTempDir('tb-ro-');
    let mounted = false;
    before(() => {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m,mode=0755', 'tmpfs', mountPoint]);
      mounted = true;
    });
    after(() => {
      if (mounted) execFileSync('umount', [mountPoint]);
      rmSync(mountPoint, { recursive: true, force: true });
    });

    it('every write is read-only-filesystem, exit 3, naming the path and the mount', async () => {
      const attempts: [string, () => Promise<unknown>][] = [
        ['write', () => diskFiles.writeText(join(mountPoint, 'report.xml'), 'x')],
        ['append', () => diskFiles.appendText(join(mountPoint, 'report.xml'), 'x')],
        ['mkdirp', () => diskFiles.mkdirp(join(mountPoint, 'sub', 'dir'))],
        ['copy', () => diskFiles.copyFile('/etc/hostname', join(mountPoint, 'box'))],
        ['sparse', () => diskFiles.createSparseFile(join(mountPoint, 'disk.raw'), 1024)],
      ];
      for (const [what, attempt] of attempts) {
        const error = await attempt().then(() => undefined, (e: unknown) => e);
        assert.deepEqual(facts(error), { name: 'UserError', code: 'read-only-filesystem', kind: 'precondition', exit: ExitCode.precondition }, what);
        assert.match((error as UserError).message, new RegExp(`^Cannot .*${mountPoint}.*mounted read-only \\(EROFS\\)\\.$`), what);
        assert.match(String((error as UserError).hint), new RegExp(`findmnt -T ${mountPoint}`), what);
      }
    });
  });

  it('a directory this user may not write (EACCES, as nobody: root bypasses mode bits) is permission-denied, exit 3', () => {
    const dir = makeTempDir('tb-eacces-');
    try {
      chmodSync(dir, 0o755);
      const script = join(dir, 'write.mjs');
      const adapter = fileURLToPath(new URL('../../src/adapters/disk-file.js', import.meta.url));
      const errors = fileURLToPath(new URL('../../src/core/errors.js', import.meta.url));
      writeFileSync(
        script,
        `import { diskFiles } from ${JSON.stringify(adapter)};
import { exitCodeFor } from ${JSON.stringify(errors)};
const error = await diskFiles.writeText(${JSON.stringify(join(dir, 'out.txt'))}, 'x').then(() => undefined, (e) => e);
process.stdout.write(JSON.stringify({ name: error?.name, code: error?.code, kind: error?.kind, exit: exitCodeFor(error), message: error?.message, hint: error?.hint }));
`,
      );
      chmodSync(script, 0o644);
      const seen = JSON.parse(execFileSync('runuser', ['-u', 'nobody', '--', process.execPath, script], { encoding: 'utf8' })) as Record<string, unknown>;
      assert.deepEqual({ name: seen.name, code: seen.code, kind: seen.kind, exit: seen.exit }, { name: 'UserError', code: 'permission-denied', kind: 'precondition', exit: ExitCode.precondition });
      assert.equal(seen.message, `Cannot write ${join(dir, 'out.txt')}: this user is not allowed to (EACCES).`);
      assert.match(String(seen.hint), new RegExp(`ls -ld ${dir}`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
