/**
 * Debian Release/InRelease files: the fields of the first paragraph, the
 * `Date`/`Valid-Until` dates (RFC 2822 as apt writes them), and how far a
 * snapshot is from expiring. Pure; the signature is not checked here (apt does).
 */

export interface ReleaseFile {
  /** Field name (as written) → value; continuation lines joined with "\n". */
  readonly fields: Readonly<Record<string, string>>;
  readonly date: Date | undefined;
  readonly validUntil: Date | undefined;
}

const BEGIN_SIGNED = '-----BEGIN PGP SIGNED MESSAGE-----';
const BEGIN_SIGNATURE = '-----BEGIN PGP SIGNATURE-----';

/** The signed text of a clearsigned message (dash-escaping undone), or the text itself when it is not armoured. */
export function stripClearsign(text: string): string {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  const start = lines.findIndex((l) => l.trim() === BEGIN_SIGNED);
  if (start === -1) return lines.join('\n');
  let i = start + 1;
  // Armour headers ("Hash: SHA512") end at the first empty line.
  while (i < lines.length && lines[i]?.trim() !== '') i++;
  const body: string[] = [];
  for (i++; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.trim() === BEGIN_SIGNATURE) break;
    body.push(line.startsWith('- ') ? line.slice(2) : line);
  }
  return body.join('\n');
}

/** Parses the first deb822 paragraph of a Release or InRelease file. */
export function parseReleaseFile(text: string): ReleaseFile {
  const fields: Record<string, string> = {};
  let current: string | undefined;
  for (const line of stripClearsign(text).split('\n')) {
    if (line.trim() === '') {
      if (current !== undefined || Object.keys(fields).length > 0) break;
      continue;
    }
    if (/^[ \t]/.test(line)) {
      if (current !== undefined) fields[current] = `${fields[current] ?? ''}\n${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    current = line.slice(0, colon);
    fields[current] = line.slice(colon + 1).trim();
  }
  return {
    fields,
    date: optionalDate(field(fields, 'Date')),
    validUntil: optionalDate(field(fields, 'Valid-Until')),
  };
}

/** A field by name, case-insensitively (deb822 field names are). */
export function field(fields: Readonly<Record<string, string>>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(fields)) if (key.toLowerCase() === wanted) return value;
  return undefined;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/**
 * Parses an RFC 2822 date as found in Release files, e.g.
 * `Sat, 12 Oct 2024 08:00:00 UTC` or `Sat, 12 Oct 2024 08:00:00 +0000`.
 * Returns undefined when the text is not such a date.
 */
export function parseRfc2822Date(text: string): Date | undefined {
  const m = /^\s*(?:[A-Za-z]{3},\s*)?(\d{1,2})\s+([A-Za-z]{3})\s+(\d{4})\s+(\d{2}):(\d{2})(?::(\d{2}))?\s+(UTC|GMT|UT|Z|[+-]\d{4})\s*$/.exec(text);
  if (m === null) return undefined;
  const [, d, mon, y, hh, mm, ss, zone] = m;
  const month = MONTHS.indexOf((mon ?? '').toLowerCase());
  const day = Number(d);
  const hours = Number(hh);
  const minutes = Number(mm);
  const seconds = ss === undefined ? 0 : Number(ss);
  if (month === -1 || day < 1 || day > 31 || hours > 23 || minutes > 59 || seconds > 60) return undefined;
  let offsetMinutes = 0;
  if (zone !== undefined && /^[+-]\d{4}$/.test(zone)) {
    const sign = zone.startsWith('-') ? -1 : 1;
    offsetMinutes = sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3, 5)));
  }
  // Reject days the month does not have (31 Feb would roll over).
  if (new Date(Date.UTC(Number(y), month, day)).getUTCDate() !== day) return undefined;
  return new Date(Date.UTC(Number(y), month, day, hours, minutes, Math.min(seconds, 59)) - offsetMinutes * 60_000);
}

function optionalDate(text: string | undefined): Date | undefined {
  return text === undefined ? undefined : parseRfc2822Date(text);
}

const DAY_MS = 86_400_000;

export interface ExpiryVerdict {
  /** True when the snapshot is valid for at least `days` more days (or never expires). */
  readonly ok: boolean;
  /** Whole days left (negative when already expired); undefined when there is no Valid-Until. */
  readonly daysLeft: number | undefined;
}

/** Whether a Release file with `validUntil` stays valid for at least `days` days after `now`. */
export function assessExpiry(validUntil: Date | undefined, now: Date, days: number): ExpiryVerdict {
  if (validUntil === undefined) return { ok: true, daysLeft: undefined };
  const left = validUntil.getTime() - now.getTime();
  return { ok: left >= days * DAY_MS, daysLeft: Math.floor(left / DAY_MS) };
}
