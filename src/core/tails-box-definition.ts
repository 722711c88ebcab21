/**
 * The package list of Tails' builder box, read from the text of its
 * `vagrant/definitions/tails-builder/generate-tails-builder-box.sh`. That
 * script writes a vmdb2 spec in a shell heredoc; the spec's `apt: install`
 * steps name the box's packages. Pure: the text comes from the caller.
 *
 * This is not a YAML parser: it reads the one shape vmdb2 specs use (a list of
 * steps, each a mapping), which is all that is needed to find the steps' keys
 * and their `packages:` lists, in block (`- name`) or flow (`[a, b]`) style,
 * with comments. What the shell would substitute (`${VAR}`, `$VAR`, `$(…)`) is
 * unknown here, so an entry holding it is never taken as a package: it is
 * reported in `skipped`.
 */

/** Debian's grammar for a package name (Policy §5.6.1). */
const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;

export interface AptInstallStep {
  /** 1-based line of the step's `- apt: install` in the script. */
  readonly line: number;
  /** The step's `tag:` (the filesystem vmdb2 installs into), if it has one. */
  readonly tag: string | undefined;
  /** The step's `recommends:` when it says (vmdb2 installs without recommends unless told). */
  readonly recommends: boolean | undefined;
  /** The step's package names, in order, without the skipped entries. */
  readonly packages: readonly string[];
}

export interface SkippedEntry {
  /** 1-based line in the script. */
  readonly line: number;
  readonly text: string;
  readonly reason: 'shell-substitution' | 'not-a-package-name';
}

export interface TailsBoxDefinition {
  /** Every step's packages, in order of appearance, each once. */
  readonly packages: readonly string[];
  readonly steps: readonly AptInstallStep[];
  /** `packages:` entries that are not package names (shell variables, typos). */
  readonly skipped: readonly SkippedEntry[];
}

interface Line {
  /** 1-based, in the whole script. */
  readonly number: number;
  readonly text: string;
}

/**
 * The apt install steps of the vmdb2 spec in `script`. Undefined when the
 * text has no `apt: install` step naming a package (an older or newer Tails
 * whose box is made another way: the caller falls back and says so).
 */
export function parseTailsBuilderScript(script: string): TailsBoxDefinition | undefined {
  const steps: AptInstallStep[] = [];
  const skipped: SkippedEntry[] = [];
  for (const body of specBodies(script)) {
    for (const item of listItems(body)) {
      const step = readAptInstallStep(item, skipped);
      if (step !== undefined) steps.push(step);
    }
  }
  const packages = [...new Set(steps.flatMap((s) => s.packages))];
  if (packages.length === 0) return undefined;
  return { packages, steps, skipped };
}

/**
 * The spec text: the bodies of the script's heredocs (`<<EOF`, `<<'EOF'`,
 * `<<-EOF`), or the whole text when it has none (a spec file of its own).
 */
