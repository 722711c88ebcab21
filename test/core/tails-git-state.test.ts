import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UserError } from '../../src/core/errors.js';
import {
  computeTailsGitVariables,
  parseBaseBranch,
  parseChangelogDate,
  planTailsGitState,
  withMergeCommit,
  type TailsGitFacts,
  type TailsGitVariables,
} from '../../src/core/tails-git-state.js';

const HEAD = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const BASE = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const MERGE = 'cccccccccccccccccccccccccccccccccccccccc';
const CHANGELOG = [
  'tails (6.10) UNRELEASED; urgency=medium',
  '',
  '  * Dummy entry for next release.',
  '',
  ' -- Tails developers <tails@boum.org>  Thu, 03 Dec 2026 10:00:00 +0000',
  '',
  'tails (6.9) unstable; urgency=medium',
  '',
  ' -- Tails developers <tails@boum.org>  Tue, 29 Oct 2024 12:00:00 +0000',
  '',
].join('\n');

const feature: TailsGitFacts = {
  root: '/src/tails',
  head: { commit: HEAD, branch: 'feature/x', tagsAtHead: [] },
  baseBranchText: 'stable\n',
  baseBranchCommit: BASE,
  relation: 'diverged',
  changelogText: CHANGELOG,
  ci: { jenkinsUrl: undefined, gitBranch: undefined },
  noMergeBaseBranch: false,
};

describe('parseChangelogDate: the top entry\'s trailer, as UTC', () => {
  const table: [string, string | undefined][] = [
    [CHANGELOG, '2026-12-03T10:00:00Z'],
    [' -- A <a@b>  Thu, 3 Dec 2026 10:00:00 +0100\n', '2026-12-03T09:00:00Z'],
    [' -- A <a@b>  Thu, 03 Dec 2026 23:30:00 -0130\n', '2026-12-04T01:00:00Z'],
    [' -- A <a@b>  03 Dec 2026 10:00:00 +0000\n', '2026-12-03T10:00:00Z'],
    [' -- A <a@b>  Thu, 03 Dec 2026 10:00:00 +0000   \n', '2026-12-03T10:00:00Z'],
    [' -- A <a@b> Thu, 03 Dec 2026 10:00:00 +0000\n', undefined],
    [' -- A <a@b>  Thu, 31 Feb 2026 10:00:00 +0000\n', undefined],
    [' -- A <a@b>  Thu, 03 Dek 2026 10:00:00 +0000\n', undefined],
    [' -- A <a@b>  Thu, 03 Dec 2026 24:00:00 +0000\n', undefined],
    [' -- A <a@b>  2026-12-03 10:00:00\n', undefined],
    ['tails (6.10) UNRELEASED; urgency=medium\n', undefined],
    ['', undefined],
  ];
  for (const [text, expected] of table) {
    it(`${JSON.stringify(text.split('\n').find((l) => l.startsWith(' --')) ?? text.slice(0, 30))} → ${String(expected)}`, () => {
      assert.equal(parseChangelogDate(text), expected);
    });
  }
});

describe('parseBaseBranch', () => {
  const table: [string | undefined, string | undefined][] = [
    ['stable\n', 'stable'],
    ['  devel  \nignored\n', 'devel'],
    ['\n', undefined],
    ['', undefined],
    [undefined, undefined],
  ];
  for (const [text, expected] of table) {
    it(`${JSON.stringify(text)} → ${String(expected)}`, () => { assert.equal(parseBaseBranch(text), expected); });
  }
});

