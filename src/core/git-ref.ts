/**
 * Which ref a build is for (Tails' GIT_REF): the tag at HEAD, else the branch.
 * It is what the builder VM's branch lock records.
 */
import type { GitHead } from './ports.js';
import { UserError } from './errors.js';

export interface BuildRef {
  readonly commit: string;
  /** The tag at HEAD, else the branch name. */
  readonly ref: string;
  readonly branch: string | undefined;
  readonly tag: string | undefined;
  /** HEAD is exactly a tag: a release build. */
  readonly releasing: boolean;
}

export interface CiFacts {
  /** Set when Jenkins runs us. */
  readonly jenkinsUrl: string | undefined;
  /** The branch Jenkins was asked to build, e.g. "origin/feature/x". */
  readonly gitBranch: string | undefined;
  /** The commit Jenkins checked out (GIT_COMMIT). */
  readonly gitCommit?: string | undefined;
}

export function computeBuildRef(head: GitHead, ci: CiFacts): BuildRef {
  const tag = head.tagsAtHead[head.tagsAtHead.length - 1];
  const jenkins = ci.jenkinsUrl !== undefined && ci.jenkinsUrl !== '';
  const asked = jenkins && ci.gitBranch !== undefined && ci.gitBranch !== '' ? ci.gitBranch.replace(/^(refs\/remotes\/)?origin\//, '').replace(/^refs\/(heads|tags)\//, '') : undefined;
  if (jenkins && ci.gitCommit !== undefined && ci.gitCommit !== '' && ci.gitCommit !== head.commit) {
    throw new UserError('jenkins-commit-mismatch', `Jenkins checked out GIT_COMMIT=${ci.gitCommit} but HEAD is ${head.commit}: the build would not be of the commit the job reports.`, {
      hint: `Check out ${ci.gitCommit} (git checkout --detach ${ci.gitCommit}) before running tails-build, or fix the job so that GIT_COMMIT is the commit it checked out.`,
    });
  }
  // Jenkins checks out a detached HEAD: the branch it was asked for is the ref (as in Tails' Rakefile).
  const ref = tag ?? head.branch ?? asked;
  if (ref === undefined) {
    throw new UserError('detached-head', `HEAD (${head.commit.slice(0, 12)}) is detached and no tag points at it, so the build has no ref to lock the builder VM to.`, {
      hint: 'Check out a branch (git switch BRANCH) or a tag (git checkout TAG); under Jenkins, GIT_BRANCH names it.',
    });
  }
  if (asked !== undefined) {
    if (asked !== ref) {
      throw new UserError('jenkins-ref-mismatch', `Jenkins asked to build "${ci.gitBranch}" but the checkout is at "${ref}" (${head.commit.slice(0, 12)}).`, {
        hint: `Check out ${asked} before running tails-build iso, or fix the job's GIT_BRANCH.`,
      });
    }
  }
  return { commit: head.commit, ref, branch: head.branch, tag, releasing: tag !== undefined };
}
