/**
 * Host prerequisites, as data (STYLE rules 1, 2, 5): each check names its
 * probe commands and how to judge what they returned. `planDoctorChecks`
 * builds the list from a table, one row a check; `judgeCheck` turns probe results into a verdict. Running the
 * probes is app/doctor.ts's job.
 */
import { command, formatCommand, type Command } from './command.js';
import { doctorMessages as m } from './messages/index.js';
import { isDebianUserId, type KeyringContents } from './openpgp-keyring.js';

export const NODE_MINIMUM = '20.5.0';
export const DEFAULT_LIBVIRT_URI = 'qemu:///system';
export const DEFAULT_NETNS = 'tbns';

export type CheckId =
  | 'git'
  | 'node'
  | 'qemu'
  | 'qemu-img'
  | 'libvirt'
  | 'vagrant'
  | 'vagrant-libvirt'
  | 'mmdebstrap'
  | 'debugfs'
  | 'sfdisk'
  | 'flock'
  | 'debian-keyring'
  | 'shellcheck'
  | 'diffoscope'
  | 'netns'
  | 'kvm';

/** How a check reads its probe results. */
export type Judge =
  /** Every probe exited 0. `detailLine`: the first stdout line containing it is the detail (default: the first line). */
  | { readonly kind: 'exit-zero'; readonly detailLine?: string }
  /** The probe exited 0 and a line of its stdout starts with `word` (as a whole word); `okDetail` replaces that line as the detail. */
  | { readonly kind: 'lists'; readonly word: string; readonly okDetail?: string }
  /** libvirt answers `virsh version` at `uri`. */
  | { readonly kind: 'libvirt'; readonly uri: string }
  /** The running node (no probe): compares versions. */
  | { readonly kind: 'node-version'; readonly running: string; readonly minimum: string }
  /** `test -e` of a device: informational either way. */
  | { readonly kind: 'kvm' }
  /** The keyring file as observed, and gpgv verifying a Debian-signed file with it (or `gpgv --version` when there is none). */
  | { readonly kind: 'keyring'; readonly observed: KeyringObservation };

/** The keyring file as app/doctor.ts read it. */
export type KeyringFile =
  | { readonly kind: 'missing' }
  | { readonly kind: 'not-a-file' }
  | { readonly kind: 'unreadable'; readonly reason: string }
  | { readonly kind: 'read'; readonly contents: KeyringContents };

/** What the keyring check judges: the file, and a Debian-signed file on this host to verify with it. */
export interface KeyringObservation {
  readonly path: string;
  readonly file: KeyringFile;
  /** A Debian-signed InRelease found on this host; undefined when there is none. */
  readonly signedFile: string | undefined;
  /** Where signed files were looked for (named when none was found). */
  readonly searched: readonly string[];
}

export interface DoctorCheck {
  readonly id: CheckId;
  readonly title: string;
  /** A missing required check makes doctor (and every build's preflight) fail. */
  readonly required: boolean;
  readonly probes: readonly Command[];
  readonly judge: Judge;
  /** The command that installs what is missing (when a probe's program is not found). */
  readonly installHint: string;
  /** What to do when the program exists but the check fails; defaults to installHint. */
  readonly fixHint?: string;
}

export type ProbeResult =
  | { readonly kind: 'exited'; readonly exitCode: number; readonly stdout: string; readonly stderr: string }
  /** The program is not on PATH. */
  | { readonly kind: 'not-found' }
  /** It could not start or timed out. */
  | { readonly kind: 'failed'; readonly reason: string };

export interface CheckVerdict {
  readonly id: CheckId;
  readonly title: string;
  readonly required: boolean;
  readonly ok: boolean;
  readonly detail: string;
  /** The next command when not ok; null when ok. */
  readonly hint: string | null;
}

export interface DoctorReport {
  /** Every required check is ok. */
  readonly ok: boolean;
  readonly checks: readonly CheckVerdict[];
}

export interface DoctorInput {
  readonly libvirtUri: string;
  readonly netns: string;
  /** Who runs the checks when not root (the fixes differ: root's setup, the libvirt group). */
  readonly user?: string;
  /** `process.versions.node` of the running node, passed in by cli/. */
  readonly nodeVersion: string;
  /** The keyring snapshot signatures are verified against, as observed (app/doctor.ts#observeKeyring). */
  readonly keyring: KeyringObservation;
}

