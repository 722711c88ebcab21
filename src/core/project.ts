/**
 * The project model: where a checkout keeps its box definition and its two
 * sets of snapshot serials, and where its snapshots are served from. Pure:
 * the facts are observed by app/ and passed in.
 */
import { CONFIG_FILE, configError, parseConfigFile } from './project-config.js';

export type SnapshotLayout = 'tails' | 'debian';
export type SerialSetName = 'builder' | 'iso';
export const SERIAL_SET_NAMES: readonly SerialSetName[] = ['builder', 'iso'];

/** Where `snapshots mirror` takes a new serial of an archive from. */
export interface MirrorSource {
  /** Upstream Debian mirror URL ending in "/", e.g. http://deb.debian.org/debian/. */
  readonly upstream: string;
  readonly suites: readonly string[];
  readonly components: readonly string[];
  readonly architectures: readonly string[];
}

/** Per-archive settings of tails-build.json (`snapshots.archives.NAME`). */
export interface ArchiveSettings {
  readonly baseUrl?: string;
  readonly layout?: SnapshotLayout;
  readonly suite?: string;
  readonly upstream?: string;
  readonly suites?: readonly string[];
  readonly components?: readonly string[];
}

export interface ArchiveOrigin {
  /** Base URL ending in "/": `<base>/<archive>/<serial>/` (tails) or `<base>/archive/<archive>/<ts>/` (debian). */
  readonly baseUrl: string;
  readonly layout: SnapshotLayout;
  /** The suite whose Release file proves a snapshot exists, e.g. "bookworm" or "bookworm-security". */
  readonly suite: string;
}

export interface ProjectConfig {
  /** Absolute path of the project checkout (its git toplevel). */
  readonly root: string;
  /** Which layout was recognised: this tool's own, or a Tails checkout. */
  readonly kind: 'tails-build' | 'tails';
  /** The config file that was read, relative to root, if any. */
  readonly configFile: string | undefined;
  /** Box definition dir, relative to root: any commit touching it names a new box. */
  readonly boxDefinitionDir: string;
  readonly boxNamePrefix: string;
  readonly arch: string;
  readonly codename: string;
  /** Serial dirs (`<dir>/<archive>/serial`), relative to root. */
  readonly serialDirs: Readonly<Record<SerialSetName, string>>;
  readonly snapshots: {
    readonly baseUrl: string;
    readonly layout: SnapshotLayout;
    /** The base URL a build VM uses for the same snapshots (the host's loopback is not the VM's). */
    readonly guestBaseUrl: string;
    readonly archives: Readonly<Record<string, ArchiveSettings>>;
  };
  /**
   * What the build VM runs (bash, in a fresh clone at the commit, ARTIFACTS_DIR
   * set); undefined for a Tails checkout, whose in-VM build is not supported yet.
   */
  readonly buildCommand: string | undefined;
}

/** The project with every loopback snapshot base URL (the default one, and any archive's own) replaced by `to`. */
export function withLoopbackSnapshotsAt(config: ProjectConfig, to: string): ProjectConfig {
  const move = (url: string | undefined): string | undefined => (url !== undefined && isLoopbackUrl(url) ? withSlash(to) : url);
  const archives = Object.fromEntries(Object.entries(config.snapshots.archives).map(([name, own]) => {
    const moved = move(own.baseUrl);
    return [name, moved === undefined ? own : { ...own, baseUrl: moved }];
  }));
  return { ...config, snapshots: { ...config.snapshots, baseUrl: move(config.snapshots.baseUrl) ?? config.snapshots.baseUrl, archives } };
}

/** The sample live ISO's build, run in the VM from the clone's root. */
export const DEFAULT_BUILD_SCRIPT = 'definitions/iso/build.sh';
export const DEFAULT_BUILD_COMMAND = `bash ${DEFAULT_BUILD_SCRIPT}`;

export { CONFIG_FILE };

