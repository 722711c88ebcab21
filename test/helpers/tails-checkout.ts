/**
 * A Tails-shaped checkout: a real git repository that src/core/project.ts
 * recognises as kind "tails" (it has vagrant/definitions/tails-builder), with
 * config/base_branch, debian/changelog, both sets of APT snapshot serials, an
 * "origin" remote holding the base branch, and a feature branch checked out.
 *
 * History (fixed dates, so commits are the same at every run):
 *   stable:    A ── B            (origin/stable is B)
 *   feature/x:  └── F            (HEAD, diverged: merging stable makes a merge commit)
 *
 * With `inVm: true` the checkout can also be built in a VM by `tails-build
 * iso`: A also holds the fixture's vagrant/provision/setup-tails-builder and
 * vagrant/provision/assets/{build-tails,acng.conf} (copied from
 * test/fixtures/tails/, which says what they do) and a submodule
 * submodules/fixture-tools, added with `git submodule add` from a local bare
 * repository (its repository in .git/modules/submodules/fixture-tools, its
 * .gitmodules URL one that never resolves, so a build must use the copy in
 * .git/modules, as Tails' build-tails does).
 */
import { execFileSync } from 'node:child_process';
import { after } from 'node:test';
import { chmodSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTempRepo, GIT_ENV, type TempRepo } from './git-repo.js';

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

/** The fixture files the VM build runs (test/fixtures/tails/). */
export const TAILS_FIXTURE_DIR = fileURLToPath(new URL('../../../test/fixtures/tails', import.meta.url));

/** Committed with `inVm`: path in the checkout → mode. */
export const TAILS_IN_VM_FILES: Readonly<Record<string, number>> = {
  'vagrant/provision/setup-tails-builder': 0o755,
  'vagrant/provision/assets/build-tails': 0o755,
  'vagrant/provision/assets/acng.conf': 0o644,
};

/** The submodule `inVm` adds, its files (test/fixtures/tails/submodules/fixture-tools/) and its .gitmodules URL. */
export const TAILS_FIXTURE_SUBMODULE = 'submodules/fixture-tools';
export const TAILS_FIXTURE_SUBMODULE_URL = 'https://submodules.invalid/fixture-tools.git';
const SUBMODULE_FILES = ['Makefile', 'install.sh', 'VERSION'];

/** Committed with `fetchTailsArchive`: build-tails then fetches deb.tails.boum.org, which must fail. */
export const TAILS_FIXTURE_FETCH_TAILS_ARCHIVE = 'config/fixture-fetch-tails-archive';

/** What build-tails writes next to tails-build-env.list: `<basename><suffix>`. */
export const TAILS_ARTIFACT_SUFFIXES = ['.iso', '.packages', '.build-manifest', '.apt-sources', '.buildlog'] as const;

export interface TailsSubmodule {
  readonly path: typeof TAILS_FIXTURE_SUBMODULE;
  /** The commit the superproject records. */
  readonly commit: string;
  /** The bare repository it was added from. */
  readonly bare: string;
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
  /** With `inVm`: submodules/fixture-tools. */
  readonly submodule?: TailsSubmodule;
  remove(): void;
}

export interface TailsCheckoutOptions {
  readonly isoSerials?: Readonly<Record<string, string>>;
  /** Commit what `tails-build iso` needs to build the checkout in a VM (the fixture's scripts, a submodule). */
  readonly inVm?: boolean;
  /** Commit config/fixture-fetch-tails-archive (with `inVm`): the build then fails fetching Tails' own archive. */
  readonly fetchTailsArchive?: boolean;
}

export function createTailsCheckout(options: TailsCheckoutOptions = {}): TailsCheckout {
  const repo = createTempRepo();
  repo.git('checkout', '-q', '-b', 'stable');
  repo.write(tailsLayout(options.isoSerials));
  let submodule: TailsSubmodule | undefined;
  if (options.inVm === true) {
    for (const [path, mode] of Object.entries(TAILS_IN_VM_FILES)) {
      repo.write({ [path]: readFileSync(join(TAILS_FIXTURE_DIR, path), 'utf8') });
      chmodSync(join(repo.root, path), mode);
    }
    submodule = addFixtureSubmodule(repo);
  }
  if (options.fetchTailsArchive === true) repo.write({ [TAILS_FIXTURE_FETCH_TAILS_ARCHIVE]: 'build-tails fetches http://deb.tails.boum.org/dists/stable/InRelease when this file exists\n' });
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
    ...(submodule === undefined ? {} : { submodule }),
    remove() {
      repo.remove();
      rmSync(origin.root, { recursive: true, force: true });
      if (submodule !== undefined) rmSync(submodule.bare, { recursive: true, force: true });
    },
  };
}

/**
 * Adds submodules/fixture-tools to the checkout's index (not committed): a
 * repository of test/fixtures/tails/submodules/fixture-tools/ with one commit
 * at a fixed date, pushed to a local bare repository, added from there with a
 * real `git submodule add` (so its repository is .git/modules/submodules/fixture-tools),
 * then its .gitmodules URL replaced by one that never resolves.
 */
