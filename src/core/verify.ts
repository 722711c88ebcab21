/**
 * `tails-build verify` as pure data: which artifacts must be reproducible, how
 * two artifact sets compare, and what a published build report pins.
 */
import { UserError } from './errors.js';

export interface HashedFile {
  readonly name: string;
  readonly bytes: number;
  readonly sha256: string;
}

export interface FileComparison {
  readonly name: string;
  /** undefined: the file is missing from that side. */
  readonly first: string | undefined;
  readonly second: string | undefined;
  readonly identical: boolean;
}

export interface Comparison {
  readonly identical: boolean;
  readonly files: readonly FileComparison[];
}

/** Compares two artifact sets by name and sha256: identical only when both hold the same names with the same hashes. */
export function compareArtifacts(first: readonly HashedFile[], second: readonly HashedFile[]): Comparison {
  const names = [...new Set([...first.map((f) => f.name), ...second.map((f) => f.name)])].sort();
  const files = names.map((name) => {
    const a = first.find((f) => f.name === name)?.sha256;
    const b = second.find((f) => f.name === name)?.sha256;
    return { name, first: a, second: b, identical: a !== undefined && a === b };
  });
  return { identical: files.length > 0 && files.every((f) => f.identical), files };
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