/** Where `tails-build snapshots serve` listens by default (issue: local time-based snapshots). */
export const DEFAULT_SNAPSHOT_BASE_URL = 'http://127.0.0.1:8470/';
/** How a build VM reaches the local snapshot server: a name provisioning maps to the host. */
export const GUEST_SNAPSHOT_BASE_URL = 'http://snapshots.tails-build.internal:8470/';
export const TAILS_SNAPSHOT_BASE_URL = 'http://time-based.snapshots.deb.tails.boum.org/';

/** Tails' layout, as found in amnesia.git. */
export const TAILS_BOX_DEFINITION_DIR = 'vagrant/definitions/tails-builder';
export const TAILS_SETTINGS_FILE = 'vagrant/lib/tails_build_settings.rb';

export interface ObservedProject {
  readonly root: string;
  /** Whether `vagrant/definitions/tails-builder` is a directory. */
  readonly hasTailsBoxDefinition: boolean;
  /** Text of vagrant/lib/tails_build_settings.rb, if present. */
  readonly tailsSettings: string | undefined;
  /** Text of tails-build.json, if present. */
  readonly configText: string | undefined;
}

const OUR_DEFAULTS = {
  boxDefinitionDir: 'definitions/builder',
  builderSerialsDir: 'definitions/builder/APT_snapshots.d',
  isoSerialsDir: 'definitions/iso/APT_snapshots.d',
  arch: 'amd64',
  codename: 'bookworm',
  baseUrl: DEFAULT_SNAPSHOT_BASE_URL,
};


/** Resolves the project configuration: config file > recognised layout > defaults. */
export function resolveProjectConfig(observed: ObservedProject): ProjectConfig {
  const file = observed.configText === undefined ? {} : parseConfigFile(observed.configText);
  const tails = observed.hasTailsBoxDefinition;
  const settings = observed.tailsSettings === undefined ? {} : parseTailsSettings(observed.tailsSettings);

  const boxDefinitionDir = normaliseDir(
    str(file, 'boxDefinitionDir') ?? (tails ? TAILS_BOX_DEFINITION_DIR : OUR_DEFAULTS.boxDefinitionDir),
    'boxDefinitionDir',
  );
  const builderDefault = tails ? `${TAILS_BOX_DEFINITION_DIR}/config/APT_snapshots.d` : OUR_DEFAULTS.builderSerialsDir;
  const isoDefault = tails ? 'config/APT_snapshots.d' : OUR_DEFAULTS.isoSerialsDir;
  const snap = (file.snapshots ?? {}) as Record<string, unknown>;
  const layout = (snap.layout as SnapshotLayout | undefined) ?? 'tails';

  const baseUrl = withSlash((snap.baseUrl as string | undefined) ?? (tails ? TAILS_SNAPSHOT_BASE_URL : OUR_DEFAULTS.baseUrl));
  // A Tails checkout on a local store keeps Tails' URLs in the VM (they end up in its .apt-sources): the VM resolves Tails' host to the tool's server.
  const guestBaseUrl = withSlash((snap.guestBaseUrl as string | undefined) ?? (isLoopbackUrl(baseUrl) ? (tails ? TAILS_SNAPSHOT_BASE_URL : GUEST_SNAPSHOT_BASE_URL) : baseUrl));
  return {
    root: observed.root,
    kind: tails ? 'tails' : 'tails-build',
    configFile: observed.configText === undefined ? undefined : CONFIG_FILE,
    boxDefinitionDir,
    boxNamePrefix: str(file, 'boxNamePrefix') ?? 'tails-builder',
    arch: str(file, 'arch') ?? settings.arch ?? OUR_DEFAULTS.arch,
    codename: str(file, 'codename') ?? settings.codename ?? OUR_DEFAULTS.codename,
    serialDirs: {
      builder: normaliseDir(str(file, 'builderSerialsDir') ?? builderDefault, 'builderSerialsDir'),
      iso: normaliseDir(str(file, 'isoSerialsDir') ?? isoDefault, 'isoSerialsDir'),
    },
    snapshots: {
      baseUrl,
      guestBaseUrl,
      layout,
      archives: (snap.archives ?? {}) as Record<string, ArchiveSettings>,
    },
    buildCommand: str(file, 'buildCommand') ?? (tails ? undefined : DEFAULT_BUILD_COMMAND),
  };
}

