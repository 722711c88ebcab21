/**
 * User-facing texts for the git state of a Tails build (what Tails' Rakefile
 * refuses before a build): each names the problem, the fact and the next command.
 */
import { UserError } from '../errors.js';

export const tailsGitMessages = {
  detachedNotTag: (root: string, commit: string) =>
    new UserError('tails-detached-head', `HEAD of ${root} is detached at ${commit.slice(0, 12)} and no tag points at it: a Tails build is of a branch (merged with its base branch) or of a release tag, so GIT_REF would name nothing.`, {
      hint: 'Check out a branch (git switch BRANCH) or a tag (git checkout TAG), then run tails-build iso again.',
    }),
  emptyVariable: (name: string, root: string, fact: string) =>
    new UserError('tails-git-variable-empty', `${name} would be empty in ${root}: ${fact}. The in-VM build checks out ${name}, so it cannot start.`, {
      hint: `Check the checkout (git -C ${root} status; git -C ${root} log -1), then run tails-build iso again.`,
    }),
  jenkinsBranchMismatch: (gitBranch: string, ref: string, commit: string) =>
    new UserError(
      'jenkins-ref-mismatch',
      `Jenkins asked to build GIT_BRANCH="${gitBranch}" but the checkout is at "${ref}" (${commit.slice(0, 12)}): the build would not be of the branch the job reports.`,
      { hint: `Check out the job's branch (git switch ${gitBranch.replace(/^(refs\/remotes\/)?origin\//, '')}) before running tails-build iso, or fix the job's GIT_BRANCH.` },
    ),
  noBaseBranch: (root: string, missing: boolean) =>
    new UserError('tails-no-base-branch', `${root}/config/base_branch is ${missing ? 'missing' : 'empty'}, so BASE_BRANCH_GIT_COMMIT has no branch to name: every Tails branch says which branch it is based on there.`, {
      hint: `Write the base branch into it and commit (echo stable > config/base_branch && git commit -m "Set base branch" config/base_branch).`,
    }),
  noBaseBranchCommit: (root: string, baseBranch: string) =>
    new UserError('tails-no-base-branch-commit', `origin/${baseBranch} does not exist in ${root}, so BASE_BRANCH_GIT_COMMIT would be empty: config/base_branch names "${baseBranch}", and the build merges and records origin's copy of it.`, {
      hint: `Fetch it (git -C ${root} fetch origin ${baseBranch}); if there is no origin remote, add Tails' (git remote add origin https://gitlab.tails.boum.org/tails/tails.git).`,
    }),
  noChangelog: (root: string) =>
    new UserError('tails-no-changelog', `${root}/debian/changelog is missing: the base-branch merge is dated with its top entry's date, so that the merge commit is reproducible.`, {
      hint: 'Restore it (git checkout -- debian/changelog), or build without the merge: TAILS_BUILD_OPTIONS=nomergebasebranch tails-build iso',
    }),
  noChangelogDate: (root: string) =>
    new UserError('tails-changelog-date', `The top entry of ${root}/debian/changelog has no valid trailer line (" -- Name <mail>  Thu, 03 Dec 2026 10:00:00 +0000"), so the base-branch merge has no date.`, {
      hint: 'Fix the entry (dch -r, or dpkg-parsechangelog --show-field=Date to see what Debian reads), or build without the merge: TAILS_BUILD_OPTIONS=nomergebasebranch tails-build iso',
    }),
  noIdentity: (root: string, variable: string, gitSays: string) =>
    new UserError(
      'tails-merge-no-identity',
      `git has no identity to record in the base-branch merge commit (git -C ${root} var ${variable}: ${gitSays}): the build merges the base branch first, as Tails' rake build does, and a commit needs an author and a committer.`,
      { hint: 'Tell git who you are (git config --global user.name "Your Name" && git config --global user.email you@example.org), or build the branch without the merge: TAILS_BUILD_OPTIONS=nomergebasebranch tails-build iso' },
    ),
  mergeConflict: (m: { baseBranch: string; baseCommit: string; branch: string; featureCommit: string; paths: readonly string[]; gitSays: readonly string[] }) =>
    new UserError(
      'tails-merge-conflict',
      `Merging origin/${m.baseBranch} (${m.baseCommit.slice(0, 12)}) into ${m.branch} (${m.featureCommit.slice(0, 12)}) conflicts in ${m.paths.join(', ')}: the build merges the base branch first, as Tails' rake build does, and cannot build a merge with conflicts.${m.gitSays.length === 0 ? '' : `\n${m.gitSays.map((l) => `  ${l}`).join('\n')}`}`,
      { hint: `Merge it yourself and resolve the conflicts (git fetch origin && git merge origin/${m.baseBranch}, then git commit), then run tails-build iso again; or build the branch as it is: TAILS_BUILD_OPTIONS=nomergebasebranch tails-build iso` },
    ),
};
