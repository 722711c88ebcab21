/**
 * `tails-build iso --dry-run` on a Tails-shaped checkout: the environment the
 * in-VM build gets (Tails' names and values), the base-branch merge and the
 * steps the run takes.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { IsoBuildPlan } from '../../src/core/iso-plan.js';
import { runTailsBuild } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/git-repo.js';
import { checkOutConflictingBranch, mergeLikeTails, readRepoState, TAILS_CHANGELOG_DATE_UTC, tailsCheckoutsForThisFile, type TailsCheckout } from '../helpers/tails-checkout.js';

const { checkout, dirs } = tailsCheckoutsForThisFile();

async function plan(t: TailsCheckout, env: Record<string, string> = {}, args: string[] = []): Promise<IsoBuildPlan> {
  const res = await runTailsBuild(['iso', '--dry-run', '--json', ...args], { cwd: t.root, env });
  assert.equal(res.code, 0, res.stderr);
  return JSON.parse(res.stdout) as IsoBuildPlan;
}

/** The plan's environment as [name, value] pairs (null: known at run time). */
function pairs(p: IsoBuildPlan): [string, string | null][] {
  assert.ok(p.environment !== undefined, 'the plan has an environment');
  return p.environment.map((e) => [e.name, e.value]);
}

const SERIALS_JSON = '{"debian":"2026120302","debian-security":"2026120301","tails":"2026120101","torproject":"2026120102"}';

