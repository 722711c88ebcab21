/**
 * The submodules of a Tails build. Tails' in-VM build-tails clones every
 * submodule from /amnesia.git/.git/modules/<name> (the host checkout's
 * .git/modules, shared read-only over 9p) instead of fetching it: a build VM
 * that cannot reach Tails' GitLab must find each one there, holding the commit
 * the build checks out. This reads .gitmodules (git config syntax, as git
 * parses it) and decides, from what app/tails-submodules.ts observed, whether
 * every submodule is there; the refusal names each one missing and the git
 * command that brings it. Pure: the commands as values, the parsing, the decision.
 */
import { command, type Command } from './command.js';
import { parseGitConfig } from './git-config.js';
import type { UserError } from './errors.js';
import { tailsSubmoduleMessages as msg } from './messages/index.js';

export const GITMODULES_FILE = '.gitmodules';
/** Where git keeps a submodule's repository, relative to the checkout: .git/modules/<submodule name>. */
export const MODULES_DIR = '.git/modules';
/** The mode of a gitlink (a submodule's commit) in a git tree. */
export const GITLINK_MODE = '160000';

/** A git call in the checkout (a read) that prints nothing for this long is stuck: a lock, a dead network filesystem. */
const READ_TIMEOUT_MS = 60_000;

/** One `[submodule "<name>"]` section of .gitmodules that has a path. */
export interface SubmoduleEntry {
  /** The section's name: .git/modules/<name> holds its repository (Tails: "submodules/live-build"). */
  readonly name: string;
  /** Where the superproject records its commit (a gitlink), relative to the checkout. */
  readonly path: string;
  /** Where `git submodule update --init` clones it from; undefined when .gitmodules gives none. */
  readonly url: string | undefined;
}

/** A line of .gitmodules git would not read. */
export interface GitmodulesError {
  /** 1-based. */
  readonly line: number;
  /** The line as written. */
  readonly text: string;
  readonly why: string;
}

export type GitmodulesParse =
  | { readonly ok: true; readonly entries: readonly SubmoduleEntry[] }
  | ({ readonly ok: false } & GitmodulesError);

/**
 * Parses .gitmodules as git does (config.c, submodule-config.c): sections
 * `[submodule "name"]` (or the old `[submodule.name]`, lowercased), keys
 * case-insensitive, values unquoted and unescaped (`"…"`, `\"`, `\\`, `\n`,
 * `\t`, `\b`, a backslash ending a line continues it), `#` and `;` comments,
 * several sections of one name merged, the last value of a key winning.
 * Sections without a path are left out (git cannot use them). Refused, naming
 * the line: what git's parser rejects, a path or url without a value, a name
 * git ignores (empty, or with a `..` component: it would point outside
 * .git/modules), a path or url git ignores because it starts with "-".
 */
export function parseGitmodules(text: string): GitmodulesParse {
  const source = text.replace(/^\uFEFF/, '').replace(/\r\n/g, '\n');
  const lines = source.split('\n');
  const fail = (line: number, why: string): GitmodulesParse => ({ ok: false, line, text: lines[line - 1] ?? '', why });
  const parsed = parseGitConfig(source);
  if (!parsed.ok) return fail(parsed.line, parsed.why);

  const byName = new Map<string, { path: string | undefined; url: string | undefined }>();
  for (const item of parsed.items) {
    if (item.section !== 'submodule' || item.subsection === undefined) continue;
    const name = item.subsection;
    if (!isAllowedName(name)) return fail(item.line, `git ignores the submodule name "${name}": a name may not be empty or have a ".." component (.git/modules/<name> would point outside .git/modules)`);
    const seen = byName.get(name) ?? { path: undefined, url: undefined };
    byName.set(name, seen);
    if (item.key !== 'path' && item.key !== 'url') continue;
    const variable = `submodule.${name}.${item.key}`;
    if (item.value === undefined) return fail(item.line, `${variable} has no value ("${item.key} = …")`);
    if (item.value.startsWith('-')) return fail(item.line, `git ignores ${variable} "${item.value}": it starts with "-" and could be taken for a command-line option`);
    seen[item.key] = item.value;
  }
  const entries: SubmoduleEntry[] = [];
  for (const [name, { path, url }] of byName) if (path !== undefined && path !== '') entries.push({ name, path, url });
  return { ok: true, entries };
}

