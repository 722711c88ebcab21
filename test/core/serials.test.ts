import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError, UserError } from '../../src/core/errors.js';
import {
  isSerial,
  parseSerialsJson,
  parseSerialText,
  planFreeze,
  planFreezeLookups,
  planPrepareBuild,
  planPrepareBuildLookups,
  planThaw,
  selectArchives,
  selectArchivesAcross,
  validateSerialSet,
} from '../../src/core/serials.js';

describe('isSerial', () => {
  const table: [string, 'tails' | 'debian', boolean][] = [
    ['2024101502', 'tails', true],
    ['2024090201', 'tails', true],
    ['202410150', 'tails', false],
    ['20241015021', 'tails', false],
    ['2024-10-01', 'tails', false],
    ['2024131502', 'tails', false],
    ['2024023101', 'tails', false],
    ['2024022901', 'tails', true],
    ['2023022901', 'tails', false],
    ['20240230T000000Z', 'debian', false],
    ['2024100002', 'tails', false],
    ['latest', 'tails', false],
    ['20241015T022531Z', 'tails', false],
    ['20241015T022531Z', 'debian', true],
    ['20241015T242531Z', 'debian', false],
    ['20241015T022531', 'debian', false],
    ['2024101502', 'debian', false],
    [' 2024101502', 'tails', false],
  ];
  for (const [value, layout, expected] of table) {
    it(`${JSON.stringify(value)} in the ${layout} layout: ${expected}`, () => { assert.equal(isSerial(value, layout), expected); });
  }
});

describe('parseSerialText', () => {
  const table: [string, 'tails' | 'debian', { ok: true; value: string } | { ok: false; shown: string }][] = [
    ['2024101502\n', 'tails', { ok: true, value: '2024101502' }],
    ['latest\n', 'tails', { ok: true, value: 'latest' }],
    ['  latest  ', 'debian', { ok: true, value: 'latest' }],
    ['2024101502\n\n', 'tails', { ok: true, value: '2024101502' }],
    ['20241015T022531Z\n', 'debian', { ok: true, value: '20241015T022531Z' }],
    ['', 'tails', { ok: false, shown: '' }],
    ['2024-10-01\n', 'tails', { ok: false, shown: '2024-10-01' }],
    ['2024101502\n2024101503\n', 'tails', { ok: false, shown: '2024101502\\n2024101503' }],
    ['Latest\n', 'tails', { ok: false, shown: 'Latest' }],
  ];
  for (const [text, layout, expected] of table) {
    it(`${JSON.stringify(text)} (${layout})`, () => { assert.deepEqual(parseSerialText(text, layout), expected); });
  }
});

describe('validateSerialSet', () => {
  const args = (raw: { archive: string; text: string | undefined }[], replacing?: string[]) => ({
    set: 'iso' as const,
    raw,
    layoutOf: () => 'tails' as const,
    fileOf: (a: string) => `definitions/iso/APT_snapshots.d/${a}/serial`,
    ...(replacing === undefined ? {} : { replacing }),
  });

  it('returns archive → value, sorted', () => {
    const set = validateSerialSet(args([{ archive: 'torproject', text: '2024103001\n' }, { archive: 'debian', text: 'latest\n' }]));
    assert.deepEqual(Object.entries(set), [['debian', 'latest'], ['torproject', '2024103001']]);
  });

  it('names the file, the value, the format and the next command', () => {
    assert.throws(
      () => validateSerialSet(args([{ archive: 'debian', text: '2024-10-01\n' }])),
      (e: unknown) =>
        e instanceof UserError &&
        e.kind === 'precondition' &&
        e.message === 'The serial file definitions/iso/APT_snapshots.d/debian/serial holds "2024-10-01", which is not a serial (YYYYMMDDNN) nor "latest".' &&
        e.hint === 'Fix the file, or run "tails-build snapshots thaw debian".',
    );
  });

  it('points the builder set at freeze, since it cannot be thawed', () => {
    assert.throws(
      () => validateSerialSet({ ...args([{ archive: 'debian', text: 'x' }]), set: 'builder' }),
      (e: unknown) => e instanceof UserError && e.hint === 'Fix the file, or run "tails-build snapshots freeze --set builder debian".',
    );
  });

  it('refuses a missing file', () => {
    assert.throws(() => validateSerialSet(args([{ archive: 'debian', text: undefined }])), /debian\/serial does not exist/);
  });

  it('tolerates a bad file about to be overwritten', () => {
    const set = validateSerialSet(args([{ archive: 'debian', text: 'garbage\n' }, { archive: 'tails', text: undefined }], ['debian', 'tails']));
    assert.deepEqual(set, { debian: '"garbage"', tails: '(missing)' });
  });
});

