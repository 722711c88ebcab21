/** The runs `vm prune` and doctor judge, read from <cache>/vms/<id>/run.json through an in-memory files port. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findRuns } from '../../src/app/vm-prune.js';
import type { Host } from '../../src/core/ports.js';
import { memoryFiles } from '../helpers/files.js';

/** Processes 100 (started at "s100") and 200 are alive; every other PID is gone. */
const host: Host = {
  cpuCount: () => 1,
  availableMemoryMiB: () => 1024,
  pid: () => 1,
  uid: () => 0,
  processStart: (pid) => ({ 100: 's100', 200: 's200' } as Record<number, string>)[pid],
};

const run = (fields: Record<string, unknown>): string =>
  JSON.stringify({ startedAt: '2026-11-29T08:00:00Z', checkout: '/ws', kept: false, domain: `tails-build-${String(fields.pid)}-default`, rootVolume: 'root.img', ...fields });

describe('findRuns', () => {
  it('judges every recorded run, sorted by id; skips dirs without a readable record', async () => {
    const disk = memoryFiles({
      '/cache/vms/b/run.json': run({ pid: 100, processStart: 's100' }),
      '/cache/vms/a/run.json': run({ pid: 300 }),
      '/cache/vms/c/run.json': run({ pid: 300, kept: true }),
      '/cache/vms/d/run.json': run({ pid: 200, processStart: 'reused' }),
      '/cache/vms/e/run.json': 'not json',
      '/cache/vms/f/notes': 'no record here',
    });
    const found = await findRuns({ host, disk }, '/cache');
    assert.deepEqual(found.map((f) => [f.stateDir, f.run.verdict, f.rootVolume, f.run.action]), [
      ['/cache/vms/a', 'orphaned', 'root.img', 'left'],
      ['/cache/vms/b', 'running', 'root.img', 'left'],
      ['/cache/vms/c', 'kept', 'root.img', 'left'],
      ['/cache/vms/d', 'orphaned', 'root.img', 'left'],
    ]);
    assert.equal(disk.texts.size, 6, 'findRuns changes nothing');
  });

  it('finds nothing when no build ever recorded a VM', async () => {
    assert.deepEqual(await findRuns({ host, disk: memoryFiles() }, '/cache'), []);
  });
});
