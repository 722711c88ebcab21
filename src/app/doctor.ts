/**
 * Runs the doctor's probes through the runner and judges them. A probe that
 * cannot run is a finding, never an exception: the report always completes.
 */
import { TIMED_OUT } from '../core/ports.js';
import type { Command } from '../core/command.js';
import { judgeCheck, summariseDoctor, type DoctorCheck, type DoctorReport, type KeyringFile, type KeyringObservation, type ProbeResult } from '../core/doctor.js';
import { ExternalCommandError } from '../core/errors.js';
import { readKeyringContents } from '../core/openpgp-keyring.js';
import type { Deps } from './deps.js';

export async function runDoctor(deps: Pick<Deps, 'runner'>, checks: readonly DoctorCheck[]): Promise<DoctorReport> {
  // Checks are independent; running them side by side keeps doctor to the slowest probe.
  const verdicts = await Promise.all(
    checks.map(async (check) => judgeCheck(check, await Promise.all(check.probes.map((probe) => runProbe(deps, probe))))),
  );
  return summariseDoctor(verdicts);
}

async function runProbe(deps: Pick<Deps, 'runner'>, probe: Command): Promise<ProbeResult> {
  if ((await deps.runner.which(probe.file)) === undefined) return { kind: 'not-found' };
  try {
    const result = await deps.runner.tryRun(probe);
    if (result.exitCode === TIMED_OUT) return { kind: 'failed', reason: `timed out after ${String(probe.timeoutMs)} ms` };
    return { kind: 'exited', exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
  } catch (error) {
    if (error instanceof ExternalCommandError) return { kind: 'failed', reason: error.stderrTail.trim() || error.message };
    return { kind: 'failed', reason: error instanceof Error ? error.message : String(error) };
  }
}

/** Where the keyring check looks for a Debian-signed file to verify: the snapshot store builds use, then apt's lists. */
export interface SignedFileDirs {
  /** The snapshot store: <store>/<archive>/<serial>/dists/<suite>/InRelease. */
  readonly snapshotStore: string;
  /** apt's lists (/var/lib/apt/lists): <mirror>_dists_<suite>_InRelease. */
  readonly aptLists: string;
}

/** Reads the keyring file and finds a Debian-signed InRelease on this host (the store's newest serial first). */
export async function observeKeyring(deps: Pick<Deps, 'disk'>, path: string, dirs: SignedFileDirs): Promise<KeyringObservation> {
  return { path, file: await readKeyringFile(deps, path), signedFile: await findDebianSignedFile(deps, dirs), searched: [dirs.snapshotStore, dirs.aptLists] };
}

async function readKeyringFile(deps: Pick<Deps, 'disk'>, path: string): Promise<KeyringFile> {
  let info;
  try {
    info = await deps.disk.stat(path);
  } catch (error) {
    return { kind: 'unreadable', reason: reasonOf(error) };
  }
  if (info === undefined) return { kind: 'missing' };
  if (info.kind !== 'file') return { kind: 'not-a-file' };
  try {
    return { kind: 'read', contents: readKeyringContents(await deps.disk.readBytes(path)) };
  } catch (error) {
    return { kind: 'unreadable', reason: reasonOf(error) };
  }
}

async function findDebianSignedFile(deps: Pick<Deps, 'disk'>, dirs: SignedFileDirs): Promise<string | undefined> {
  for (const candidate of [...(await storeInReleases(deps, dirs.snapshotStore)), ...(await aptInReleases(deps, dirs.aptLists))]) {
    if (await isDebianInRelease(deps, candidate)) return candidate;
  }
  return undefined;
}

async function storeInReleases(deps: Pick<Deps, 'disk'>, store: string): Promise<string[]> {
  const found: string[] = [];
  for (const archive of await listDirectoriesOrNone(deps, store)) {
    const serials = [...(await listDirectoriesOrNone(deps, `${store}/${archive}`))].reverse();
    for (const serial of serials) {
      for (const suite of await listDirectoriesOrNone(deps, `${store}/${archive}/${serial}/dists`)) found.push(`${store}/${archive}/${serial}/dists/${suite}/InRelease`);
    }
  }
  return found;
}

async function aptInReleases(deps: Pick<Deps, 'disk'>, lists: string): Promise<string[]> {
  try {
    if (!(await deps.disk.isDirectory(lists))) return [];
    return (await deps.disk.listTree(lists)).filter((p) => !p.includes('/') && p.endsWith('_InRelease')).map((p) => `${lists}/${p}`);
  } catch {
    // apt's partial/ is private to _apt: unreadable to most users; the store may still have one.
    return [];
  }
}

async function listDirectoriesOrNone(deps: Pick<Deps, 'disk'>, dir: string): Promise<readonly string[]> {
  try {
    return await deps.disk.listDirectories(dir);
  } catch {
    return [];
  }
}

/** An InRelease Debian publishes (Origin: Debian), which the Debian keyring must verify. */
async function isDebianInRelease(deps: Pick<Deps, 'disk'>, path: string): Promise<boolean> {
  try {
    const text = await deps.disk.readText(path);
    return text !== undefined && /^Origin: Debian$/m.test(text);
  } catch {
    return false;
  }
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