describe('selectArchives', () => {
  it('defaults to every archive of the set, sorted', () => { assert.deepEqual(selectArchives('iso', ['torproject', 'debian'], []), ['debian', 'torproject']); });
  it('keeps the requested ones, deduplicated', () => { assert.deepEqual(selectArchives('iso', ['debian', 'torproject'], ['torproject', 'torproject']), ['torproject']); });
  it('refuses an unknown archive, listing the known ones', () => { assert.throws(
      () => selectArchives('iso', ['debian'], ['tails']),
      (e: unknown) => e instanceof UsageError && e.message === 'There is no archive "tails" in the iso set (known: debian).',
    ); });
  it('across sets: an archive one set lacks is fine, one no set has is not', () => {
    const sets = [
      { set: 'builder' as const, archives: ['debian', 'tails'] },
      { set: 'iso' as const, archives: ['debian', 'torproject'] },
    ];
    assert.deepEqual([...selectArchivesAcross(sets, ['tails'])], [['builder', ['tails']], ['iso', []]]);
    assert.throws(() => selectArchivesAcross(sets, ['nope']), /no archive "nope" in the selected sets \(known: debian, tails, torproject\)/);
  });
});

describe('planFreeze', () => {
  const current = { debian: '2024100101', 'debian-security': 'latest', torproject: 'latest' };
  const latest = { debian: '2024101502', 'debian-security': '2024101503', torproject: '2024103001' };
  const archives = ['debian', 'debian-security', 'torproject'];

  it('ISO set: debian-security stays latest', () => {
    const request = { set: 'iso' as const, current, archives, freezeDebianSecurity: false };
    assert.deepEqual(planFreezeLookups([request]), ['debian', 'torproject']);
    assert.deepEqual(planFreeze(request, latest), {
      set: 'iso',
      entries: [
        { set: 'iso', archive: 'debian', from: '2024100101', to: '2024101502' },
        { set: 'iso', archive: 'debian-security', from: 'latest', to: 'latest' },
        { set: 'iso', archive: 'torproject', from: 'latest', to: '2024103001' },
      ],
      notes: [],
    });
  });

  it('ISO set with --freeze-debian-security pins it too', () => {
    const request = { set: 'iso' as const, current, archives, freezeDebianSecurity: true };
    assert.deepEqual(planFreezeLookups([request]), archives);
    assert.equal(planFreeze(request, latest).entries[1]?.to, '2024101503');
  });

  it('a frozen debian-security goes back to latest in the ISO set', () => {
    const request = { set: 'iso' as const, current: { 'debian-security': '2024090201' }, archives: ['debian-security'], freezeDebianSecurity: false };
    assert.deepEqual(planFreeze(request, {}).entries, [{ set: 'iso', archive: 'debian-security', from: '2024090201', to: 'latest' }]);
  });

  it('builder set: debian-security is always numeric, and says so', () => {
    const request = { set: 'builder' as const, current: { debian: '2024090201', 'debian-security': '2024090201' }, archives: ['debian', 'debian-security'], freezeDebianSecurity: false };
    assert.deepEqual(planFreezeLookups([request]), ['debian', 'debian-security']);
    const plan = planFreeze(request, latest);
    assert.equal(plan.entries[1]?.to, '2024101503');
    assert.equal(plan.notes.length, 1);
    assert.match(plan.notes[0] ?? '', /debian-security is frozen too/);
  });
});

