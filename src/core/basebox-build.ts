/**
 * Pure planning of the builder box's root tree: which packages, which frozen
 * snapshots, and the mmdebstrap command that makes a bit-for-bit reproducible
 * tarball of it.
 */
import { command, shellQuote, type Command } from './command.js';
import { UserError } from './errors.js';

export const DEBIAN_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';
/** The hostname of every builder VM. */
export const BUILDER_HOSTNAME = 'tails-builder';

/** One archive at one frozen serial, as a URL apt can use. */
export interface SnapshotSource {
  readonly archive: string;
  readonly serial: string;
  /** `<base><archive>/<serial>/`, ending in "/". */
  readonly url: string;
  readonly suites: readonly string[];
  readonly components: readonly string[];
  /** The keyring apt verifies this snapshot's signatures with, where apt reads it (default: Debian's archive keyring). */
  readonly keyring?: string;
}

const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;

/** The definition dir's `packages` file: one name a line, `#` comments. */
export function parsePackageList(text: string, file: string): string[] {
  const names = new Set<string>();
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    if (!PACKAGE_NAME.test(line)) {
      throw new UserError('bad-package-list', `${file}:${index + 1} holds "${line}", which is not a Debian package name.`, {
        hint: `Fix ${file}: one package name per line, "#" starts a comment.`,
      });
    }
    names.add(line);
  }
  if (names.size === 0) {
    throw new UserError('bad-package-list', `${file} names no package.`, { hint: `List the builder's packages in ${file}, one per line.` });
  }
  return [...names].sort();
}

/** apt sources in deb822, one stanza per archive; signatures always checked. */
export function planAptSources(sources: readonly SnapshotSource[], keyring = DEBIAN_KEYRING): string {
  return sources
    .map((s) =>
      [
        'Types: deb',
        `URIs: ${s.url}`,
        `Suites: ${s.suites.join(' ')}`,
        `Components: ${s.components.join(' ')}`,
        `Signed-By: ${s.keyring ?? keyring}`,
        'Check-Valid-Until: no',
        '',
      ].join('\n'),
    )
    .join('\n');
}

/** One-line sources for mmdebstrap's command line. */
export function planMmdebstrapMirrors(sources: readonly SnapshotSource[], keyring = DEBIAN_KEYRING): string[] {
  return sources.flatMap((s) => s.suites.map((suite) => `deb [signed-by=${s.keyring ?? keyring} check-valid-until=no] ${s.url} ${suite} ${s.components.join(' ')}`));
}

export interface MmdebstrapPlan {
  readonly codename: string;
  readonly arch: string;
  readonly packages: readonly string[];
  /** Where the host fetches from (possibly a loopback server). */
  readonly sources: readonly SnapshotSource[];
  readonly output: string;
  /** `<definition dir>/customize.sh`, when the definition has one. */
  readonly customizeHook: string | undefined;
  /** Host files copied into the tree before the customize hook runs (mmdebstrap's `upload` hook), e.g. a snapshot keyring. */
  readonly uploads?: readonly { readonly from: string; readonly to: string }[];
  readonly sourceDateEpoch: number;
  /** Environment the customize hook reads (TB_*). */
  readonly hookEnv: Readonly<Record<string, string>>;
}

/**
 * mmdebstrap as root into a tarball. Valid-Until is not checked (frozen
 * snapshots expire) but signatures always are: no source is ever marked trusted.
 */
export function planMmdebstrap(plan: MmdebstrapPlan): Command {
  const args = [
    '--mode=root',
    '--variant=minbase',
    '--format=tar',
    `--architectures=${plan.arch}`,
    `--include=${plan.packages.join(',')}`,
    '--aptopt=Acquire::Check-Valid-Until "false"',
    '--aptopt=Acquire::Languages "none"',
    '--aptopt=Acquire::Retries "3"',
  ];
  for (const upload of plan.uploads ?? []) args.push(`--customize-hook=upload ${shellQuote(upload.from)} ${shellQuote(upload.to)}`);
  if (plan.customizeHook !== undefined) args.push(`--customize-hook=${shellQuote(plan.customizeHook)} "$1"`);
  args.push(plan.codename, plan.output, ...planMmdebstrapMirrors(plan.sources));
  return command('mmdebstrap', args, {
    effect: 'write',
    env: {
      SOURCE_DATE_EPOCH: String(plan.sourceDateEpoch),
      // mmdebstrap must reach the snapshot itself, not through a host proxy.
      http_proxy: '',
      https_proxy: '',
      ...plan.hookEnv,
    },
  });
}
