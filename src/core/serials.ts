/**
 * APT snapshot serials: what a serial looks like in each origin layout, and
 * the pure planning of freeze, thaw and prepare-build. Nothing here reads a
 * file or the network: app/serial-sets.ts and app/snapshot-queries.ts
 * observe, these functions decide.
 */
import { isExists } from 'date-fns/isExists';
import { compare } from './compare.js';
import type { SerialSetName, SnapshotLayout } from './project.js';
import { snapshotMessages as msg } from './messages/index.js';

export const LATEST = 'latest';

/** The archive that stays on `latest` in the ISO set unless asked (Tails' FREEZE_EXCEPTIONS). */
export const FREEZE_EXCEPTION = 'debian-security';

/** archive → serial (numeric for its layout) or "latest". Keys sorted. */
export type SerialSet = Readonly<Record<string, string>>;

/** One archive's serial file, as read: its raw text (undefined when the file is missing). */
export interface RawSerial {
  readonly archive: string;
  readonly text: string | undefined;
}

/** One line of a freeze/thaw/prepare-build plan. */
export interface SerialChange {
  readonly set: SerialSetName;
  readonly archive: string;
  readonly from: string;
  readonly to: string;
}

/** A plan over one set: every targeted archive (changed or not) plus notes for the user. */
export interface SerialPlan {
  readonly set: SerialSetName;
  readonly entries: readonly SerialChange[];
  readonly notes: readonly string[];
}

const PATTERNS: Record<SnapshotLayout, RegExp> = {
  tails: /^(\d{4})(\d{2})(\d{2})\d{2}$/,
  debian: /^(\d{4})(\d{2})(\d{2})T([01]\d|2[0-3])[0-5]\d[0-5]\dZ$/,
};

/** The human name of a layout's serial format, for messages. */
export function serialFormat(layout: SnapshotLayout): string {
  return layout === 'tails' ? 'YYYYMMDDNN' : 'YYYYMMDDTHHMMSSZ';
}

