import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  computeVmMemoryMiB,
  resolveBuildOptions,
  splitOptionString,
  tokensFromFlags,
  type BuildFlags,
  type BuildOptions,
  type OptionContext,
} from '../../src/core/build-options.js';
import { UsageError } from '../../src/core/errors.js';

const dev: OptionContext = { hostCpus: 2, releasing: false, httpProxy: undefined, websiteCache: true };
const release: OptionContext = { hostCpus: 2, releasing: true, httpProxy: undefined, websiteCache: true };
/** A project whose recipe builds no website (the embedded sample). */
const sample: OptionContext = { ...dev, websiteCache: false };

function resolve(env: string, ctx = dev, flags: BuildFlags = {}): BuildOptions {
  return resolveBuildOptions([...splitOptionString(env), ...tokensFromFlags(flags)], ctx).options;
}

describe('resolveBuildOptions defaults', () => {
  it('matches Tails: ram, vmproxy, fastcomp off-tag, cpus = host CPUs, website cache on', () => {
    assert.deepEqual(resolve(''), {
      keepRunning: false,
      rescue: false,
      forceCleanup: false,
      ignoreChanges: false,
      offline: false,
      cpus: 2,
      memoryMiB: undefined,
      ramBuild: true,
      proxy: 'vmproxy',
      dateOffsetDays: 0,
      cacheWebsite: true,
      compression: 'fast',
      machineType: 'q35',
      cpuModel: undefined,
      noMergeBaseBranch: false,
    });
  });
  it('uses release compression and no website cache on a tag', () => {
    const o = resolve('', release);
    assert.equal(o.compression, 'default');
    assert.equal(o.cacheWebsite, false);
  });
});

describe('resolveBuildOptions words', () => {
  const table: [string, Partial<BuildOptions>][] = [
    ['keeprunning', { keepRunning: true, forceCleanup: false }],
    ['forcecleanup', { forceCleanup: true, keepRunning: false }],
    ['keeprunning forcecleanup', { forceCleanup: true, keepRunning: false }],
    ['forcecleanup keeprunning', { forceCleanup: false, keepRunning: true }],
    ['rescue', { rescue: true, keepRunning: true }],
    ['ignorechanges', { ignoreChanges: true }],
    ['offline', { offline: true }],
    ['cpus=8', { cpus: 8 }],
    ['cpus=4 cpus=6', { cpus: 6 }],
    ['memory=4096', { memoryMiB: 4096 }],
    ['noram', { ramBuild: false }],
    ['noram ram', { ramBuild: true }],
    ['dateoffset=-3', { dateOffsetDays: -3 }],
    ['dateoffset=+10', { dateOffsetDays: 10 }],
    ['cachewebsite=no', { cacheWebsite: false }],
    ['cachewebsite=no cachewebsite', { cacheWebsite: true }],
    ['defaultcomp', { compression: 'default' }],
    ['defaultcomp gzipcomp', { compression: 'fast' }],
    ['machinetype=pc-i440fx-7.2', { machineType: 'pc-i440fx-7.2' }],
    ['cpumodel=qemu64', { cpuModel: 'qemu64' }],
    ['nomergebasebranch', { noMergeBaseBranch: true }],
    ['  cpus=3\tkeeprunning  ', { cpus: 3, keepRunning: true }],
  ];
  for (const [env, expected] of table) {
    it(`"${env}"`, () => {
      const o = resolve(env);
      for (const [key, value] of Object.entries(expected)) assert.equal(o[key as keyof BuildOptions], value, key);
    });
  }
});

