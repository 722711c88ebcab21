/**
 * The base-branch merge of a Tails build (app/tails-merge.ts) with real git,
 * real files and the real runner, on a Tails-shaped checkout: the merge commit
 * Tails' `faketime <changelog date> git merge` would make, made without
 * touching the checkout, and its bundle.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { diskFiles } from '../../src/adapters/disk-file.js';
import { createRunner } from '../../src/adapters/runner.js';
import { createTailsMerge, type TailsMergeCommit } from '../../src/app/tails-merge.js';
import { exitCodeFor, UserError } from '../../src/core/errors.js';
import { computeTailsGitVariables, planTailsGitState, type BaseRelation, type TailsGitState } from '../../src/core/tails-git-state.js';
import { createTempRepo, makeTempDir } from '../helpers/git-repo.js';
import { checkOutConflictingBranch, createTailsCheckout, mergeLikeTails, readRepoState, TAILS_CHANGELOG_DATE_UTC, type TailsCheckout } from '../helpers/tails-checkout.js';

const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups) c();
});

function checkout(): TailsCheckout {
  const t = createTailsCheckout();
  cleanups.push(() => {
    t.remove();
  });
  return t;
}

function tempDir(prefix: string): string {
  const dir = makeTempDir(prefix);
  cleanups.push(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** A clean environment: no global config of the developer's (HOME is empty), no GIT_* of the test runner's. */
const home = tempDir('tb-home-');
const quiet = { info: () => undefined, warn: () => undefined, debug: () => undefined };
const deps = {
  runner: createRunner({ log: quiet, dryRun: false, path: process.env.PATH ?? '/usr/bin:/bin', baseEnv: { PATH: process.env.PATH, HOME: home, LANG: 'C', GIT_CONFIG_NOSYSTEM: '1' } }),
  disk: diskFiles,
};

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: home, GIT_CONFIG_NOSYSTEM: '1' } }).trim();
}

/** What `git merge origin/<base>` would do, as app/tails-environment.ts observes it. */
function relation(t: TailsCheckout): BaseRelation {
  const head = git(t.root, 'rev-parse', 'HEAD');
  const base = git(t.root, 'merge-base', head, t.baseCommit);
  return head === t.baseCommit || base === t.baseCommit ? 'up-to-date' : base === head ? 'fast-forward' : 'diverged';
}

/** The checkout's git state as core/tails-git-state.ts decides it. */
function stateOf(t: TailsCheckout): TailsGitState {
  return planTailsGitState({
    root: t.root,
    head: { commit: git(t.root, 'rev-parse', 'HEAD'), branch: git(t.root, 'branch', '--show-current'), tagsAtHead: [] },
    baseBranchText: readFileSync(join(t.root, 'config/base_branch'), 'utf8'),
    baseBranchCommit: t.baseCommit,
    relation: relation(t),
    changelogText: readFileSync(join(t.root, 'debian/changelog'), 'utf8'),
    ci: { jenkinsUrl: undefined, gitBranch: undefined },
    noMergeBaseBranch: false,
  });
}

async function merge(t: TailsCheckout, extra: { bundleFile?: string } = {}): Promise<{ made: TailsMergeCommit | undefined; scratch: string; state: TailsGitState }> {
  const scratch = tempDir('tb-scratch-');
  const state = stateOf(t);
  const made = await createTailsMerge(deps, { root: t.root, git: state, scratchParent: scratch, ...extra });
  return { made, scratch, state };
}

function refusal(code: string): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof UserError, String(e));
    assert.equal(e.code, code, e.message);
    assert.equal(exitCodeFor(e), 3);
    return true;
  };
}

const WHEN = `${String(Date.parse(TAILS_CHANGELOG_DATE_UTC) / 1000)} +0000`;