describe('planTailsGitState: the merge and the git variables', () => {
  const table: [string, Partial<TailsGitFacts>, string, TailsGitVariables][] = [
    ['a feature branch diverged from its base: a merge commit, made at run time', {}, 'merge:diverged', { GIT_COMMIT: undefined, GIT_REF: 'feature/x', BASE_BRANCH_GIT_COMMIT: BASE, FEATURE_BRANCH_GIT_COMMIT: HEAD }],
    ['a feature branch behind its base: a fast-forward to the base', { relation: 'fast-forward' }, 'merge:fast-forward', { GIT_COMMIT: BASE, GIT_REF: 'feature/x', BASE_BRANCH_GIT_COMMIT: BASE, FEATURE_BRANCH_GIT_COMMIT: HEAD }],
    ['a feature branch with its base merged already: nothing moves', { relation: 'up-to-date' }, 'merge:up-to-date', { GIT_COMMIT: HEAD, GIT_REF: 'feature/x', BASE_BRANCH_GIT_COMMIT: BASE, FEATURE_BRANCH_GIT_COMMIT: undefined }],
    ['nomergebasebranch', { noMergeBaseBranch: true }, 'skip:nomergebasebranch', { GIT_COMMIT: HEAD, GIT_REF: 'feature/x', BASE_BRANCH_GIT_COMMIT: BASE, FEATURE_BRANCH_GIT_COMMIT: undefined }],
    ['the base branch itself', { head: { commit: HEAD, branch: 'stable', tagsAtHead: [] } }, 'skip:on-base-branch', { GIT_COMMIT: HEAD, GIT_REF: 'stable', BASE_BRANCH_GIT_COMMIT: BASE, FEATURE_BRANCH_GIT_COMMIT: undefined }],
    ['a tag on a branch (releasing)', { head: { commit: HEAD, branch: 'feature/x', tagsAtHead: ['6.9'] } }, 'skip:releasing', { GIT_COMMIT: HEAD, GIT_REF: '6.9', BASE_BRANCH_GIT_COMMIT: BASE, FEATURE_BRANCH_GIT_COMMIT: undefined }],
    ['a detached tag (releasing)', { head: { commit: HEAD, branch: undefined, tagsAtHead: ['6.10'] } }, 'skip:releasing', { GIT_COMMIT: HEAD, GIT_REF: '6.10', BASE_BRANCH_GIT_COMMIT: BASE, FEATURE_BRANCH_GIT_COMMIT: undefined }],
    ['a tag needs no changelog date', { head: { commit: HEAD, branch: undefined, tagsAtHead: ['6.10'] }, changelogText: undefined }, 'skip:releasing', { GIT_COMMIT: HEAD, GIT_REF: '6.10', BASE_BRANCH_GIT_COMMIT: BASE, FEATURE_BRANCH_GIT_COMMIT: undefined }],
    ['Jenkins on the branch it asked for', { ci: { jenkinsUrl: 'https://jenkins/', gitBranch: 'origin/feature/x' } }, 'merge:diverged', { GIT_COMMIT: undefined, GIT_REF: 'feature/x', BASE_BRANCH_GIT_COMMIT: BASE, FEATURE_BRANCH_GIT_COMMIT: HEAD }],
    ['CI without GIT_BRANCH: nothing to check (Tails on Jenkins would refuse)', { ci: { jenkinsUrl: 'CI', gitBranch: undefined } }, 'merge:diverged', { GIT_COMMIT: undefined, GIT_REF: 'feature/x', BASE_BRANCH_GIT_COMMIT: BASE, FEATURE_BRANCH_GIT_COMMIT: HEAD }],
    ['Jenkins GIT_BRANCH as refs/remotes/origin/…', { ci: { jenkinsUrl: 'https://jenkins/', gitBranch: 'refs/remotes/origin/feature/x' } }, 'merge:diverged', { GIT_COMMIT: undefined, GIT_REF: 'feature/x', BASE_BRANCH_GIT_COMMIT: BASE, FEATURE_BRANCH_GIT_COMMIT: HEAD }],
    ['Jenkins on a tag: GIT_BRANCH not checked (as Tails)', { head: { commit: HEAD, branch: undefined, tagsAtHead: ['6.10'] }, ci: { jenkinsUrl: 'https://jenkins/', gitBranch: 'origin/stable' } }, 'skip:releasing', { GIT_COMMIT: HEAD, GIT_REF: '6.10', BASE_BRANCH_GIT_COMMIT: BASE, FEATURE_BRANCH_GIT_COMMIT: undefined }],
  ];
  for (const [name, facts, merge, variables] of table) {
    it(name, () => {
      const state = planTailsGitState({ ...feature, ...facts });
      const m = state.merge;
      assert.equal(m.planned ? `merge:${m.outcome}` : `skip:${m.why}`, merge);
      if (m.planned) assert.deepEqual(m, { planned: true, baseBranch: 'stable', baseCommit: BASE, date: '2026-12-03T10:00:00Z', outcome: m.outcome });
      assert.deepEqual(computeTailsGitVariables(state), variables);
    });
  }
  it('the merge commit, once made, is GIT_COMMIT', () => {
    assert.equal(computeTailsGitVariables(planTailsGitState(feature), MERGE).GIT_COMMIT, MERGE);
  });
  it('withMergeCommit records the merge commit of a merge of diverged branches only', () => {
    const diverged = planTailsGitState(feature);
    assert.deepEqual(withMergeCommit(diverged, MERGE).merge, { planned: true, baseBranch: 'stable', baseCommit: BASE, date: '2026-12-03T10:00:00Z', outcome: 'diverged', commit: MERGE });
    assert.equal(withMergeCommit(diverged, undefined), diverged);
    const fastForward = planTailsGitState({ ...feature, relation: 'fast-forward' });
    assert.equal(withMergeCommit(fastForward, MERGE), fastForward);
    const skipped = planTailsGitState({ ...feature, noMergeBaseBranch: true });
    assert.equal(withMergeCommit(skipped, MERGE), skipped);
  });
});

