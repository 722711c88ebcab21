/**
 * A git config file parsed as git parses it (config.c git_parse_source):
 * sections, subsections, keys, quoted and escaped values, continuations,
 * comments; a line git rejects is named with why. Pure; core/tails-submodules.ts
 * reads .gitmodules with it.
 */

/** One `section.subsection.key = value` of a git config file. */
export interface ConfigItem {
  /** Lower case. */
  readonly section: string;
  /** As written (case-sensitive), undefined for a plain [section]. */
  readonly subsection: string | undefined;
  /** Lower case. */
  readonly key: string;
  /** undefined for a bare key (`key` alone: boolean true). */
  readonly value: string | undefined;
  readonly line: number;
}

export type ConfigParse = { readonly ok: true; readonly items: readonly ConfigItem[] } | { readonly ok: false; readonly line: number; readonly why: string };

const SPACE = new Set([' ', '\t', '\n', '\v', '\f', '\r']);
const isSpace = (c: string): boolean => SPACE.has(c);
const isAlpha = (c: string): boolean => /^[A-Za-z]$/.test(c);
const isKeyChar = (c: string): boolean => /^[A-Za-z0-9-]$/.test(c);
const ESCAPES: Readonly<Record<string, string>> = { t: '\t', b: '\b', n: '\n', '\\': '\\', '"': '"' };

/** git's config parser (config.c git_parse_source), character by character; CRLF already made LF. */
export function parseGitConfig(source: string): ConfigParse {
  let pos = 0;
  let line = 1;
  let eof = false;
  /** The next character; "\n" at the end (eof set), as git's get_next_char. */
  const next = (): string => {
    const c = source.charAt(pos);
    if (c === '') {
      eof = true;
      return '\n';
    }
    pos += 1;
    if (c === '\n') line += 1;
    return c;
  };
  /** The last next() ran past the end (a function: TypeScript does not see next() set it). */
  const atEnd = (): boolean => eof;
  class Refusal {
    constructor(readonly why: string) {}
  }

  /** After "[": the section's full name ("submodule.<name>"), or why the header is wrong. */
  const readHeader = (): string | Refusal => {
    let name = '';
    let c: string;
    for (;;) {
      c = next();
      if (atEnd()) return new Refusal('the [section] header has no closing "]"');
      if (c === ']') return name === '' ? new Refusal('the [section] header names no section') : name;
      if (isSpace(c)) break;
      if (!isKeyChar(c) && c !== '.') return new Refusal(`a section name may hold only letters, digits, "-" and ".", not "${c}"`);
      name += c.toLowerCase();
    }
    // [section "subsection"]
    while (isSpace(c)) {
      if (c === '\n') return new Refusal('the [section] header has no closing "]"');
      c = next();
    }
    if (c !== '"') return new Refusal('a subsection name must be in double quotes: [section "name"]');
    if (name === '') return new Refusal('the [section] header names no section');
    let subsection = '';
    for (;;) {
      let d = next();
      if (d === '\n') return new Refusal('the subsection name has no closing double quote');
      if (d === '"') break;
      if (d === '\\') {
        d = next();
        if (d === '\n') return new Refusal('the subsection name has no closing double quote');
      }
      subsection += d;
    }
    if (next() !== ']') return new Refusal('the subsection name\'s closing double quote must be followed by "]"');
    return `${name}.${subsection}`;
  };

  /** After a key: its value (undefined: a bare key), the line's end consumed. */
  const readValue = (key: string): string | undefined | Refusal => {
    const after = next();
    let c = after;
    while (c === ' ' || c === '\t') c = next();
    if (c === '\n') return undefined;
    if (c !== '=') {
      const inKey = c === after && c !== '#' && c !== ';';
      return new Refusal(inKey ? `a key may hold only letters, digits and "-", not "${c}"` : `"${key}" must be followed by "=" and its value`);
    }
    let quote = false;
    let comment = false;
    let spaces = 0;
    let value = '';
    for (;;) {
      c = next();
      if (c === '\n') return quote ? new Refusal('the value opens a double quote and does not close it') : value;
      if (comment) continue;
      if (isSpace(c) && !quote) {
        if (value !== '') spaces += 1;
        continue;
      }
      if (!quote && (c === ';' || c === '#')) {
        comment = true;
        continue;
      }
      value += ' '.repeat(spaces);
      spaces = 0;
      if (c === '\\') {
        c = next();
        if (c === '\n') continue;
        const escaped = ESCAPES[c];
        if (escaped === undefined) return new Refusal(`"\\${c}" is no escape git knows (a value may hold \\", \\\\, \\n, \\t and \\b)`);
        value += escaped;
        continue;
      }
      if (c === '"') {
        quote = !quote;
        continue;
      }
      value += c;
    }
  };

  const items: ConfigItem[] = [];
  let section: string | undefined;
  let comment = false;
  for (;;) {
    const start = line;
    const c = next();
    if (c === '\n') {
      if (atEnd()) return { ok: true, items };
      comment = false;
      continue;
    }
    if (comment || isSpace(c)) continue;
    if (c === '#' || c === ';') {
      comment = true;
      continue;
    }
    if (c === '[') {
      const header = readHeader();
      if (header instanceof Refusal) return { ok: false, line: start, why: header.why };
      section = header;
      continue;
    }
    if (!isAlpha(c)) return { ok: false, line: start, why: `a line holds a [section] header, a "key = value" or a comment (# or ;), and cannot start with "${c}"` };
    let key = c.toLowerCase();
    while (isKeyChar(source.charAt(pos))) key += next().toLowerCase();
    const value = readValue(key);
    if (value instanceof Refusal) return { ok: false, line: start, why: value.why };
    // git reads a key before any [section] header, and nothing asks for it.
    if (section !== undefined) items.push({ ...splitVariable(`${section}.${key}`), value, line: start });
  }
}

/** "submodule.<name>.path" → its parts, as git's parse_config_key splits them (the subsection is what lies between the first and the last dot). */
function splitVariable(variable: string): Pick<ConfigItem, 'section' | 'subsection' | 'key'> {
  const first = variable.indexOf('.');
  const last = variable.lastIndexOf('.');
  return {
    section: variable.slice(0, first),
    subsection: first === last ? undefined : variable.slice(first + 1, last),
    key: variable.slice(last + 1),
  };
}