describe('resolveBuildOptions rejects', () => {
  const table: [string, RegExp][] = [
    ['bogus', /Unknown build option "bogus" in TAILS_BUILD_OPTIONS/],
    ['noproxy', /The noproxy proxy mode \(from TAILS_BUILD_OPTIONS\) does not apply to this project/],
    ['xcpus=4', /Unknown build option "xcpus=4"/],
    ['cpus=0', /Malformed build option "cpus=0" in TAILS_BUILD_OPTIONS: expected cpus=N/],
    ['cpus=four', /Malformed build option "cpus=four"/],
    ['cpus=', /Malformed build option "cpus="/],
    ['memory=12', /Malformed build option "memory=12"/],
    ['dateoffset=soon', /Malformed build option "dateoffset=soon"/],
    ['cachewebsite=maybe', /Malformed build option "cachewebsite=maybe"/],
    ['keeprunning=yes', /Malformed build option "keeprunning=yes".*takes no value/],
    ['machinetype=', /Malformed build option "machinetype="/],
    ['cpumodel=a;b', /Malformed build option "cpumodel=a;b"/],
  ];
  for (const [env, pattern] of table) {
    it(`"${env}"`, () => {
      assert.throws(() => resolve(env), (error: unknown) => error instanceof UsageError && pattern.test(error.message));
    });
  }
});

describe('flags', () => {
  it('win over TAILS_BUILD_OPTIONS', () => {
    const o = resolve('cpus=8 keeprunning noram', dev, { cpus: '3', forceCleanup: true, ram: true });
    assert.equal(o.cpus, 3);
    assert.equal(o.forceCleanup, true);
    assert.equal(o.keepRunning, false);
    assert.equal(o.ramBuild, true);
  });
  it('name the flag in errors', () => {
    assert.throws(() => resolve('', dev, { cpus: 'x' }), /Malformed build option "cpus=x" in --cpus/);
    assert.throws(() => resolve('', dev, { proxy: 'socks' }), /Malformed build option "socks" in --proxy/);
    assert.throws(() => resolve('', dev, { compression: 'xz' }), /Malformed build option "xz" in --compression/);
  });
  it('map --no-cache-website and --compression', () => {
    assert.equal(resolve('', dev, { cacheWebsite: false }).cacheWebsite, false);
    assert.equal(resolve('', dev, { compression: 'default' }).compression, 'default');
  });
});

describe('proxy modes', () => {
  it('extproxy and vmproxy+extproxy are refused, naming where they came from and why: the VM fetches from our own snapshot server', () => {
    assert.throws(() => resolve('extproxy'), /The extproxy proxy mode \(from TAILS_BUILD_OPTIONS\) does not apply .* own snapshot server/);
    assert.throws(() => resolve('', { ...dev, httpProxy: 'http://proxy.example:3142' }, { proxy: 'vmproxy+extproxy' }), /vmproxy\+extproxy proxy mode \(from --proxy\).*\(http_proxy=http:\/\/proxy.example:3142\)/);
  });
  it('vmproxy, the default, is accepted', () => {
    assert.equal(resolve('vmproxy').proxy, 'vmproxy');
    assert.equal(resolve('extproxy vmproxy').proxy, 'vmproxy');
  });
});

