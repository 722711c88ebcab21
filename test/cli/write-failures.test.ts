/**
 * Writes the host refuses, as users meet them: the built binary writing into a
 * read-only tmpfs this file mounts, onto a directory, and a --junit report
 * into /dev/full (ENOSPC). Each is its own error and exit code, never
 * "internal error"; a .partial file is not left behind; a JUnit report that
 * cannot be written never replaces the command's own outcome.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runTailsBuild, type CliResult } from '../helpers/cli.js';
import { assertEventStream } from '../helpers/events.js';
import { createTempRepo, makeTempDir, type TempRepo } from '../helpers/git-repo.js';

let repo: TempRepo | undefined;
let cache: string | undefined;
let out: string | undefined;
let readOnly: string | undefined;
let mounted = false;
let boxBytes = '';

const tb = (args: string[], env: Record<string, string> = {}): Promise<CliResult> =>
  runTailsBuild(args, { cwd: repo?.root ?? '/', env: { TAILS_BUILD_CACHE: cache ?? '', CI: 'true', ...env }, timeoutMs: 120_000 });
const show = (res: CliResult): string => `exit ${String(res.code)}\nstdout: ${res.stdout}\nstderr: ${res.stderr}`;

before(async () => {
  repo = createTempRepo();
  repo.write({
    'definitions/builder/packages': 'openssh-server\n',
    'definitions/builder/APT_snapshots.d/debian/serial': '2020010101\n',
    README: 'x\n',
  });
  repo.commit('Builder definition', '2020-01-01T10:00:00Z');
  cache = makeTempDir('tb-write-cache-');
  out = makeTempDir('tb-write-out-');
  readOnly = makeTempDir('tb-write-ro-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m,mode=0755', 'tmpfs', readOnly]);
  mounted = true;
  const named = await tb(['basebox', 'name']);
  assert.equal(named.code, 0, show(named));
  // A cached box: `basebox create --no-import --output FILE` copies it there, no root, no VM.
  mkdirSync(join(cache, 'boxes'), { recursive: true });
  boxBytes = `not really a box, but the cached file for ${named.stdout.trim()}\n`;
  writeFileSync(join(cache, 'boxes', `${named.stdout.trim()}.box`), boxBytes);
});
after(() => {
  if (mounted && readOnly !== undefined) execFileSync('umount', [readOnly]);
  for (const dir of [readOnly, out, cache]) if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  repo?.remove();
});

describe('writes the host refuses (built binary)', () => {
  it('basebox create --output into a read-only mount: read-only-filesystem, exit 3, naming the path; not an internal error', async () => {
    const target = join(readOnly ?? '', 'builder.box');
    const res = await tb(['basebox', 'create', '--no-import', '--output', target]);
    assert.equal(res.code, 3, show(res));
    assert.match(res.stderr, new RegExp(`error: Cannot copy \\S+ to ${target}\\.partial: the filesystem holding it is mounted read-only \\(EROFS\\)\\.`));
    assert.match(res.stderr, /hint: Remount it read-write \(findmnt -T /);
    assert.doesNotMatch(res.stderr, /internal error/);

    const json = await tb(['--json', 'basebox', 'create', '--no-import', '--output', target]);
    const result = assertEventStream(json.stdout, 3).at(-1);
    assert.deepEqual({ code: (result?.error as { code?: unknown }).code, kind: (result?.error as { kind?: unknown }).kind }, { code: 'read-only-filesystem', kind: 'precondition' });
  });

  it('basebox create --output onto a directory: path-is-a-directory, exit 3, and no .partial file is left beside it', async () => {
    const target = join(out ?? '', 'a-directory');
    mkdirSync(join(target, 'inside'), { recursive: true });
    const res = await tb(['basebox', 'create', '--no-import', '--output', target]);
    assert.equal(res.code, 3, show(res));
    assert.match(res.stderr, new RegExp(`error: Cannot move ${target}\\.partial to ${target}: a directory is there, where a file is to go \\(EISDIR\\)\\.`));
    assert.equal(existsSync(`${target}.partial`), false, 'the half-done copy is removed');
    assert.equal(existsSync(join(target, 'inside')), true, 'the directory is left as it was');
  });

  it('--junit into /dev/full after a success: the command wrote its output, then fails with junit-unwritable, exit 4', async () => {
    const target = join(out ?? '', 'ok.box');
    const res = await tb(['basebox', 'create', '--no-import', '--output', target, '--junit', '/dev/full']);
    assert.equal(res.code, 4, show(res));
    assert.equal(readFileSync(target, 'utf8'), boxBytes);
    assert.match(res.stderr, /error: The command succeeded, but its JUnit report \/dev\/full could not be written: Cannot write \/dev\/full: .*\(ENOSPC\)\./);
    assert.doesNotMatch(res.stderr, /internal error/);
  });

  it('--junit into /dev/full or a read-only mount after a refusal: the refusal keeps its exit code (3), the JUnit failure is a warning', async () => {
    writeFileSync(join(repo?.root ?? '', 'README'), 'uncommitted\n');
    try {
      for (const junit of ['/dev/full', join(readOnly ?? '', 'reports', 'iso.xml')]) {
        const res = await tb(['iso', '--junit', junit]);
        assert.equal(res.code, 3, show(res));
        assert.match(res.stderr, /error: The checkout \S+ has uncommitted changes/);
        assert.match(res.stderr, new RegExp(`warning: the JUnit report ${junit} could not be written: Cannot (write|create the directory) `));

        const json = await tb(['--json', 'iso', '--junit', junit]);
        const events = assertEventStream(json.stdout, 3);
        assert.equal((events.at(-1)?.error as { code?: unknown }).code, 'dirty-tree');
        assert.ok(events.some((e) => e.event === 'warning' && String(e.message).includes(`JUnit report ${junit}`)), json.stdout);
      }
    } finally {
      repo?.git('checkout', '--', 'README');
    }
  });
});