/** Whether `value` is a numeric serial of `layout` (not "latest"). */
export function isSerial(value: string, layout: SnapshotLayout): boolean {
  const m = PATTERNS[layout].exec(value);
  if (m === null) return false;
  // A real calendar day: 2024023101 (31 February) is no serial.
  return isExists(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
}

export function isSerialOrLatest(value: string, layout: SnapshotLayout): boolean {
  return value === LATEST || isSerial(value, layout);
}

export type SerialTextResult = { readonly ok: true; readonly value: string } | { readonly ok: false; readonly shown: string };

/**
 * Interprets a serial file's text: exactly one non-empty line (surrounding
 * whitespace ignored) holding a serial of `layout` or "latest".
 */
export function parseSerialText(text: string, layout: SnapshotLayout): SerialTextResult {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const value = lines[0];
  if (lines.length !== 1 || value === undefined || !isSerialOrLatest(value, layout)) {
    return { ok: false, shown: lines.length === 0 ? '' : lines.join('\\n') };
  }
  return { ok: true, value };
}

/**
 * Validates the raw files of one set. `layoutOf` tells each archive's origin
 * layout; `fileOf` names a serial file for messages.
 */
export function validateSerialSet(args: {
  readonly set: SerialSetName;
  readonly raw: readonly RawSerial[];
  readonly layoutOf: (archive: string) => SnapshotLayout;
  readonly fileOf: (archive: string) => string;
  /**
   * Archives about to be overwritten (freeze, thaw): a missing or malformed
   * file there is no error, so that freezing or thawing is the way to fix it.
   * Their value is then the text found, quoted (e.g. `"2024-10-01"`, `""`).
   */
  readonly replacing?: readonly string[];
}): SerialSet {
  const replacing = new Set(args.replacing ?? []);
  const result: Record<string, string> = {};
  for (const { archive, text } of [...args.raw].sort((a, b) => compare(a.archive, b.archive))) {
    if (text === undefined) {
      if (!replacing.has(archive)) throw msg.missingSerialFile(args.set, args.fileOf(archive), archive);
      result[archive] = '(missing)';
      continue;
    }
    const layout = args.layoutOf(archive);
    const parsed = parseSerialText(text, layout);
    if (parsed.ok) result[archive] = parsed.value;
    else if (replacing.has(archive)) result[archive] = JSON.stringify(parsed.shown);
    else throw msg.malformedSerialFile(args.set, args.fileOf(archive), archive, parsed.shown, serialFormat(layout));
  }
  return result;
}

/**
 * Which archives of a set a command acts on: the requested ones (each must
 * exist in the set), or all of them.
 */
export function selectArchives(set: SerialSetName, archivesOfSet: readonly string[], requested: readonly string[]): readonly string[] {
  const known = [...archivesOfSet].sort(compare);
  if (requested.length === 0) return known;
  for (const archive of requested) {
    if (!known.includes(archive)) throw msg.unknownArchive(set, archive, known);
  }
  return [...new Set(requested)].sort(compare);
}

export interface FreezeRequest {
  readonly set: SerialSetName;
  readonly current: SerialSet;
  readonly archives: readonly string[];
  readonly freezeDebianSecurity: boolean;
}

/**
 * Whether freezing `archive` in `set` pins it to a number. debian-security
 * stays `latest` in the ISO set unless asked; the builder's serials are
 * always numeric (DESIGN, "APT snapshot serials").
 */
export function freezesToNumber(set: SerialSetName, archive: string, freezeDebianSecurity: boolean): boolean {
  return archive !== FREEZE_EXCEPTION || freezeDebianSecurity || set === 'builder';
}

/** The archives whose latest serial a freeze must look up. */
export function planFreezeLookups(requests: readonly FreezeRequest[]): readonly string[] {
  const needed = new Set<string>();
  for (const r of requests) {
    for (const archive of r.archives) if (freezesToNumber(r.set, archive, r.freezeDebianSecurity)) needed.add(archive);
  }
  return [...needed].sort(compare);
}

/** Plans a freeze from the current serials and the latest ones looked up. */
export function planFreeze(request: FreezeRequest, latest: Readonly<Record<string, string>>): SerialPlan {
  const notes: string[] = [];
  const entries = request.archives.map((archive): SerialChange => {
    const from = request.current[archive] ?? LATEST;
    if (!freezesToNumber(request.set, archive, request.freezeDebianSecurity)) {
      return { set: request.set, archive, from, to: LATEST };
    }
    const to = latest[archive];
    if (to === undefined) throw msg.latestNotLookedUp(archive);
    if (archive === FREEZE_EXCEPTION && !request.freezeDebianSecurity) notes.push(msg.builderFreezesSecurity());
    return { set: request.set, archive, from, to };
  });
  return { set: request.set, entries, notes };
}

/** Plans a thaw: every targeted archive to `latest`. The builder set is never thawed. */
export function planThaw(set: SerialSetName, current: SerialSet, archives: readonly string[]): SerialPlan {
  if (set === 'builder') throw msg.thawBuilderRefused();
  return { set, entries: archives.map((archive) => ({ set, archive, from: current[archive] ?? LATEST, to: LATEST })), notes: [] };
}

/**
 * The archives of a set whose serial must be looked up: those on `latest`,
 * unless a JSON of serials was provided (it must then cover them all).
 */
export function planPrepareBuildLookups(current: SerialSet, provided: Readonly<Record<string, string>> | undefined): readonly string[] {
  if (provided !== undefined) return [];
  return Object.keys(current)
    .filter((archive) => current[archive] === LATEST)
    .sort(compare);
}

/**
 * Resolves every `latest` of a set to a number: from `provided` (the
 * APT_SNAPSHOTS_SERIALS JSON, which must then name every `latest` archive, so
 * that a recorded build is reproduced exactly), else from `latest` (looked
 * up). Numeric serials stay as the files say; a provided value that disagrees
 * is noted.
 */
export function planPrepareBuild(args: {
  readonly set: SerialSetName;
  readonly current: SerialSet;
  readonly provided: Readonly<Record<string, string>> | undefined;
  readonly providedSource: string;
  readonly latest: Readonly<Record<string, string>>;
}): { readonly serials: SerialSet; readonly notes: readonly string[] } {
  const serials: Record<string, string> = {};
  const notes: string[] = [];
  for (const archive of Object.keys(args.current).sort(compare)) {
    const value = args.current[archive] ?? LATEST;
    const given = args.provided?.[archive];
    if (value !== LATEST) {
      if (given !== undefined && given !== value) notes.push(msg.providedDisagrees(args.set, archive, value, given, args.providedSource));
      serials[archive] = value;
      continue;
    }
    if (args.provided !== undefined && given === undefined) {
      throw msg.serialsJsonInvalid(args.providedSource, `it has no serial for "${archive}", which is "latest" in the ${args.set} set`);
    }
    const resolved = given ?? args.latest[archive];
    if (resolved === undefined) throw msg.latestNotLookedUp(archive);
    serials[archive] = resolved;
  }
  return { serials, notes };
}

/**
 * Parses APT_SNAPSHOTS_SERIALS: a JSON object mapping each archive of the set
 * to a numeric serial (a string). Rejects `latest`, non-strings, malformed
 * serials and archives the set does not have, naming the key.
 */
export function parseSerialsJson(
  text: string,
  source: string,
  layouts: Readonly<Record<string, SnapshotLayout>>,
): Readonly<Record<string, string>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw msg.serialsJsonInvalid(source, `it is not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw msg.serialsJsonInvalid(source, 'it must be a JSON object mapping archive names to serials');
  }
  const known = Object.keys(layouts).sort(compare);
  const result: Record<string, string> = {};
  for (const [archive, value] of Object.entries(parsed as Record<string, unknown>)) {
    const layout = layouts[archive];
    if (layout === undefined) throw msg.serialsJsonInvalid(source, `"${archive}" is not an archive of this set (known: ${known.join(', ')})`);
    if (typeof value !== 'string') throw msg.serialsJsonInvalid(source, `"${archive}" must be a string, got ${JSON.stringify(value)}`);
    if (value === LATEST) throw msg.serialsJsonInvalid(source, `"${archive}" is "latest", but the JSON must pin numbers (it records a build)`);
    if (!isSerial(value, layout)) {
      throw msg.serialsJsonInvalid(source, `"${archive}" holds "${value}", which is not a serial (${serialFormat(layout)})`);
    }
    result[archive] = value;
  }
  return result;
}

/** The entries of plans whose value changes. */
export function changedEntries(plans: readonly SerialPlan[]): readonly SerialChange[] {
  return plans.flatMap((p) => p.entries.filter((e) => e.from !== e.to));
}

/**
 * Selects archives across several sets: without `requested`, every archive of
 * each set; otherwise the requested ones each set has. An archive no selected
 * set has is an error.
 */
export function selectArchivesAcross(
  sets: readonly { readonly set: SerialSetName; readonly archives: readonly string[] }[],
  requested: readonly string[],
): ReadonlyMap<SerialSetName, readonly string[]> {
  if (sets.length === 1 && sets[0] !== undefined) {
    return new Map([[sets[0].set, selectArchives(sets[0].set, sets[0].archives, requested)]]);
  }
  const all = [...new Set(sets.flatMap((s) => s.archives))].sort(compare);
  for (const archive of requested) if (!all.includes(archive)) throw msg.unknownArchive('any', archive, all);
  return new Map(
    sets.map((s) => [s.set, requested.length === 0 ? [...s.archives].sort(compare) : [...new Set(requested)].filter((a) => s.archives.includes(a)).sort(compare)]),
  );
}
