/**
 * The base-branch merge of a Tails build, made as Tails' `faketime <changelog
 * date> git merge --no-edit origin/<base>` makes it, but in a throwaway bare
 * repository that borrows the checkout's objects (objects/info/alternates)
 * instead of in the checkout: `git merge-tree --write-tree` for the tree,
 * `git commit-tree` for the commit, `git bundle create` for its new objects.
 * Pure: the commands as values, the message, and the parsing of git's output.
 */
import { command, type Command } from './command.js';

/** A name and an email, as git puts them in a commit's author or committer line. */
export interface GitIdentity {
  readonly name: string;
  readonly email: string;
}

/** Who a commit made in the checkout would be by, as `git var` says (config, then GIT_AUTHOR_* / GIT_COMMITTER_*). */
export interface CommitIdentities {
  readonly author: GitIdentity;
  readonly committer: GitIdentity;
}

/** What `git merge-tree --write-tree -z --name-only` printed. */
export interface MergeTreeOutcome {
  /** The merged tree (with conflict markers when there are conflicts). */
  readonly tree: string;
  /** The paths left conflicted, as git names them. */
  readonly conflicts: readonly string[];
  /** git's "CONFLICT (…): …" lines. */
  readonly messages: readonly string[];
}

export type IdentVariable = 'GIT_AUTHOR_IDENT' | 'GIT_COMMITTER_IDENT';

/** A git call in the checkout (a read) that prints nothing for this long is stuck: a lock, a dead network filesystem. */
const READ_TIMEOUT_MS = 60_000;
/** The merge, the commit, the bundle: seconds even on Tails' history; minutes mean git is stuck. */
const SCRATCH_TIMEOUT_MS = 300_000;

/** Branches git leaves out of its default merge message (" into <branch>"), merge.suppressDest unset. */
const SUPPRESSED_DESTINATIONS = ['main', 'master'];

/**
 * The message `git merge --no-edit origin/<base>` writes on `branch`:
 * "Merge remote-tracking branch 'origin/stable' into feature/x" (without the
 * " into …" on main and master, as git's fmt-merge-msg does by default).
 */
export function formatMergeMessage(baseBranch: string, branch: string): string {
  const into = SUPPRESSED_DESTINATIONS.includes(branch) ? '' : ` into ${branch}`;
  return `Merge remote-tracking branch 'origin/${baseBranch}'${into}`;
}

/** The ref the bundle carries the merge commit under: the branch, as `git merge` moves it. */
export function mergeBundleRef(branch: string): string {
  return `refs/heads/${branch}`;
}

/** `git var GIT_AUTHOR_IDENT` in the checkout: who a commit made there would be by. */
export function identCommand(root: string, variable: IdentVariable): Command {
  return command('git', ['-C', root, 'var', variable], { effect: 'read', timeoutMs: READ_TIMEOUT_MS });
}

/** `Name <email> 1796281320 +0000` (git var's ident line) → the name and email; undefined when malformed. */
export function parseIdent(line: string): GitIdentity | undefined {
  const m = /^(.*) <([^<>]*)> \d+ [+-]\d{4}$/.exec(line.trim());
  if (m === null) return undefined;
  const [, name = '', email = ''] = m;
  return name === '' ? undefined : { name, email };
}

/** The checkout's object store (absolute: the common dir's objects, for a linked worktree too). */
export function objectsDirCommand(root: string): Command {
  return command('git', ['-C', root, 'rev-parse', '--path-format=absolute', '--git-path', 'objects'], { effect: 'read', timeoutMs: READ_TIMEOUT_MS });
}

/** sha1 or sha256: the throwaway repository must use the checkout's. */
export function objectFormatCommand(root: string): Command {
  return command('git', ['-C', root, 'rev-parse', '--show-object-format'], { effect: 'read', timeoutMs: READ_TIMEOUT_MS });
}

/**
 * What every git call in the throwaway repository runs with: its own git dir
 * and object dir whatever the caller's environment says (a GIT_DIR or
 * GIT_OBJECT_DIRECTORY inherited from a hook would otherwise send the writes
 * into the checkout), no system or global config (the merge and the commit
 * then do not depend on who runs it: rename settings, signing, encodings), no
 * replace refs.
 */
