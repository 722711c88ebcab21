/**
 * The git state of a Tails build (Rakefile validate_git_state,
 * setup_environment, merge_base_branch), decided from observed facts: what
 * GIT_COMMIT, GIT_REF and BASE_BRANCH_GIT_COMMIT are, what refuses the build,
 * and whether the base branch is merged first (with the changelog's date, so
 * that the merge commit is reproducible). Pure: app/ observes, this decides.
 */
import type { CiFacts } from './git-ref.js';
import type { GitHead } from './ports.js';
import { tailsGitMessages as msg } from './messages/index.js';

/** The file naming the branch a Tails branch is based on (e.g. "stable"). */
export const BASE_BRANCH_FILE = 'config/base_branch';
export const CHANGELOG_FILE = 'debian/changelog';

/** Where the base branch's commit stands against HEAD: what `git merge` would do. */
export type BaseRelation = 'up-to-date' | 'fast-forward' | 'diverged';

export interface TailsGitFacts {
  readonly root: string;
  readonly head: GitHead;
  /** Text of config/base_branch, undefined when the file is missing. */
  readonly baseBranchText: string | undefined;
  /** The commit of origin/<base branch>, undefined when that ref does not exist. */
  readonly baseBranchCommit: string | undefined;
  /** What merging origin/<base> into HEAD would do; undefined when the base commit is unknown. */
  readonly relation: BaseRelation | undefined;
  /** Text of debian/changelog, undefined when missing. */
  readonly changelogText: string | undefined;
  readonly ci: CiFacts;
  /** nomergebasebranch was given. */
  readonly noMergeBaseBranch: boolean;
}

export type MergeSkip = 'releasing' | 'on-base-branch' | 'nomergebasebranch';

/** What happens to the base branch before the build. */
export type BaseBranchMerge =
  | { readonly planned: false; readonly why: MergeSkip }
  | {
      readonly planned: true;
      readonly baseBranch: string;
      readonly baseCommit: string;
      /** The top changelog entry's date, UTC, ISO 8601: the merge commit's author and committer date. */
      readonly date: string;
      /** Nothing to merge (the base is in HEAD already), a fast-forward to the base, or a merge commit. */
      readonly outcome: BaseRelation;
      /** The merge commit (outcome "diverged"), once made (app/tails-merge.ts): GIT_COMMIT. */
      readonly commit?: string;
    };

export interface TailsGitState {
  /** HEAD's commit: the feature branch's commit when a merge moves HEAD. */
  readonly headCommit: string;
  /** GIT_REF: the tag at HEAD, else the branch. */
  readonly ref: string;
  readonly branch: string | undefined;
  readonly tag: string | undefined;
  readonly releasing: boolean;
  readonly baseBranch: string;
  /** BASE_BRANCH_GIT_COMMIT: origin/<base branch>. */
  readonly baseBranchCommit: string;
  readonly merge: BaseBranchMerge;
}

/** The git variables of the build (undefined GIT_COMMIT: the merge commit, known once the merge is made). */
export interface TailsGitVariables {
  readonly GIT_COMMIT: string | undefined;
  readonly GIT_REF: string;
  readonly BASE_BRANCH_GIT_COMMIT: string;
  readonly FEATURE_BRANCH_GIT_COMMIT: string | undefined;
}

/** The base branch named by config/base_branch: its first line, trimmed; undefined when empty. */
export function parseBaseBranch(text: string | undefined): string | undefined {
  const first = text?.split('\n')[0]?.trim();
  return first === undefined || first === '' ? undefined : first;
}

