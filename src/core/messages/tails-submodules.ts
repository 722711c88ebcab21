/**
 * User-facing texts for the submodules of a Tails build (core/tails-submodules.ts):
 * the build VM clones each one from the checkout's .git/modules, so a build
 * whose submodule is not there is refused before any VM. Each names the
 * submodule, the fact behind the refusal and the git command that fixes it.
 */
import { shellQuote } from '../command.js';
import { UserError } from '../errors.js';
import type { GitmodulesError, RecordedCommit, SubmoduleEntry, SubmoduleProblem, UrlReach } from '../tails-submodules.js';

/** Where build-tails clones the submodules from, in the build VM. */
const VM_MODULES = '/amnesia.git/.git/modules';
const HEX = /^[0-9a-f]{40,64}$/;

const short = (rev: string): string => (HEX.test(rev) ? rev.slice(0, 12) : rev);
const q = shellQuote;
const describe = (e: SubmoduleEntry): string => `${e.name} (path ${e.path}, url ${e.url ?? 'none in .gitmodules'})`;

/** What the VM cannot reach, from each distinct url reach. */
function unreachable(reach: readonly UrlReach[]): string {
  const parts = reach.flatMap((r) => {
    switch (r.kind) {
      case 'host':
        return [r.host];
      case 'relative':
        return ["the checkout's origin remote (a relative url is relative to it)"];
      case 'local':
        return ['paths of this machine outside the checkout (a local url)'];
      case 'none':
        return [];
    }
  });
  return parts.length === 0 ? 'fetch a submodule .gitmodules gives no url for' : `reach ${parts.join(', ')}`;
}

/** "with network access to gitlab.tails.boum.org" for the hosts among the urls. */
function withAccess(reach: readonly UrlReach[]): string {
  const hosts = reach.flatMap((r) => (r.kind === 'host' ? [r.host] : []));
  return hosts.length === 0 ? 'where its url can be fetched from' : `with network access to ${hosts.join(', ')}`;
}

function lacks(root: string, p: { entry: SubmoduleEntry; moduleDir: string; commits: readonly RecordedCommit[] }): string {
  const commits = p.commits.map((c) => `commit ${short(c.commit)} (what ${short(c.rev)} records at ${p.entry.path})`);
  return `${root}/${p.moduleDir} lacks ${commits.join(' and ')}`;
}

function problemLine(root: string, p: Exclude<SubmoduleProblem, { kind: 'checkout-git-file' }>): string {
  switch (p.kind) {
    case 'missing':
      return p.gitFileLeft
        ? `${root}/${p.moduleDir} does not exist (its work tree's .git file, ${root}/${p.entry.path}/.git, still points at it)`
        : `${root}/${p.moduleDir} does not exist (the submodule was never cloned into this checkout)`;
    case 'in-work-tree':
      return `its repository is ${root}/${p.entry.path}/.git, in its work tree (as an older git cloned submodules), not ${root}/${p.moduleDir}`;
    case 'not-a-git-dir':
      return `${root}/${p.moduleDir} is not a git repository (it has no HEAD file or no objects/ directory)`;
    case 'commit-missing':
      return lacks(root, p);
  }
}

