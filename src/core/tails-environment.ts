/**
 * The environment a Tails build gets in its VM: the variables Tails' Rakefile
 * exports to build-tails (its EXPORTED_VARIABLES, in that order), with Tails'
 * names and values, computed from the resolved options, the host's
 * http_proxy, the git variables and the numeric ISO serials. A variable Tails
 * leaves unset is absent. Pure.
 */
import type { BuildOptions } from './build-options.js';
import type { TailsGitVariables } from './tails-git-state.js';

/** Every variable Tails exports into the VM, in its order (Rakefile EXPORTED_VARIABLES). */
export const TAILS_EXPORTED_VARIABLES = [
  'MKSQUASHFS_OPTIONS',
  'APT_SNAPSHOTS_SERIALS',
  'TAILS_ACNG_PROXY',
  'TAILS_BUILD_FAILURE_RESCUE',
  'TAILS_DATE_OFFSET',
  'TAILS_OFFLINE_MODE',
  'TAILS_PROXY',
  'TAILS_PROXY_TYPE',
  'TAILS_RAM_BUILD',
  'TAILS_WEBSITE_CACHE',
  'GIT_COMMIT',
  'GIT_REF',
  'BASE_BRANCH_GIT_COMMIT',
  'FEATURE_BRANCH_GIT_COMMIT',
] as const;
export type TailsVariable = (typeof TAILS_EXPORTED_VARIABLES)[number];

/** apt-cacher-ng in the VM, as build-tails reaches it. */
export const TAILS_VM_PROXY = 'http://127.0.0.1:3142';
/** What fastcomp (and its old name gzipcomp) hands mksquashfs. */
export const TAILS_FAST_MKSQUASHFS_OPTIONS = '-comp zstd -no-exports';

/**
 * A variable of the build's environment. `value` is null when it is only
 * known at run time (the merge commit, a "latest" serial): `atRun` says why.
 */
export type TailsEnvEntry =
  | { readonly name: TailsVariable; readonly value: string }
  | { readonly name: TailsVariable; readonly value: null; readonly atRun: string };

export interface TailsEnvironmentInput {
  readonly options: Pick<BuildOptions, 'compression' | 'rescue' | 'dateOffsetDays' | 'offline' | 'proxy' | 'ramBuild' | 'cacheWebsite'>;
  /** The host's http_proxy (extproxy, vmproxy+extproxy). */
  readonly httpProxy: string | undefined;
  readonly git: TailsGitVariables;
  /** The ISO set, every serial a number; undefined when some are "latest", resolved at run time. */
  readonly isoSerials: Readonly<Record<string, string>> | undefined;
}

export function computeTailsEnvironment(input: TailsEnvironmentInput): TailsEnvEntry[] {
  const o = input.options;
  const values: Partial<Record<TailsVariable, string | null>> = {};
  const atRun: Partial<Record<TailsVariable, string>> = {};
  const set = (name: TailsVariable, value: string | undefined): void => {
    if (value !== undefined) values[name] = value;
  };
  const later = (name: TailsVariable, why: string): void => {
    values[name] = null;
    atRun[name] = why;
  };

  // Release builds have compression "default" already (build-options.ts): fastcomp is ignored there.
  set('MKSQUASHFS_OPTIONS', o.compression === 'fast' ? TAILS_FAST_MKSQUASHFS_OPTIONS : undefined);
  if (input.isoSerials === undefined) later('APT_SNAPSHOTS_SERIALS', 'every ISO serial as a number: the "latest" ones are resolved on the host before the VM boots');
  else set('APT_SNAPSHOTS_SERIALS', formatSerialsJson(input.isoSerials));
  set('TAILS_ACNG_PROXY', o.proxy === 'vmproxy+extproxy' ? input.httpProxy : undefined);
  set('TAILS_BUILD_FAILURE_RESCUE', o.rescue ? '1' : undefined);
  set('TAILS_DATE_OFFSET', o.dateOffsetDays === 0 ? undefined : formatDateOffset(o.dateOffsetDays));
  set('TAILS_OFFLINE_MODE', o.offline ? '1' : undefined);
  set('TAILS_PROXY', o.proxy === 'extproxy' ? input.httpProxy : o.proxy === 'noproxy' ? undefined : TAILS_VM_PROXY);
  // Tails' type for vmproxy+extproxy is vmproxy: apt in the VM talks to apt-cacher-ng either way.
  set('TAILS_PROXY_TYPE', o.proxy === 'vmproxy+extproxy' ? 'vmproxy' : o.proxy);
  set('TAILS_RAM_BUILD', o.ramBuild ? '1' : undefined);
  set('TAILS_WEBSITE_CACHE', o.cacheWebsite ? '1' : '0');
  const g = input.git;
  if (g.GIT_COMMIT === undefined) later('GIT_COMMIT', 'the commit merging BASE_BRANCH_GIT_COMMIT into FEATURE_BRANCH_GIT_COMMIT, dated with the top debian/changelog entry, made when the build runs');
  else set('GIT_COMMIT', g.GIT_COMMIT);
  set('GIT_REF', g.GIT_REF);
  set('BASE_BRANCH_GIT_COMMIT', g.BASE_BRANCH_GIT_COMMIT);
  set('FEATURE_BRANCH_GIT_COMMIT', g.FEATURE_BRANCH_GIT_COMMIT);

  const entries: TailsEnvEntry[] = [];
  for (const name of TAILS_EXPORTED_VARIABLES) {
    const value = values[name];
    if (value === undefined) continue;
    entries.push(value === null ? { name, value, atRun: atRun[name] ?? '' } : { name, value });
  }
  return entries;
}

/** APT_SNAPSHOTS_SERIALS: one JSON object, archives sorted (as the sample recipe gets it). */
export function formatSerialsJson(serials: Readonly<Record<string, string>>): string {
  const sorted = Object.entries(serials).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify(Object.fromEntries(sorted));
}

/** Tails takes dateoffset=[+-]N as written, sign included: +3, -2. */
export function formatDateOffset(days: number): string {
  return days > 0 ? `+${String(days)}` : String(days);
}

/** `NAME=value` lines for people; a run-time value in angle brackets. */
export function formatTailsEnvironment(entries: readonly TailsEnvEntry[]): string[] {
  return entries.map((e) => (e.value === null ? `${e.name}=<${e.atRun}>` : `${e.name}=${e.value}`));
}
