/**
 * The JSON schema of `tails-build/events@1`: the NDJSON that `iso`, `verify`,
 * `basebox create` and `basebox test` print on stdout with --json. Every line
 * is one event with `event` and `time`; the first is `run`, the last `result`.
 * Fields may be added within a version; none is removed or changes meaning.
 */
const time = { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$' } as const;
const str = { type: 'string' } as const;

function event(name: string, properties: Record<string, unknown>, required: string[]): Record<string, unknown> {
  return {
    type: 'object',
    properties: { event: { const: name }, time, ...properties },
    required: ['event', 'time', ...required],
  };
}

export const EVENTS_JSON_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://tails-build.invalid/schemas/events-1.json',
  title: 'tails-build/events@1',
  oneOf: [
    event('run', { schema: { const: 'tails-build/events@1' }, command: str, version: str, node: str }, ['schema', 'command', 'version']),
    event('plan', { plan: { type: 'object', properties: { schema: { const: 'tails-build/iso-plan@1' } }, required: ['schema'] } }, ['plan']),
    event('step', { id: str, title: str, status: { enum: ['started', 'done', 'failed', 'skipped'] }, ms: { type: 'number' }, message: str, reason: str }, ['id', 'title', 'status']),
    event('output', { id: str, stream: { enum: ['combined', 'stdout', 'stderr'] }, line: str }, ['id', 'line']),
    event('warning', { message: str }, ['message']),
    event('cache', { volume: { type: ['string', 'null'] }, disk: { type: ['integer', 'null'], minimum: 1 }, of: { type: 'integer', minimum: 1 }, why: str }, ['volume', 'disk', 'of']),
    event('serials', { iso: { type: 'object', additionalProperties: { type: 'string', pattern: '^[0-9TZ]+$' } }, builderSecurity: str }, ['iso', 'builderSecurity']),
    event('artifact', { name: str, bytes: { type: 'integer', minimum: 0 }, sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' }, path: str }, ['name', 'bytes', 'sha256']),
    event('boot-test', { ok: { type: 'boolean' }, markerSeen: { type: 'boolean' }, poweredOff: { type: 'boolean' }, seconds: { type: 'number' }, accelerator: { enum: ['kvm', 'tcg'] }, failure: str }, ['ok', 'markerSeen', 'poweredOff']),
    event('verify', { identical: { type: 'boolean' }, files: { type: 'array', items: { type: 'object', properties: { name: str, identical: { type: 'boolean' } }, required: ['name', 'identical'] } } }, ['identical', 'files']),
    event(
      'result',
      {
        exitCode: { type: 'integer', minimum: 0 },
        ok: { type: 'boolean' },
        error: {
          oneOf: [
            { type: 'null' },
            { type: 'object', properties: { code: str, kind: str, message: str, hint: { type: ['string', 'null'] }, exitCode: { type: 'integer' } }, required: ['code', 'kind', 'message', 'exitCode'] },
          ],
        },
      },
      ['exitCode', 'ok', 'error'],
    ),
  ],
} as const;
