/**
 * Build options: Tails' TAILS_BUILD_OPTIONS vocabulary and our equivalent
 * flags, parsed once into one typed value. Defaults come first, then the env
 * var, then flags; the last word wins, so flags win over the env var.
 * Patterns are anchored (Tails' were not: "xcpus=4" used to match).
 */
import { messages } from './messages/index.js';
import { isLoopbackUrl } from './project.js';

/** Tails' proxy modes: apt-cacher-ng in the VM, the host's http_proxy, both chained, or none. */
export type ProxyMode = 'vmproxy' | 'extproxy' | 'vmproxy+extproxy' | 'noproxy';
export type Compression = 'fast' | 'default';

export interface BuildOptions {
  /** Keep the VM after the build and reuse it for the next build of the same ref. */
  readonly keepRunning: boolean;
  /** Keep a failed VM and its build dir for inspection (implies keepRunning). */
  readonly rescue: boolean;
  /** Destroy any existing builder VM before the build, and always after. */
  readonly forceCleanup: boolean;
  /** Build although the tree has uncommitted changes (they are not built: the VM clones HEAD). */
  readonly ignoreChanges: boolean;
  /** offline: apt-cacher-ng in offline mode (the build runs from the cache) and no security upgrade of the builder; the VM keeps its network. */
  readonly offline: boolean;
  readonly cpus: number;
  /** VM memory in MiB; undefined means computed from cpus and ramBuild. */
  readonly memoryMiB: number | undefined;
  /** Build in a tmpfs (needs much more VM memory). */
  readonly ramBuild: boolean;
  readonly proxy: ProxyMode;
  /** Days the VM clock is set off (reproducibility testing). */
  readonly dateOffsetDays: number;
  readonly cacheWebsite: boolean;
  readonly compression: Compression;
  readonly machineType: string;
  /** A QEMU CPU model (libvirt cpu_mode custom); undefined means host-passthrough on KVM, maximum on TCG. */
  readonly cpuModel: string | undefined;
  /** Tails' nomergebasebranch; we never merge in the host tree, recorded for compatibility. */
  readonly noMergeBaseBranch: boolean;
}

export interface OptionToken {
  readonly text: string;
  /** Where the word came from, for messages: "TAILS_BUILD_OPTIONS", "--cpus", "default". */
  readonly source: string;
}

export interface OptionContext {
  readonly hostCpus: number;
  /** HEAD is exactly a tag: release builds force release compression and no website cache. */
  readonly releasing: boolean;
  /** The host's http_proxy (extproxy modes would forward to it). */
  readonly httpProxy: string | undefined;
  /** The project's recipe has a website build cache (a Tails checkout); else cachewebsite does not apply. */
  readonly websiteCache: boolean;
  /**
   * Which proxy modes apply. "vm" (the default): only vmproxy, since the VM
   * fetches from tails-build's own snapshot server. "tails": a Tails checkout,
   * whose VM fetches from Tails' servers, so every Tails mode applies, with
   * Tails' checks (http_proxy set for the ext modes; offline needs a proxy).
   */
  readonly proxies?: 'vm' | 'tails';
}

export interface ResolvedOptions {
  readonly options: BuildOptions;
  readonly warnings: readonly string[];
  /** Every word applied, defaults first, in order. */
  readonly applied: readonly OptionToken[];
}

export const ENV_SOURCE = 'TAILS_BUILD_OPTIONS';

export function splitOptionString(value: string | undefined, source = ENV_SOURCE): OptionToken[] {
  if (value === undefined) return [];
  return value
    .split(/\s+/)
    .filter((word) => word !== '')
    .map((text) => ({ text, source }));
}

/** Flags as commander hands them over (strings unparsed, so errors name the flag). */
export interface BuildFlags {
  readonly keepRunning?: boolean;
  readonly rescue?: boolean;
  readonly forceCleanup?: boolean;
  readonly ignoreChanges?: boolean;
  readonly offline?: boolean;
  readonly cpus?: string;
  readonly memory?: string;
  readonly ram?: boolean;
  readonly proxy?: string;
  readonly dateOffset?: string;
  readonly cacheWebsite?: string | boolean;
  readonly compression?: string;
  readonly machineType?: string;
  readonly cpuModel?: string;
}

