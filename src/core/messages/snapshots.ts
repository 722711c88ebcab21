/**
 * Every user-facing text about APT snapshot serials and fetching snapshots.
 * Each names the problem, the fact behind it and the next command.
 */
import { NetworkError, UsageError, UserError } from '../errors.js';
import type { SerialSetName } from '../project.js';

const CMD = 'tails-build snapshots';

/** The command that rewrites one archive's serial in a set. */
function fixCommand(set: SerialSetName, archive: string): string {
  return set === 'iso' ? `${CMD} thaw ${archive}` : `${CMD} freeze --set builder ${archive}`;
}

const BASE_URL_HINT = 'Check the snapshot base URL (snapshots.baseUrl in tails-build.json, or pass --base-url URL) and that the server is up';

export const snapshotMessages = {
  // ---- serial files -------------------------------------------------------
  serialDirMissing: (set: SerialSetName, dir: string) =>
    new UserError('serial-dir-missing', `The ${set} serial directory ${dir} does not exist, so the ${set} set has no snapshot serials.`, {
      hint: `Create ${dir}/<archive>/serial (one line: a serial or "latest"), or set "${set}SerialsDir" in tails-build.json.`,
    }),
  missingSerialFile: (set: SerialSetName, file: string, archive: string) =>
    new UserError('serial-file-missing', `The ${set} archive directory of "${archive}" has no serial file: ${file} does not exist.`, {
      hint: `Write one line ("latest" or a serial) to ${file}, or run "${fixCommand(set, archive)}".`,
    }),
  malformedSerialFile: (set: SerialSetName, file: string, archive: string, shown: string, format: string) =>
    new UserError(
      'serial-file-malformed',
      `The serial file ${file} holds ${JSON.stringify(shown)}, which is not a serial (${format}) nor "latest".`,
      { hint: `Fix the file, or run "${fixCommand(set, archive)}".` },
    ),
  unknownArchive: (set: SerialSetName | 'any', archive: string, known: readonly string[]) =>
    new UsageError(
      'unknown-archive',
      `There is no archive "${archive}" in ${set === 'any' ? 'the selected sets' : `the ${set} set`} (known: ${known.length === 0 ? 'none' : known.join(', ')}).`,
      `Run "${CMD} cat" to list the archives and their serials.`,
    ),
  latestNotLookedUp: (archive: string) => new Error(`bug: the latest serial of "${archive}" was needed but not looked up`),
  thawBuilderRefused: () =>
    new UserError(
      'thaw-builder-refused',
      'The builder set cannot be thawed: the builder box must come from frozen (numeric) serials, so that its name names exactly what is in it.',
      { hint: `Thaw the ISO set ("${CMD} thaw"), or bump the builder serials with "${CMD} freeze --set builder".` },
    ),
  builderFreezesSecurity: () =>
    'builder set: debian-security is frozen too — the builder\'s serials are always numeric (--freeze-debian-security is implied).',
  providedDisagrees: (set: SerialSetName, archive: string, file: string, given: string, source: string) =>
    `${set} ${archive}: the serial file pins ${file} but ${source} says ${given}; keeping the file's ${file}.`,
  serialsJsonInvalid: (source: string, fact: string) =>
    new UsageError(
      'serials-json-invalid',
      `${source} cannot be used: ${fact}.`,
      `Pass a JSON object of archive → serial, e.g. --serials '{"debian":"2024101502","debian-security":"2024101503"}' (as "${CMD} cat-json tmp/APT_snapshots.d" prints it).`,
    ),
  writeFailed: (path: string, error: unknown, restored: boolean) =>
    new UserError(
      'serial-write-failed',
      `Cannot write ${path}: ${reason(error)}. ${restored ? 'No serial file was changed.' : 'Some serial files could not be restored; check them with "git status".'}`,
      { hint: `Check that ${path} is a writable file in a writable directory (ls -ld ${path}).`, cause: error },
    ),
  writeTargetInvalid: (path: string, fact: string) =>
    new UserError('serial-write-refused', `Cannot write ${path}: ${fact}. No serial file was changed.`, {
      hint: `Check the serial directory layout (<dir>/<archive>/serial) with ls -la ${path}.`,
    }),
  serialUnreadable: (path: string, error: unknown) =>
    new UserError('serial-unreadable', `Cannot read ${path}: ${reason(error)}.`, {
      hint: `Check that ${path} is readable (ls -ld ${path}).`,
      cause: error,
    }),
  badSerialValue: (path: string, value: string) =>
    new Error(`bug: refusing to write ${JSON.stringify(value)} to ${path} (not a single-line serial)`),

  // ---- remote lookups ----------------------------------------------------
  traceNotFound: (archive: string, url: string, status: number) =>
    new UserError('trace-not-found', `Cannot find the latest serial of "${archive}": ${url} answered HTTP ${status}.`, {
      kind: 'external',
      hint: `${BASE_URL_HINT}, and that it serves "${archive}" (curl -I ${url}).`,
    }),
  traceUnparsable: (archive: string, url: string) =>
    new UserError('trace-unparsable', `Cannot find the latest serial of "${archive}": ${url} has no "Archive serial: YYYYMMDDNN" line.`, {
      kind: 'external',
      hint: `Check that the base URL points at a Tails-style snapshot server (curl ${url}); for snapshot.debian.org set "layout": "debian".`,
    }),
  noSnapshotInListings: (archive: string, urls: readonly string[]) =>
    new UserError(
      'no-snapshot-listed',
      `Cannot find the latest snapshot of "${archive}": neither month listing has a YYYYMMDDTHHMMSSZ/ link (${urls.join(', ')}).`,
      { kind: 'external', hint: `${BASE_URL_HINT} (curl '${urls[0] ?? ''}').` },
    ),
  snapshotMissing: (set: SerialSetName, archive: string, serial: string, urls: readonly string[], status: number) =>
    new UserError(
      'snapshot-missing',
      `The ${set} snapshot ${archive} ${serial} does not exist on the server: ${urls.join(' and ')} answered HTTP ${status}. No serial file was changed.`,
      { kind: 'external', hint: `${BASE_URL_HINT}; "${CMD} get-latest ${archive}" shows what the server has.` },
    ),
  releaseFileMissing: (archive: string, serial: string, urls: readonly string[], status: number) =>
    new UserError(
      'release-file-missing',
      `Cannot check the expiry of ${archive} ${serial}: ${urls.join(' and ')} answered HTTP ${status}; the snapshot may have been garbage-collected.`,
      { kind: 'external', hint: `${BASE_URL_HINT}; if it is gone, bump the serial with "${CMD} freeze ${archive}".` },
    ),
  expiring: (days: number, offenders: readonly { set: SerialSetName; archive: string; serial: string; validUntil: string; daysLeft: number }[]) =>
    new UserError(
      'snapshots-expiring',
      `${offenders.length} pinned snapshot${offenders.length === 1 ? '' : 's'} expire${offenders.length === 1 ? 's' : ''} in less than ${days} days:\n${offenders
        .map((o) => `  ${o.set} ${o.archive} ${o.serial}: Valid-Until ${o.validUntil} (${o.daysLeft < 0 ? `expired ${-o.daysLeft} days ago` : `${o.daysLeft} days left`})`)
        .join('\n')}`,
      { hint: `Bump the snapshots' Valid-Until on the server, or freeze newer ones ("${CMD} freeze --set all").` },
    ),
  identityUnavailable: (archive: string, serial: string, url: string, fact: string) =>
    new UserError('snapshot-identity-unavailable', `Cannot record the identity of ${archive} ${serial}: ${url} answered, but ${fact}. No serial file was changed.`, {
      kind: 'external',
      hint: `${BASE_URL_HINT} (curl ${url}).`,
    }),
  latestNotFrozen: (set: SerialSetName, archive: string) =>
    `${set} ${archive} is "latest", not frozen: builds are not reproducible until it is ("${CMD} freeze${set === 'builder' ? ' --set builder' : ''} ${archive}").`,
  noValidUntil: (set: SerialSetName, archive: string, serial: string) => `${set} ${archive} ${serial}: the Release file has no Valid-Until; it does not expire.`,
  badDays: (value: string) =>
    new UsageError('bad-days', `--days must be a whole number of days (0 or more), got "${value}".`, `For example: ${CMD} check-expiry --days 30`),
  badBaseUrl: (value: string) =>
    new UsageError('bad-base-url', `--base-url must be an http(s) URL, got "${value}".`, `For example: --base-url http://127.0.0.1:8470/`),

  // ---- HTTP --------------------------------------------------------------
  httpStatus: (url: string, status: number, attempts: number) =>
    new NetworkError({
      url,
      status,
      message: `GET ${url} failed: HTTP ${status}${status === 429 ? ' (too many requests)' : ''} after ${attempts} attempt${attempts === 1 ? '' : 's'}.`,
      hint: `${BASE_URL_HINT}; try again later if it is overloaded.`,
    }),
  httpTimeout: (url: string, timeoutMs: number, attempts: number) =>
    new NetworkError({
      url,
      message: `GET ${url} failed: no complete answer within ${timeoutMs / 1000} s, ${attempts} attempt${attempts === 1 ? '' : 's'}.`,
      hint: `${BASE_URL_HINT} (curl -I ${url}).`,
    }),
  httpUnreachable: (url: string, cause: unknown, attempts: number) =>
    new NetworkError({
      url,
      message: `GET ${url} failed: ${networkCause(cause)} (${attempts} attempt${attempts === 1 ? '' : 's'}).`,
      hint: `${BASE_URL_HINT} (curl -I ${url}).`,
      cause,
    }),
};

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Node's fetch hides the socket error in `cause`: show that. */
function networkCause(error: unknown): string {
  let e: unknown = error;
  for (let depth = 0; depth < 3 && e instanceof Error && e.cause !== undefined; depth++) e = e.cause;
  if (typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string') {
    const code = e.code;
    const text = e instanceof Error ? e.message : '';
    return text.includes(code) ? text : `${code} ${text}`.trim();
  }
  return reason(e);
}