export function scratchEnv(gitDir: string): Record<string, string> {
  return {
    GIT_DIR: gitDir,
    GIT_OBJECT_DIRECTORY: `${gitDir}/objects`,
    GIT_ALTERNATE_OBJECT_DIRECTORIES: '',
    GIT_INDEX_FILE: `${gitDir}/index`,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_NO_REPLACE_OBJECTS: '1',
    GIT_TERMINAL_PROMPT: '0',
  };
}

/**
 * Every command in the throwaway repository is declared a read: it writes
 * only there, and the repository is removed before the caller returns, so a
 * dry run makes the merge too and shows its exact commit. (The bundle, which
 * outlives it, is a write.)
 */
function inScratch(gitDir: string, args: readonly string[], extra: Partial<Omit<Command, 'file' | 'args'>> = {}): Command {
  return command('git', [`--git-dir=${gitDir}`, ...args], { effect: 'read', timeoutMs: SCRATCH_TIMEOUT_MS, ...extra, env: { ...scratchEnv(gitDir), ...extra.env } });
}

export function initScratchCommand(gitDir: string, objectFormat: string): Command {
  return inScratch(gitDir, ['init', '-q', '--bare', `--object-format=${objectFormat}`, gitDir]);
}

export function mergeTreeCommand(gitDir: string, feature: string, base: string): Command {
  return inScratch(gitDir, ['merge-tree', '--write-tree', '-z', '--name-only', feature, base]);
}

/**
 * `git merge-tree --write-tree -z --name-only` output: the tree, then (on a
 * conflict) the conflicted paths, an empty field, and for each message its
 * path count, those paths, a type and the text. Undefined when it is not that.
 */
export function parseMergeTree(stdout: string): MergeTreeOutcome | undefined {
  const fields = stdout.split('\0');
  const tree = fields[0] ?? '';
  if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(tree)) return undefined;
  const conflicts: string[] = [];
  let i = 1;
  for (; i < fields.length && fields[i] !== ''; i += 1) conflicts.push(fields[i] ?? '');
  const messages: string[] = [];
  i += 1;
  while (i < fields.length) {
    const count = Number(fields[i]);
    if (fields[i] === '' || !Number.isInteger(count)) break;
    const type = fields[i + 1 + count] ?? '';
    const text = (fields[i + 2 + count] ?? '').trim();
    if (type.startsWith('CONFLICT')) messages.push(text);
    i += 3 + count;
  }
  return { tree, conflicts: [...new Set(conflicts)], messages };
}

export interface MergeCommitInput {
  readonly tree: string;
  /** The feature branch's commit first (HEAD, as `git merge` records it), then the base's. */
  readonly parents: readonly [string, string];
  readonly message: string;
  readonly identities: CommitIdentities;
  /** Author and committer date, UTC ISO 8601 (the top changelog entry's). */
  readonly date: string;
}

/** `2026-12-03T09:00:00Z` → git's own date format, `1796288400 +0000`: no parsing left to git. */
export function formatGitDate(isoUtc: string): string {
  const ms = Date.parse(isoUtc);
  if (Number.isNaN(ms)) throw new Error(`formatGitDate: not a date: ${isoUtc}`);
  return `${String(Math.floor(ms / 1000))} +0000`;
}

/** The merge commit: never signed (a signature would make it differ at each run). */
export function commitTreeCommand(gitDir: string, input: MergeCommitInput): Command {
  const date = formatGitDate(input.date);
  const { author, committer } = input.identities;
  return inScratch(gitDir, ['commit-tree', '--no-gpg-sign', input.tree, '-p', input.parents[0], '-p', input.parents[1], '-m', input.message], {
    env: {
      GIT_AUTHOR_NAME: author.name,
      GIT_AUTHOR_EMAIL: author.email,
      GIT_AUTHOR_DATE: date,
      GIT_COMMITTER_NAME: committer.name,
      GIT_COMMITTER_EMAIL: committer.email,
      GIT_COMMITTER_DATE: date,
    },
  });
}

/** A ref for the bundle to carry (git bundle takes refs, not bare ids), in the throwaway repository only. */
export function updateRefCommand(gitDir: string, ref: string, commit: string): Command {
  return inScratch(gitDir, ['update-ref', ref, commit]);
}

/** The bundle: the merge commit and its new objects only; the VM's clone has both parents. */
export function bundleCommand(gitDir: string, file: string, ref: string, exclude: readonly string[]): Command {
  return { ...inScratch(gitDir, ['bundle', 'create', '-q', file, ref, ...exclude.map((c) => `^${c}`)]), effect: 'write' };
}
