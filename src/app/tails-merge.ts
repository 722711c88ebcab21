/**
 * Makes the base-branch merge of a Tails build (Rakefile merge_base_branch:
 * `faketime <top changelog date> git merge --no-edit origin/<base>`) without
 * touching the checkout: no ref, no index or work-tree change, no object
 * written into its .git. The merge is made in a throwaway bare repository
 * whose objects/info/alternates borrows the checkout's object store (read
 * only), with the changelog's date and the identity git would use in the
 * checkout; so the same checkout gives the same merge commit at every run.
 * Its new objects can be written to a bundle, for the build VM's clone.
 */
import { join } from 'node:path';
import { ExternalCommandError } from '../core/errors.js';
import { formatCommand } from '../core/command.js';
import { tailsGitMessages as msg } from '../core/messages/index.js';
import {
  bundleCommand,
  commitTreeCommand,
  formatMergeMessage,
  identCommand,
  initScratchCommand,
  mergeBundleRef,
  mergeTreeCommand,
  objectFormatCommand,
  objectsDirCommand,
  parseIdent,
  parseMergeTree,
  updateRefCommand,
  type CommitIdentities,
  type GitIdentity,
  type IdentVariable,
} from '../core/tails-merge.js';
import { TIMED_OUT } from '../core/ports.js';
import type { TailsGitState } from '../core/tails-git-state.js';
import { withCleanup } from './cleanup.js';
import type { Deps } from './deps.js';

export interface TailsMergeRequest {
  /** The checkout (only read). */
  readonly root: string;
  /** What core/tails-git-state.ts decided: a merge commit is made only for a planned merge of diverged branches. */
  readonly git: TailsGitState;
  /** The throwaway repository is made in a new directory under it, and removed before this returns. */
  readonly scratchParent: string;
  /** Write the merge commit's new objects to this bundle (for the build VM). */
  readonly bundleFile?: string;
}

export interface TailsMergeCommit {
  /** GIT_COMMIT. */
  readonly mergeCommit: string;
  /** FEATURE_BRANCH_GIT_COMMIT: HEAD, the first parent. */
  readonly featureCommit: string;
  /** BASE_BRANCH_GIT_COMMIT: origin/<base>, the second parent. */
  readonly baseCommit: string;
  readonly tree: string;
  /** Author and committer date, UTC ISO 8601: the top debian/changelog entry's. */
  readonly date: string;
  readonly message: string;
  readonly identities: CommitIdentities;
  /** The bundle written (bundleFile), holding the merge commit under refs/heads/<branch>, both parents its prerequisites. */
  readonly bundle?: string;
  readonly bundleRef?: string;
}

/**
 * Makes the merge commit when the plan needs one; undefined when it does not:
 * no merge planned (a tag, the base branch itself, nomergebasebranch), the
 * base already in HEAD (GIT_COMMIT stays HEAD) or a fast-forward (GIT_COMMIT
 * is the base's commit), as core/tails-git-state.ts computes them. Refuses
 * (exit 3) when git has no identity to record, or when the merge conflicts.
 */
export async function createTailsMerge(deps: Pick<Deps, 'runner' | 'disk'>, request: TailsMergeRequest): Promise<TailsMergeCommit | undefined> {
  const { git, root } = request;
  const m = git.merge;
  if (!m.planned || m.outcome !== 'diverged') return undefined;
  const branch = git.branch;
  if (branch === undefined) throw new Error('createTailsMerge: a merge is planned only on a branch');
  const featureCommit = git.headCommit;
  const identities = await readCommitIdentities(deps, root);
  const objectsDir = (await deps.runner.run(objectsDirCommand(root))).stdout.trim();
  const objectFormat = (await deps.runner.run(objectFormatCommand(root))).stdout.trim();

  return withCleanup(async (cleanup) => {
    const gitDir = await deps.disk.makeTempDir(request.scratchParent, 'tails-merge-');
    cleanup.push('remove the throwaway merge repository', () => deps.disk.remove(gitDir));
    await deps.runner.run(initScratchCommand(gitDir, objectFormat));
    await deps.disk.writeText(join(gitDir, 'objects', 'info', 'alternates'), `${objectsDir}\n`);

    const mergeTree = mergeTreeCommand(gitDir, featureCommit, m.baseCommit);
    const merged = await deps.runner.tryRun(mergeTree);
    const outcome = parseMergeTree(merged.stdout);
    // 0: clean; 1: conflicts (the tree has them marked); anything else: git failed.
    if ((merged.exitCode !== 0 && merged.exitCode !== 1) || outcome === undefined) {
      throw new ExternalCommandError({ command: formatCommand(mergeTree), exitCode: merged.exitCode, stderrTail: merged.stderr === '' ? merged.stdout : merged.stderr });
    }
    if (merged.exitCode === 1) {
      throw msg.mergeConflict({ baseBranch: m.baseBranch, baseCommit: m.baseCommit, branch, featureCommit, paths: outcome.conflicts, gitSays: outcome.messages });
    }

    const message = formatMergeMessage(m.baseBranch, branch);
    const commit = await deps.runner.run(commitTreeCommand(gitDir, { tree: outcome.tree, parents: [featureCommit, m.baseCommit], message, identities, date: m.date }));
    const mergeCommit = commit.stdout.trim();
    const made = { mergeCommit, featureCommit, baseCommit: m.baseCommit, tree: outcome.tree, date: m.date, message, identities };
    if (request.bundleFile === undefined) return made;

    const bundleRef = mergeBundleRef(branch);
    await deps.runner.run(updateRefCommand(gitDir, bundleRef, mergeCommit));
    await deps.runner.run(bundleCommand(gitDir, request.bundleFile, bundleRef, [featureCommit, m.baseCommit]));
    return { ...made, bundle: request.bundleFile, bundleRef };
  });
}

/** Who `git merge` in the checkout would record as author and committer; refuses when git has no identity. */
export async function readCommitIdentities(deps: Pick<Deps, 'runner'>, root: string): Promise<CommitIdentities> {
  return { author: await readIdentity(deps, root, 'GIT_AUTHOR_IDENT'), committer: await readIdentity(deps, root, 'GIT_COMMITTER_IDENT') };
}

async function readIdentity(deps: Pick<Deps, 'runner'>, root: string, variable: IdentVariable): Promise<GitIdentity> {
  const cmd = identCommand(root, variable);
  const res = await deps.runner.tryRun(cmd);
  const identity = res.exitCode === 0 ? parseIdent(res.stdout) : undefined;
  if (identity !== undefined) return identity;
  if (res.exitCode === 0) throw new ExternalCommandError({ command: formatCommand(cmd), exitCode: 0, stderrTail: `unexpected output: ${res.stdout.trim()}` });
  if (res.exitCode === TIMED_OUT) throw new ExternalCommandError({ command: formatCommand(cmd), exitCode: TIMED_OUT, stderrTail: `no answer in ${String((cmd.timeoutMs ?? 0) / 1000)} s` });
  const said = res.stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  throw msg.noIdentity(root, variable, (said[said.length - 1] ?? `exit ${String(res.exitCode)}`).replace(/^fatal: /, ''));
}