function addFixtureSubmodule(repo: TempRepo): TailsSubmodule {
  const source = createTempRepo();
  const bare = createTempRepo({ init: false });
  try {
    const dir = join(TAILS_FIXTURE_DIR, TAILS_FIXTURE_SUBMODULE);
    source.write(Object.fromEntries(SUBMODULE_FILES.map((file) => [file, readFileSync(join(dir, file), 'utf8')])));
    const commit = source.commit('fixture-tools 1.0', '2026-11-29T10:00:00Z');
    bare.git('init', '-q', '--bare', '-b', 'main');
    source.git('push', '-q', bare.root, 'main');
    repo.git('-c', 'protocol.file.allow=always', 'submodule', 'add', '-q', bare.root, TAILS_FIXTURE_SUBMODULE);
    repo.git('config', '-f', '.gitmodules', `submodule.${TAILS_FIXTURE_SUBMODULE}.url`, TAILS_FIXTURE_SUBMODULE_URL);
    return { path: TAILS_FIXTURE_SUBMODULE, commit, bare: bare.root };
  } catch (e) {
    bare.remove();
    throw e;
  } finally {
    source.remove();
  }
}

/**
 * Puts the checkout on a release tag, as a release build has it: an annotated
 * tag (fixed date) on the base branch's commit B (or `commit`), pushed to
 * origin, checked out as a detached HEAD. Returns the tagged commit.
 */
export function checkOutTag(t: TailsCheckout, tag = '6.10', commit: string = t.baseCommit): string {
  execFileSync('git', ['tag', '-a', '-m', `Tails ${tag}`, tag, commit], {
    cwd: t.root,
    env: { ...process.env, ...GIT_ENV, GIT_COMMITTER_DATE: '2026-12-03T12:00:00Z' },
  });
  t.repo.git('push', '-q', 'origin', `refs/tags/${tag}`);
  t.repo.git('-c', 'advice.detachedHead=false', 'checkout', '-q', '--detach', tag);
  return t.repo.git('rev-parse', 'HEAD');
}

export type TailsArtifactNaming =
  | { readonly tag: string }
  | { readonly branch: string; readonly baseBranch: string; readonly commit: string; readonly baseCommit: string };

/**
 * The name build-tails gives the artifacts (Tails' auto/config rule): on a
 * branch `tails-amd64-<branch, / → _>@<commit's first 10>[+<base, / → _>@<base
 * commit's first 10>]-<datetime>`, the + part there unless the branch is the
 * base branch, `commit` FEATURE_BRANCH_GIT_COMMIT when a merge was made, else
 * GIT_COMMIT, `datetime` `date -u +%Y%m%dT%H%MZ` at build time; on a tag
 * `tails-amd64-<tag, / → _, - → ~>` (no datetime).
 */
export function tailsArtifactBasename(naming: TailsArtifactNaming, datetime = ''): string {
  if ('tag' in naming) return `tails-amd64-${naming.tag.replaceAll('/', '_').replaceAll('-', '~')}`;
  const base = naming.branch === naming.baseBranch ? '' : `+${naming.baseBranch.replaceAll('/', '_')}@${naming.baseCommit.slice(0, 10)}`;
  return `tails-amd64-${naming.branch.replaceAll('/', '_')}@${naming.commit.slice(0, 10)}${base}-${datetime}`;
}

/** Matches the basename whatever the build's datetime (a branch build's only unknown). */
export function tailsArtifactPattern(naming: TailsArtifactNaming): RegExp {
  const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  if ('tag' in naming) return new RegExp(`^${escape(tailsArtifactBasename(naming))}$`);
  return new RegExp(`^${escape(tailsArtifactBasename(naming))}[0-9]{8}T[0-9]{4}Z$`);
}

/** tails-build-env.list as build-tails writes it: Tails' `APT_SNAPSHOTS_SERIALS = <json>` line, and every exported variable's `NAME=value` line (empty ones too), in order. */
export interface TailsBuildEnvList {
  readonly aptSnapshotsSerials: string;
  readonly variables: readonly (readonly [string, string])[];
}

export function parseTailsBuildEnvList(text: string): TailsBuildEnvList {
  let aptSnapshotsSerials: string | undefined;
  const variables: [string, string][] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const tails = /^APT_SNAPSHOTS_SERIALS = (.*)$/.exec(line);
    if (tails !== null) {
      aptSnapshotsSerials = tails[1] ?? '';
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`tails-build-env.list: not NAME=value: ${line}`);
    variables.push([line.slice(0, eq), line.slice(eq + 1)]);
  }
  if (aptSnapshotsSerials === undefined) throw new Error('tails-build-env.list has no "APT_SNAPSHOTS_SERIALS = " line');
  return { aptSnapshotsSerials, variables };
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

/**
 * Tails-shaped checkouts (and scratch dirs) that a test file makes, all
 * removed after its tests: call once at the file's top level.
 */
export function tailsCheckoutsForThisFile(): { checkout: (options?: TailsCheckoutOptions) => TailsCheckout; dirs: string[] } {
  const made: TailsCheckout[] = [];
  const dirs: string[] = [];
  after(() => {
    for (const t of made) t.remove();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  return {
    checkout: (options = {}) => {
      const t = createTailsCheckout(options);
      made.push(t);
      return t;
    },
    dirs,
  };
}
