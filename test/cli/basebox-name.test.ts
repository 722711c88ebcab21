/** `tails-build basebox name` on real git repositories, compared with Tails' own git query. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runTailsBuild } from '../helpers/cli.js';
import { createTempRepo, GIT_ENV, makeTempDir, type TempRepo } from '../helpers/git-repo.js';

const repos: TempRepo[] = [];
after(() => {
  for (const r of repos) r.remove();
});

function repo(): TempRepo {
  const r = createTempRepo();
  repos.push(r);
  return r;
}

/** What Tails' tails_build_settings.rb#box_name computes, run as git itself. */
function tailsOracle(root: string, arch: string, codename: string, dir = 'vagrant/definitions/tails-builder'): string {
  const out = execFileSync(
    'git',
    ['log', '-1', '--date=format:%Y%m%d', '--no-show-signature', '--pretty=%h %ad', '--', `${root}/${dir}/`],
    { cwd: root, encoding: 'utf8', env: { ...process.env, ...GIT_ENV } },
  ).trim();
  const [shortId, date] = out.split(' ');
  return `tails-builder-${arch}-${codename}-${date}-${shortId}`;
}

function ourLayout(r: TempRepo): void {
  r.write({
    'definitions/builder/packages': 'openssh-server\nsudo\n',
    'definitions/builder/APT_snapshots.d/debian/serial': '2024090201\n',
    'definitions/builder/APT_snapshots.d/debian-security/serial': '2024090201\n',
    'definitions/iso/APT_snapshots.d/debian/serial': 'latest\n',
    'README': 'x\n',
  });
}

function tailsLayout(r: TempRepo, distribution = 'bookworm'): void {
  r.write({
    'vagrant/lib/tails_build_settings.rb': `ARCHITECTURE = 'amd64'.freeze\nDISTRIBUTION = '${distribution}'.freeze\n`,
    'vagrant/Vagrantfile': '# vagrant\n',
    'vagrant/definitions/tails-builder/generate-tails-builder-box.sh': '#!/bin/sh\n',
    'vagrant/definitions/tails-builder/config/APT_snapshots.d/debian/serial': '2024090201\n',
    'config/APT_snapshots.d/debian/serial': '2024101502\n',
  });
}