const SHORT = 5_000;
// `virsh version` asks the QEMU driver, which probes QEMU's capabilities when its
// cache is empty: 12 s on an idle new machine here, more under load (CI once hit 10 s).
const LIBVIRT_TIMEOUT = 60_000;
// gpgv over a 150 kB InRelease takes milliseconds; this is for a loaded host.
const GPGV_TIMEOUT = 30_000;
// Ruby start-up plus plugin loading; ~1 s here, slower on a cold cache.
const VAGRANT_TIMEOUT = 30_000;
const VAGRANT_ENV = { VAGRANT_CHECKPOINT_DISABLE: '1' };

/** A row's probe: program, arguments, and a timeout (default 5 s) and environment where it needs them. */
type ProbeRow = readonly [file: string, args: readonly string[], timeoutMs?: number, env?: Readonly<Record<string, string>>];

/** One row of the check table: a DoctorCheck with at most one probe, judged by exit code unless it says otherwise. */
interface CheckRow extends Omit<DoctorCheck, 'probes' | 'judge'> {
  readonly probe?: ProbeRow;
  readonly judge?: Judge;
}

const EXIT_ZERO: Judge = { kind: 'exit-zero' };

function toCheck({ probe, judge = EXIT_ZERO, ...row }: CheckRow): DoctorCheck {
  const probes = probe === undefined ? [] : [probeCommand(...probe)];
  return { ...row, probes, judge };
}

function probeCommand(file: string, args: readonly string[], timeoutMs = SHORT, env?: Readonly<Record<string, string>>): Command {
  return command(file, args, { effect: 'read', timeoutMs, ...(env === undefined ? {} : { env }) });
}

/** The checks, in the order doctor shows them. */
export function planDoctorChecks(input: DoctorInput): readonly DoctorCheck[] {
  const { libvirtUri: uri, netns } = input;
  const vagrant = (...args: string[]): ProbeRow => ['vagrant', args, VAGRANT_TIMEOUT, VAGRANT_ENV];
  const rows: readonly CheckRow[] = [
    { id: 'git', title: m.title.git, required: true, probe: ['git', ['--version']], installHint: m.install.git },
    { id: 'node', title: m.title.node, required: true, judge: { kind: 'node-version', running: input.nodeVersion, minimum: NODE_MINIMUM }, installHint: m.install.node },
    { id: 'qemu', title: m.title.qemu, required: true, probe: ['qemu-system-x86_64', ['--version']], installHint: m.install.qemu },
    { id: 'qemu-img', title: m.title.qemuImg, required: true, probe: ['qemu-img', ['--version']], installHint: m.install.qemuImg },
    {
      id: 'libvirt', title: m.title.libvirt, required: true, probe: ['virsh', ['-c', uri, 'version'], LIBVIRT_TIMEOUT], judge: { kind: 'libvirt', uri },
      installHint: m.install.libvirt, fixHint: m.fix.libvirtDown(uri, netns, input.user),
    },
    { id: 'vagrant', title: m.title.vagrant, required: true, probe: vagrant('--version'), installHint: m.install.vagrant },
    { id: 'vagrant-libvirt', title: m.title.vagrantLibvirt, required: true, probe: vagrant('plugin', 'list'), judge: { kind: 'lists', word: 'vagrant-libvirt' }, installHint: m.install.vagrantLibvirt },
    { id: 'mmdebstrap', title: m.title.mmdebstrap, required: true, probe: ['mmdebstrap', ['--version']], installHint: m.install.mmdebstrap },
    { id: 'debugfs', title: m.title.debugfs, required: true, probe: ['debugfs', ['-V']], installHint: m.install.debugfs },
    { id: 'sfdisk', title: m.title.sfdisk, required: true, probe: ['sfdisk', ['--version']], installHint: m.install.sfdisk },
    // Host locks (adapters/lock.ts) take flock(2) through util-linux's flock(1).
    { id: 'flock', title: m.title.flock, required: true, probe: ['flock', ['--version']], installHint: m.install.flock },
    {
      // The same gpgv call snapshot-mirror makes; without a signed file, gpgv is only checked to be there.
      id: 'debian-keyring', title: m.title.debianKeyring, required: true,
      probe: input.keyring.signedFile === undefined ? ['gpgv', ['--version']] : ['gpgv', ['--keyring', input.keyring.path, '--', input.keyring.signedFile], GPGV_TIMEOUT],
      judge: { kind: 'keyring', observed: input.keyring }, installHint: m.install.debianKeyring, fixHint: m.fix.keyring(input.keyring.path),
    },
    { id: 'shellcheck', title: m.title.shellcheck, required: false, probe: ['shellcheck', ['--version']], judge: { kind: 'exit-zero', detailLine: 'version:' }, installHint: m.install.shellcheck },
    // tails-build verify explains a mismatch with it when it is installed.
    { id: 'diffoscope', title: m.title.diffoscope, required: false, probe: ['diffoscope', ['--version']], installHint: m.install.diffoscope },
    {
      id: 'netns', title: m.title.netns(netns), required: false, probe: ['ip', ['netns', 'list']], judge: { kind: 'lists', word: netns, okDetail: m.detail.netnsOk(netns) },
      installHint: m.install.ip, fixHint: m.fix.netnsMissing(netns),
    },
    // Absolute: `test` is a shell builtin elsewhere, and this must not depend on PATH.
    { id: 'kvm', title: m.title.kvm, required: false, probe: ['/usr/bin/test', ['-e', '/dev/kvm']], judge: { kind: 'kvm' }, installHint: m.fix.kvmAbsent },
  ];
  return rows.map(toCheck);
}

