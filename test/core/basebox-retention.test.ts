import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { boxesToRemove, computeCutoff, planCleanAll, planCleanOld, readBoxDate, type RetentionBox } from '../../src/core/basebox-retention.js';

const P = 'tails-builder';
const box = (date: string, id = 'abc1234', inUse = false): RetentionBox => ({ name: `${P}-amd64-bookworm-${date}-${id}`, inUse });
const NOW = new Date('2026-11-22T12:00:00Z');

describe('readBoxDate (Tails basebox_date)', () => {
  const table: [string, string | undefined][] = [
    ['tails-builder-amd64-bookworm-20240902-f5bd6a877e9', '20240902'],
    ['tails-builder-arm64-trixie-20260209-abcdef1', '20260209'],
    ['tails-builder-amd64-bookworm-20240902', '20240902'],
    ['tails-builder-amd64-bookworm-2024090-abc', undefined],
    ['tails-builder-amd64-bookworm-20241350-abc', undefined], // month 13
    ['tails-builder-amd64-bookworm-20230229-abc', undefined], // not a leap year
    ['other-builder-amd64-bookworm-20240902-abc', undefined],
    ['tails-builder-custom', undefined],
  ];
  for (const [name, date] of table) {
    it(`${name} → ${String(date)}`, () => {
      assert.equal(readBoxDate(name, P), date);
    });
  }
});

describe('computeCutoff (calendar months, UTC)', () => {
  const table: [string, number, string][] = [
    ['2026-11-22T12:00:00Z', 6, '20260522'],
    ['2026-11-22T23:59:59Z', 6, '20260522'],
    ['2026-08-31T00:00:00Z', 6, '20260228'], // clamps to the shorter month
    ['2028-08-31T00:00:00Z', 6, '20280229'], // leap year
    ['2026-03-15T00:00:00Z', 4, '20251115'], // across a year
    ['2026-01-10T00:00:00Z', 12, '20250110'],
    ['2026-01-10T00:00:00Z', 25, '20231210'],
  ];
  for (const [now, months, cutoff] of table) {
    it(`${now} − ${months} months → ${cutoff}`, () => {
      assert.equal(computeCutoff(new Date(now), months), cutoff);
    });
  }
});

describe('planCleanOld', () => {
  const table: {
    title: string;
    boxes: RetentionBox[];
    current?: string;
    months?: number;
    expect: Record<string, string>; // name → action:reason
  }[] = [
    {
      title: 'removes boxes older than six months and keeps the recent ones',
      boxes: [box('20240101', 'a'), box('20260101', 'b'), box('20260601', 'c'), box('20261101', 'd')],
      expect: {
        [box('20240101', 'a').name]: 'remove:old',
        [box('20260101', 'b').name]: 'remove:old',
        [box('20260601', 'c').name]: 'keep:recent',
        [box('20261101', 'd').name]: 'keep:newest',
      },
    },
    {
      title: 'a box dated exactly on the cutoff is kept (Tails compares with <)',
      boxes: [box('20260522', 'a'), box('20260521', 'b'), box('20261101', 'c')],
      expect: {
        [box('20260521', 'b').name]: 'remove:old',
        [box('20260522', 'a').name]: 'keep:recent',
        [box('20261101', 'c').name]: 'keep:newest',
      },
    },
    {
      title: 'always keeps the newest, even when every box is old',
      boxes: [box('20230101', 'a'), box('20240101', 'b')],
      expect: { [box('20230101', 'a').name]: 'remove:old', [box('20240101', 'b').name]: 'keep:newest' },
    },
    {
      title: 'keeps every box sharing the newest date',
      boxes: [box('20240101', 'a'), box('20240101', 'b'), box('20230101', 'c')],
      expect: {
        [box('20230101', 'c').name]: 'remove:old',
        [box('20240101', 'a').name]: 'keep:newest',
        [box('20240101', 'b').name]: 'keep:newest',
      },
    },
    {
      title: 'never removes the current box, however old',
      boxes: [box('20200101', 'cur'), box('20240101', 'b'), box('20261101', 'c')],
      current: box('20200101', 'cur').name,
      expect: {
        [box('20200101', 'cur').name]: 'keep:current',
        [box('20240101', 'b').name]: 'remove:old',
        [box('20261101', 'c').name]: 'keep:newest',
      },
    },
    {
      title: 'never removes a box in use',
      boxes: [box('20200101', 'busy', true), box('20261101', 'c')],
      expect: { [box('20200101', 'busy').name]: 'keep:in-use', [box('20261101', 'c').name]: 'keep:newest' },
    },
    {
      title: 'keeps undated boxes and ignores other prefixes',
      boxes: [{ name: `${P}-handmade`, inUse: false }, { name: 'debian/bookworm64', inUse: false }, box('20200101', 'a'), box('20261101', 'b')],
      expect: {
        [box('20200101', 'a').name]: 'remove:old',
        [box('20261101', 'b').name]: 'keep:newest',
        [`${P}-handmade`]: 'keep:undated',
      },
    },
    {
      title: '--months 1 is stricter',
      boxes: [box('20261001', 'a'), box('20261101', 'b'), box('20261121', 'c')],
      months: 1,
      expect: {
        [box('20261001', 'a').name]: 'remove:old',
        [box('20261101', 'b').name]: 'keep:recent',
        [box('20261121', 'c').name]: 'keep:newest',
      },
    },
    { title: 'nothing to judge', boxes: [], expect: {} },
  ];
  for (const t of table) {
    it(t.title, () => {
      const plan = planCleanOld({ boxes: t.boxes, prefix: P, current: t.current, now: NOW, months: t.months ?? 6 });
      assert.deepEqual(Object.fromEntries(plan.decisions.map((d) => [d.name, `${d.action}:${d.reason}`])), t.expect);
      assert.deepEqual(
        Object.keys(t.expect),
        plan.decisions.map((d) => d.name),
        'oldest first, undated last',
      );
    });
  }
  it('reports the cutoff and the current box', () => {
    const plan = planCleanOld({ boxes: [box('20240101')], prefix: P, current: 'x', now: NOW, months: 6 });
    assert.equal(plan.cutoff, '20260522');
    assert.equal(plan.current, 'x');
  });
  it('rejects a non-positive month count', () => {
    assert.throws(() => planCleanOld({ boxes: [], prefix: P, current: undefined, now: NOW, months: 0 }), RangeError);
  });
});

describe('planCleanAll', () => {
  it('removes every box with the prefix except those in use', () => {
    const boxes = [box('20240101', 'a'), box('20261101', 'b', true), box('20261120', 'c'), { name: 'debian/bookworm64', inUse: false }];
    const plan = planCleanAll({ boxes, prefix: P, current: box('20261120', 'c').name });
    assert.deepEqual(
      plan.decisions.map((d) => `${d.name} ${d.action}:${d.reason}`),
      [`${box('20240101', 'a').name} remove:all`, `${box('20261101', 'b').name} keep:in-use`, `${box('20261120', 'c').name} remove:all`],
    );
    assert.deepEqual(boxesToRemove(plan), [box('20240101', 'a').name, box('20261120', 'c').name]);
  });
});