function specBodies(script: string): Line[][] {
  const lines = script.split('\n').map((text, i) => ({ number: i + 1, text }));
  const bodies: Line[][] = [];
  for (let i = 0; i < lines.length; i++) {
    const opener = /(?<!<)<<(-?)\s*(['"]?)([A-Za-z_][A-Za-z0-9_]*)\2/.exec(stripShellComment(lines[i]?.text ?? ''));
    if (opener === null) continue;
    const [, dash, , word] = opener;
    const body: Line[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const line = lines[j] as Line;
      const candidate = dash === '-' ? line.text.replace(/^\t+/, '') : line.text;
      if (candidate === word) break;
      body.push(line);
    }
    bodies.push(body);
    i = j;
  }
  return bodies.length > 0 ? bodies : [lines];
}

/** A line of shell without its trailing comment (good enough to find a heredoc operator). */
function stripShellComment(text: string): string {
  return /^\s*#/.test(text) ? '' : text;
}

interface Item {
  /** The column of the item's first key (after "- "). */
  readonly keyIndent: number;
  /** The item's lines; the first holds "- key: value". */
  readonly lines: readonly Line[];
}

/**
 * Every list item whose first content is a mapping key (`- mkimg: …`,
 * `- apt: install`), with the lines that belong to it: up to the next line
 * (not blank, not a comment) indented no deeper than its dash. Nested lists
 * (a step's packages) stay inside their item.
 */
function listItems(body: readonly Line[]): Item[] {
  const items: Item[] = [];
  for (let i = 0; i < body.length; i++) {
    const start = /^(\s*)-\s+(?=[A-Za-z0-9_-]+\s*:(\s|$))/.exec(body[i]?.text ?? '');
    if (start === null) continue;
    const dashIndent = (start[1] ?? '').length;
    const lines: Line[] = [body[i] as Line];
    let j = i + 1;
    for (; j < body.length; j++) {
      const line = body[j] as Line;
      if (isBlankOrComment(line.text) || indentOf(line.text) > dashIndent) lines.push(line);
      else break;
    }
    items.push({ keyIndent: start[0].length, lines });
    i = j - 1;
  }
  return items;
}

/** The item as an apt install step, or undefined when it is another step. */
function readAptInstallStep(item: Item, skipped: SkippedEntry[]): AptInstallStep | undefined {
  const keys = itemKeys(item);
  const apt = keys.find((k) => k.key === 'apt');
  if (apt === undefined || unquote(apt.value) !== 'install') return undefined;
  const tag = keys.find((k) => k.key === 'tag' || k.key === 'fs-tag');
  const recommends = keys.find((k) => k.key === 'recommends');
  const packages: string[] = [];
  const packagesKey = keys.find((k) => k.key === 'packages');
  if (packagesKey !== undefined) {
    for (const entry of packageEntries(item, packagesKey)) {
      const name = unquote(entry.text);
      if (name === '') continue;
      if (/\$|`/.test(name)) skipped.push({ line: entry.number, text: name, reason: 'shell-substitution' });
      else if (!PACKAGE_NAME.test(name)) skipped.push({ line: entry.number, text: name, reason: 'not-a-package-name' });
      else if (!packages.includes(name)) packages.push(name);
    }
  }
  return {
    line: item.lines[apt.index]?.number ?? 0,
    tag: tag === undefined || unquote(tag.value) === '' ? undefined : unquote(tag.value),
    recommends: recommends === undefined ? undefined : parseBoolean(unquote(recommends.value)),
    packages,
  };
}

interface Key {
  readonly key: string;
  /** The value on the key's line, comment removed ('' for a block that follows). */
  readonly value: string;
  /** Index of the key's line in item.lines. */
  readonly index: number;
}

/** The item's own keys: the one after its dash, and those at its key column. */
function itemKeys(item: Item): Key[] {
  const keys: Key[] = [];
  for (const [index, line] of item.lines.entries()) {
    if (isBlankOrComment(line.text)) continue;
    const text = index === 0 ? ' '.repeat(item.keyIndent) + line.text.slice(item.keyIndent) : line.text;
    if (indentOf(text) !== item.keyIndent) continue;
    const pair = /^\s*([A-Za-z0-9_-]+)\s*:(?:\s+(.*))?$/.exec(text);
    if (pair === null) continue;
    keys.push({ key: pair[1] ?? '', value: stripYamlComment(pair[2] ?? ''), index });
  }
  return keys;
}

/** The entries of `packages:`: a flow list (possibly over several lines) or the block list below it. */
function packageEntries(item: Item, key: Key): Line[] {
  const first = item.lines[key.index] as Line;
  if (key.value.startsWith('[')) {
    // A flow sequence: from "[" to the matching "]", on one line or more.
    const parts: Line[] = [{ number: first.number, text: key.value }];
    let text = key.value;
    for (let i = key.index + 1; !text.includes(']') && i < item.lines.length; i++) {
      const line = item.lines[i] as Line;
      text = stripYamlComment(line.text.trim());
      parts.push({ number: line.number, text });
    }
    return parts.flatMap((part) =>
      part.text
        .replace(/^\[/, '')
        .replace(/\].*$/, '')
        .split(',')
        .map((entry) => ({ number: part.number, text: entry.trim() })),
    );
  }
  if (key.value !== '') return [{ number: first.number, text: key.value }];
  // A block sequence: "- name" lines, indented deeper than the key or at its column (YAML allows both).
  const entries: Line[] = [];
  for (let i = key.index + 1; i < item.lines.length; i++) {
    const line = item.lines[i] as Line;
    if (isBlankOrComment(line.text)) continue;
    const entry = /^(\s*)-\s+(.*)$/.exec(line.text);
    if (entry === null || (entry[1] ?? '').length < item.keyIndent) break;
    entries.push({ number: line.number, text: stripYamlComment(entry[2] ?? '') });
  }
  return entries;
}

function isBlankOrComment(text: string): boolean {
  return /^\s*(#.*)?$/.test(text);
}

function indentOf(text: string): number {
  return /^ */.exec(text)?.[0].length ?? 0;
}

/** A YAML plain or quoted scalar without its trailing `# comment`. */
function stripYamlComment(text: string): string {
  const quoted = /^(["'])(.*?)\1/.exec(text.trim());
  if (quoted !== null) return quoted[0];
  return text.replace(/(^|\s)#.*$/, '').trim();
}

function unquote(text: string): string {
  const quoted = /^(["'])(.*)\1$/.exec(text.trim());
  return (quoted === null ? text : (quoted[2] ?? '')).trim();
}

function parseBoolean(text: string): boolean | undefined {
  if (/^(true|yes|on)$/i.test(text)) return true;
  if (/^(false|no|off)$/i.test(text)) return false;
  return undefined;
}
