/**
 * tails-build.json: parsed and validated key by key, so a typo is an error
 * naming the key rather than a setting silently ignored.
 */
import { UserError } from './errors.js';

export const CONFIG_FILE = 'tails-build.json';

const CONFIG_KEYS = new Set([
  'boxDefinitionDir',
  'builderSerialsDir',
  'isoSerialsDir',
  'boxNamePrefix',
  'arch',
  'codename',
  'snapshots',
  'buildCommand',
]);
const SNAPSHOT_KEYS = new Set(['baseUrl', 'guestBaseUrl', 'layout', 'archives']);
const ARCHIVE_KEYS = new Set(['baseUrl', 'layout', 'suite', 'upstream', 'suites', 'components']);

export function parseConfigFile(text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw configError(`it is not valid JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw configError('it must hold a JSON object');
  }
  const obj = parsed as Record<string, unknown>;
  checkKeys(obj, CONFIG_KEYS, '');
  for (const key of ['boxDefinitionDir', 'builderSerialsDir', 'isoSerialsDir', 'boxNamePrefix', 'arch', 'codename', 'buildCommand']) {
    if (key in obj && (typeof obj[key] !== 'string' || obj[key] === '')) throw configError(`"${key}" must be a non-empty string`);
  }
  if ('snapshots' in obj) {
    const snap = obj.snapshots;
    if (typeof snap !== 'object' || snap === null || Array.isArray(snap)) throw configError('"snapshots" must be an object');
    const s = snap as Record<string, unknown>;
    checkKeys(s, SNAPSHOT_KEYS, 'snapshots.');
    checkUrl(s.baseUrl, 'snapshots.baseUrl');
    checkUrl(s.guestBaseUrl, 'snapshots.guestBaseUrl');
    checkLayout(s.layout, 'snapshots.layout');
    if ('archives' in s) {
      const archives = s.archives;
      if (typeof archives !== 'object' || archives === null || Array.isArray(archives)) {
        throw configError('"snapshots.archives" must map archive names to objects');
      }
      for (const [name, value] of Object.entries(archives as Record<string, unknown>)) {
        if (typeof value !== 'object' || value === null || Array.isArray(value)) {
          throw configError(`"snapshots.archives.${name}" must be an object`);
        }
        const a = value as Record<string, unknown>;
        checkKeys(a, ARCHIVE_KEYS, `snapshots.archives.${name}.`);
        checkUrl(a.baseUrl, `snapshots.archives.${name}.baseUrl`);
        checkLayout(a.layout, `snapshots.archives.${name}.layout`);
        if ('suite' in a && (typeof a.suite !== 'string' || a.suite === '')) {
          throw configError(`"snapshots.archives.${name}.suite" must be a non-empty string`);
        }
        checkUrl(a.upstream, `snapshots.archives.${name}.upstream`);
        for (const key of ['suites', 'components']) {
          const list = a[key];
          if (list !== undefined && (!Array.isArray(list) || list.length === 0 || !list.every((x) => typeof x === 'string' && /^[a-z0-9][a-z0-9.+/-]*$/.test(x)))) {
            throw configError(`"snapshots.archives.${name}.${key}" must be a non-empty list of names`);
          }
        }
      }
    }
  }
  return obj;
}

function checkKeys(obj: Record<string, unknown>, allowed: Set<string>, prefix: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.has(key)) {
      throw configError(`unknown key "${prefix}${key}" (known: ${[...allowed].map((k) => prefix + k).join(', ')})`);
    }
  }
}

function checkUrl(value: unknown, key: string): void {
  if (value === undefined) return;
  if (typeof value !== 'string' || !/^https?:\/\/[^/]+/.test(value)) throw configError(`"${key}" must be an http(s) URL`);
}

function checkLayout(value: unknown, key: string): void {
  if (value === undefined) return;
  if (value !== 'tails' && value !== 'debian') throw configError(`"${key}" must be "tails" or "debian"`);
}

export function configError(fact: string): UserError {
  return new UserError('bad-config', `The project config ${CONFIG_FILE} cannot be used: ${fact}.`, {
    hint: `Fix ${CONFIG_FILE} at the project root (see README, "Project configuration").`,
  });
}
