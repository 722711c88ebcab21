/**
 * Observes what a Tails build's git state and environment are computed from
 * (config/base_branch, origin/<base>, the merge base, debian/changelog) and
 * computes them (core/tails-git-state.ts, core/tails-environment.ts). A merge
 * of diverged branches is made (app/tails-merge.ts: in a throwaway repository
 * under scratchDir, never in the checkout), so GIT_COMMIT is exact. Writes
 * nothing that outlives the call.
 */
import { join } from 'node:path';
import type { BuildOptions } from '../core/build-options.js';
import type { CiFacts } from '../core/git-ref.js';
import type { GitHead } from '../core/ports.js';
import type { ProjectConfig } from '../core/project.js';
import { LATEST, planPrepareBuild, type SerialSet } from '../core/serials.js';
import { computeTailsEnvironment, type TailsEnvEntry } from '../core/tails-environment.js';
import {
  BASE_BRANCH_FILE,
  CHANGELOG_FILE,
  computeTailsGitVariables,
  parseBaseBranch,
  planTailsGitState,
  withMergeCommit,
  type BaseRelation,
  type TailsGitState,
} from '../core/tails-git-state.js';
import type { Deps } from './deps.js';
import { createTailsMerge } from './tails-merge.js';

export interface TailsBuildInputs {
  readonly head: GitHead;
  readonly ci: CiFacts;
  readonly options: BuildOptions;
  readonly httpProxy: string | undefined;
  /** The ISO set as the project declares it (numeric or "latest"). */
  readonly isoSerials: SerialSet;
  /** APT_SNAPSHOTS_SERIALS, parsed. */
  readonly pinnedSerials: Readonly<Record<string, string>> | undefined;
  /** Where the base-branch merge's throwaway repository is made (a new directory under it, removed after). */
  readonly scratchDir: string;
}

export interface TailsBuild {
  /** The git state; a merge of diverged branches carries its merge commit. */
  readonly git: TailsGitState;
  /** What rake build would export into the VM, in its order. */
  readonly environment: readonly TailsEnvEntry[];
}

export async function computeTailsBuild(deps: Pick<Deps, 'git' | 'files' | 'runner' | 'disk'>, project: ProjectConfig, inputs: TailsBuildInputs): Promise<TailsBuild> {
  const baseBranchText = await deps.files.readText(join(project.root, BASE_BRANCH_FILE));
  const baseBranch = parseBaseBranch(baseBranchText);
  const baseBranchCommit = baseBranch === undefined ? undefined : await deps.git.readCommit(project.root, `refs/remotes/origin/${baseBranch}`);
  const relation = baseBranchCommit === undefined ? undefined : await readRelation(deps, project.root, inputs.head.commit, baseBranchCommit);
  const planned = planTailsGitState({
    root: project.root,
    head: inputs.head,
    baseBranchText,
    baseBranchCommit,
    relation,
    changelogText: await deps.files.readText(join(project.root, CHANGELOG_FILE)),
    ci: inputs.ci,
    noMergeBaseBranch: inputs.options.noMergeBaseBranch,
  });
  const merge = await createTailsMerge(deps, { root: project.root, git: planned, scratchParent: inputs.scratchDir });
  const git = withMergeCommit(planned, merge?.mergeCommit);
  const environment = computeTailsEnvironment({
    options: inputs.options,
    httpProxy: inputs.httpProxy,
    git: computeTailsGitVariables(git, merge?.mergeCommit),
    isoSerials: knownIsoSerials(inputs.isoSerials, inputs.pinnedSerials),
  });
  return { git, environment };
}

/** What `git merge origin/<base>` would do to HEAD. */
async function readRelation(deps: Pick<Deps, 'git'>, root: string, head: string, base: string): Promise<BaseRelation> {
  if (head === base) return 'up-to-date';
  const mergeBase = await deps.git.findMergeBase(root, head, base);
  if (mergeBase === base) return 'up-to-date';
  if (mergeBase === head) return 'fast-forward';
  return 'diverged';
}

/**
 * The ISO serials the VM gets, when they are known before the run: every one
 * frozen, or pinned by APT_SNAPSHOTS_SERIALS (which must then name every
 * "latest", as at run time); undefined when a "latest" is looked up at run time.
 */
export function knownIsoSerials(declared: SerialSet, pinned: Readonly<Record<string, string>> | undefined): Readonly<Record<string, string>> | undefined {
  if (pinned === undefined && Object.values(declared).includes(LATEST)) return undefined;
  return planPrepareBuild({ set: 'iso', current: declared, provided: pinned, providedSource: 'APT_SNAPSHOTS_SERIALS', latest: {} }).serials;
}