/** Decides the git state of a Tails build; throws the refusal Tails' Rakefile would make, explained. */
export function planTailsGitState(facts: TailsGitFacts): TailsGitState {
  const { head } = facts;
  const tag = head.tagsAtHead[head.tagsAtHead.length - 1];
  const releasing = tag !== undefined;
  if (head.commit === '') throw msg.emptyVariable('GIT_COMMIT', facts.root, 'HEAD names no commit');
  if (head.branch === undefined && !releasing) throw msg.detachedNotTag(facts.root, head.commit);
  const ref = tag ?? head.branch ?? '';
  if (ref === '') throw msg.emptyVariable('GIT_REF', facts.root, 'HEAD is on neither a branch nor a tag');

  // Under CI the branch the job asked for must be the one checked out (Tails: on Jenkins, unless releasing).
  // Unlike Tails, an unset GIT_BRANCH is not refused: these CI facts also cover CIs that never set it.
  const ci = facts.ci.jenkinsUrl !== undefined && facts.ci.jenkinsUrl !== '';
  const asked = facts.ci.gitBranch === undefined || facts.ci.gitBranch === '' ? undefined : facts.ci.gitBranch.replace(/^(refs\/remotes\/)?origin\//, '');
  if (ci && !releasing && asked !== undefined && asked !== ref) throw msg.jenkinsBranchMismatch(facts.ci.gitBranch ?? asked, ref, head.commit);

  const baseBranch = parseBaseBranch(facts.baseBranchText);
  if (baseBranch === undefined) throw msg.noBaseBranch(facts.root, facts.baseBranchText === undefined);
  if (facts.baseBranchCommit === undefined || facts.baseBranchCommit === '') throw msg.noBaseBranchCommit(facts.root, baseBranch);

  return {
    headCommit: head.commit,
    ref,
    branch: head.branch,
    tag,
    releasing,
    baseBranch,
    baseBranchCommit: facts.baseBranchCommit,
    merge: planMerge(facts, { releasing, baseBranch, baseCommit: facts.baseBranchCommit }),
  };
}

function planMerge(facts: TailsGitFacts, s: { releasing: boolean; baseBranch: string; baseCommit: string }): BaseBranchMerge {
  if (facts.noMergeBaseBranch) return { planned: false, why: 'nomergebasebranch' };
  if (s.releasing) return { planned: false, why: 'releasing' };
  if (facts.head.branch === s.baseBranch) return { planned: false, why: 'on-base-branch' };
  if (facts.relation === undefined) throw msg.noBaseBranchCommit(facts.root, s.baseBranch);
  if (facts.changelogText === undefined) throw msg.noChangelog(facts.root);
  const date = parseChangelogDate(facts.changelogText);
  if (date === undefined) throw msg.noChangelogDate(facts.root);
  return { planned: true, baseBranch: s.baseBranch, baseCommit: s.baseCommit, date, outcome: facts.relation };
}

/**
 * GIT_COMMIT and FEATURE_BRANCH_GIT_COMMIT as Tails sets them after the merge:
 * unchanged when the merge moves nothing; else GIT_COMMIT is the new HEAD (the
 * base's commit after a fast-forward, the merge commit otherwise) and
 * FEATURE_BRANCH_GIT_COMMIT the commit before.
 */
export function computeTailsGitVariables(state: TailsGitState, mergeCommit?: string): TailsGitVariables {
  const base = { GIT_REF: state.ref, BASE_BRANCH_GIT_COMMIT: state.baseBranchCommit };
  const m = state.merge;
  if (!m.planned || m.outcome === 'up-to-date') return { ...base, GIT_COMMIT: state.headCommit, FEATURE_BRANCH_GIT_COMMIT: undefined };
  return { ...base, GIT_COMMIT: m.outcome === 'fast-forward' ? m.baseCommit : mergeCommit, FEATURE_BRANCH_GIT_COMMIT: state.headCommit };
}

/** The state with its merge commit recorded (a planned merge of diverged branches only; anything else is returned as is). */
export function withMergeCommit(state: TailsGitState, commit: string | undefined): TailsGitState {
  const m = state.merge;
  if (commit === undefined || !m.planned || m.outcome !== 'diverged') return state;
  return { ...state, merge: { ...m, commit } };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const TRAILER = /^ -- .*<[^>]*> {2}(.+?)\s*$/;
const RFC2822 = /^(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?(\d{1,2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/;

/**
 * The date of the top entry of a Debian changelog (its first trailer line,
 * ` -- Name <mail>  Thu, 03 Dec 2026 10:00:00 +0000`), as UTC ISO 8601
 * (`2026-12-03T10:00:00Z`); undefined when there is none or it is malformed.
 */
export function parseChangelogDate(text: string): string | undefined {
  for (const line of text.split('\n')) {
    const trailer = TRAILER.exec(line);
    if (trailer === null) continue;
    return parseRfc2822(trailer[1] ?? '');
  }
  return undefined;
}

function parseRfc2822(text: string): string | undefined {
  const m = RFC2822.exec(text);
  if (m === null) return undefined;
  const [, day, mon, year, hh, mm, ss, sign, oh, om] = [...m];
  const month = MONTHS.indexOf(mon ?? '');
  const [d, h, mi, s, offH, offM] = [day, hh, mm, ss, oh, om].map(Number) as [number, number, number, number, number, number];
  if (month === -1 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59 || offM > 59) return undefined;
  const local = Date.UTC(Number(year), month, d, h, mi, s);
  if (new Date(local).getUTCDate() !== d) return undefined;
  const offset = (sign === '-' ? -1 : 1) * (offH * 60 + offM) * 60_000;
  return new Date(local - offset).toISOString().replace(/\.000Z$/, 'Z');
}
