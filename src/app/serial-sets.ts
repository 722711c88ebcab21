/**
 * The project's APT snapshot serial sets (`APT_snapshots.d`): reading the
 * `<serialDir>/<archive>/serial` files and validating them (core/serials.ts).
 * Writes go through the serial store (the SerialStore port): app/freeze-thaw.ts.
 */
import { join, relative } from 'node:path';
import { compare } from '../core/compare.js';
import { resolveArchiveOrigin, type ProjectConfig, type SerialSetName, type SnapshotLayout } from '../core/project.js';
import { LATEST, selectArchivesAcross, validateSerialSet, type RawSerial, type SerialSet } from '../core/serials.js';
import { snapshotMessages as msg } from '../core/messages/index.js';
import type { Deps } from './deps.js';

/** Both sets, validated: set → archive → numeric serial or "latest" (archives sorted). */
export type SerialSets = Readonly<Record<SerialSetName, SerialSet>>;

/** What reading a serial set needs. */
export type ReadDeps = Pick<Deps, 'files'>;

const SERIAL_FILE = 'serial';

/**
 * Reads and validates both serial sets of the project. Throws UserError when a
 * set's directory is missing or a serial file is missing or malformed.
 */
export async function readSerialSets(deps: ReadDeps, project: ProjectConfig): Promise<SerialSets> {
  return { builder: await readSerialSet(deps, project, 'builder'), iso: await readSerialSet(deps, project, 'iso') };
}

/**
 * Reads and validates one set (`<root>/<serialDirs[set]>/<archive>/serial`).
 * `replacing` lists archives about to be overwritten, whose files may be
 * missing or malformed (see validateSerialSet).
 */
export async function readSerialSet(
  deps: ReadDeps,
  project: ProjectConfig,
  set: SerialSetName,
  options: { readonly replacing?: readonly string[] } = {},
): Promise<SerialSet> {
  return readSerialDir(deps, project, set, join(project.root, project.serialDirs[set]), options.replacing ?? []);
}

async function readSerialDir(
  deps: ReadDeps,
  project: ProjectConfig,
  set: SerialSetName,
  dir: string,
  replacing: readonly string[],
): Promise<SerialSet> {
  const raw = await readRawSerials(deps, project, set, dir);
  return validateSerialSet({
    set,
    raw,
    layoutOf: (archive) => layoutOf(project, archive),
    fileOf: (archive) => displayPath(project, join(dir, archive, SERIAL_FILE)),
    replacing,
  });
}

/** The archive directories of a serial dir (dot-files such as .placeholder and plain files ignored). */
export async function listArchives(deps: ReadDeps, project: ProjectConfig, set: SerialSetName, dir: string): Promise<readonly string[]> {
  if (!(await deps.files.isDirectory(dir))) throw msg.serialDirMissing(set, displayPath(project, dir));
  return (await deps.files.listDirectories(dir)).filter((name) => !name.startsWith('.')).sort(compare);
}

async function readRawSerials(deps: ReadDeps, project: ProjectConfig, set: SerialSetName, dir: string): Promise<RawSerial[]> {
  const archives = await listArchives(deps, project, set, dir);
  const raw: RawSerial[] = [];
  for (const archive of archives) raw.push({ archive, text: await deps.files.readText(join(dir, archive, SERIAL_FILE)) });
  return raw;
}

// ---------------------------------------------------------------------------
// cat, cat-json

export interface CatRequest {
  readonly sets: readonly SerialSetName[];
  /** Only these archives (each must exist in one of the sets); empty: all. */
  readonly archives: readonly string[];
}

/** The serials of the requested sets, filtered to the requested archives. */
export async function catSerials(deps: ReadDeps, project: ProjectConfig, request: CatRequest): Promise<Partial<Record<SerialSetName, SerialSet>>> {
  const full = new Map<SerialSetName, SerialSet>();
  for (const set of request.sets) full.set(set, await readSerialSet(deps, project, set));
  const selected = selectArchivesAcross(
    request.sets.map((set) => ({ set, archives: Object.keys(full.get(set) ?? {}) })),
    request.archives,
  );
  const result: Partial<Record<SerialSetName, SerialSet>> = {};
  for (const set of request.sets) {
    const serials = full.get(set) ?? {};
    result[set] = Object.fromEntries((selected.get(set) ?? []).map((a) => [a, serials[a] ?? LATEST]));
  }
  return result;
}

/** The serials of any `DIR/<archive>/serial` tree (e.g. prepare-build's output), validated. */
export async function catSerialDir(deps: ReadDeps, project: ProjectConfig, dir: string): Promise<SerialSet> {
  const set: SerialSetName = join(project.root, project.serialDirs.builder) === dir ? 'builder' : 'iso';
  return readSerialDir(deps, project, set, dir, []);
}

// ---------------------------------------------------------------------------

function layoutOf(project: ProjectConfig, archive: string): SnapshotLayout {
  return resolveArchiveOrigin(project, archive).layout;
}

export function layoutsOf(project: ProjectConfig, serials: SerialSet): Record<string, SnapshotLayout> {
  return Object.fromEntries(Object.keys(serials).map((a) => [a, layoutOf(project, a)]));
}

function displayPath(project: ProjectConfig, path: string): string {
  const rel = relative(project.root, path);
  return rel.startsWith('..') ? path : rel;
}
