/**
 * Observes whether the build VM will find every submodule of a Tails
 * checkout where build-tails clones it from (<checkout>/.git/modules/<name>,
 * shared over 9p), and decides it with core/tails-submodules.ts: called
 * before any VM, so that a checkout cloned without its submodules is refused
 * with the git command that brings them, not an hour later in the VM. Reads
 * only: .gitmodules, what the build's commits record (git ls-tree), the module
 * repositories (HEAD, objects/, git cat-file -e).
 */
import { join } from 'node:path';
import { ExternalCommandError, type UserError } from '../core/errors.js';
import { formatCommand } from '../core/command.js';
import { TIMED_OUT } from '../core/ports.js';
import {
  GITMODULES_FILE,
  checkSubmoduleFacts,
  gitmodulesRefusal,
  hasCommitCommand,
  lsTreeCommand,
  moduleDirOf,
  parseGitmodules,
  parseGitlinks,
  type ModuleRepo,
  type RecordedCommit,
  type SubmoduleEntry,
  type SubmoduleObservation,
  type WorkTreeGit,
} from '../core/tails-submodules.js';
import type { Deps } from './deps.js';

export interface TailsSubmoduleCheckOptions {
  /**
   * The commits the build VM checks out, whose recorded submodule commits
   * must be in .git/modules (default ["HEAD"]). With a base-branch merge the
   * merge commit is not in the checkout: pass its parents (HEAD and
   * BASE_BRANCH_GIT_COMMIT), one of which records each submodule's commit.
   */
  readonly revs?: readonly string[];
}

/**
 * The refusal (a UserError to throw: code tails-submodule-missing, or
 * tails-gitmodules-invalid) when a submodule the build checks out is not in
 * <root>/.git/modules with its recorded commit; undefined when every one is,
 * or when the checkout has no .gitmodules. Throws only when git itself fails
 * (ExternalCommandError: a revision that names nothing, git not installed).
 */
export async function checkTailsSubmodules(deps: Pick<Deps, 'files' | 'disk' | 'runner'>, root: string, options: TailsSubmoduleCheckOptions = {}): Promise<UserError | undefined> {
  const text = await deps.files.readText(join(root, GITMODULES_FILE));
  if (text === undefined) return undefined;
  const parsed = parseGitmodules(text);
  if (!parsed.ok) return gitmodulesRefusal(root, parsed);
  if (parsed.entries.length === 0) return undefined;

  const recorded = await readRecorded(deps, root, options.revs ?? ['HEAD'], parsed.entries);
  const gitDirIsDirectory = (await deps.disk.stat(join(root, '.git')))?.kind === 'directory';
  const submodules: SubmoduleObservation[] = [];
  for (const entry of parsed.entries) {
    const commits = recorded.get(entry.path) ?? [];
    if (commits.length === 0 || !gitDirIsDirectory) {
      submodules.push({ entry, recorded: commits, repo: 'absent', workTreeGit: 'absent', present: [] });
      continue;
    }
    submodules.push(await observeModule(deps, root, entry, commits));
  }
  return checkSubmoduleFacts({ root, gitDirIsDirectory, submodules });
}

/** What each revision records at the entries' paths (gitlinks only), per path, one per distinct commit. */
async function readRecorded(deps: Pick<Deps, 'runner'>, root: string, revs: readonly string[], entries: readonly SubmoduleEntry[]): Promise<Map<string, RecordedCommit[]>> {
  const paths = [...new Set(entries.map((e) => e.path))];
  const recorded = new Map<string, RecordedCommit[]>();
  for (const rev of revs) {
    const links = parseGitlinks((await deps.runner.run(lsTreeCommand(root, rev, paths))).stdout);
    for (const [path, commit] of links) {
      const seen = recorded.get(path) ?? [];
      if (!seen.some((r) => r.commit === commit)) seen.push({ rev, commit });
      recorded.set(path, seen);
    }
  }
  return recorded;
}

async function observeModule(deps: Pick<Deps, 'disk' | 'runner'>, root: string, entry: SubmoduleEntry, recorded: readonly RecordedCommit[]): Promise<SubmoduleObservation> {
  const moduleDir = join(root, moduleDirOf(entry.name));
  const repo = await observeRepo(deps, moduleDir);
  const workTreeGit = repo === 'absent' ? await observeWorkTreeGit(deps, join(root, entry.path, '.git')) : 'absent';
  const present: string[] = [];
  if (repo === 'present') {
    for (const { commit } of recorded) if (await hasCommit(deps, moduleDir, commit)) present.push(commit);
  }
  return { entry, recorded, repo, workTreeGit, present };
}

async function observeWorkTreeGit(deps: Pick<Deps, 'disk'>, path: string): Promise<WorkTreeGit> {
  const kind = (await deps.disk.stat(path))?.kind;
  return kind === 'directory' ? 'directory' : kind === 'file' ? 'file' : 'absent';
}

/** A git directory has a HEAD file and an objects/ directory (what git's is_git_directory looks at first). */
async function observeRepo(deps: Pick<Deps, 'disk'>, dir: string): Promise<ModuleRepo> {
  const info = await deps.disk.stat(dir);
  if (info === undefined) return 'absent';
  if (info.kind !== 'directory') return 'not-a-git-dir';
  const head = await deps.disk.stat(join(dir, 'HEAD'));
  const objects = await deps.disk.stat(join(dir, 'objects'));
  return head?.kind === 'file' && objects?.kind === 'directory' ? 'present' : 'not-a-git-dir';
}

/** `cat-file -e` exits 0 when the object is there; any other answer of a repository's is "not there" (a stuck git is an error). */
async function hasCommit(deps: Pick<Deps, 'runner'>, moduleDir: string, commit: string): Promise<boolean> {
  const cmd = hasCommitCommand(moduleDir, commit);
  const res = await deps.runner.tryRun(cmd);
  if (res.exitCode === TIMED_OUT) throw new ExternalCommandError({ command: formatCommand(cmd), exitCode: res.exitCode, stderrTail: res.stderr });
  return res.exitCode === 0;
}