/** Turns the results of a check's probes (in the order of `check.probes`) into its verdict. */
export function judgeCheck(check: DoctorCheck, results: readonly ProbeResult[]): CheckVerdict {
  const verdict = (ok: boolean, detail: string, hint: string | null = null): CheckVerdict => ({
    id: check.id,
    title: check.title,
    required: check.required,
    ok,
    detail,
    hint: ok ? null : hint,
  });
  const fixHint = check.fixHint ?? check.installHint;
  const judge = check.judge;

  if (judge.kind === 'node-version') {
    const ok = compareVersions(judge.running, judge.minimum) >= 0;
    return verdict(ok, ok ? m.detail.nodeOk(judge.running) : m.detail.nodeTooOld(judge.running, judge.minimum), check.installHint);
  }

  // Probes that could not run decide first: the program is missing or broken.
  for (const [index, result] of results.entries()) {
    const probe = check.probes[index];
    const shown = probe === undefined ? check.id : formatCommand(probe);
    if (result.kind === 'not-found') {
      if (judge.kind === 'kvm') return verdict(false, m.detail.kvmAbsent, check.installHint);
      return verdict(false, m.detail.notFound(probe?.file ?? check.id), check.installHint);
    }
    if (result.kind === 'failed') {
      const detail = m.detail.couldNotRun(shown, result.reason);
      return verdict(false, judge.kind === 'libvirt' ? m.detail.libvirtUnreachable(judge.uri, detail) : detail, fixHint);
    }
  }
  const exited = results.filter((r): r is Extract<ProbeResult, { kind: 'exited' }> => r.kind === 'exited');
  const first = exited[0];
  const firstProbe = check.probes[0];
  if (first === undefined || firstProbe === undefined || exited.length !== check.probes.length) {
    // A check with probes always gets one result per probe; anything else is a bug in the caller.
    throw new Error(`doctor: check ${check.id} got ${results.length} result(s) for ${check.probes.length} probe(s)`);
  }
  const shown = formatCommand(firstProbe);

  switch (judge.kind) {
    case 'keyring': {
      const judged = judgeKeyring(judge.observed, first);
      return verdict(judged.ok, judged.detail, fixHint);
    }
    case 'kvm':
      return first.exitCode === 0 ? verdict(true, m.detail.kvmPresent) : verdict(false, m.detail.kvmAbsent, check.installHint);
    case 'libvirt':
      if (first.exitCode === 0) {
        return verdict(true, m.detail.libvirtOk(judge.uri, pickLine(first.stdout, 'hypervisor') ?? pickLine(first.stdout) ?? ''));
      }
      return verdict(false, m.detail.libvirtUnreachable(judge.uri, errorLine(first)), fixHint);
    case 'lists': {
      if (first.exitCode !== 0) return verdict(false, m.detail.exited(shown, first.exitCode, errorLine(first)), fixHint);
      const line = first.stdout.split('\n').find((l) => l.trim().split(/\s+/)[0] === judge.word);
      return line === undefined ? verdict(false, m.detail.notListed(judge.word, shown), fixHint) : verdict(true, judge.okDetail ?? clip(line.trim()));
    }
    case 'exit-zero': {
      const failed = exited.findIndex((r) => r.exitCode !== 0);
      const failedResult = exited[failed];
      const failedProbe = check.probes[failed];
      if (failedResult !== undefined && failedProbe !== undefined) {
        return verdict(false, m.detail.exited(formatCommand(failedProbe), failedResult.exitCode, errorLine(failedResult)), fixHint);
      }
      return verdict(true, pickLine(first.stdout, judge.detailLine) ?? pickLine(first.stderr) ?? shown);
    }
  }
}

