/**
 * The git adapter (simple-git). It runs git with the user's own config, as
 * Tails' tooling does, so `%h` abbreviations match what Tails prints.
 *
 * simple-git's typed calls run and parse git (revparse, log with a format,
 * branch --show-current, tags); raw() only for `status --porcelain`, whose lines
 * the port hands on verbatim (status() parses `-z` output into objects: turning
 * them back into lines would lose git's quoting of odd paths). Each call is
 * logged at debug level as the runner logs its commands, is killed when it
 * prints nothing for timeoutMs (simple-git's `timeout.block`), and on the
 * interrupt (its `abort`).
 */
import type { SimpleGit } from 'simple-git';
import { join } from 'node:path';
import { formatCommand } from '../core/command.js';
import { InterruptedError, UserError } from '../core/errors.js';
import type { Git, GitHead, LastCommit, Log } from '../core/ports.js';
import { messages } from '../core/messages/index.js';

export interface GitOptions {
  /** Each git call is logged here (debug), as the runner logs its commands. */
  readonly log?: Log;
  /** Aborted on SIGINT/SIGTERM: a running git is killed, new calls are refused (InterruptedError). */
  readonly signal?: AbortSignal;
  /** A git call that prints nothing for this long is killed (default 60 s). */
  readonly timeoutMs?: number;
}

/** Local reads only; a git silent this long is stuck (a hook, a lock, a dead network filesystem). */
const GIT_TIMEOUT_MS = 60_000;

/** simple-git, loaded at the first git call (not at start-up: `--help` runs none). */
const importSimpleGit = () => import('simple-git');
let simpleGitModule: ReturnType<typeof importSimpleGit> | undefined;
function loadSimpleGit(): ReturnType<typeof importSimpleGit> {
  simpleGitModule ??= importSimpleGit();
  return simpleGitModule;
}

export function createGit(options: GitOptions = {}): Git {
  const timeoutMs = options.timeoutMs ?? GIT_TIMEOUT_MS;
  const repos = new Map<string, SimpleGit>();
  async function at(dir: string): Promise<SimpleGit> {
    const { simpleGit } = await loadSimpleGit();
    let git = repos.get(dir);
    if (git === undefined) {
      git = simpleGit({
        baseDir: dir,
        // raw() keeps the leading space of a status line (' M file').
        trimmed: false,
        timeout: { block: timeoutMs },
        ...(options.signal === undefined ? {} : { abort: options.signal }),
      });
      // Called as each git process starts, with the arguments it really got.
      git.outputHandler((file, _stdout, _stderr, args) => {
        options.log?.debug(`$ ${formatCommand({ file, args: ['-C', dir, ...args] })}`);
      });
      repos.set(dir, git);
    }
    return git;
  }

  /**
   * A git call simple-git stopped, as the runner reports its commands: the
   * interrupt is an InterruptedError, the timeout a UserError. Anything else is
   * returned unchanged, for the caller's own reading of git's message.
   */
  async function stopped(error: unknown, dir: string): Promise<unknown> {
    const { GitPluginError } = await loadSimpleGit();
    if (!(error instanceof GitPluginError)) return error;
    if (error.plugin === 'abort') return new InterruptedError(String(options.signal?.reason ?? 'a signal'));
    if (error.plugin === 'timeout') {
      return new UserError('git-timeout', `git in ${dir} printed nothing for ${String(timeoutMs / 1000)} s and was killed.`, {
        kind: 'external',
        hint: `Check that git works there (git -C ${dir} status): a hook, a stale .git/index.lock or an unreachable network filesystem can block it.`,
      });
    }
    return error;
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
        return await git.revparse(['--show-toplevel']);
      } catch (error) {
        const why = await stopped(error, dir);
        if (why !== error) throw why;
        throw messages.git.notARepo(dir, gitMessage(error));
      }
    },

    async findLastCommitTouching(root, path): Promise<LastCommit | undefined> {
      // Tails: git log -1 --date="format:%Y%m%d" --no-show-signature --pretty="%h %ad" -- <root>/<dir>/
      const git = await at(root);
      const { pathspec } = await loadSimpleGit();
      let latest;
      try {
        ({ latest } = await git.log({
          maxCount: 1,
          format: { shortId: '%h', authorDate: '%ad', authorTime: '%at' },
          '--no-show-signature': null,
          '--date': 'format:%Y%m%d',
          '--': pathspec(`${join(root, path)}/`),
        }));
      } catch (error) {
        const why = await stopped(error, root);
        if (why !== error) throw why;
        const text = gitMessage(error);
        if (/does not have any commits yet|bad default revision 'HEAD'|unknown revision/i.test(text)) return undefined;
        throw new UserError('git-failed', `git log failed in ${root}: ${text}`, { kind: 'external' });
      }
      if (latest === null) return undefined;
      const { shortId, authorDate, authorTime } = latest;
      if (!/^[0-9a-f]{4,64}$/.test(shortId) || !/^\d{8}$/.test(authorDate) || !/^\d+$/.test(authorTime)) {
        throw new UserError('git-unexpected', `Unexpected output from git log in ${root}: "${shortId} ${authorDate} ${authorTime}".`, {
          kind: 'external',
          hint: 'Check your git configuration (git config --list --show-origin) for log.* or format.* settings.',
        });
      }
      return { shortId, authorDate, authorTime: Number(authorTime) };
    },

    async readStatus(root, path) {
      const args = ['status', '--porcelain=v1', '--untracked-files=all', '--ignore-submodules=none'];
      if (path !== undefined) args.push('--', `${join(root, path)}/`);
      try {
        const out = await (await at(root)).raw(args);
        return out.split('\n').filter((line) => line !== '');
      } catch (error) {
        throw await stopped(error, root);
      }
    },

    async readHead(root): Promise<GitHead> {
      const git = await at(root);
      let commit: string;
      try {
        commit = await git.revparse(['--verify', '-q', 'HEAD^{commit}']);
      } catch (error) {
        const why = await stopped(error, root);
        if (why !== error) throw why;
        commit = '';
      }
      if (commit === '') throw messages.git.noCommits(root);
      let branch: string | undefined;
      try {
        // Like `symbolic-ref -q --short HEAD`: nothing on a detached HEAD (a tag checked
        // out, a rebase, a bisect); but the plain name even when a tag shares it.
        branch = (await git.branch(['--show-current'])).current || undefined;
      } catch (error) {
        const why = await stopped(error, root);
        if (why !== error) throw why;
        branch = undefined;
      }
      try {
        const tags = (await git.tags(['--points-at', 'HEAD'])).all;
        return { commit, branch, tagsAtHead: [...tags].sort() };
      } catch (error) {
        throw await stopped(error, root);
      }
    },

    async readCommit(root, rev) {
      const git = await at(root);
      try {
        const commit = (await git.revparse(['--verify', '-q', `${rev}^{commit}`])).trim();
        return commit === '' ? undefined : commit;
      } catch (error) {
        const why = await stopped(error, root);
        if (why !== error) throw why;
        return undefined;
      }
    },

    async findMergeBase(root, a, b) {
      const git = await at(root);
      try {
        const base = (await git.raw(['merge-base', a, b])).trim();
        return base === '' ? undefined : base;
      } catch (error) {
        const why = await stopped(error, root);
        if (why !== error) throw why;
        // Exit 1 and no output: no common ancestor. Anything else is git's to explain.
        const text = gitMessage(error);
        if (text === '') return undefined;
        throw new UserError('git-failed', `git merge-base ${a} ${b} failed in ${root}: ${text}`, { kind: 'external' });
      }
    },
  };
}

function gitMessage(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).trim();
}
