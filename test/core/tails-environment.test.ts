import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveBuildOptions, splitOptionString, type OptionContext } from '../../src/core/build-options.js';
import { computeTailsEnvironment, formatTailsEnvironment, TAILS_EXPORTED_VARIABLES, type TailsEnvEntry } from '../../src/core/tails-environment.js';
import type { TailsGitVariables } from '../../src/core/tails-git-state.js';

const HEAD = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const BASE = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const SERIALS = { 'debian-security': '2026120301', debian: '2026120302', torproject: '2026120101', tails: '2026120101' };
const SERIALS_JSON = '{"debian":"2026120302","debian-security":"2026120301","tails":"2026120101","torproject":"2026120101"}';
const PROXY = 'http://proxy.example:3142';
const dev: OptionContext = { hostCpus: 4, releasing: false, httpProxy: PROXY, websiteCache: true, proxies: 'tails' };
const release: OptionContext = { ...dev, releasing: true };
const onBranch: TailsGitVariables = { GIT_COMMIT: HEAD, GIT_REF: 'feature/x', BASE_BRANCH_GIT_COMMIT: BASE, FEATURE_BRANCH_GIT_COMMIT: undefined };
const onTag: TailsGitVariables = { ...onBranch, GIT_REF: '6.10' };

/** The environment as NAME=value pairs, from TAILS_BUILD_OPTIONS words. */
function env(words: string, ctx = dev, git = onBranch, isoSerials: Record<string, string> | undefined = SERIALS): string[] {
  const { options } = resolveBuildOptions(splitOptionString(words), ctx);
  return formatTailsEnvironment(computeTailsEnvironment({ options, httpProxy: ctx.httpProxy, git, isoSerials }));
}

const GIT = ['GIT_COMMIT=' + HEAD, 'GIT_REF=feature/x', 'BASE_BRANCH_GIT_COMMIT=' + BASE];

