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
}

export function computeBuildRef(head: GitHead, ci: CiFacts): BuildRef {
  const tag = head.tagsAtHead[head.tagsAtHead.length - 1];
  const ref = tag ?? head.branch;
  if (ref === undefined) {
    throw new UserError('detached-head', `HEAD (${head.commit.slice(0, 12)}) is detached and no tag points at it, so the build has no ref to lock the builder VM to.`, {
      hint: 'Check out a branch (git switch BRANCH) or a tag (git checkout TAG).',
    });
  }
  if (ci.jenkinsUrl !== undefined && ci.gitBranch !== undefined && ci.gitBranch !== '') {
    const asked = ci.gitBranch.replace(/^(refs\/remotes\/)?origin\//, '').replace(/^refs\/(heads|tags)\//, '');
    if (asked !== ref) {
      throw new UserError('jenkins-ref-mismatch', `Jenkins asked to build "${ci.gitBranch}" but the checkout is at "${ref}" (${head.commit.slice(0, 12)}).`, {
        hint: `Check out ${asked} before running tails-build iso, or fix the job's GIT_BRANCH.`,
      });
    }
  }
  return { commit: head.commit, ref, branch: head.branch, tag, releasing: tag !== undefined };
}
