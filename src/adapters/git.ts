/**
 * The git adapter (simple-git). It runs git with the user's own config, as
 * Tails' tooling does, so `%h` abbreviations match what Tails prints.
 */
import type { SimpleGit } from 'simple-git';
import { join } from 'node:path';
import { UserError } from '../core/errors.js';
import type { Git, GitHead, LastCommit } from '../core/ports.js';
import { messages } from '../core/messages.js';

export function createGit(): Git {
  const repos = new Map<string, SimpleGit>();
  // simple-git is loaded at the first git call, not at start-up.
  let simpleGit: typeof import('simple-git').simpleGit | undefined;
  async function at(dir: string): Promise<SimpleGit> {
    simpleGit ??= (await import('simple-git')).simpleGit;
    let git = repos.get(dir);
    if (git === undefined) {
      git = simpleGit({ baseDir: dir, trimmed: false });
      repos.set(dir, git);
    }
    return git;
  }

  return {
    async findTopLevel(dir) {
      let git: SimpleGit;
      try {
        git = await at(dir);
      } catch (error) {
        throw messages.git.unreadableDir(dir, error);
      }
      try {
        return (await git.raw(['rev-parse', '--show-toplevel'])).trim();
      } catch (error) {
        throw messages.git.notARepo(dir, gitMessage(error));
      }
    },

    async findLastCommitTouching(root, path): Promise<LastCommit | undefined> {
      // Tails: git log -1 --date="format:%Y%m%d" --no-show-signature --pretty="%h %ad" -- <root>/<dir>/
      const target = `${join(root, path)}/`;
      let out: string;
      try {
        out = await (await at(root)).raw(['log', '-1', '--no-show-signature', '--date=format:%Y%m%d', '--pretty=format:%h %ad %at', '--', target]);
      } catch (error) {
        const text = gitMessage(error);
        if (/does not have any commits yet|bad default revision 'HEAD'|unknown revision/i.test(text)) return undefined;
        throw new UserError('git-failed', `git log failed in ${root}: ${text}`, { kind: 'external' });
      }
      const line = out.trim();
      if (line === '') return undefined;
      const [, shortId, authorDate, authorTime] = /^([0-9a-f]{4,64}) (\d{8}) (\d+)$/.exec(line) ?? [];
      if (shortId === undefined || authorDate === undefined || authorTime === undefined) {
        throw new UserError('git-unexpected', `Unexpected output from git log in ${root}: "${line}".`, {
          kind: 'external',
          hint: 'Check your git configuration (git config --list --show-origin) for log.* or format.* settings.',
        });
      }
      return { shortId, authorDate, authorTime: Number(authorTime) };
    },

    async readStatus(root, path) {
      const args = ['status', '--porcelain=v1', '--untracked-files=all', '--ignore-submodules=none'];
      if (path !== undefined) args.push('--', `${join(root, path)}/`);
      const out = await (await at(root)).raw(args);
      return out.split('\n').filter((line) => line !== '');
    },

    async readHead(root): Promise<GitHead> {
      const git = await at(root);
      let commit: string;
      try {
        commit = (await git.raw(['rev-parse', '--verify', '-q', 'HEAD^{commit}'])).trim();
      } catch {
        commit = '';
      }
      if (commit === '') throw messages.git.noCommits(root);
      let branch: string | undefined;
      try {
        branch = (await git.raw(['symbolic-ref', '-q', '--short', 'HEAD'])).trim() || undefined;
      } catch {
        branch = undefined;
      }
      const tags = (await git.raw(['tag', '--points-at', 'HEAD'])).split('\n').filter((t) => t !== '').sort();
      return { commit, branch, tagsAtHead: tags };
    },
  };
}

function gitMessage(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).trim();
}
