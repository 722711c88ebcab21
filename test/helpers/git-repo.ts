/** Real git repositories in temp dirs, with fixed identities and dates. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface TempRepo {
  readonly root: string;
  git(...args: string[]): string;
  /** Writes files (paths relative to root). */
  write(files: Record<string, string>): void;
  /** Stages everything and commits with the given author/committer date (ISO 8601). */
  commit(message: string, date: string): string;
  remove(): void;
}

export const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Test Author',
  GIT_AUTHOR_EMAIL: 'author@example.org',
  GIT_COMMITTER_NAME: 'Test Committer',
  GIT_COMMITTER_EMAIL: 'committer@example.org',
  GIT_CONFIG_NOSYSTEM: '1',
};

export function makeTempDir(prefix = 'tb-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function createTempRepo(options: { init?: boolean } = {}): TempRepo {
  const root = makeTempDir('tb-repo-');
  const git = (...args: string[]): string =>
    execFileSync('git', args, { cwd: root, env: { ...process.env, ...GIT_ENV }, encoding: 'utf8' }).trim();
  if (options.init !== false) {
    git('init', '-q', '-b', 'main');
    git('config', 'user.name', 'Test Author');
    git('config', 'user.email', 'author@example.org');
    git('config', 'commit.gpgsign', 'false');
  }
  return {
    root,
    git,
    write(files) {
      for (const [path, text] of Object.entries(files)) {
        const full = join(root, path);
        mkdirSync(dirname(full), { recursive: true });
        writeFileSync(full, text);
      }
    },
    commit(message, date) {
      git('add', '-A');
      execFileSync('git', ['commit', '-q', '-m', message], {
        cwd: root,
        env: { ...process.env, ...GIT_ENV, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date },
      });
      return git('rev-parse', 'HEAD');
    },
    remove() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}