describe('createTailsMerge', () => {
  it('makes the merge commit Tails\' faketime git merge makes, the same id at every run, and removes its throwaway repository', async () => {
    const t = checkout();
    const first = await merge(t);
    const second = await merge(t);
    assert.ok(first.made !== undefined && second.made !== undefined);
    assert.match(first.made.mergeCommit, /^[0-9a-f]{40}$/);
    assert.equal(second.made.mergeCommit, first.made.mergeCommit);
    assert.equal(second.made.tree, first.made.tree);
    // A real `git merge --no-edit origin/stable` in a clone, at the changelog's date with the checkout's identity: the same commit.
    assert.equal(first.made.mergeCommit, mergeLikeTails(t));
    assert.deepEqual(
      { featureCommit: first.made.featureCommit, baseCommit: first.made.baseCommit, date: first.made.date, message: first.made.message, identities: first.made.identities, bundle: first.made.bundle },
      {
        featureCommit: t.featureCommit,
        baseCommit: t.baseCommit,
        date: TAILS_CHANGELOG_DATE_UTC,
        message: "Merge remote-tracking branch 'origin/stable' into feature/x",
        identities: { author: { name: 'Test Author', email: 'author@example.org' }, committer: { name: 'Test Author', email: 'author@example.org' } },
        bundle: undefined,
      },
    );
    assert.deepEqual(readdirSync(first.scratch), []);
    assert.deepEqual(readdirSync(second.scratch), []);
    // GIT_COMMIT is the merge commit, FEATURE_BRANCH_GIT_COMMIT the branch's.
    const vars = computeTailsGitVariables(first.state, first.made.mergeCommit);
    assert.equal(vars.GIT_COMMIT, first.made.mergeCommit);
    assert.equal(vars.FEATURE_BRANCH_GIT_COMMIT, t.featureCommit);
  });

  it("leaves the user's repository as it was: refs, status, object count, every file under .git/objects", async () => {
    const t = checkout();
    const before = readRepoState(t.root);
    const bundleDir = tempDir('tb-bundle-');
    const { made } = await merge(t, { bundleFile: join(bundleDir, 'merge.bundle') });
    assert.ok(made !== undefined);
    assert.deepEqual(readRepoState(t.root), before);
    assert.throws(() => git(t.root, 'cat-file', '-e', made.mergeCommit), 'the merge commit is not in the checkout');
  });

  it('writes a bundle of the merge commit alone that a clone of the checkout verifies and fetches: parents, dates, identity, message', async () => {
    const t = checkout();
    const bundleDir = tempDir('tb-bundle-');
    const bundleFile = join(bundleDir, 'merge.bundle');
    const { made } = await merge(t, { bundleFile });
    assert.ok(made !== undefined);
    assert.equal(made.bundle, bundleFile);
    assert.equal(made.bundleRef, 'refs/heads/feature/x');
    assert.equal(git(bundleDir, 'bundle', 'list-heads', bundleFile), `${made.mergeCommit} refs/heads/feature/x`);

    const clone = createTempRepo({ init: false });
    cleanups.push(() => {
      clone.remove();
    });
    git(clone.root, 'clone', '-q', '--no-local', t.root, '.');
    git(clone.root, 'bundle', 'verify', '-q', bundleFile);
    git(clone.root, 'fetch', '-q', bundleFile, 'refs/heads/feature/x:refs/merged');
    assert.equal(git(clone.root, 'rev-parse', 'refs/merged'), made.mergeCommit);
    git(clone.root, 'fsck', '--connectivity-only', '--no-dangling');
    assert.equal(
      git(clone.root, 'cat-file', 'commit', made.mergeCommit),
      [
        `tree ${made.tree}`,
        `parent ${t.featureCommit}`,
        `parent ${t.baseCommit}`,
        `author Test Author <author@example.org> ${WHEN}`,
        `committer Test Author <author@example.org> ${WHEN}`,
        '',
        "Merge remote-tracking branch 'origin/stable' into feature/x",
      ].join('\n'),
    );
    // The bundle holds the new objects only (the commit and the root tree): both parents are its prerequisites.
    assert.match(git(clone.root, 'bundle', 'verify', bundleFile), new RegExp(`requires these 2 refs:\\n(${t.featureCommit}|${t.baseCommit}) \\n(${t.featureCommit}|${t.baseCommit}) `));
  });

  it('the base already in the branch: no merge, GIT_COMMIT stays HEAD, no FEATURE_BRANCH_GIT_COMMIT', async () => {
    const t = checkout();
    t.repo.git('checkout', '-q', '-b', 'ahead', t.baseCommit);
    t.repo.write({ 'features/ahead.feature': 'Feature: ahead\n' });
    const head = t.repo.commit('ahead of stable', '2026-12-02T11:00:00Z');
    const { made, scratch, state } = await merge(t);
    assert.equal(state.merge.planned && state.merge.outcome, 'up-to-date');
    assert.equal(made, undefined);
    assert.deepEqual(readdirSync(scratch), [], 'no throwaway repository was made');
    const vars = computeTailsGitVariables(state, made);
    assert.equal(vars.GIT_COMMIT, head);
    assert.equal(vars.FEATURE_BRANCH_GIT_COMMIT, undefined);
  });

  it('a branch behind its base: git merge fast-forwards, so no merge commit; GIT_COMMIT is the base commit', async () => {
    const t = checkout();
    t.repo.git('checkout', '-q', '-b', 'behind', t.forkCommit);
    const { made, scratch, state } = await merge(t);
    assert.equal(state.merge.planned && state.merge.outcome, 'fast-forward');
    assert.equal(made, undefined);
    assert.deepEqual(readdirSync(scratch), []);
    const vars = computeTailsGitVariables(state, made);
    assert.equal(vars.GIT_COMMIT, t.baseCommit);
    assert.equal(vars.FEATURE_BRANCH_GIT_COMMIT, t.forkCommit);
  });

  it('a conflict is refused (exit 3), naming the path, the commits and the next command; nothing is left behind', async () => {
    const t = checkout();
    checkOutConflictingBranch(t);
    const before = readRepoState(t.root);
    const scratch = tempDir('tb-scratch-');
    await assert.rejects(
      createTailsMerge(deps, { root: t.root, git: stateOf(t), scratchParent: scratch }),
      (e: unknown) => {
        refusal('tails-merge-conflict')(e);
        const u = e as UserError;
        assert.match(u.message, new RegExp(`^Merging origin/stable \\(${t.baseCommit.slice(0, 12)}\\) into clash \\([0-9a-f]{12}\\) conflicts in wiki/src/news\\.mdwn: `));
        assert.match(u.message, /CONFLICT \(add\/add\): Merge conflict in wiki\/src\/news\.mdwn/);
        assert.match(u.hint ?? '', /git fetch origin && git merge origin\/stable/);
        assert.match(u.hint ?? '', /TAILS_BUILD_OPTIONS=nomergebasebranch tails-build iso/);
        return true;
      },
    );
    assert.deepEqual(readdirSync(scratch), [], 'the throwaway repository is removed after the refusal too');
    assert.deepEqual(readRepoState(t.root), before);
  });

  it('no identity git would record: refused (exit 3) with the fix, before anything is made', async () => {
    const t = checkout();
    t.repo.git('config', '--unset', 'user.name');
    t.repo.git('config', '--unset', 'user.email');
    // No guessing from the host name (whether it guesses depends on the host's domain).
    t.repo.git('config', 'user.useConfigOnly', 'true');
    const scratch = tempDir('tb-scratch-');
    await assert.rejects(createTailsMerge(deps, { root: t.root, git: stateOf(t), scratchParent: scratch }), (e: unknown) => {
      refusal('tails-merge-no-identity')(e);
      const u = e as UserError;
      assert.match(u.message, new RegExp(`git -C ${t.root} var GIT_AUTHOR_IDENT: no email was given and auto-detection is disabled`));
      assert.match(u.hint ?? '', /git config --global user\.name "Your Name" && git config --global user\.email you@example\.org/);
      assert.match(u.hint ?? '', /nomergebasebranch/);
      return true;
    });
    assert.deepEqual(readdirSync(scratch), []);
  });
});
