import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judgeRun, parseProcessStart, parseRunRecord, type RunRecord } from '../../src/core/vm-run.js';

const base: RunRecord = { pid: 4242, processStart: '12345', startedAt: '2026-11-29T08:00:00Z', domain: 'tails-build-abc-default', rootVolume: 'tails-build-abc-default.img', checkout: '/w', kept: false };

describe('judgeRun: which build VMs prune may remove', () => {
  const table: [string, RunRecord, string | undefined, string][] = [
    ['its process runs', base, '12345', 'running'],
    ['its process is gone', base, undefined, 'orphaned'],
    ['its PID now belongs to another process', base, '99999', 'orphaned'],
    ['kept on purpose, process gone', { ...base, kept: true }, undefined, 'kept'],
    ['kept on purpose, process alive', { ...base, kept: true }, '12345', 'kept'],
    ['no start time recorded, a process with that PID', { ...base, processStart: undefined }, '777', 'running'],
  ];
  for (const [name, record, current, verdict] of table) {
    it(name, () => {
      assert.equal(judgeRun(record, current), verdict);
    });
  }
});

describe('parseProcessStart and parseRunRecord', () => {
  it('reads field 22 even when the command name has spaces and parentheses', () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
    assert.equal(parseProcessStart(`123 (node (x) y) ${fields.join(' ')}`), '22');
  });
  it('refuses a record that is not one', () => {
    assert.equal(parseRunRecord('{"pid":"x"}'), undefined);
    assert.equal(parseRunRecord('not json'), undefined);
    assert.deepEqual(parseRunRecord(JSON.stringify(base)), base);
  });
});
