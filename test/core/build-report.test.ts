/** build-report.json as pure data: a table of how builds end, and what the report then says. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assembleBuildReport, isHostFile, primaryCode, type BuildReportInput } from '../../src/core/build-report.js';
import { CleanupError, UserError } from '../../src/core/errors.js';
import type { IsoBuildPlan } from '../../src/core/iso-plan.js';

const plan = {
  request: {
    git: { commit: 'a'.repeat(40), ref: 'main', branch: 'main', tag: undefined, releasing: false },
    optionWords: [{ text: 'ram', source: 'default' }, { text: 'cpus=2', source: 'flag' }],
    options: { compression: 'fast' },
  },
  basebox: { name: 'tails-builder-amd64-bookworm-20261202-abc1234' },
  serials: { builder: { debian: '2026120201' }, iso: { debian: 'latest' } },
  vm: { cpus: 2, memoryMiB: 2048 },
} as unknown as IsoBuildPlan;

const base: BuildReportInput = {
  plan,
  finishedAt: '2026-12-02T20:00:00.000Z',
  serials: { builder: { debian: '2026120201', 'debian-security': '2026120202' }, iso: { debian: '2026120203' } },
  builderSecurity: '2026120202',
  exitCode: 0,
  vm: { domain: 'tails-build-x-default', accelerator: 'tcg', reused: false, cache: { volume: 'c.qcow2', disk: 1, of: 2 }, after: 'destroyed' },
  bootTest: null,
  timings: [{ id: 'build', status: 'done', ms: 1000 }],
  artifacts: [{ name: 'b.iso', bytes: 2, sha256: 'b' }, { name: 'a.packages', bytes: 1, sha256: 'a' }],
  failure: undefined,
};

const boot = { ok: false, markerSeen: false, poweredOff: true, seconds: 5, accelerator: 'tcg', log: 'boot-test.log', failure: 'no marker' } as unknown as NonNullable<BuildReportInput['bootTest']>;

describe('assembleBuildReport', () => {
  const table: [string, Partial<BuildReportInput>, { ok: boolean; error: string | null; after: string; cacheDisk: boolean }][] = [
    ['a build that passed', {}, { ok: true, error: null, after: 'destroyed', cacheDisk: true }],
    ['the recipe failed', { exitCode: 7, failure: new UserError('build-failed', 'The build failed inside the VM (exit 7).') }, { ok: false, error: 'build-failed', after: 'destroyed', cacheDisk: true }],
    ['it built but did not boot', { bootTest: boot, failure: new UserError('boot-test-failed', 'no marker') }, { ok: false, error: 'boot-test-failed', after: 'destroyed', cacheDisk: true }],
    ['the destroy failed after a success', { failure: new CleanupError(undefined, new Error('libvirt went away')), vm: { ...base.vm, after: 'destroy-failed', afterError: 'libvirt went away' } }, { ok: false, error: 'cleanup-failed', after: 'destroy-failed', cacheDisk: true }],
    ['provisioning failed, no cache disk, never ran the recipe', { exitCode: null, failure: new UserError('vm-cache-full', 'full'), vm: { ...base.vm, cache: { volume: null, disk: null, of: 2, why: 'every disk is held by a kept VM' } } }, { ok: false, error: 'vm-cache-full', after: 'destroyed', cacheDisk: false }],
    ['kept by rescue after a failure', { exitCode: 4, failure: new UserError('build-failed', 'x'), vm: { ...base.vm, after: 'kept' } }, { ok: false, error: 'build-failed', after: 'kept', cacheDisk: true }],
  ];
  for (const [name, change, want] of table) {
    it(name, () => {
      const report = assembleBuildReport({ ...base, ...change });
      assert.equal(report.ok, want.ok);
      assert.equal(report.error?.code ?? null, want.error);
      assert.equal(report.vm.after, want.after);
      assert.equal(report.vm.cacheDisk, want.cacheDisk);
      // What the build used, never what the project declared; artifacts in a stable order.
      assert.deepEqual(report.serials.iso, { debian: '2026120203' });
      assert.deepEqual(report.serialsDeclared.iso, { debian: 'latest' });
      assert.deepEqual(report.artifacts.map((a) => a.name), ['a.packages', 'b.iso']);
      assert.deepEqual(report.options, ['ram', 'cpus=2']);
      assert.equal(report.schema, 'tails-build/build-report@1');
    });
  }
});

describe('which files are the host\'s, and the code of what failed first', () => {
  it('the log, the report and the boot consoles are not artifacts', () => {
    for (const name of ['build.log', 'build-report.json', 'boot-test.log', 'boot-test-q35.log']) assert.equal(isHostFile(name), true, name);
    for (const name of ['tails-build-sample-amd64-x.iso', 'tails-build-env.list', 'boot-test.txt']) assert.equal(isHostFile(name), false, name);
  });
  it('a cleanup failure keeps the outcome\'s code', () => {
    assert.equal(primaryCode(new CleanupError(new UserError('build-failed', 'x'), new Error('y'))), 'build-failed');
    assert.equal(primaryCode(new UserError('vm-cache-full', 'x')), 'vm-cache-full');
    assert.equal(primaryCode(new Error('bug')), undefined);
  });
});
