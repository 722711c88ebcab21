/**
 * The Tails fixture's in-VM scripts (test/fixtures/tails/) where no VM is
 * needed: they parse, build-tails' pure functions (its `--call` mode) give
 * what the helpers in test/helpers/tails-checkout.ts expect, and
 * createTailsCheckout({ inVm: true }) commits them with a real submodule.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { makeTempDir } from '../helpers/git-repo.js';
import {
  checkOutTag,
  tailsCheckoutsForThisFile,
  parseTailsBuildEnvList,
  tailsArtifactBasename,
  tailsArtifactPattern,
  tailsLayout,
  TAILS_CHANGELOG_DATE,
  TAILS_CHANGELOG_DATE_UTC,
  TAILS_FIXTURE_DIR,
  TAILS_FIXTURE_FETCH_TAILS_ARCHIVE,
  TAILS_FIXTURE_SUBMODULE,
  TAILS_FIXTURE_SUBMODULE_URL,
  TAILS_IN_VM_FILES,
} from '../helpers/tails-checkout.js';

const SETUP = join(TAILS_FIXTURE_DIR, 'vagrant/provision/setup-tails-builder');
const BUILD_TAILS = join(TAILS_FIXTURE_DIR, 'vagrant/provision/assets/build-tails');

function call(fn: string, ...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync('bash', [BUILD_TAILS, '--call', fn, ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const { checkout, dirs } = tailsCheckoutsForThisFile();

describe('the Tails fixture scripts, on the host', () => {
  it('parse (bash -n, sh -n)', () => {
    for (const script of [SETUP, BUILD_TAILS]) execFileSync('bash', ['-n', script]);
    execFileSync('sh', ['-n', join(TAILS_FIXTURE_DIR, TAILS_FIXTURE_SUBMODULE, 'install.sh')]);
  });

  it('build-tails names artifacts as tailsArtifactBasename does (Tails auto/config)', () => {
    const commit = '0123456789abcdef0123456789abcdef01234567';
    const base = 'fedcba9876543210fedcba9876543210fedcba98';
    const cases: { args: string[]; expected: string }[] = [
      { args: ['feature/x', 'stable', commit, base, '20261203T0900Z', ''], expected: 'tails-amd64-feature_x@0123456789+stable@fedcba9876-20261203T0900Z' },
      { args: ['stable', 'stable', commit, base, '20261203T0900Z', ''], expected: 'tails-amd64-stable@0123456789-20261203T0900Z' },
      { args: ['', 'stable', commit, base, '20261203T0900Z', '6.10'], expected: 'tails-amd64-6.10' },
      { args: ['', 'stable', commit, base, '20261203T0900Z', '6.10-rc1'], expected: 'tails-amd64-6.10~rc1' },
    ];
    for (const c of cases) {
      const r = call('artifact_basename', ...c.args);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${c.expected}\n`);
      const [branch = '', baseBranch = '', , , datetime = '', tag = ''] = c.args;
      const naming = tag === '' ? { branch, baseBranch, commit, baseCommit: base } : { tag };
      assert.equal(tailsArtifactBasename(naming, datetime), c.expected);
      assert.match(c.expected, tailsArtifactPattern(naming));
    }
    const naming = { branch: 'feature/x', baseBranch: 'stable', commit, baseCommit: base };
    assert.doesNotMatch('tails-amd64-feature_x@0123456789+stable@fedcba9876-', tailsArtifactPattern(naming));
    assert.doesNotMatch('tails-amd64-feature_x@0123456789stable@fedcba9876-20261203T0900Z', tailsArtifactPattern(naming));
    assert.doesNotMatch('tails-amd64-6.10~rc1', tailsArtifactPattern({ tag: '6.10' }));
    const neither = call('artifact_basename', '', 'stable', commit, base, '20261203T0900Z', '');
    assert.notEqual(neither.code, 0);
    assert.match(neither.stderr, /Neither a Git branch nor a tag/);
  });

  it('build-tails takes APT_SNAPSHOTS_SERIALS with 10-digit serials only, and writes them back as Tails does', () => {
    const ok = call('parse_serials', '{"torproject":"2026120102", "debian" : "2026120302","debian-security":"2026120301"}');
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, 'debian 2026120302\ndebian-security 2026120301\ntorproject 2026120102\n');
    const json = call('serials_json', ok.stdout);
    assert.equal(json.stdout, '{"debian":"2026120302","debian-security":"2026120301","torproject":"2026120102"}\n');
    for (const [bad, why] of [
      ['{"debian":"latest"}', /debian the serial 'latest', not a 10-digit one/],
      ['{"debian":"202612030"}', /not a 10-digit one/],
      ['{"debian":2026120302}', /not a JSON object of archive names and serials/],
      ['{"debian":"2026120302",}', /not a JSON object of archive names and serials/],
      ['{"debian":"2026120302"} {}', /text after its object/],
      ['{"debian":"2026120302","debian":"2026120303"}', /names debian twice/],
      ['debian=2026120302', /not a JSON object/],
    ] as const) {
      const r = call('parse_serials', bad);
      assert.notEqual(r.code, 0, bad);
      assert.match(r.stderr, why, bad);
    }
  });

  it("build-tails reads the fixture's debian/changelog date and version without dpkg-parsechangelog", () => {
    const dir = makeTempDir();
    dirs.push(dir);
    const changelog = join(dir, 'changelog');
    writeFileSync(changelog, tailsLayout()['debian/changelog'] ?? '');
    const date = call('changelog_date', changelog);
    assert.equal(date.stdout, `${TAILS_CHANGELOG_DATE}\n`);
    const epoch = execFileSync('date', ['--utc', `--date=${TAILS_CHANGELOG_DATE}`, '+%s'], { encoding: 'utf8' }).trim();
    assert.equal(Number(epoch), Date.parse(TAILS_CHANGELOG_DATE_UTC) / 1000);
    assert.equal(call('changelog_version', changelog).stdout, '6.10\n');
    writeFileSync(changelog, 'tails (6.10) UNRELEASED; urgency=medium\n');
    assert.notEqual(call('changelog_date', changelog).code, 0);
  });

  it('build-tails refuses arguments and unknown functions', () => {
    const r = spawnSync('bash', [BUILD_TAILS, 'now'], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^E: build-tails takes no arguments/);
    assert.match(call('main').stderr, /no function 'main'/);
  });

  it('parseTailsBuildEnvList reads Tails\' line and the NAME=value lines', () => {
    const list = parseTailsBuildEnvList('# This file is in Java property file format\nAPT_SNAPSHOTS_SERIALS = {"debian":"2026120302"}\n# the variables\nMKSQUASHFS_OPTIONS=-comp zstd -no-exports\nTAILS_PROXY=\nGIT_REF=feature/x\n');
    assert.equal(list.aptSnapshotsSerials, '{"debian":"2026120302"}');
    assert.deepEqual(list.variables, [['MKSQUASHFS_OPTIONS', '-comp zstd -no-exports'], ['TAILS_PROXY', ''], ['GIT_REF', 'feature/x']]);
  });
});

describe('createTailsCheckout({ inVm: true })', () => {
  it('commits the scripts (executable) and a submodule whose repository is in .git/modules, reproducibly; the default checkout has neither', () => {
    const t = checkout({ inVm: true });
    const tree = t.repo.git('ls-tree', '-r', 'HEAD');
    for (const [path, mode] of Object.entries(TAILS_IN_VM_FILES)) assert.match(tree, new RegExp(`^${mode === 0o755 ? '100755' : '100644'} blob [0-9a-f]{40}\\t${path}$`, 'm'));
    assert.ok(t.submodule !== undefined);
    assert.match(tree, new RegExp(`^160000 commit ${t.submodule.commit}\\t${TAILS_FIXTURE_SUBMODULE}$`, 'm'));
    assert.equal(t.repo.git('config', '-f', '.gitmodules', `submodule.${TAILS_FIXTURE_SUBMODULE}.url`), TAILS_FIXTURE_SUBMODULE_URL);
    assert.ok(existsSync(join(t.root, '.git/modules', TAILS_FIXTURE_SUBMODULE, 'HEAD')));
    assert.equal(t.repo.git('-C', TAILS_FIXTURE_SUBMODULE, 'rev-parse', 'HEAD'), t.submodule.commit);
    assert.equal(t.repo.git('status', '--porcelain'), '');
    assert.equal(t.repo.git('branch', '--show-current'), 'feature/x');
    // Still diverged: merging origin/stable makes a merge commit.
    assert.equal(t.repo.git('merge-base', 'HEAD', 'origin/stable'), t.forkCommit);
    const again = checkout({ inVm: true });
    assert.deepEqual([again.forkCommit, again.baseCommit, again.featureCommit, again.submodule?.commit], [t.forkCommit, t.baseCommit, t.featureCommit, t.submodule.commit]);

    const plain = checkout();
    assert.equal(plain.submodule, undefined);
    assert.doesNotMatch(plain.repo.git('ls-tree', '-r', '--name-only', 'HEAD'), /provision|submodules|gitmodules|fixture/);
  });

  it('fetchTailsArchive commits config/fixture-fetch-tails-archive', () => {
    const t = checkout({ inVm: true, fetchTailsArchive: true });
    assert.match(t.repo.git('ls-tree', '-r', '--name-only', 'HEAD'), new RegExp(`^${TAILS_FIXTURE_FETCH_TAILS_ARCHIVE}$`, 'm'));
  });

  it('checkOutTag puts HEAD, detached, on an annotated tag of the base branch', () => {
    const t = checkout({ inVm: true });
    const other = checkout({ inVm: true });
    assert.equal(checkOutTag(t), t.baseCommit);
    assert.equal(t.repo.git('describe', '--tags', '--exact-match', 'HEAD'), '6.10');
    assert.equal(t.repo.git('branch', '--show-current'), '');
    assert.equal(t.repo.git('cat-file', '-t', '6.10'), 'tag');
    assert.equal(t.repo.git('status', '--porcelain'), '');
    assert.equal(t.repo.git('ls-remote', '--tags', 'origin', '6.10').split('\t')[0], t.repo.git('rev-parse', '6.10'));
    checkOutTag(other);
    assert.equal(other.repo.git('rev-parse', '6.10'), t.repo.git('rev-parse', '6.10'));
  });
});
