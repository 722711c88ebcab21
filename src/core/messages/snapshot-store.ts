/**
 * Every user-facing text of the local snapshot store (`snapshots mirror`,
 * `snapshots serve`, ensureSnapshots). Each names the problem, the fact
 * behind it and the next command.
 */
import { NetworkError, UsageError, UserError } from '../errors.js';
import type { SerialSetName } from '../project.js';

const CMD = 'tails-build snapshots';

function newSerialSteps(set: SerialSetName, serialFile: string): string {
  return `Take and commit a new serial: ${CMD} mirror && ${CMD} freeze --set ${set} && git commit -m "Bump APT snapshots." ${serialFile}`;
}

export const snapshotStoreMessages = {
  serialsExhausted: (day: string) =>
    new UserError('store-serials-exhausted', `Cannot take another snapshot serial today: ${day}01 to ${day}99 are all taken.`, {
      hint: `Reuse the latest one (run "${CMD} mirror" without --new), or wait until tomorrow (UTC).`,
    }),
  noMirrorSource: (archive: string) =>
    new UsageError(
      'no-mirror-source',
      `There is no upstream to mirror "${archive}" from: it is not a Debian archive tails-build knows and the project config gives none.`,
      `Set "snapshots.archives.${archive}.upstream" (and "suites") in tails-build.json, or mirror only debian and debian-security ("${CMD} mirror debian debian-security").`,
    ),
  nothingToMirror: () =>
    new UsageError('nothing-to-mirror', 'No archive of the serial sets has an upstream to mirror from.', `Name the archives: ${CMD} mirror debian debian-security.`),
  inReleaseMissing: (archive: string, url: string, status: number) =>
    new UserError('upstream-inrelease-missing', `Cannot snapshot "${archive}": ${url} answered HTTP ${status}.`, {
      kind: 'external',
      hint: `Check the upstream mirror and suite ("snapshots.archives.${archive}.upstream"/"suites" in tails-build.json; curl -I ${url}).`,
    }),
  signatureInvalid: (archive: string, url: string, keyring: string, detail: string) =>
    new UserError(
      'upstream-signature-invalid',
      `Refusing ${url}: its signature does not verify against ${keyring}, so "${archive}" was not snapshotted.${detail.trim() === '' ? '' : `\n  | ${detail.trim().split('\n').slice(-6).join('\n  | ')}`}`,
      {
        kind: 'external',
        hint: `Update the keyring (apt-get install debian-archive-keyring) or pass --keyring FILE; check the mirror is genuine (gpgv --keyring ${keyring} InRelease).`,
      },
    ),
  notSigned: (archive: string, url: string) =>
    new UserError('upstream-not-signed', `Refusing ${url}: it is not a clearsigned InRelease file, so "${archive}" was not snapshotted.`, {
      kind: 'external',
      hint: `Check that the upstream URL points at a Debian mirror (curl ${url} | head).`,
    }),
  nothingListed: (archive: string, suite: string, components: readonly string[], architectures: readonly string[]) =>
    new UserError(
      'upstream-index-missing',
      `The InRelease of ${archive} ${suite} lists no Packages index for components ${components.join(', ')} and architectures ${architectures.join(', ')}.`,
      { kind: 'external', hint: `Check "snapshots.archives.${archive}.components" in tails-build.json and the project's arch.` },
    ),
  integrityMismatch: (url: string, expected: { size: number; sha256: string }, got: { size: number; sha256: string }) =>
    new UserError(
      'download-integrity',
      `Refusing ${url}: got ${got.size} bytes with SHA-256 ${got.sha256}, but the snapshot's index says ${expected.size} bytes with SHA-256 ${expected.sha256}. Nothing was stored.`,
      { kind: 'external', hint: 'The upstream mirror may be mid-update or corrupted; retry later or point the archive at another mirror.' },
    ),
  indexGoneUpstream: (archive: string, serial: string, url: string, status: number) =>
    new UserError(
      'upstream-index-gone',
      `Cannot capture ${url} for ${archive} ${serial}: upstream answered HTTP ${status} (the index listed in the InRelease is gone or not yet there).`,
      { kind: 'external', hint: `Retry "${CMD} mirror ${archive}" in a few minutes (the mirror may be mid-update).` },
    ),
  downloadFailed: (url: string, cause: unknown) =>
    new NetworkError({
      url,
      message: `Cannot download ${url}: ${reason(cause)}.`,
      hint: `Check that the upstream mirror is reachable from this host (curl -I ${url}).`,
      cause,
    }),
  poolNotInSerial: (archive: string, serial: string, path: string) =>
    `${archive}/${serial}/${path} is not listed in the Packages indices of snapshot ${archive} ${serial}.\n`,
  poolGoneUpstream: (archive: string, serial: string, pkg: string, version: string, url: string, status: number) =>
    `Package ${pkg} ${version} of snapshot ${archive} ${serial} is gone upstream: ${url} answered HTTP ${status}, and the store has no copy. ` +
    `Take a new serial: ${CMD} mirror ${archive} && ${CMD} freeze --set builder ${archive} (then commit the serial files).\n`,
  poolFetchFailed: (archive: string, serial: string, pkg: string, version: string, error: unknown) =>
    `Cannot fetch ${pkg} ${version} of snapshot ${archive} ${serial} from upstream: ${reason(error)}\n`,
  noIdentity: (set: SerialSetName, archive: string, serial: string, file: string, serialFile: string) =>
    new UserError(
      'snapshot-identity-missing',
      `Snapshot ${archive} ${serial} (${set} set) is not in the local store, and ${file} does not exist, so it cannot be recreated from upstream with any certainty.`,
      { hint: newSerialSteps(set, serialFile) },
    ),
  identityUnparsable: (file: string) =>
    new UserError('snapshot-identity-malformed', `${file} is not a SHA256SUMS of InRelease files ("<sha256>  dists/<suite>/InRelease" lines).`, {
      hint: `Restore it from git (git checkout -- ${file}), or take a new serial with "${CMD} mirror && ${CMD} freeze".`,
    }),
  upstreamMoved: (set: SerialSetName, archive: string, serial: string, suite: string, recorded: string, current: string, serialFile: string) =>
    new UserError(
      'upstream-moved-on',
      `Snapshot ${archive} ${serial} (${set} set) is not in the local store, and upstream has moved on since serial ${serial} was taken: ` +
        `dists/${suite}/InRelease now has SHA-256 ${current}, the project recorded ${recorded}. It cannot be recreated.`,
      { hint: newSerialSteps(set, serialFile) },
    ),
  noSourceForRecreate: (set: SerialSetName, archive: string, serial: string, serialFile: string) =>
    new UserError(
      'snapshot-not-recreatable',
      `Snapshot ${archive} ${serial} (${set} set) is not in the local store, and there is no upstream to recreate it from.`,
      { hint: `Configure "snapshots.archives.${archive}.upstream" in tails-build.json, or ${newSerialSteps(set, serialFile).replace(/^T/, 't')}` },
    ),
  storeDiffers: (set: SerialSetName, archive: string, serial: string, suite: string, dir: string, recorded: string, stored: string) =>
    new UserError(
      'store-serial-differs',
      `The store's snapshot ${archive} ${serial} is not the one the ${set} set pins: its dists/${suite}/InRelease has SHA-256 ${stored}, the project recorded ${recorded} (the same serial number was taken elsewhere).`,
      { hint: `Move the store's copy aside (mv ${dir} ${dir}.local) so it is recreated from upstream, or use another --store.` },
    ),
  badListen: (value: string) =>
    new UsageError('bad-listen', `--listen must be HOST:PORT (port 0 to 65535), got "${value}".`, 'For example: --listen 127.0.0.1:8470'),
  listenFailed: (where: string, error: unknown) =>
    new UserError('listen-failed', `Cannot listen on ${where}: ${reason(error)}.`, {
      kind: 'external',
      hint: `Stop whatever uses it (ss -ltnp | grep ${where.split(':').at(-1) ?? ''}), or pass --listen HOST:PORT / --unix PATH.`,
    }),
  unknownArchive: (archive: string) =>
    new UsageError('bad-archive-name', `"${archive}" is not an archive name.`, `Name archives as the serial sets do, e.g. ${CMD} mirror debian-security.`),
};

function reason(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause;
    if (cause instanceof Error && 'code' in cause && typeof cause.code === 'string') return `${error.message} (${cause.code})`;
    return error.message;
  }
  return String(error);
}