/** git's check_submodule_name: not empty, no ".." component (either slash). */
function isAllowedName(name: string): boolean {
  return name !== '' && !name.split(/[/\\]/).includes('..');
}

/** A commit the superproject records at a submodule's path, in one of the commits the build checks out. */
export interface RecordedCommit {
  /** The revision it is recorded in, as the caller named it ("HEAD", a commit, a ref). */
  readonly rev: string;
  readonly commit: string;
}

/** What .git/modules/<name> is: missing, there but not a git repository (no HEAD or no objects/), or a repository. */
export type ModuleRepo = 'absent' | 'not-a-git-dir' | 'present';

/** What a submodule's work tree has at <path>/.git. */
export type WorkTreeGit = 'directory' | 'file' | 'absent';

/** What app/tails-submodules.ts observed of one .gitmodules entry. */
export interface SubmoduleObservation {
  readonly entry: SubmoduleEntry;
  /** What the revisions record at entry.path (gitlinks, mode 160000), one per distinct commit; empty when none records a submodule there (git ignores the entry). */
  readonly recorded: readonly RecordedCommit[];
  /** What <checkout>/.git/modules/<name> is (observed only when something is recorded). */
  readonly repo: ModuleRepo;
  /**
   * What <checkout>/<path>/.git is, when .git/modules/<name> is absent: a
   * directory (the repository is in its work tree, as an older git cloned
   * submodules), a file (a .git file left pointing at the missing repository),
   * or nothing (never cloned).
   */
  readonly workTreeGit: WorkTreeGit;
  /** The recorded commits the module repository has (`cat-file -e <sha>^{commit}`), when it is present. */
  readonly present: readonly string[];
}

export interface SubmoduleFacts {
  /** The checkout. */
  readonly root: string;
  /** <root>/.git is a directory: not the .git file of a linked worktree or of a submodule's checkout, whose repository lives elsewhere. */
  readonly gitDirIsDirectory: boolean;
  readonly submodules: readonly SubmoduleObservation[];
}

/** Why a submodule would not be found by the build VM. */
export type SubmoduleProblem =
  /** The checkout's .git is a file: the VM finds neither the checkout's repository nor any module at /amnesia.git/.git. */
  | { readonly kind: 'checkout-git-file'; readonly entries: readonly SubmoduleEntry[] }
  /** .git/modules/<name> does not exist; gitFileLeft: <path>/.git is a file still pointing there (git submodule update then fails until deinit). */
  | { readonly kind: 'missing'; readonly entry: SubmoduleEntry; readonly moduleDir: string; readonly gitFileLeft: boolean }
  | { readonly kind: 'in-work-tree' | 'not-a-git-dir'; readonly entry: SubmoduleEntry; readonly moduleDir: string }
  | { readonly kind: 'commit-missing'; readonly entry: SubmoduleEntry; readonly moduleDir: string; readonly commits: readonly RecordedCommit[] };

/** .git/modules/<name>, relative to the checkout. */
export function moduleDirOf(name: string): string {
  return `${MODULES_DIR}/${name}`;
}

/**
 * What stops the build VM from cloning every submodule from .git/modules:
 * empty when nothing does. Entries no revision records a gitlink for are
 * not submodules of the build (git ignores them) and are not asked about.
 */
export function findSubmoduleProblems(facts: SubmoduleFacts): SubmoduleProblem[] {
  const used = facts.submodules.filter((s) => s.recorded.length > 0);
  if (used.length === 0) return [];
  if (!facts.gitDirIsDirectory) return [{ kind: 'checkout-git-file', entries: used.map((s) => s.entry) }];
  const problems: SubmoduleProblem[] = [];
  for (const s of used) {
    const moduleDir = moduleDirOf(s.entry.name);
    if (s.repo === 'absent' && s.workTreeGit === 'directory') problems.push({ kind: 'in-work-tree', entry: s.entry, moduleDir });
    else if (s.repo === 'absent') problems.push({ kind: 'missing', entry: s.entry, moduleDir, gitFileLeft: s.workTreeGit === 'file' });
    else if (s.repo === 'not-a-git-dir') problems.push({ kind: 'not-a-git-dir', entry: s.entry, moduleDir });
    else {
      const commits = s.recorded.filter((r) => !s.present.includes(r.commit));
      if (commits.length > 0) problems.push({ kind: 'commit-missing', entry: s.entry, moduleDir, commits });
    }
  }
  return problems;
}

