/**
 * ensureSnapshots: the pinned serials of a set, present in the local store —
 * recreated from upstream only while upstream still matches what the project
 * recorded, never silently replaced by something else.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { DEBIAN_KEYRING } from '../core/basebox-build.js';
import type { MirrorSource, ProjectConfig, SerialSetName } from '../core/project.js';
import { compare } from '../core/compare.js';
import { LATEST } from '../core/serials.js';
import { parseSha256sums, SHA256SUMS, storePaths, type AptSource, type StoreFiles } from '../core/snapshot-store.js';
import { snapshotStoreMessages as msg } from '../core/messages/index.js';
import { captureSerial, fetchVerifiedInRelease, mirrorSourceFor, updateTrace, type MirrorDeps } from './snapshot-mirror.js';
import { readSerialSet } from './serial-sets.js';

export interface EnsureOptions {
  readonly set: SerialSetName;
  /** Absolute store root. */
  readonly store: string;
  readonly keyring?: string;
}

export interface EnsuredSnapshot {
  readonly archive: string;
  readonly serial: string;
  /** `present`: already in the store; `recreated`: rebuilt from upstream, which still matched SHA256SUMS. */
  readonly action: 'present' | 'recreated';
}

/**
 * Makes every numeric serial of a set available in the store. A missing one
 * is recreated from upstream only when upstream's current InRelease of every
 * suite has the SHA-256 the project recorded (`<serialDir>/<archive>/SHA256SUMS`);
 * otherwise it fails, saying upstream has moved on and how to take a new serial.
 */
export async function ensureSnapshots(deps: MirrorDeps, project: ProjectConfig, options: EnsureOptions): Promise<readonly EnsuredSnapshot[]> {
  const serials = await readSerialSet(deps, project, options.set);
  const store = deps.snapshotIo.openStore(options.store);
  const keyring = options.keyring ?? DEBIAN_KEYRING;
  let hostSources: readonly AptSource[] | undefined;
  const results: EnsuredSnapshot[] = [];
  for (const [archive, serial] of Object.entries(serials)) {
    if (serial === LATEST) continue;
    const dir = join(project.serialDirs[options.set], archive);
    const serialFile = `${dir}/serial`;
    const sumsFile = `${dir}/${SHA256SUMS}`;
    const text = await deps.files.readText(join(project.root, sumsFile));
    if (await store.exists(`${storePaths.serialDir(archive, serial)}/dists`)) {
      if (text !== undefined) await verifyStoredMatches(store, options.set, archive, serial, text, sumsFile);
      results.push({ archive, serial, action: 'present' });
      continue;
    }
    if (text === undefined) throw msg.noIdentity(options.set, archive, serial, sumsFile, serialFile);
    const recorded = parseSha256sums(text);
    if (recorded === undefined) throw msg.identityUnparsable(sumsFile);
    hostSources ??= await deps.snapshotIo.readHostAptSources();
    const configured = mirrorSourceFor(project, archive, hostSources);
    if (configured === undefined) throw msg.noSourceForRecreate(options.set, archive, serial, serialFile);
    const source: MirrorSource = { ...configured, suites: Object.keys(recorded).sort(compare) };
    const inReleases = new Map<string, Buffer>();
    for (const suite of source.suites) {
      const data = await fetchVerifiedInRelease(deps, archive, source.upstream, suite, keyring);
      const current = createHash('sha256').update(data).digest('hex');
      const expected = recorded[suite] ?? '';
      if (current !== expected) throw msg.upstreamMoved(options.set, archive, serial, suite, expected, current, serialFile);
      inReleases.set(suite, data);
    }
    await captureSerial(deps, store, archive, serial, source, inReleases);
    await updateTrace(deps, store, archive, serial);
    deps.out.info(`${archive}: recreated serial ${serial} from ${source.upstream} (upstream still matches ${sumsFile}).`);
    results.push({ archive, serial, action: 'recreated' });
  }
  return results;
}

/** A stored serial with the same number but other content (taken on another machine) must not pass for the project's. */
async function verifyStoredMatches(store: StoreFiles, set: SerialSetName, archive: string, serial: string, sumsText: string, sumsFile: string): Promise<void> {
  const recorded = parseSha256sums(sumsText);
  if (recorded === undefined) throw msg.identityUnparsable(sumsFile);
  for (const [suite, expected] of Object.entries(recorded)) {
    const data = await store.read(storePaths.inRelease(archive, serial, suite));
    const actual = data === undefined ? 'missing' : createHash('sha256').update(data).digest('hex');
    if (actual !== expected) throw msg.storeDiffers(set, archive, serial, suite, store.absolute(storePaths.serialDir(archive, serial)), expected, actual);
  }
}
