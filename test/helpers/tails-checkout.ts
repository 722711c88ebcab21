/**
 * A Tails-shaped checkout: a real git repository that src/core/project.ts
 * recognises as kind "tails" (it has vagrant/definitions/tails-builder), with
 * config/base_branch, debian/changelog, both sets of APT snapshot serials, an
 * "origin" remote holding the base branch, and a feature branch checked out.
 *
 * History (fixed dates, so commits are the same at every run):
 *   stable:    A ── B            (origin/stable is B)
 *   feature/x:  └── F            (HEAD, diverged: merging stable makes a merge commit)
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createTempRepo, type TempRepo } from './git-repo.js';

/** The top debian/changelog entry's trailer date, and that date in UTC. */
export const TAILS_CHANGELOG_DATE = 'Thu, 03 Dec 2026 10:00:00 +0100';
export const TAILS_CHANGELOG_DATE_UTC = '2026-12-03T09:00:00Z';

export const TAILS_ISO_SERIALS: Readonly<Record<string, string>> = {
  debian: '2026120302',
  'debian-security': '2026120301',
  tails: '2026120101',
  torproject: '2026120102',
};

const CHANGELOG = `tails (6.10) UNRELEASED; urgency=medium

  * Dummy entry for next release.

 -- Tails developers <tails@boum.org>  ${TAILS_CHANGELOG_DATE}

tails (6.9) unstable; urgency=medium

  * New upstream release.

 -- Tails developers <tails@boum.org>  Tue, 29 Oct 2024 12:00:00 +0000
`;

export function tailsLayout(isoSerials: Readonly<Record<string, string>> = TAILS_ISO_SERIALS): Record<string, string> {
  return {
    'vagrant/lib/tails_build_settings.rb': "# Tails build settings\nARCHITECTURE = 'amd64'.freeze\nDISTRIBUTION = 'bookworm'.freeze\n",
    'vagrant/Vagrantfile': '# -*- mode: ruby -*-\n',
    'vagrant/definitions/tails-builder/generate-tails-builder-box.sh': '#!/bin/sh\n',
    'vagrant/definitions/tails-builder/config/APT_snapshots.d/debian/serial': '2026110101\n',
    'vagrant/definitions/tails-builder/config/APT_snapshots.d/debian-security/serial': '2026110102\n',
    ...Object.fromEntries(Object.entries(isoSerials).map(([archive, serial]) => [`config/APT_snapshots.d/${archive}/serial`, `${serial}\n`])),
    'config/base_branch': 'stable\n',
    'debian/changelog': CHANGELOG,
    'Rakefile': '# the Rakefile\n',
  };
}

export interface TailsCheckout {
  readonly repo: TempRepo;
  readonly root: string;
  /** The bare repository the "origin" remote points at. */
  readonly origin: TempRepo;
  readonly baseBranch: 'stable';
  readonly featureBranch: 'feature/x';
  /** origin/stable's commit (B). */
  readonly baseCommit: string;
  /** The feature branch's commit (F, HEAD). */
  readonly featureCommit: string;
  /** Where the feature branch left stable (A). */
  readonly forkCommit: string;
  remove(): void;
}

export interface TailsCheckoutOptions {
  readonly isoSerials?: Readonly<Record<string, string>>;
}

export function createTailsCheckout(options: TailsCheckoutOptions = {}): TailsCheckout {
  const repo = createTempRepo();
  repo.git('checkout', '-q', '-b', 'stable');
  repo.write(tailsLayout(options.isoSerials));
  const forkCommit = repo.commit('Tails-shaped checkout', '2026-11-30T10:00:00Z');
  repo.write({ 'wiki/src/news.mdwn': 'stable moved on\n' });
  const baseCommit = repo.commit('stable: news', '2026-12-01T10:00:00Z');
  repo.git('checkout', '-q', '-b', 'feature/x', forkCommit);
  repo.write({ 'features/x.feature': 'Feature: x\n' });
  const featureCommit = repo.commit('feature/x: a feature', '2026-12-02T10:00:00Z');

  const origin = createTempRepo({ init: false });
  origin.git('init', '-q', '--bare');
  repo.git('remote', 'add', 'origin', origin.root);
  repo.git('push', '-q', 'origin', 'stable', 'feature/x');
  repo.git('fetch', '-q', 'origin');
  return {
    repo,
    root: repo.root,
    origin,
    baseBranch: 'stable',
    featureBranch: 'feature/x',
    baseCommit,
    featureCommit,
    forkCommit,
    remove() {
      repo.remove();
      rmSync(origin.root, { recursive: true, force: true });
    },
  };
}

/** Checks out a branch `clash` off the fork point whose news page conflicts with the base branch's. */
export function checkOutConflictingBranch(t: TailsCheckout): void {
  t.repo.git('checkout', '-q', '-b', 'clash', t.forkCommit);
  t.repo.write({ 'wiki/src/news.mdwn': 'the branch says otherwise\n' });
  t.repo.commit('clash: news', '2026-12-02T12:00:00Z');
}

/**
 * The merge commit Tails' rake build would make on the checked-out branch —
 * `faketime <top changelog date> git merge --no-edit origin/<base>`, the
 * clock's zone UTC — made by a real `git merge` in a throwaway clone (never in
 * the checkout), with the checkout's identity. Its id is what tails-build's
 * own merge must give.
 */
export function mergeLikeTails(t: TailsCheckout, date: string = TAILS_CHANGELOG_DATE_UTC): string {
  const clone = createTempRepo({ init: false });
  try {
    const branch = t.repo.git('branch', '--show-current');
    const name = t.repo.git('config', 'user.name');
    const email = t.repo.git('config', 'user.email');
    clone.git('clone', '-q', '--no-local', t.root, '.');
    clone.git('checkout', '-q', '-B', branch, t.repo.git('rev-parse', 'HEAD'));
    const when = `${String(Date.parse(date) / 1000)} +0000`;
    execFileSync('git', ['-c', `user.name=${name}`, '-c', `user.email=${email}`, '-c', 'commit.gpgsign=false', 'merge', '-q', '--no-edit', `origin/${t.baseBranch}`], {
      cwd: clone.root,
      env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_AUTHOR_DATE: when, GIT_COMMITTER_DATE: when },
    });
    return clone.git('rev-parse', 'HEAD');
  } finally {
    clone.remove();
  }
}

/**
 * What a read-only use of the checkout must leave exactly as it was: its refs,
 * its status, its object count, and every file under .git/objects with its
 * size and modification time.
 */
export function readRepoState(root: string): Record<string, string> {
  const git = (...args: string[]): string => execFileSync('git', args, { cwd: root, encoding: 'utf8', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1' } });
  const objects = join(root, '.git', 'objects');
  const listing = (readdirSync(objects, { recursive: true }) as string[])
    .sort()
    .map((rel) => {
      const s = statSync(join(objects, rel));
      return `${rel} ${s.isDirectory() ? 'dir' : String(s.size)} ${String(s.mtimeMs)}`;
    })
    .join('\n');
  return { refs: git('for-each-ref'), status: git('status', '--porcelain'), countObjects: git('count-objects', '-v'), objects: listing, head: git('rev-parse', 'HEAD') };
}