/** The refusal of a build whose submodules the VM would not find (code tails-submodule-missing), or undefined when it finds them all. */
export function checkSubmoduleFacts(facts: SubmoduleFacts): UserError | undefined {
  const problems = findSubmoduleProblems(facts);
  if (problems.length === 0) return undefined;
  const urls = problems.flatMap((p) => (p.kind === 'checkout-git-file' ? p.entries : [p.entry])).map((e) => e.url);
  const reach = [...new Map(urls.map(urlReach).map((r) => [JSON.stringify(r), r])).values()];
  return msg.submodulesMissing(facts.root, problems, reach);
}

/** The refusal of an unreadable .gitmodules (code tails-gitmodules-invalid). */
export function gitmodulesRefusal(root: string, error: GitmodulesError): UserError {
  return msg.gitmodulesInvalid(root, error);
}

/** What the VM would have to reach to fetch a submodule from its url. */
export type UrlReach =
  | { readonly kind: 'host'; readonly host: string }
  /** ./ or ../: relative to the superproject's default remote (origin). */
  | { readonly kind: 'relative' }
  /** A path or file:// url on this machine. */
  | { readonly kind: 'local' }
  | { readonly kind: 'none' };

/**
 * The host a submodule url names, as git reads urls: `scheme://[user@]host[:port]/…`,
 * scp-like `[user@]host:path` (a colon before any slash), else a local path.
 */
export function urlReach(url: string | undefined): UrlReach {
  if (url === undefined || url === '') return { kind: 'none' };
  if (url.startsWith('./') || url.startsWith('../')) return { kind: 'relative' };
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)/.exec(url);
  if (scheme !== null) {
    if (scheme[1]?.toLowerCase() === 'file') return { kind: 'local' };
    const authority = (scheme[2] ?? '').replace(/^.*@/, '');
    const host = authority.startsWith('[') ? authority.replace(/^\[([^\]]*)\].*$/, '$1') : authority.replace(/:\d*$/, '');
    return host === '' ? { kind: 'local' } : { kind: 'host', host: host.toLowerCase() };
  }
  const colon = url.indexOf(':');
  const slash = url.indexOf('/');
  if (colon > 0 && (slash === -1 || colon < slash)) {
    const host = url.slice(0, colon).replace(/^.*@/, '').replace(/^\[(.*)\]$/, '$1');
    if (host !== '') return { kind: 'host', host: host.toLowerCase() };
  }
  return { kind: 'local' };
}

/**
 * `git ls-tree -z <rev> -- <paths>` in the checkout: what `rev` records at
 * each path (a gitlink is mode 160000). Paths are taken literally.
 */
export function lsTreeCommand(root: string, rev: string, paths: readonly string[]): Command {
  return command('git', ['-C', root, '--literal-pathspecs', 'ls-tree', '-z', '--full-tree', rev, '--', ...paths], { effect: 'read', timeoutMs: READ_TIMEOUT_MS });
}

/** The gitlinks of `git ls-tree -z` output: path → commit. */
export function parseGitlinks(stdout: string): Map<string, string> {
  const links = new Map<string, string>();
  for (const record of stdout.split('\0')) {
    const m = /^(\d+) (\S+) ([0-9a-f]{40,64})\t([\s\S]*)$/.exec(record);
    if (m === null || m[1] !== GITLINK_MODE) continue;
    links.set(m[4] ?? '', m[3] ?? '');
  }
  return links;
}

/**
 * `git --git-dir <moduleDir> cat-file -e <sha>^{commit}`: exit 0 when the
 * module repository has the commit. GIT_NO_LAZY_FETCH: a partial clone must
 * not fetch what it lacks (the VM could not either).
 */
export function hasCommitCommand(moduleDir: string, commit: string): Command {
  return command('git', ['--git-dir', moduleDir, 'cat-file', '-e', `${commit}^{commit}`], { effect: 'read', timeoutMs: READ_TIMEOUT_MS, env: { GIT_NO_LAZY_FETCH: '1' } });
}