describe('proxy modes of a Tails checkout (its VM fetches from Tails\' servers, as rake build does)', () => {
  const tails: OptionContext = { ...dev, proxies: 'tails', httpProxy: 'http://proxy.example:3142' };
  const table: [string, OptionContext, string][] = [
    ['', tails, 'vmproxy'],
    ['extproxy', tails, 'extproxy'],
    ['vmproxy+extproxy', tails, 'vmproxy+extproxy'],
    ['noproxy', tails, 'noproxy'],
    ['noproxy vmproxy', tails, 'vmproxy'],
    ['vmproxy+extproxy', { ...tails, httpProxy: 'http://127.0.0.1:3142' }, 'vmproxy+extproxy'],
  ];
  for (const [env, ctx, expected] of table) {
    it(`"${env}" with http_proxy=${String(ctx.httpProxy)} → ${expected}`, () => {
      assert.equal(resolve(env, ctx).proxy, expected);
    });
  }
  const refused: [string, OptionContext, RegExp][] = [
    ['extproxy', { ...tails, httpProxy: undefined }, /The extproxy proxy mode \(from TAILS_BUILD_OPTIONS\) forwards to the host's HTTP proxy, but http_proxy is not set/],
    ['vmproxy+extproxy', { ...tails, httpProxy: '' }, /vmproxy\+extproxy .* http_proxy is not set/],
    ['extproxy', { ...tails, httpProxy: 'proxy.example' }, /http_proxy=proxy.example, which is not a URL with a host/],
    ['extproxy', { ...tails, httpProxy: 'http://127.0.0.1:3128' }, /listens on the host's loopback/],
    ['extproxy', { ...tails, httpProxy: 'http://localhost:3128' }, /listens on the host's loopback/],
    ['noproxy offline', tails, /offline builds from the caching proxy's packages, but the proxy mode is noproxy \(from TAILS_BUILD_OPTIONS\)/],
    ['offline noproxy', tails, /proxy mode is noproxy/],
  ];
  for (const [env, ctx, pattern] of refused) {
    it(`refuses "${env}" with http_proxy=${String(ctx.httpProxy)}`, () => {
      assert.throws(() => resolve(env, ctx), (error: unknown) => error instanceof UsageError && pattern.test(error.message));
    });
  }
  it('offline with a proxy is accepted', () => {
    assert.equal(resolve('offline', tails).offline, true);
    assert.equal(resolve('offline extproxy', tails).offline, true);
  });
  it('--proxy noproxy names the flag', () => {
    assert.throws(() => resolve('offline', tails, { proxy: 'noproxy' }), /proxy mode is noproxy \(from --proxy\)/);
    assert.throws(() => resolve('', dev, { proxy: 'noproxy' }), /noproxy proxy mode \(from --proxy\) does not apply/);
  });
});

describe('cachewebsite', () => {
  it('is off by default where the recipe builds no website, and refused when asked for', () => {
    assert.equal(resolve('', sample).cacheWebsite, false);
    assert.throws(() => resolve('cachewebsite', sample), /"cachewebsite" \(from TAILS_BUILD_OPTIONS\) does not apply: this project's recipe builds no website/);
    assert.throws(() => resolve('', sample, { cacheWebsite: 'yes' }), /from --cache-website/);
    assert.equal(resolve('cachewebsite=no', sample).cacheWebsite, false);
  });
});

describe('release builds', () => {
  it('warn when fastcomp or cachewebsite are asked for', () => {
    const r = resolveBuildOptions(splitOptionString('fastcomp cachewebsite'), release);
    assert.equal(r.options.compression, 'default');
    assert.equal(r.options.cacheWebsite, false);
    assert.equal(r.warnings.length, 2);
  });
  it('warn for cachewebsite=no and gzipcomp too (Tails warns for any cachewebsite or fast compression word)', () => {
    const r = resolveBuildOptions(splitOptionString('gzipcomp cachewebsite=no'), release);
    assert.equal(r.options.compression, 'default');
    assert.equal(r.options.cacheWebsite, false);
    assert.equal(r.warnings.length, 2);
  });
  it('do not warn for defaults', () => {
    assert.deepEqual(resolveBuildOptions([], release).warnings, []);
  });
});

describe('computeVmMemoryMiB', () => {
  const table: [Parameters<typeof computeVmMemoryMiB>[0], number, number][] = [
    [{ cpus: 2, ramBuild: false, memoryMiB: undefined }, 13312, 1895],
    [{ cpus: 2, ramBuild: true, memoryMiB: undefined }, 13312, 1895 + 13312],
    [{ cpus: 16, ramBuild: true, memoryMiB: undefined }, 13312, 1895 + 480 + 13312],
    [{ cpus: 16, ramBuild: true, memoryMiB: 20000 }, 13312, 20000],
  ];
  for (const [options, space, expected] of table) {
    it(`${JSON.stringify(options)} → ${expected}`, () => {
      assert.equal(computeVmMemoryMiB(options, space), expected);
    });
  }
});