/**
 * Where snapshots of `archive` come from. `baseUrlOverride` (`--base-url`)
 * replaces the base URL of every archive for one run.
 */
export function resolveArchiveOrigin(config: ProjectConfig, archive: string, baseUrlOverride?: string): ArchiveOrigin {
  const own = config.snapshots.archives[archive] ?? {};
  const suite = own.suite ?? own.suites?.[0] ?? (archive === 'debian-security' ? `${config.codename}-security` : config.codename);
  return {
    baseUrl: withSlash(baseUrlOverride ?? own.baseUrl ?? config.snapshots.baseUrl),
    layout: own.layout ?? config.snapshots.layout,
    suite,
  };
}

/** Known upstreams for the archives every Debian-based project has. */
const DEFAULT_UPSTREAMS: Readonly<Record<string, string>> = {
  debian: 'http://deb.debian.org/debian/',
  'debian-security': 'http://deb.debian.org/debian-security/',
};

/**
 * What `snapshots mirror` captures for `archive`: config > `hostUpstream`
 * (the mirror the host's apt uses for it, observed by app/) > deb.debian.org.
 * Undefined when no upstream is known (an archive only the project knows).
 */
export function resolveMirrorSource(config: ProjectConfig, archive: string, hostUpstream?: string): MirrorSource | undefined {
  const own = config.snapshots.archives[archive] ?? {};
  const upstream = own.upstream ?? hostUpstream ?? DEFAULT_UPSTREAMS[archive];
  if (upstream === undefined) return undefined;
  const defaultSuites = archive === 'debian-security' ? [`${config.codename}-security`] : archive === 'debian' ? [config.codename, `${config.codename}-updates`] : [config.codename];
  return {
    upstream: withSlash(upstream),
    suites: own.suites ?? defaultSuites,
    components: own.components ?? ['main'],
    architectures: [config.arch],
  };
}

/** The base URL a build VM uses for `archive` (guestBaseUrl unless the archive has its own remote base). */
export function resolveGuestBaseUrl(config: ProjectConfig, archive: string): string {
  const own = config.snapshots.archives[archive]?.baseUrl;
  return own !== undefined && !isLoopbackUrl(own) ? withSlash(own) : config.snapshots.guestBaseUrl;
}

export function isLoopbackUrl(url: string): boolean {
  const host = /^[a-z]+:\/\/(?:[^@/]*@)?(\[[^\]]+\]|[^:/]+)/i.exec(url)?.[1]?.toLowerCase();
  return host === 'localhost' || host === '[::1]' || (host?.startsWith('127.') ?? false);
}

/** Reads ARCHITECTURE and DISTRIBUTION from Tails' vagrant/lib/tails_build_settings.rb. */
export function parseTailsSettings(text: string): { arch?: string; codename?: string } {
  const arch = /^\s*ARCHITECTURE\s*=\s*['"]([^'"]+)['"]/m.exec(text)?.[1];
  const codename = /^\s*DISTRIBUTION\s*=\s*['"]([^'"]+)['"]/m.exec(text)?.[1];
  return { ...(arch === undefined ? {} : { arch }), ...(codename === undefined ? {} : { codename }) };
}

function str(obj: Record<string, unknown>, key: string): string | undefined {
  const value = obj[key];
  return typeof value === 'string' ? value : undefined;
}

function normaliseDir(dir: string, key: string): string {
  const clean = dir.replace(/\/+$/, '').replace(/^\.\//, '');
  if (clean === '' || clean.startsWith('/') || clean.split('/').includes('..')) {
    throw configError(`"${key}" must be a path inside the project, got "${dir}"`);
  }
  return clean;
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}
