/**
 * importBasebox and the clean use cases against real vagrant (temp VAGRANT_HOME)
 * and the real libvirt `default` pool. Only boxes, volumes and domains this
 * file creates are touched.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../src/adapters/clock.js';
import { createLibvirtPool } from '../../src/adapters/libvirt-pool.js';
import { createHostLocks, DEFAULT_LOCK_DIR } from '../../src/adapters/lock.js';
import { createRunner } from '../../src/adapters/runner.js';
import { boxDirectory, createVagrant } from '../../src/adapters/vagrant.js';
import { importBasebox, type BoxStoreDeps } from '../../src/app/basebox-import.js';
import { cleanBaseboxes, listBaseboxes } from '../../src/app/basebox-manage.js';
import { UserError } from '../../src/core/errors.js';
import { computeCutoff } from '../../src/core/basebox-retention.js';
import { createBoxSandbox, defineDomainOver, uniqueBoxName, URI, vagrantLibvirtVolumeName, volumesOf, withBoot, type BoxSandbox } from '../helpers/box-store.js';

let sandbox: BoxSandbox;
let boxFile: string;
const logs: string[] = [];

function deps(): BoxStoreDeps {
  const log = { info: (m: string) => logs.push(m), warn: (m: string) => logs.push(`warning: ${m}`), debug: () => undefined };
  const env = { ...process.env, ...sandbox.env };
  const runner = createRunner({ log, dryRun: false, path: env.PATH ?? '/usr/bin:/bin', baseEnv: env });
  return {
    vagrant: createVagrant(runner, { vagrantHome: sandbox.vagrantHome }),
    pool: createLibvirtPool(runner, { uri: URI }),
    // The real host-wide lock: it also serialises these tests with other test files and builds.
    locks: createHostLocks({ dir: DEFAULT_LOCK_DIR, timeoutMs: 300_000, command: 'tails-build tests (basebox-import)' }),
    clock: systemClock,
    out: log,
    vagrantHome: sandbox.vagrantHome,
  };
}

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');
const countBoxes = (name: string): number => sandbox.vagrantBoxes().filter((b) => b === name).length;

before(async () => {
  sandbox = createBoxSandbox();
  boxFile = await sandbox.makeBox();
});
after(() => {
  sandbox.cleanup();
});

describe('importBasebox (real vagrant, real libvirt pool)', () => {
  it('adds the box and pre-seeds exactly the pool volume vagrant-libvirt 0.11.2 looks for', async () => {
    const name = sandbox.track(uniqueBoxName('20240101'));
    const result = await importBasebox(deps(), { name, boxFile });
    assert.equal(countBoxes(name), 1);
    assert.deepEqual(volumesOf(name), withBoot(result.volume));
    assert.deepEqual(result.bootVolumes, withBoot(result.volume).slice(1));
    const oracle = vagrantLibvirtVolumeName(sandbox, name, '0', boxDirectory({ vagrantHome: sandbox.vagrantHome }, { name, provider: 'libvirt', version: '0' }));
    assert.equal(result.volume, oracle, 'vagrant-libvirt’s own get_volume_name agrees, so its first `vagrant up` skips the upload');
    assert.equal(result.boxImage, join(sandbox.vagrantHome, 'boxes', name, '0', 'libvirt', 'box.img'));
    assert.equal(sha256(result.volumePath), sha256(result.boxImage), 'the volume holds box.img byte for byte');
    assert.equal(result.replacedBox, false);
    assert.deepEqual(result.removedVolumes, []);
  });

  it('re-importing replaces the box and its volume instead of duplicating them', async () => {
    const name = sandbox.track(uniqueBoxName('20240102'));
    const first = await importBasebox(deps(), { name, boxFile });
    await new Promise((r) => setTimeout(r, 1100)); // a new extraction second, hence a new volume name
    const second = await importBasebox(deps(), { name, boxFile });
    assert.equal(second.replacedBox, true);
    assert.deepEqual([...second.removedVolumes].sort(), withBoot(first.volume));
    assert.notEqual(second.volume, first.volume);
    assert.equal(countBoxes(name), 1);
    assert.deepEqual(volumesOf(name), withBoot(second.volume));
  });

  it('serialises concurrent imports with the host lock: one waits, and one box and one volume remain', async () => {
    const name = sandbox.track(uniqueBoxName('20240103'));
    logs.length = 0;
    const [a, b] = await Promise.all([importBasebox(deps(), { name, boxFile }), importBasebox(deps(), { name, boxFile })]);
    assert.ok(
      logs.some((l) => l.startsWith(`Waiting for the host lock ${DEFAULT_LOCK_DIR}/libvirt.lock, held by pid ${process.pid}`)),
      logs.join('\n'),
    );
    assert.equal([a.replacedBox, b.replacedBox].filter(Boolean).length, 1, 'exactly one import found the other’s box');
    assert.equal(countBoxes(name), 1);
    assert.equal(volumesOf(name).length, 3);
  });

  it('refuses to replace a box a defined domain boots from, and lists it as in use', async () => {
    const name = sandbox.track(uniqueBoxName('20240104'));
    const imported = await importBasebox(deps(), { name, boxFile });
    const domain = defineDomainOver(sandbox, imported.volumePath);
    await assert.rejects(importBasebox(deps(), { name, boxFile }), (error: unknown) => {
      assert.ok(error instanceof UserError);
      assert.equal(error.code, 'basebox-in-use');
      assert.match(error.message, new RegExp(domain));
      return true;
    });
    assert.deepEqual(volumesOf(name), withBoot(imported.volume), 'the volumes in use are untouched');
    const entry = (await listBaseboxes(deps(), { prefix: 'tails-builder' })).find((e) => e.name === name);
    assert.equal(entry?.inUse, true);
    assert.deepEqual(entry.usedBy, [domain]);

    const all = await cleanBaseboxes(deps(), { mode: 'all', prefix: 'tails-builder', current: undefined, dryRun: false });
    assert.equal(all.plan.decisions.find((d) => d.name === name)?.reason, 'in-use');
    assert.equal(countBoxes(name), 1);
    assert.deepEqual(volumesOf(name), withBoot(imported.volume));
  });
});

describe('cleanBaseboxes clean-old (real vagrant, real libvirt pool)', () => {
  it('removes an old box and its volume, keeps the newer one; --dry-run removes nothing', async () => {
    // A separate VAGRANT_HOME so other tests' boxes do not take part.
    const mine = createBoxSandbox();
    const saved = sandbox;
    sandbox = mine;
    try {
      const file = await mine.makeBox();
      const old = mine.track(uniqueBoxName('20200101'));
      const today = computeCutoff(new Date(), 0);
      const recent = mine.track(uniqueBoxName(today));
      await importBasebox(deps(), { name: old, boxFile: file });
      const kept = await importBasebox(deps(), { name: recent, boxFile: file });

      const preview = await cleanBaseboxes(deps(), { mode: 'old', prefix: 'tails-builder', current: undefined, months: 6, dryRun: true });
      assert.deepEqual(
        preview.plan.decisions.map((d) => `${d.name} ${d.action}:${d.reason}`),
        [`${old} remove:old`, `${recent} keep:newest`],
      );
      assert.equal(countBoxes(old), 1, 'dry run removed nothing');
      assert.equal(volumesOf(old).length, 3);

      const result = await cleanBaseboxes(deps(), { mode: 'old', prefix: 'tails-builder', current: undefined, months: 6, dryRun: false });
      assert.deepEqual(
        result.removed.map((r) => r.name),
        [old],
      );
      assert.deepEqual(result.failures, []);
      assert.equal(countBoxes(old), 0);
      assert.deepEqual(volumesOf(old), []);
      assert.equal(countBoxes(recent), 1);
      assert.deepEqual(volumesOf(recent), withBoot(kept.volume));
    } finally {
      sandbox = saved;
      mine.cleanup();
    }
  });
});