/**
 * The keyring check: the file must exist, be readable and hold keys; gpgv must
 * verify the signed file with it. With no signed file on the host, it must at
 * least hold a key with a Debian user ID, and the detail says nothing was verified.
 */
function judgeKeyring(observed: KeyringObservation, gpgv: Extract<ProbeResult, { kind: 'exited' }>): { ok: boolean; detail: string } {
  const { path, file, signedFile } = observed;
  const d = m.detail.keyring;
  if (file.kind === 'missing') return { ok: false, detail: d.missing(path) };
  if (file.kind === 'not-a-file') return { ok: false, detail: d.notAFile(path) };
  if (file.kind === 'unreadable') return { ok: false, detail: d.unreadable(path, file.reason) };
  const contents = file.contents;
  if (contents.kind === 'not-a-keyring') return { ok: false, detail: d.notAKeyring(path, contents.reason) };
  if (contents.keys === 0) return { ok: false, detail: d.noKeys(path) };
  const debian = contents.userIds.filter(isDebianUserId).length;
  if (signedFile !== undefined) {
    if (gpgv.exitCode === 0) return { ok: true, detail: d.verified(signedFile, path, contents.keys) };
    return { ok: false, detail: d.notVerified(signedFile, path, contents.keys, debian, gpgvErrorLine(gpgv.stderr)) };
  }
  if (debian === 0) return { ok: false, detail: d.noDebianKeys(path, contents.keys, contents.userIds) };
  return { ok: true, detail: d.unverified(path, contents.keys, debian, observed.searched) };
}

/** gpgv's reason: "Can't check signature: No public key", "BAD signature …", else its last line. */
function gpgvErrorLine(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const telling = lines.find((l) => /Can't check signature|BAD signature|no valid OpenPGP|keyblock resource|not be verified/.test(l)) ?? lines.at(-1) ?? '';
  return clip(telling);
}

/** The report: ok when every required check is. */
export function summariseDoctor(verdicts: readonly CheckVerdict[]): DoctorReport {
  return { ok: verdicts.every((v) => v.ok || !v.required), checks: verdicts };
}

/** Titles of the required checks that failed, in order. */
export function missingRequired(report: DoctorReport): readonly string[] {
  return report.checks.filter((c) => c.required && !c.ok).map((c) => c.title);
}

/** Compares dotted numeric versions ("20.20.2" vs "20.5.0"); a leading "v" is ignored. */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string): number[] => v.replace(/^v/, '').split(/[.+-]/).slice(0, 3).map((p) => Number.parseInt(p, 10) || 0);
  const pa = parse(a);
  const pb = parse(b);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

const MAX_DETAIL = 120;

function pickLine(text: string, containing?: string): string | undefined {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const line = containing === undefined ? lines[0] : lines.find((l) => l.includes(containing));
  return line === undefined ? undefined : clip(line);
}

/** The most telling line of a failed probe: libvirt's "error: …" lines first, else stderr's first line, else stdout's. */
function errorLine(result: { readonly stdout: string; readonly stderr: string }): string {
  const errors = result.stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('error:'));
  const telling = errors.at(-1) ?? pickLine(result.stderr) ?? pickLine(result.stdout) ?? '';
  return clip(telling);
}

function clip(line: string): string {
  return line.length <= MAX_DETAIL ? line : `${line.slice(0, MAX_DETAIL - 1)}…`;
}
