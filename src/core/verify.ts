/**
 * `tails-build verify` as pure data: which artifacts must be reproducible, how
 * two artifact sets compare, and what a published build report pins.
 */
import { compare } from './compare.js';
import { UserError } from './errors.js';

export interface HashedFile {
  readonly name: string;
  readonly bytes: number;
  readonly sha256: string;
}

export interface FileComparison {
  /** The artifact's name in the first set (in the second, when the first lacks it). */
  readonly name: string;
  /** Its name in the second set, only when that differs (a Tails branch build's time in it). */
  readonly secondName?: string;
  /** undefined: the file is missing from that side. */
  readonly first: string | undefined;
  readonly second: string | undefined;
  readonly identical: boolean;
  /** Why a pair that may differ does not count (a Tails .buildlog: its lines carry the build's times). */
  readonly notCompared?: string;
}

/** Artifacts listed but not counted against reproducibility: Tails' build logs (timestamps in every line, as Tails' own reproducibility checks skip them). */
export function whyNotCompared(name: string): string | undefined {
  return /^tails-amd64-.*\.buildlog$/.test(name) ? 'a build log (its lines carry the build\'s times)' : undefined;
}

export interface Comparison {
  readonly identical: boolean;
  readonly files: readonly FileComparison[];
}

/**
 * A Tails branch build's artifact name (auto/config):
 * `tails-amd64-<branch, / → _>@<short id>[+<base branch>@<short id>]-<DATETIME_NOW>.<ext>`,
 * DATETIME_NOW being `date --utc +%Y%m%dT%H%MZ` when the build ran, the short ids
 * `git rev-parse --short=10` (10 hex, more when 10 are ambiguous). A tag build's
 * name (`tails-amd64-<version>.<ext>`) has no time in it.
 */
const TAILS_BRANCH_ARTIFACT = /^(tails-amd64-[^/]+@[0-9a-f]{10,40}(?:\+[^/]+@[0-9a-f]{10,40})?)-\d{8}T\d{4}Z(\.[^/]+)$/;

/**
 * What an artifact is, whatever build wrote it: its name, with the build time of a
 * Tails branch build's name replaced by `<DATETIME_NOW>` (only that part, only in
 * names of that shape), so two builds of one commit pair .iso with .iso. Any other
 * name (a tag build's, tails-build-env.list, the sample's) is its own key.
 */
export function artifactKey(name: string): string {
  const m = TAILS_BRANCH_ARTIFACT.exec(name);
  return m === null ? name : `${m[1] ?? ''}-<DATETIME_NOW>${m[2] ?? ''}`;
}

/** The artifact as a report names it: both names when the two sets name it differently. */
export function comparedName(file: FileComparison): string {
  return file.secondName === undefined ? file.name : `${file.name} / ${file.secondName}`;
}

/**
 * Compares two artifact sets by what each file is (artifactKey) and sha256: identical
 * only when both hold the same artifacts with the same hashes. When one set holds two
 * files of one key (two branch builds' ISOs in one directory), which pairs with which
 * cannot be told, so those files pair by their exact names only.
 */
export function compareArtifacts(first: readonly HashedFile[], second: readonly HashedFile[]): Comparison {
  const ambiguous = new Set<string>();
  for (const side of [first, second]) {
    const seen = new Set<string>();
    for (const f of side) {
      const key = artifactKey(f.name);
      if (seen.has(key)) ambiguous.add(key);
      seen.add(key);
    }
  }
  const keyOf = (f: HashedFile): string => {
    const key = artifactKey(f.name);
    return ambiguous.has(key) ? f.name : key;
  };
  const keys = [...new Set([...first.map(keyOf), ...second.map(keyOf)])].sort(compare);
  const files = keys.map((key): FileComparison => {
    const a = first.find((f) => keyOf(f) === key);
    const b = second.find((f) => keyOf(f) === key);
    const name = a?.name ?? b?.name ?? key;
    const why = whyNotCompared(name);
    return {
      name,
      ...(a !== undefined && b !== undefined && a.name !== b.name ? { secondName: b.name } : {}),
      first: a?.sha256,
      second: b?.sha256,
      identical: a !== undefined && a.sha256 === b?.sha256,
      ...(a !== undefined && b !== undefined && why !== undefined ? { notCompared: why } : {}),
    };
  });
  return { identical: files.length > 0 && files.every((f) => f.identical || f.notCompared !== undefined), files };
}

/** What `verify --against` needs from a build-report.json. */
export interface PublishedBuild {
  readonly commit: string;
  readonly ref: string;
  readonly box: string;
  readonly isoSerials: Readonly<Record<string, string>>;
  readonly builderSecurity: string;
  /** The squashfs compression it was built with, when the report says. */
  readonly compression: 'fast' | 'default' | undefined;
  readonly artifacts: readonly HashedFile[];
}

/** Reads a build report (tails-build/build-report@1) strictly, naming the first thing wrong with it. */
export function parsePublishedBuild(text: string, source: string): PublishedBuild {
  const bad = (why: string): UserError =>
    new UserError('bad-build-report', `${source} is not a usable build report: ${why}.`, { hint: 'Pass the build-report.json a tails-build iso wrote next to its artifacts.' });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw bad(`not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  const r = json as Record<string, unknown> | null;
  if (r === null || typeof r !== 'object') throw bad('not a JSON object');
  if (r.schema !== 'tails-build/build-report@1') throw bad(`schema is ${JSON.stringify(r.schema)}, not "tails-build/build-report@1"`);
  if (r.ok !== true) throw bad('it records a failed build');
  const git = r.git as Record<string, unknown> | undefined;
  if (typeof git?.commit !== 'string' || !/^[0-9a-f]{40}$/.test(git.commit)) throw bad('git.commit is missing');
  if (typeof r.box !== 'string' || r.box === '') throw bad('box is missing');
  const iso = (r.serials as Record<string, unknown> | undefined)?.iso as Record<string, unknown> | undefined;
  if (iso === undefined || typeof iso !== 'object') throw bad('serials.iso is missing');
  const isoSerials: Record<string, string> = {};
  for (const [archive, serial] of Object.entries(iso)) {
    if (typeof serial !== 'string' || serial === 'latest') throw bad(`serials.iso.${archive} is ${JSON.stringify(serial)}, not a resolved serial`);
    isoSerials[archive] = serial;
  }
  if (typeof r.builderSecurity !== 'string') throw bad('builderSecurity is missing');
  if (!Array.isArray(r.artifacts) || r.artifacts.length === 0) throw bad('it lists no artifacts');
  const artifacts = (r.artifacts as unknown[]).map((a, i) => {
    const f = a as Record<string, unknown>;
    if (typeof f.name !== 'string' || typeof f.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(f.sha256)) throw bad(`artifacts[${String(i)}] has no name or sha256`);
    return { name: f.name, bytes: typeof f.bytes === 'number' ? f.bytes : 0, sha256: f.sha256 };
  });
  const compression = r.compression === 'fast' || r.compression === 'default' ? r.compression : undefined;
  return { commit: git.commit, ref: typeof git.ref === 'string' ? git.ref : '', box: r.box, isoSerials, builderSecurity: r.builderSecurity, compression, artifacts };
}
