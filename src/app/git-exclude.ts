/**
 * Artifacts copied into the checkout (the default artifacts dir is the project
 * root, as in Tails) must not make the next build refuse "uncommitted changes".
 * Tails lists its artifacts in .gitignore; a project of ours may not, so the
 * names are added to the checkout's own, uncommitted exclude file
 * (`.git/info/exclude`), once each.
 */
import { dirname, isAbsolute, relative, sep } from 'node:path';
import { command } from '../core/command.js';
import type { Deps } from './deps.js';

const HEADER = '# Artifacts tails-build copied into this checkout (it adds them here; remove at will)';

/** The exclude lines for artifacts copied to `artifactsDir`, or none when it is outside the checkout. */
export function excludeLines(root: string, artifactsDir: string, names: readonly string[]): string[] {
  const rel = relative(root, artifactsDir);
  if (rel.startsWith('..') || isAbsolute(rel)) return [];
  const prefix = rel === '' ? '' : `${rel.split(sep).join('/')}/`;
  return [...new Set(names)].filter((n) => n !== '' && !n.includes('/')).sort().map((n) => `/${prefix}${n.replace(/([*?[\\!#])/g, '\\$1')}`);
}

export async function excludeFromGit(deps: Pick<Deps, 'runner' | 'disk'>, root: string, artifactsDir: string, names: readonly string[]): Promise<void> {
  const lines = excludeLines(root, artifactsDir, names);
  if (lines.length === 0) return;
  const found = await deps.runner.tryRun(command('git', ['-C', root, 'rev-parse', '--path-format=absolute', '--git-path', 'info/exclude'], { effect: 'read' }));
  const path = found.stdout.trim();
  if (found.exitCode !== 0 || path === '') return;
  const text = (await deps.disk.readText(path).catch(() => undefined)) ?? '';
  const have = new Set(text.split('\n'));
  const missing = lines.filter((l) => !have.has(l));
  if (missing.length === 0) return;
  await deps.disk.mkdirp(dirname(path));
  const lead = text === '' || text.endsWith('\n') ? '' : '\n';
  await deps.disk.appendText(path, `${lead}${have.has(HEADER) ? '' : `${HEADER}\n`}${missing.join('\n')}\n`);
}