describe('planThaw', () => {
  it('sets the targeted archives to latest', () => { assert.deepEqual(planThaw('iso', { debian: '2024101502', torproject: '2024103001' }, ['debian']).entries, [
      { set: 'iso', archive: 'debian', from: '2024101502', to: 'latest' },
    ]); });
  it('refuses the builder set', () => { assert.throws(() => planThaw('builder', {}, []), (e: unknown) => e instanceof UserError && e.code === 'thaw-builder-refused'); });
});

describe('planPrepareBuild', () => {
  const current = { debian: '2024101502', 'debian-security': 'latest', torproject: 'latest' };

  it('looks up every latest when no JSON is given', () => {
    assert.deepEqual(planPrepareBuildLookups(current, undefined), ['debian-security', 'torproject']);
    const plan = planPrepareBuild({ set: 'iso', current, provided: undefined, providedSource: '', latest: { 'debian-security': '2024101601', torproject: '2024103001' } });
    assert.deepEqual(plan, { serials: { debian: '2024101502', 'debian-security': '2024101601', torproject: '2024103001' }, notes: [] });
  });

  it('takes latest ones from the JSON, keeps the files numeric ones and notes a disagreement', () => {
    const provided = { debian: '2024101501', 'debian-security': '2024101503', torproject: '2024103001' };
    assert.deepEqual(planPrepareBuildLookups(current, provided), []);
    const plan = planPrepareBuild({ set: 'iso', current, provided, providedSource: 'APT_SNAPSHOTS_SERIALS', latest: {} });
    assert.deepEqual(plan.serials, { debian: '2024101502', 'debian-security': '2024101503', torproject: '2024103001' });
    assert.deepEqual(plan.notes, ["iso debian: the serial file pins 2024101502 but APT_SNAPSHOTS_SERIALS says 2024101501; keeping the file's 2024101502."]);
  });

  it('refuses a JSON that misses a latest archive', () => { assert.throws(
      () => planPrepareBuild({ set: 'iso', current, provided: { 'debian-security': '2024101503' }, providedSource: '--serials', latest: {} }),
      (e: unknown) => e instanceof UsageError && /--serials cannot be used: it has no serial for "torproject", which is "latest" in the iso set/.test(e.message),
    ); });
});

describe('parseSerialsJson', () => {
  const layouts = { debian: 'tails' as const, 'debian-security': 'tails' as const, snap: 'debian' as const };
  it('accepts numeric serials per layout', () => { assert.deepEqual(parseSerialsJson('{"debian":"2024101502","snap":"20241015T022531Z"}', 'X', layouts), { debian: '2024101502', snap: '20241015T022531Z' }); });
  const rejects: [string, RegExp][] = [
    ['{"debian":', /X cannot be used: it is not valid JSON/],
    ['["2024101502"]', /must be a JSON object/],
    ['"2024101502"', /must be a JSON object/],
    ['null', /must be a JSON object/],
    ['{"debian":"latest"}', /"debian" is "latest"/],
    ['{"debian":2024101502}', /"debian" must be a string, got 2024101502/],
    ['{"debian":null}', /"debian" must be a string, got null/],
    ['{"debian":"2024-10-15"}', /"debian" holds "2024-10-15", which is not a serial \(YYYYMMDDNN\)/],
    ['{"snap":"2024101502"}', /"snap" holds "2024101502", which is not a serial \(YYYYMMDDTHHMMSSZ\)/],
    ['{"torproject":"2024103001"}', /"torproject" is not an archive of this set \(known: debian, debian-security, snap\)/],
  ];
  for (const [text, pattern] of rejects) {
    it(`rejects ${text}`, () => { assert.throws(() => parseSerialsJson(text, 'X', layouts), (e: unknown) => e instanceof UsageError && pattern.test(e.message)); });
  }
});