/** The commands that bring each problem's submodule into .git/modules, grouped as git takes them. */
function fixes(root: string, problems: readonly Exclude<SubmoduleProblem, { kind: 'checkout-git-file' }>[]): string[] {
  const git = `git -C ${q(root)}`;
  const paths = (kind: SubmoduleProblem['kind'], filter: (p: SubmoduleProblem) => boolean = () => true): string[] =>
    problems.filter((p) => p.kind === kind && filter(p)).map((p) => q(p.entry.path));
  const lines: string[] = [];
  const missing = paths('missing', (p) => p.kind === 'missing' && !p.gitFileLeft);
  if (missing.length > 0) lines.push(`${git} submodule update --init -- ${missing.join(' ')}`);
  // A .git file pointing at the missing repository stops git submodule update ("could not get a repository handle"): deinit clears it.
  const gitFileLeft = paths('missing', (p) => p.kind === 'missing' && p.gitFileLeft);
  if (gitFileLeft.length > 0) lines.push(`${git} submodule deinit -f -- ${gitFileLeft.join(' ')} && ${git} submodule update --init -- ${gitFileLeft.join(' ')}`);
  const inWorkTree = paths('in-work-tree');
  if (inWorkTree.length > 0) lines.push(`${git} submodule absorbgitdirs -- ${inWorkTree.join(' ')} && ${git} submodule update -- ${inWorkTree.join(' ')}`);
  for (const p of problems) {
    if (p.kind !== 'not-a-git-dir') continue;
    const aside = `${root}/.git/${p.entry.name.replaceAll('/', '-')}.broken`;
    lines.push(`mv -- ${q(`${root}/${p.moduleDir}`)} ${q(aside)} && ${git} submodule deinit -f -- ${q(p.entry.path)} && ${git} submodule update --init -- ${q(p.entry.path)}`);
  }
  const atHead = paths('commit-missing', (p) => p.kind === 'commit-missing' && p.commits.some((c) => c.rev === 'HEAD'));
  if (atHead.length > 0) lines.push(`${git} submodule update -- ${atHead.join(' ')}`);
  for (const p of problems) {
    if (p.kind !== 'commit-missing' || p.commits.every((c) => c.rev === 'HEAD')) continue;
    lines.push(`git --git-dir ${q(`${root}/${p.moduleDir}`)} fetch origin`);
  }
  return lines;
}

export const tailsSubmoduleMessages = {
  gitmodulesInvalid: (root: string, error: GitmodulesError) =>
    new UserError(
      'tails-gitmodules-invalid',
      `${root}/.gitmodules line ${error.line} does not parse as git config: ${error.why} (\`${error.text.trim()}\`). It names the submodules the build VM clones, so the build cannot start.`,
      { hint: `Fix line ${error.line} (git -C ${q(root)} config -f .gitmodules --list shows what git makes of the file) and commit it, then run tails-build iso again.` },
    ),
  submodulesMissing: (root: string, problems: readonly SubmoduleProblem[], reach: readonly UrlReach[]) => {
    const gitFile = problems.find((p) => p.kind === 'checkout-git-file');
    if (gitFile !== undefined) {
      return new UserError(
        'tails-submodule-missing',
        `${root}/.git is a file, not a directory: this checkout is a linked worktree (git worktree add) or itself a submodule, and keeps its repository and its submodules elsewhere. build-tails clones the checkout from /amnesia.git/.git and each submodule from ${VM_MODULES}/<name> in the build VM (the checkout is shared read-only over 9p), so it would find none of its submodules: ${gitFile.entries.map((e) => e.name).join(', ')}.`,
        { hint: `Build in a checkout whose .git is a directory: the main worktree (the first line of git -C ${q(root)} worktree list), after git submodule update --init there; or a fresh clone (git clone --recurse-submodules URL DIR).` },
      );
    }
    const each = problems.filter((p): p is Exclude<SubmoduleProblem, { kind: 'checkout-git-file' }> => p.kind !== 'checkout-git-file');
    const n = each.length;
    return new UserError(
      'tails-submodule-missing',
      [
        `${n === 1 ? 'A submodule is' : `${n} submodules are`} not in ${root}/.git/modules as the build needs ${n === 1 ? 'it' : 'them'}:`,
        ...each.map((p) => `  - ${describe(p.entry)}: ${problemLine(root, p)}.`),
        `build-tails clones every submodule in the build VM from ${VM_MODULES}/<name> (this checkout's .git/modules, shared read-only over 9p) and fetches none itself: the VM cannot ${unreachable(reach)}.`,
      ].join('\n'),
      { hint: [`In ${root}, ${withAccess(reach)}:`, ...fixes(root, each).map((l) => `  ${l}`), 'then run tails-build iso again.'].join('\n') },
    );
  },
};
