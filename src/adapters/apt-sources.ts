/**
 * The host's apt sources: /etc/apt/sources.list and sources.list.d/*.list
 * (one-line format) and *.sources (deb822). Only `deb` entries that are not
 * disabled count. Parsing is pure and exported for tests; reading goes through
 * the ProjectFiles port plus one directory listing.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProjectFiles } from '../core/ports.js';
import type { AptSource } from '../core/snapshot-store.js';

/** Parses the one-line format: `deb [opts] URI SUITE [COMPONENT…]`. */
export function parseOneLineSources(text: string): AptSource[] {
  const sources: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line.startsWith('deb ') && !line.startsWith('deb\t')) continue;
    const rest = line.slice(4).trim().replace(/^\[[^\]]*\]\s*/, '');
    const [uri, suite, ...components] = rest.split(/\s+/);
    if (uri === undefined || suite === undefined) continue;
    sources.push({ uri, suites: [suite], components });
  }
  return sources;
}

/** Parses deb822 `.sources` stanzas (Types, URIs, Suites, Components, Enabled). */
export function parseDeb822Sources(text: string): AptSource[] {
  const sources: AptSource[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields: Record<string, string> = {};
    let current: string | undefined;
    for (const line of stanza.split('\n')) {
      if (line.startsWith('#')) continue;
      if (/^[ \t]/.test(line) && current !== undefined) {
        fields[current] = `${fields[current] ?? ''} ${line.trim()}`;
        continue;
      }
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      current = line.slice(0, colon).trim().toLowerCase();
      fields[current] = line.slice(colon + 1).trim();
    }
    const words = (name: string): string[] => (fields[name] ?? '').split(/\s+/).filter((w) => w !== '');
    if (!words('types').includes('deb') || (fields.enabled ?? 'yes').toLowerCase() === 'no') continue;
    for (const uri of words('uris')) sources.push({ uri, suites: words('suites'), components: words('components') });
  }
  return sources;
}

/** Reads every deb source the host's apt uses, in apt's order. */
export async function readHostAptSources(files: ProjectFiles, etcApt = '/etc/apt'): Promise<AptSource[]> {
  const sources: AptSource[] = [];
  const main = await files.readText(join(etcApt, 'sources.list'));
  if (main !== undefined) sources.push(...parseOneLineSources(main));
  const dir = join(etcApt, 'sources.list.d');
  let names: string[] = [];
  try {
    names = (await readdir(dir)).sort();
  } catch {
    names = [];
  }
  for (const name of names) {
    if (!/^[A-Za-z0-9_.-]+\.(list|sources)$/.test(name)) continue;
    const text = await files.readText(join(dir, name));
    if (text === undefined) continue;
    sources.push(...(name.endsWith('.list') ? parseOneLineSources(text) : parseDeb822Sources(text)));
  }
  return sources;
}