describe('tails-build basebox name', () => {
  it('names the box after the last commit touching definitions/builder, by author date', async () => {
    const r = repo();
    ourLayout(r);
    r.commit('Initial', '2024-09-02T10:00:00Z');
    const defCommit = r.git('rev-parse', '--short', 'HEAD');
    r.write({ README: 'changed\n' });
    r.commit('Unrelated', '2024-10-01T10:00:00Z');
    const res = await runTailsBuild(['basebox', 'name'], { cwd: r.root });
    assert.equal(res.stderr, '');
    assert.equal(res.code, 0);
    assert.equal(res.stdout, `tails-builder-amd64-bookworm-20240902-${defCommit}\n`);
  });

  it('uses the author date, not the committer date', async () => {
    const r = repo();
    ourLayout(r);
    r.git('add', '-A');
    execFileSync('git', ['commit', '-q', '-m', 'x'], {
      cwd: r.root,
      env: { ...process.env, ...GIT_ENV, GIT_AUTHOR_DATE: '2023-01-31T23:30:00Z', GIT_COMMITTER_DATE: '2024-05-05T00:00:00Z' },
    });
    const res = await runTailsBuild(['basebox', 'name', '--json'], { cwd: r.root });
    assert.equal(res.code, 0, res.stderr);
    assert.equal((JSON.parse(res.stdout) as { date: string }).date, '20230131');
  });

  it('changes when the builder serials are bumped', async () => {
    const r = repo();
    ourLayout(r);
    r.commit('Initial', '2024-09-02T10:00:00Z');
    const before = (await runTailsBuild(['basebox', 'name'], { cwd: r.root })).stdout;
    r.write({ 'definitions/builder/APT_snapshots.d/debian/serial': '2024100101\n' });
    r.commit('Bump builder serials', '2024-10-01T10:00:00Z');
    const afterBump = (await runTailsBuild(['basebox', 'name'], { cwd: r.root })).stdout;
    assert.notEqual(afterBump, before);
    assert.match(afterBump, /^tails-builder-amd64-bookworm-20241001-[0-9a-f]+\n$/);
  });

  it('prints the same name as Tails’ own formula on a Tails-layout checkout', async () => {
    const r = repo();
    tailsLayout(r, 'trixie');
    r.commit('Builder', '2024-09-02T10:00:00Z');
    r.write({ 'vagrant/Vagrantfile': '# only the transient VM changed\n' });
    r.commit('Vagrantfile only', '2024-11-09T10:00:00Z');
    const res = await runTailsBuild(['basebox', 'name'], { cwd: join(r.root, 'config') });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout.trim(), tailsOracle(r.root, 'amd64', 'trixie'));
    assert.match(res.stdout, /^tails-builder-amd64-trixie-20240902-/);
  });

  it('honours core.abbrev like Tails does', async () => {
    const r = repo();
    tailsLayout(r);
    r.commit('Builder', '2024-09-02T10:00:00Z');
    r.git('config', 'core.abbrev', '12');
    const res = await runTailsBuild(['basebox', 'name'], { cwd: r.root });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout.trim(), tailsOracle(r.root, 'amd64', 'bookworm'));
    assert.match(res.stdout.trim(), /-[0-9a-f]{12}$/);
  });

  it('is not confused by log.showSignature=true on a signed commit', async () => {
    const r = repo();
    tailsLayout(r);
    const key = join(makeTempDir(), 'signing-key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test', '-f', key]);
    r.git('config', 'gpg.format', 'ssh');
    r.git('config', 'user.signingkey', key);
    r.git('config', 'commit.gpgsign', 'true');
    r.commit('Signed builder commit', '2024-09-02T10:00:00Z');
    r.git('config', 'log.showSignature', 'true');
    // Without --no-show-signature git prints signature lines before the formatted line.
    const raw = r.git('log', '-1', '--pretty=%h %ad', '--date=format:%Y%m%d');
    assert.ok(raw.split('\n').length > 1, `expected signature noise, got: ${raw}`);
    const res = await runTailsBuild(['basebox', 'name'], { cwd: r.root });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout.trim(), tailsOracle(r.root, 'amd64', 'bookworm'));
  });

  it('refuses uncommitted changes in the definition dir, and names it with --ignore-changes', async () => {
    const r = repo();
    ourLayout(r);
    r.commit('Initial', '2024-09-02T10:00:00Z');
    const head = r.git('rev-parse', '--short', 'HEAD');
    r.write({ 'definitions/builder/packages': 'openssh-server\nsudo\nvim\n', 'definitions/builder/new-hook.sh': '#!/bin/sh\n' });
    const refused = await runTailsBuild(['basebox', 'name'], { cwd: r.root });
    assert.equal(refused.code, 3);
    assert.equal(refused.stdout, '');
    assert.match(refused.stderr, /definitions\/builder has uncommitted changes/);
    assert.match(refused.stderr, /M definitions\/builder\/packages/);
    assert.match(refused.stderr, /\?\? definitions\/builder\/new-hook\.sh/);
    assert.match(refused.stderr, /hint: .*--ignore-changes/);

    const forced = await runTailsBuild(['basebox', 'name', '--ignore-changes'], { cwd: r.root });
    assert.equal(forced.code, 0);
    assert.equal(forced.stdout.trim(), `tails-builder-amd64-bookworm-20240902-${head}`);
    assert.match(forced.stderr, /warning: definitions\/builder has 2 uncommitted change/);
  });

  it('ignores uncommitted changes outside the definition dir', async () => {
    const r = repo();
    ourLayout(r);
    r.commit('Initial', '2024-09-02T10:00:00Z');
    r.write({ README: 'dirty\n', 'untracked.txt': 'x' });
    const res = await runTailsBuild(['basebox', 'name'], { cwd: r.root });
    assert.equal(res.code, 0, res.stderr);
  });

  it('refuses a definition dir that no commit touches', async () => {
    const r = repo();
    r.write({ README: 'x\n' });
    r.commit('Initial', '2024-09-02T10:00:00Z');
    r.write({ 'definitions/builder/packages': 'sudo\n' });
    const res = await runTailsBuild(['basebox', 'name', '--ignore-changes'], { cwd: r.root });
    assert.equal(res.code, 3);
    assert.match(res.stderr, /No commit touches the box definition dir definitions\/builder/);
    assert.match(res.stderr, /hint: Commit it: git add definitions\/builder && git commit/);
  });

  it('refuses a missing definition dir', async () => {
    const r = repo();
    r.write({ README: 'x\n' });
    r.commit('Initial', '2024-09-02T10:00:00Z');
    const res = await runTailsBuild(['basebox', 'name'], { cwd: r.root });
    assert.equal(res.code, 3);
    assert.match(res.stderr, /box definition dir definitions\/builder does not exist/);
  });

  it('refuses a repository without commits', async () => {
    const r = repo();
    ourLayout(r);
    const res = await runTailsBuild(['basebox', 'name'], { cwd: r.root });
    assert.equal(res.code, 3);
    assert.match(res.stderr, /has no commits yet/);
    assert.match(res.stderr, /hint: Commit the project first/);
  });

  it('refuses a directory that is not a git repository', async () => {
    const dir = makeTempDir();
    writeFileSync(join(dir, 'file'), 'x');
    const res = await runTailsBuild(['basebox', 'name'], { cwd: dir });
    assert.equal(res.code, 3);
    assert.match(res.stderr, /is not inside a git work tree/);
    assert.match(res.stderr, /hint: .*--project DIR/);
  });

  it('works on --project DIR from anywhere, and reports a missing one', async () => {
    const r = repo();
    ourLayout(r);
    r.commit('Initial', '2024-09-02T10:00:00Z');
    const elsewhere = makeTempDir();
    const res = await runTailsBuild(['--project', r.root, 'basebox', 'name'], { cwd: elsewhere });
    assert.equal(res.code, 0, res.stderr);
    const missing = join(elsewhere, 'nope');
    assert.equal(existsSync(missing), false);
    const bad = await runTailsBuild(['-C', missing, 'basebox', 'name'], { cwd: elsewhere });
    assert.equal(bad.code, 3);
    assert.match(bad.stderr, /Cannot open .*nope/);
  });

  it('prints a JSON error with --json', async () => {
    const dir = makeTempDir();
    const res = await runTailsBuild(['--json', 'basebox', 'name'], { cwd: dir });
    assert.equal(res.code, 3);
    const parsed = JSON.parse(res.stdout) as { error: { code: string; exitCode: number; hint: string } };
    assert.equal(parsed.error.code, 'not-a-git-repo');
    assert.equal(parsed.error.exitCode, 3);
  });
});