/** Turns flags into option words, so both go through one parser. */
export function tokensFromFlags(flags: BuildFlags): OptionToken[] {
  const out: OptionToken[] = [];
  const add = (text: string, source: string): void => {
    out.push({ text, source });
  };
  if (flags.keepRunning === true) add('keeprunning', '--keep-running');
  if (flags.rescue === true) add('rescue', '--rescue');
  if (flags.forceCleanup === true) add('forcecleanup', '--force-cleanup');
  if (flags.ignoreChanges === true) add('ignorechanges', '--ignore-changes');
  if (flags.offline === true) add('offline', '--offline');
  if (flags.cpus !== undefined) add(`cpus=${flags.cpus}`, '--cpus');
  if (flags.memory !== undefined) add(`memory=${flags.memory}`, '--memory');
  if (flags.ram !== undefined) add(flags.ram ? 'ram' : 'noram', flags.ram ? '--ram' : '--no-ram');
  if (flags.proxy !== undefined) {
    if (!isProxyMode(flags.proxy)) throw messages.options.malformed(flags.proxy, '--proxy', 'expected vmproxy, extproxy, vmproxy+extproxy or noproxy');
    add(flags.proxy, '--proxy');
  }
  if (flags.dateOffset !== undefined) add(`dateoffset=${flags.dateOffset}`, '--date-offset');
  if (flags.cacheWebsite !== undefined) {
    const value = flags.cacheWebsite === true ? 'yes' : flags.cacheWebsite === false ? 'no' : flags.cacheWebsite;
    add(`cachewebsite=${value}`, flags.cacheWebsite === false ? '--no-cache-website' : '--cache-website');
  }
  if (flags.compression !== undefined) {
    if (flags.compression === 'fast') add('fastcomp', '--compression');
    else if (flags.compression === 'default') add('defaultcomp', '--compression');
    else throw messages.options.malformed(flags.compression, '--compression', 'expected fast or default');
  }
  if (flags.machineType !== undefined) add(`machinetype=${flags.machineType}`, '--machine-type');
  if (flags.cpuModel !== undefined) add(`cpumodel=${flags.cpuModel}`, '--cpu-model');
  return out;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const MACHINE_TYPE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const CPU_MODEL = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

export function resolveBuildOptions(user: readonly OptionToken[], ctx: OptionContext): ResolvedOptions {
  const defaults: OptionToken[] = [
    { text: 'ram', source: 'default' },
    { text: 'vmproxy', source: 'default' },
    ...(ctx.releasing ? [] : [{ text: 'fastcomp', source: 'default (not a release build)' }]),
    { text: `cpus=${Math.max(1, ctx.hostCpus)}`, source: 'default (host CPUs)' },
  ];
  const o: Mutable<BuildOptions> = {
    keepRunning: false,
    rescue: false,
    forceCleanup: false,
    ignoreChanges: false,
    offline: false,
    cpus: 1,
    memoryMiB: undefined,
    ramBuild: false,
    proxy: 'vmproxy',
    dateOffsetDays: 0,
    cacheWebsite: !ctx.releasing && ctx.websiteCache,
    compression: 'default',
    machineType: 'q35',
    cpuModel: undefined,
    noMergeBaseBranch: false,
  };
  const warnings: string[] = [];
  let askedFastcomp = false;
  let askedWebsiteCache = false;
  const applied = [...defaults, ...user];
  for (const token of applied) {
    const { text, source } = token;
    const [key, value] = splitKeyValue(text);
    switch (key) {
      case 'keeprunning':
        noValue(token, value);
        o.keepRunning = true;
        o.forceCleanup = false;
        break;
      case 'forcecleanup':
        noValue(token, value);
        o.forceCleanup = true;
        o.keepRunning = false;
        o.rescue = false;
        break;
      case 'rescue':
        noValue(token, value);
        o.rescue = true;
        o.keepRunning = true;
        o.forceCleanup = false;
        break;
      case 'ignorechanges':
        noValue(token, value);
        o.ignoreChanges = true;
        break;
      case 'offline':
        noValue(token, value);
        o.offline = true;
        break;
      case 'nomergebasebranch':
        noValue(token, value);
        o.noMergeBaseBranch = true;
        break;
      case 'ram':
      case 'noram':
        noValue(token, value);
        o.ramBuild = key === 'ram';
        break;
      case 'vmproxy':
      case 'extproxy':
      case 'vmproxy+extproxy':
      case 'noproxy':
        noValue(token, value);
        o.proxy = key;
        break;
      case 'fastcomp':
      case 'gzipcomp':
        noValue(token, value);
        o.compression = 'fast';
        if (!source.startsWith('default')) askedFastcomp = true;
        break;
      case 'defaultcomp':
        noValue(token, value);
        o.compression = 'default';
        askedFastcomp = false;
        break;
      case 'cpus':
        o.cpus = integer(token, value, /^[1-9]\d{0,3}$/, 'cpus=N with N a whole number of CPUs from 1');
        break;
      case 'memory':
        o.memoryMiB = integer(token, value, /^[1-9]\d{2,7}$/, 'memory=N with N the VM memory in MiB (at least 100)');
        break;
      case 'dateoffset':
        o.dateOffsetDays = integer(token, value, /^[+-]?\d{1,5}$/, 'dateoffset=[+-]N with N a number of days');
        break;
      case 'cachewebsite':
        // Tails warns for any cachewebsite word on a release build, =no included.
        if (ctx.releasing && !source.startsWith('default')) askedWebsiteCache = true;
        if (value === undefined || value === 'yes') {
          if (!ctx.websiteCache) throw messages.options.noWebsite(text, source);
          o.cacheWebsite = true;
          askedWebsiteCache = true;
        } else if (value === 'no') {
          o.cacheWebsite = false;
        } else throw messages.options.malformed(text, source, 'expected cachewebsite, cachewebsite=yes or cachewebsite=no');
        break;
      case 'machinetype':
        o.machineType = word(token, value, MACHINE_TYPE, 'machinetype=TYPE, e.g. machinetype=q35');
        break;
      case 'cpumodel':
        o.cpuModel = word(token, value, CPU_MODEL, 'cpumodel=MODEL, e.g. cpumodel=qemu64');
        break;
      default:
        throw messages.options.unknown(text, source);
    }
  }
  if (ctx.releasing) {
    if (o.compression === 'fast' && askedFastcomp) {
      warnings.push('fastcomp is ignored when building a release (HEAD is a tag): release compression is used.');
    }
    o.compression = 'default';
    if (askedWebsiteCache) {
      warnings.push('cachewebsite is ignored when building a release (HEAD is a tag): the website is built from scratch.');
    }
    o.cacheWebsite = false;
  }
  const proxySource = [...applied].reverse().find((t) => t.text === o.proxy)?.source ?? ENV_SOURCE;
  if (ctx.proxies === 'tails') verifyTailsProxy(o, proxySource, ctx.httpProxy);
  else if (o.proxy !== 'vmproxy') {
    // The VM fetches every package from tails-build's own snapshot server, at an
    // address only the VM's network knows: a proxy outside the VM cannot reach it.
    throw messages.options.extproxyDoesNotApply(o.proxy, proxySource, ctx.httpProxy);
  }
  return { options: o, warnings, applied };
}

/**
 * Tails' proxy checks (Rakefile parse_build_options and validate_http_proxy):
 * the ext modes need the host's http_proxy, which for extproxy the VM must
 * reach (not the host's loopback); offline builds from a cache, so a proxy.
 */
function verifyTailsProxy(o: BuildOptions, source: string, httpProxy: string | undefined): void {
  const needsHttpProxy = o.proxy === 'extproxy' || o.proxy === 'vmproxy+extproxy';
  if (needsHttpProxy && (httpProxy === undefined || httpProxy === '')) throw messages.options.noHttpProxy(o.proxy, source);
  if (needsHttpProxy && httpProxy !== undefined && !/^[a-z][a-z0-9+.-]*:\/\/[^/:]+/i.test(httpProxy)) throw messages.options.badHttpProxy(o.proxy, source, httpProxy);
  if (o.proxy === 'extproxy' && httpProxy !== undefined && isLoopbackUrl(httpProxy)) throw messages.options.loopbackHttpProxy(source, httpProxy);
  if (o.offline && o.proxy === 'noproxy') throw messages.options.offlineWithoutProxy(source);
}

/**
 * VM memory in MiB when `memory=` is not given (Tails 6.16's formula): a base
 * that grows with CPUs beyond 12, plus the build space when building in RAM.
 */
export function computeVmMemoryMiB(options: Pick<BuildOptions, 'cpus' | 'ramBuild' | 'memoryMiB'>, buildSpaceMiB: number): number {
  if (options.memoryMiB !== undefined) return options.memoryMiB;
  const base = Math.ceil(1.85 * 1024) + (options.cpus > 12 ? (options.cpus - 12) * 120 : 0);
  return options.ramBuild ? base + buildSpaceMiB : base;
}

function isProxyMode(value: string): value is ProxyMode {
  return value === 'vmproxy' || value === 'extproxy' || value === 'vmproxy+extproxy' || value === 'noproxy';
}

function splitKeyValue(text: string): [string, string | undefined] {
  const eq = text.indexOf('=');
  return eq === -1 ? [text, undefined] : [text.slice(0, eq), text.slice(eq + 1)];
}

function noValue(token: OptionToken, value: string | undefined): void {
  if (value !== undefined) throw messages.options.malformed(token.text, token.source, 'this option takes no value');
}

function integer(token: OptionToken, value: string | undefined, pattern: RegExp, expected: string): number {
  if (value === undefined || !pattern.test(value)) throw messages.options.malformed(token.text, token.source, `expected ${expected}`);
  return Number.parseInt(value, 10);
}

function word(token: OptionToken, value: string | undefined, pattern: RegExp, expected: string): string {
  if (value === undefined || !pattern.test(value)) throw messages.options.malformed(token.text, token.source, `expected ${expected}`);
  return value;
}