describe('tails-build iso --dry-run on a Tails checkout', () => {
  it('defaults on a feature branch: ram vmproxy fastcomp, the website cache, and the base branch merged (FEATURE_BRANCH_GIT_COMMIT is HEAD, GIT_COMMIT the exact merge commit, made outside the checkout)', async () => {
    const t = checkout();
    const before = readRepoState(t.root);
    const tmp = makeTempDir('tb-tmp-');
    dirs.push(tmp);
    const p = await plan(t, { TMPDIR: tmp });
    const mergeCommit = mergeLikeTails(t);
    assert.equal(p.project.kind, 'tails');
    assert.deepEqual(pairs(p), [
      ['MKSQUASHFS_OPTIONS', '-comp zstd -no-exports'],
      ['APT_SNAPSHOTS_SERIALS', SERIALS_JSON],
      ['TAILS_PROXY', 'http://127.0.0.1:3142'],
      ['TAILS_PROXY_TYPE', 'vmproxy'],
      ['TAILS_RAM_BUILD', '1'],
      ['TAILS_WEBSITE_CACHE', '1'],
      ['GIT_COMMIT', mergeCommit],
      ['GIT_REF', 'feature/x'],
      ['BASE_BRANCH_GIT_COMMIT', t.baseCommit],
      ['FEATURE_BRANCH_GIT_COMMIT', t.featureCommit],
    ]);
    assert.deepEqual(p.tailsGit?.merge, { planned: true, baseBranch: 'stable', baseCommit: t.baseCommit, date: TAILS_CHANGELOG_DATE_UTC, outcome: 'diverged', commit: mergeCommit });
    // The same checkout, the same merge commit.
    assert.equal(new Map(pairs(await plan(t, { TMPDIR: tmp }))).get('GIT_COMMIT'), mergeCommit);
    // The run is planned as rake build runs it: the checkout's own scripts, the merge made in the VM's view of the checkout.
    assert.equal(p.refusal, undefined);
    assert.deepEqual(p.steps.map((s) => s.id), ['preflight', 'basebox', 'accelerator', 'resolve-serials', 'vm-up', 'provision', 'build', 'artifacts', 'cleanup']);
    assert.match(p.steps.find((s) => s.id === 'provision')?.title ?? '', new RegExp(`the base-branch merge ${mergeCommit.slice(0, 12)} \\(origin/stable\\)`));
    assert.match(p.steps.find((s) => s.id === 'build')?.title ?? '', new RegExp(`build-tails for feature/x at ${mergeCommit.slice(0, 12)}`));
    // The merge was made in a throwaway repository under TMPDIR, now removed: the user's checkout is as it was.
    assert.deepEqual(readdirSync(tmp), []);
    assert.deepEqual(readRepoState(t.root), before);
    assert.equal(t.repo.git('rev-parse', 'HEAD'), t.featureCommit);
  });

  it('prints the same environment for people, and the merge', async () => {
    const t = checkout();
    const res = await runTailsBuild(['iso', '--dry-run'], { cwd: t.root });
    assert.equal(res.code, 0, res.stderr);
    const mergeCommit = mergeLikeTails(t);
    const lines = res.stdout.split('\n');
    const start = lines.indexOf('Environment (what rake build exports into the VM):');
    assert.ok(start !== -1, res.stdout);
    assert.deepEqual(lines.slice(start + 1, start + 11), [
      '  MKSQUASHFS_OPTIONS=-comp zstd -no-exports',
      `  APT_SNAPSHOTS_SERIALS=${SERIALS_JSON}`,
      '  TAILS_PROXY=http://127.0.0.1:3142',
      '  TAILS_PROXY_TYPE=vmproxy',
      '  TAILS_RAM_BUILD=1',
      '  TAILS_WEBSITE_CACHE=1',
      `  GIT_COMMIT=${mergeCommit}`,
      '  GIT_REF=feature/x',
      `  BASE_BRANCH_GIT_COMMIT=${t.baseCommit}`,
      `  FEATURE_BRANCH_GIT_COMMIT=${t.featureCommit}`,
    ]);
    assert.match(res.stdout, new RegExp(`^Merge: +origin/stable \\(${t.baseCommit.slice(0, 12)}\\) into feature/x \\(${t.featureCommit.slice(0, 12)}\\): a merge commit ${mergeCommit} dated ${TAILS_CHANGELOG_DATE_UTC} \\(the top debian/changelog entry\\), made outside the checkout$`, 'm'));
    assert.doesNotMatch(res.stdout, /^Refused:/m);
    assert.match(res.stdout, /^Dry run: no VM was started and the checkout was only read \(git, to compute the state above; the merge commit was made in a throwaway repository under \$TMPDIR, already removed\)\.$/m);
  });

  it('a branch behind its base: the merge is a fast-forward, so GIT_COMMIT is the base\'s commit', async () => {
    const t = checkout();
    t.repo.git('checkout', '-q', '-b', 'behind', t.forkCommit);
    const p = await plan(t);
    const env = new Map(pairs(p));
    assert.equal(env.get('GIT_COMMIT'), t.baseCommit);
    assert.equal(env.get('GIT_REF'), 'behind');
    assert.equal(env.get('FEATURE_BRANCH_GIT_COMMIT'), t.forkCommit);
  });

  it('on a tag (releasing): no MKSQUASHFS_OPTIONS, TAILS_WEBSITE_CACHE=0, no merge; cachewebsite is ignored with a warning', async () => {
    const t = checkout();
    t.repo.git('checkout', '-q', '--detach', 'stable');
    t.repo.git('tag', '6.10');
    const res = await runTailsBuild(['iso', '--dry-run', '--json'], { cwd: t.root, env: { TAILS_BUILD_OPTIONS: 'cachewebsite' } });
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /cachewebsite is ignored when building a release/);
    const p = JSON.parse(res.stdout) as IsoBuildPlan;
    assert.deepEqual(pairs(p), [
      ['APT_SNAPSHOTS_SERIALS', SERIALS_JSON],
      ['TAILS_PROXY', 'http://127.0.0.1:3142'],
      ['TAILS_PROXY_TYPE', 'vmproxy'],
      ['TAILS_RAM_BUILD', '1'],
      ['TAILS_WEBSITE_CACHE', '0'],
      ['GIT_COMMIT', t.baseCommit],
      ['GIT_REF', '6.10'],
      ['BASE_BRANCH_GIT_COMMIT', t.baseCommit],
    ]);
    assert.deepEqual(p.tailsGit?.merge, { planned: false, why: 'releasing' });
  });

  it("TAILS_BUILD_OPTIONS='noram offline defaultcomp dateoffset=+3 rescue nomergebasebranch'", async () => {
    const t = checkout();
    const p = await plan(t, { TAILS_BUILD_OPTIONS: 'noram offline defaultcomp dateoffset=+3 rescue nomergebasebranch' });
    assert.deepEqual(pairs(p), [
      ['APT_SNAPSHOTS_SERIALS', SERIALS_JSON],
      ['TAILS_BUILD_FAILURE_RESCUE', '1'],
      ['TAILS_DATE_OFFSET', '+3'],
      ['TAILS_OFFLINE_MODE', '1'],
      ['TAILS_PROXY', 'http://127.0.0.1:3142'],
      ['TAILS_PROXY_TYPE', 'vmproxy'],
      ['TAILS_WEBSITE_CACHE', '1'],
      ['GIT_COMMIT', t.featureCommit],
      ['GIT_REF', 'feature/x'],
      ['BASE_BRANCH_GIT_COMMIT', t.baseCommit],
    ]);
    assert.deepEqual(p.tailsGit?.merge, { planned: false, why: 'nomergebasebranch' });
  });

  it('extproxy and vmproxy+extproxy take the host\'s http_proxy; without it they are refused', async () => {
    const t = checkout();
    const ext = new Map(pairs(await plan(t, { TAILS_BUILD_OPTIONS: 'extproxy', http_proxy: 'http://proxy.example:3128' })));
    assert.equal(ext.get('TAILS_PROXY'), 'http://proxy.example:3128');
    assert.equal(ext.get('TAILS_PROXY_TYPE'), 'extproxy');
    assert.equal(ext.has('TAILS_ACNG_PROXY'), false);
    const both = new Map(pairs(await plan(t, { http_proxy: 'http://proxy.example:3128' }, ['--proxy', 'vmproxy+extproxy'])));
    assert.equal(both.get('TAILS_ACNG_PROXY'), 'http://proxy.example:3128');
    assert.equal(both.get('TAILS_PROXY'), 'http://127.0.0.1:3142');
    const refused = await runTailsBuild(['iso', '--dry-run'], { cwd: t.root, env: { TAILS_BUILD_OPTIONS: 'extproxy' } });
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /extproxy proxy mode \(from TAILS_BUILD_OPTIONS\) forwards to the host's HTTP proxy, but http_proxy is not set/);
    const offline = await runTailsBuild(['iso', '--dry-run'], { cwd: t.root, env: { TAILS_BUILD_OPTIONS: 'noproxy offline' } });
    assert.equal(offline.code, 2);
    assert.match(offline.stderr, /offline builds from the caching proxy's packages, but the proxy mode is noproxy/);
  });

  it('a "latest" ISO serial: APT_SNAPSHOTS_SERIALS is known at run time, unless APT_SNAPSHOTS_SERIALS pins it', async () => {
    const t = checkout({ isoSerials: { debian: '2026120302', 'debian-security': 'latest' } });
    const open = (await plan(t)).environment?.find((e) => e.name === 'APT_SNAPSHOTS_SERIALS');
    assert.equal(open?.value, null);
    const pinned = new Map(pairs(await plan(t, { APT_SNAPSHOTS_SERIALS: '{"debian-security":"2026120309"}' })));
    assert.equal(pinned.get('APT_SNAPSHOTS_SERIALS'), '{"debian":"2026120302","debian-security":"2026120309"}');
  });

  it('a branch whose merge with its base conflicts: refused (exit 3), naming the path and the way out; the checkout is left as it was', async () => {
    const t = checkout();
    checkOutConflictingBranch(t);
    const before = readRepoState(t.root);
    const res = await runTailsBuild(['iso', '--dry-run', '--json'], { cwd: t.root });
    assert.equal(res.code, 3, res.stderr);
    assert.match(res.stderr, /Merging origin\/stable \([0-9a-f]{12}\) into clash \([0-9a-f]{12}\) conflicts in wiki\/src\/news\.mdwn/);
    assert.match(res.stderr, /TAILS_BUILD_OPTIONS=nomergebasebranch tails-build iso/);
    assert.deepEqual(readRepoState(t.root), before);
    const skipped = await plan(t, { TAILS_BUILD_OPTIONS: 'nomergebasebranch' });
    assert.equal(new Map(pairs(skipped)).get('GIT_COMMIT'), t.repo.git('rev-parse', 'HEAD'));
  });

  it('refuses as Tails does, naming the fact and the next command: no origin/<base>, a detached HEAD off any tag', async () => {
    const t = checkout();
    t.repo.git('update-ref', '-d', 'refs/remotes/origin/stable');
    const noBase = await runTailsBuild(['iso', '--dry-run'], { cwd: t.root });
    assert.equal(noBase.code, 3);
    assert.match(noBase.stderr, /origin\/stable does not exist in .*, so BASE_BRANCH_GIT_COMMIT would be empty/);
    assert.match(noBase.stderr, /hint: Fetch it \(git -C .* fetch origin stable\)/);
    t.repo.git('checkout', '-q', '--detach', t.featureCommit);
    const detached = await runTailsBuild(['iso', '--dry-run'], { cwd: t.root });
    assert.equal(detached.code, 3);
    assert.match(detached.stderr, /detached .*no tag points at it/);
  });
});