describe('planTailsGitState refusals: the problem, the fact and the next command', () => {
  const table: [string, Partial<TailsGitFacts>, string, RegExp, RegExp][] = [
    ['a detached HEAD without a tag', { head: { commit: HEAD, branch: undefined, tagsAtHead: [] } }, 'tails-detached-head', /detached at aaaaaaaaaaaa and no tag points at it/, /git switch BRANCH/],
    ['an empty commit', { head: { commit: '', branch: 'feature/x', tagsAtHead: [] } }, 'tails-git-variable-empty', /GIT_COMMIT would be empty/, /git -C \/src\/tails status/],
    ['an empty branch name', { head: { commit: HEAD, branch: '', tagsAtHead: [] } }, 'tails-git-variable-empty', /GIT_REF would be empty/, /git -C/],
    ['no config/base_branch', { baseBranchText: undefined }, 'tails-no-base-branch', /config\/base_branch is missing/, /echo stable > config\/base_branch/],
    ['an empty config/base_branch', { baseBranchText: '\n' }, 'tails-no-base-branch', /config\/base_branch is empty/, /git commit/],
    ['no origin/<base>', { baseBranchCommit: undefined, relation: undefined }, 'tails-no-base-branch-commit', /origin\/stable does not exist in \/src\/tails, so BASE_BRANCH_GIT_COMMIT would be empty/, /git -C \/src\/tails fetch origin stable/],
    ['an empty origin/<base> commit', { baseBranchCommit: '' }, 'tails-no-base-branch-commit', /BASE_BRANCH_GIT_COMMIT would be empty/, /fetch origin stable/],
    ['Jenkins on another branch', { ci: { jenkinsUrl: 'https://jenkins/', gitBranch: 'origin/feature/y' } }, 'jenkins-ref-mismatch', /GIT_BRANCH="origin\/feature\/y" but the checkout is at "feature\/x"/, /git switch feature\/y/],
    ['a merge without debian/changelog', { changelogText: undefined }, 'tails-no-changelog', /debian\/changelog is missing/, /nomergebasebranch/],
    ['a merge with a malformed changelog date', { changelogText: ' -- A <a@b>  someday\n' }, 'tails-changelog-date', /no valid trailer line/, /nomergebasebranch/],
  ];
  for (const [name, facts, code, message, hint] of table) {
    it(name, () => {
      assert.throws(
        () => planTailsGitState({ ...feature, ...facts }),
        (error: unknown) => error instanceof UserError && error.code === code && message.test(error.message) && hint.test(error.hint ?? '') && error.kind === 'precondition',
      );
    });
  }
  it('nomergebasebranch needs no changelog', () => {
    assert.equal(planTailsGitState({ ...feature, changelogText: undefined, noMergeBaseBranch: true }).merge.planned, false);
  });
});
