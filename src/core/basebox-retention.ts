/**
 * Which builder boxes to keep and which to remove: Tails' `basebox:clean_old`
 * (older than six months, always keeping the newest) and `basebox:clean_all`,
 * made safe — a box in use by a defined domain and the box the current
 * checkout builds with are never removed. Pure: boxes, the clock and the
 * current name come in as data.
 */
export interface RetentionBox {
  readonly name: string;
  /** Whether a defined libvirt domain boots from one of its pool volumes. */
  readonly inUse: boolean;
}

export type RetentionReason =
  /** The box the current checkout's build needs. */
  | 'current'
  /** A defined domain reads its volume. */
  | 'in-use'
  /** The newest box by name date: Tails always keeps it. */
  | 'newest'
  /** Dated on or after the cutoff. */
  | 'recent'
  /** No YYYYMMDD date in its name: clean-old cannot judge its age. */
  | 'undated'
  /** Dated before the cutoff. */
  | 'old'
  /** clean-all removes every box not in use. */
  | 'all';

export interface RetentionDecision {
  readonly name: string;
  /** YYYYMMDD from the name, if any. */
  readonly date: string | undefined;
  readonly action: 'keep' | 'remove';
  readonly reason: RetentionReason;
}

export interface RetentionPlan {
  /** Only boxes named `<prefix>-…` are considered; others are not ours to judge. */
  readonly prefix: string;
  /** YYYYMMDD: boxes dated before it are old (clean-old only). */
  readonly cutoff: string | undefined;
  readonly current: string | undefined;
  readonly decisions: readonly RetentionDecision[];
}

export const DEFAULT_MONTHS = 6;

/** The YYYYMMDD date of a box name `<prefix>-<arch>-<codename>-<YYYYMMDD>…`, as Tails' basebox_date reads it. */
export function readBoxDate(name: string, prefix: string): string | undefined {
  if (!name.startsWith(`${prefix}-`)) return undefined;
  const match = /^[^-]+-[^-]+-(\d{8})(?:-|$)/.exec(name.slice(prefix.length + 1));
  const date = match?.[1];
  return date !== undefined && isCalendarDate(date) ? date : undefined;
}

function isCalendarDate(yyyymmdd: string): boolean {
  const y = Number(yyyymmdd.slice(0, 4));
  const m = Number(yyyymmdd.slice(4, 6));
  const d = Number(yyyymmdd.slice(6, 8));
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

/** `now` minus `months` calendar months, as a UTC YYYYMMDD (the 31st of a shorter month clamps to its last day). */
export function computeCutoff(now: Date, months: number): string {
  const total = now.getUTCFullYear() * 12 + now.getUTCMonth() - months;
  const year = Math.floor(total / 12);
  const month = total - year * 12; // 0-based
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  const day = Math.min(now.getUTCDate(), lastDay);
  return `${year}${pad(month + 1)}${pad(day)}`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

function ours(boxes: readonly RetentionBox[], prefix: string): readonly RetentionBox[] {
  return boxes.filter((b) => b.name.startsWith(`${prefix}-`));
}

/**
 * clean-old: remove boxes dated before `now - months`, except the current box,
 * boxes in use, and the newest (every box sharing the newest date).
 */
export function planCleanOld(input: {
  readonly boxes: readonly RetentionBox[];
  readonly prefix: string;
  readonly current: string | undefined;
  readonly now: Date;
  readonly months: number;
}): RetentionPlan {
  if (!Number.isInteger(input.months) || input.months < 1) throw new RangeError(`months must be a whole number ≥ 1, got ${String(input.months)}`);
  const cutoff = computeCutoff(input.now, input.months);
  const candidates = ours(input.boxes, input.prefix);
  const dates = candidates.map((b) => readBoxDate(b.name, input.prefix)).filter((d): d is string => d !== undefined);
  const newest = dates.reduce<string | undefined>((max, d) => (max === undefined || d > max ? d : max), undefined);
  const decisions = candidates.map((box): RetentionDecision => {
    const date = readBoxDate(box.name, input.prefix);
    const keep = (reason: RetentionReason): RetentionDecision => ({ name: box.name, date, action: 'keep', reason });
    if (box.name === input.current) return keep('current');
    if (box.inUse) return keep('in-use');
    if (date === undefined) return keep('undated');
    if (date === newest) return keep('newest');
    if (date >= cutoff) return keep('recent');
    return { name: box.name, date, action: 'remove', reason: 'old' };
  });
  return { prefix: input.prefix, cutoff, current: input.current, decisions: sortDecisions(decisions) };
}

/** clean-all: remove every box with the prefix, except boxes in use. */
export function planCleanAll(input: { readonly boxes: readonly RetentionBox[]; readonly prefix: string; readonly current: string | undefined }): RetentionPlan {
  const decisions = ours(input.boxes, input.prefix).map((box): RetentionDecision => {
    const date = readBoxDate(box.name, input.prefix);
    return box.inUse ? { name: box.name, date, action: 'keep', reason: 'in-use' } : { name: box.name, date, action: 'remove', reason: 'all' };
  });
  return { prefix: input.prefix, cutoff: undefined, current: input.current, decisions: sortDecisions(decisions) };
}

/** Oldest first, undated last, then by name: a stable order for printing and tests. */
function sortDecisions(decisions: readonly RetentionDecision[]): readonly RetentionDecision[] {
  return [...decisions].sort((a, b) => (a.date ?? '99999999').localeCompare(b.date ?? '99999999') || a.name.localeCompare(b.name));
}

export function boxesToRemove(plan: RetentionPlan): readonly string[] {
  return plan.decisions.filter((d) => d.action === 'remove').map((d) => d.name);
}

export const REASON_TEXT: Readonly<Record<RetentionReason, string>> = {
  current: 'the current checkout builds with it',
  'in-use': 'a libvirt domain boots from it',
  newest: 'the newest box is always kept',
  recent: 'newer than the cutoff',
  undated: 'no date in its name',
  old: 'older than the cutoff',
  all: 'clean-all',
};
