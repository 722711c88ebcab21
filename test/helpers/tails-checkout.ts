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
import { rmSync } from 'node:fs';
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