describe('computeTailsEnvironment: what rake build exports into the VM', () => {
  const table: [string, string, OptionContext, TailsGitVariables, string[]][] = [
    ['the defaults on a branch: ram vmproxy fastcomp', '', dev, onBranch, [
      'MKSQUASHFS_OPTIONS=-comp zstd -no-exports', `APT_SNAPSHOTS_SERIALS=${SERIALS_JSON}`, 'TAILS_PROXY=http://127.0.0.1:3142', 'TAILS_PROXY_TYPE=vmproxy', 'TAILS_RAM_BUILD=1', 'TAILS_WEBSITE_CACHE=1', ...GIT,
    ]],
    ['the defaults on a tag: no fastcomp, no website cache', '', release, onTag, [
      `APT_SNAPSHOTS_SERIALS=${SERIALS_JSON}`, 'TAILS_PROXY=http://127.0.0.1:3142', 'TAILS_PROXY_TYPE=vmproxy', 'TAILS_RAM_BUILD=1', 'TAILS_WEBSITE_CACHE=0', 'GIT_COMMIT=' + HEAD, 'GIT_REF=6.10', 'BASE_BRANCH_GIT_COMMIT=' + BASE,
    ]],
    ['fastcomp, gzipcomp and cachewebsite are ignored on a tag', 'fastcomp gzipcomp cachewebsite=yes', release, onTag, [
      `APT_SNAPSHOTS_SERIALS=${SERIALS_JSON}`, 'TAILS_PROXY=http://127.0.0.1:3142', 'TAILS_PROXY_TYPE=vmproxy', 'TAILS_RAM_BUILD=1', 'TAILS_WEBSITE_CACHE=0', 'GIT_COMMIT=' + HEAD, 'GIT_REF=6.10', 'BASE_BRANCH_GIT_COMMIT=' + BASE,
    ]],
    ['noram offline defaultcomp dateoffset=+3 rescue nomergebasebranch', 'noram offline defaultcomp dateoffset=+3 rescue nomergebasebranch', dev, onBranch, [
      `APT_SNAPSHOTS_SERIALS=${SERIALS_JSON}`, 'TAILS_BUILD_FAILURE_RESCUE=1', 'TAILS_DATE_OFFSET=+3', 'TAILS_OFFLINE_MODE=1', 'TAILS_PROXY=http://127.0.0.1:3142', 'TAILS_PROXY_TYPE=vmproxy', 'TAILS_WEBSITE_CACHE=1', ...GIT,
    ]],
    ['extproxy: the host proxy, and no apt-cacher-ng', 'extproxy', dev, onBranch, [
      'MKSQUASHFS_OPTIONS=-comp zstd -no-exports', `APT_SNAPSHOTS_SERIALS=${SERIALS_JSON}`, `TAILS_PROXY=${PROXY}`, 'TAILS_PROXY_TYPE=extproxy', 'TAILS_RAM_BUILD=1', 'TAILS_WEBSITE_CACHE=1', ...GIT,
    ]],
    ['vmproxy+extproxy: apt-cacher-ng forwards to the host proxy; the type stays vmproxy', 'vmproxy+extproxy', dev, onBranch, [
      'MKSQUASHFS_OPTIONS=-comp zstd -no-exports', `APT_SNAPSHOTS_SERIALS=${SERIALS_JSON}`, `TAILS_ACNG_PROXY=${PROXY}`, 'TAILS_PROXY=http://127.0.0.1:3142', 'TAILS_PROXY_TYPE=vmproxy', 'TAILS_RAM_BUILD=1', 'TAILS_WEBSITE_CACHE=1', ...GIT,
    ]],
    ['noproxy: no TAILS_PROXY, type noproxy', 'noproxy', dev, onBranch, [
      'MKSQUASHFS_OPTIONS=-comp zstd -no-exports', `APT_SNAPSHOTS_SERIALS=${SERIALS_JSON}`, 'TAILS_PROXY_TYPE=noproxy', 'TAILS_RAM_BUILD=1', 'TAILS_WEBSITE_CACHE=1', ...GIT,
    ]],
    ['cachewebsite=no, dateoffset=-2, gzipcomp', 'cachewebsite=no dateoffset=-2 defaultcomp gzipcomp', dev, onBranch, [
      'MKSQUASHFS_OPTIONS=-comp zstd -no-exports', `APT_SNAPSHOTS_SERIALS=${SERIALS_JSON}`, 'TAILS_DATE_OFFSET=-2', 'TAILS_PROXY=http://127.0.0.1:3142', 'TAILS_PROXY_TYPE=vmproxy', 'TAILS_RAM_BUILD=1', 'TAILS_WEBSITE_CACHE=0', ...GIT,
    ]],
    ['host-side words change nothing in the VM', 'keeprunning forcecleanup ignorechanges cpus=2 memory=4096 machinetype=pc cpumodel=qemu64', dev, onBranch, [
      'MKSQUASHFS_OPTIONS=-comp zstd -no-exports', `APT_SNAPSHOTS_SERIALS=${SERIALS_JSON}`, 'TAILS_PROXY=http://127.0.0.1:3142', 'TAILS_PROXY_TYPE=vmproxy', 'TAILS_RAM_BUILD=1', 'TAILS_WEBSITE_CACHE=1', ...GIT,
    ]],
  ];
  for (const [name, words, ctx, git, expected] of table) {
    it(name, () => { assert.deepEqual(env(words, ctx, git), expected); });
  }

  it('after a base-branch merge: GIT_COMMIT is known at run time, FEATURE_BRANCH_GIT_COMMIT is HEAD', () => {
    const { options } = resolveBuildOptions([], dev);
    const entries = computeTailsEnvironment({ options, httpProxy: PROXY, git: { ...onBranch, GIT_COMMIT: undefined, FEATURE_BRANCH_GIT_COMMIT: HEAD }, isoSerials: SERIALS });
    const git = entries.filter((e) => e.name.includes('GIT'));
    assert.deepEqual(git.map((e) => [e.name, e.value]), [['GIT_COMMIT', null], ['GIT_REF', 'feature/x'], ['BASE_BRANCH_GIT_COMMIT', BASE], ['FEATURE_BRANCH_GIT_COMMIT', HEAD]]);
    assert.match((git[0] as Extract<TailsEnvEntry, { value: null }>).atRun, /merging BASE_BRANCH_GIT_COMMIT into FEATURE_BRANCH_GIT_COMMIT/);
  });

  it('"latest" serials not resolved yet: APT_SNAPSHOTS_SERIALS is known at run time', () => {
    const { options } = resolveBuildOptions([], dev);
    const lines = formatTailsEnvironment(computeTailsEnvironment({ options, httpProxy: PROXY, git: onBranch, isoSerials: undefined }));
    assert.match(lines[1] ?? '', /^APT_SNAPSHOTS_SERIALS=<every ISO serial as a number: the "latest" ones are resolved/);
  });

  it('lists variables in Tails\' EXPORTED_VARIABLES order, only Tails\' names, each once', () => {
    const { options } = resolveBuildOptions(splitOptionString('vmproxy+extproxy rescue offline dateoffset=+1'), dev);
    const names = computeTailsEnvironment({ options, httpProxy: PROXY, git: { ...onBranch, FEATURE_BRANCH_GIT_COMMIT: HEAD }, isoSerials: SERIALS }).map((e) => e.name);
    assert.deepEqual(names, [...TAILS_EXPORTED_VARIABLES]);
  });
});
