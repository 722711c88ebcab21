/**
 * `tails-build basebox import|list|clean-old|clean-all`, spawned as users run
 * it, against real vagrant (a temp VAGRANT_HOME) and the real libvirt pool.
 * Only boxes and volumes this file creates are touched.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { computeCutoff } from '../../src/core/basebox-retention.js';
import { createBoxSandbox, uniqueBoxName, volumesOf, withBoot, type BoxSandbox } from '../helpers/box-store.js';
import { runTailsBuild, type CliResult } from '../helpers/cli.js';
import { createTempRepo, type TempRepo } from '../helpers/git-repo.js';

let sandbox: BoxSandbox;
let repo: TempRepo;
let boxFile: string;
/** The box this checkout builds with: its definition was committed on 2020-01-01, so it is "old". */
let current: string;

const tb = (args: string[], timeoutMs = 120_000): Promise<CliResult> => runTailsBuild(args, { cwd: repo.root, env: sandbox.env, timeoutMs });
const countBoxes = (name: string): number => sandbox.vagrantBoxes().filter((b) => b === name).length;

function ok(res: CliResult): CliResult {
  assert.equal(res.code, 0, `exit ${String(res.code)}\nstdout: ${res.stdout}\nstderr: ${res.stderr}`);
  return res;
}

before(async () => {
  sandbox = createBoxSandbox();
  boxFile = await sandbox.makeBox();
  repo = createTempRepo();
  repo.write({
    'definitions/builder/packages': 'openssh-server\nsudo\n',
    'definitions/builder/APT_snapshots.d/debian/serial': '2020010101\n',
    'README': 'x\n',
  });
  repo.commit('Builder definition', '2020-01-01T10:00:00Z');
  current = sandbox.track(ok(await tb(['basebox', 'name'])).stdout.trim());
  assert.match(current, /^tails-builder-amd64-bookworm-20200101-[0-9a-f]+$/);
});
after(() => {
  sandbox.cleanup();
  repo.remove();
});

describe('tails-build basebox (real vagrant, real libvirt pool)', () => {
  it('import: adds the current box by default, with exactly one pool volume, and prints JSON', async () => {
    const res = ok(await tb(['basebox', 'import', boxFile, '--json']));
    const result = JSON.parse(res.stdout) as { name: string; volume: string; volumePath: string; replacedBox: boolean; timingsMs: { total: number } };
    assert.equal(result.name, current);
    assert.match(result.volume, new RegExp(`^${current}_vagrant_box_image_0_\\d+_box\\.img$`));
    assert.equal(result.volumePath, `/var/lib/libvirt/images/${result.volume}`);
    assert.equal(typeof result.timingsMs.total, 'number');
    assert.equal(countBoxes(current), 1);
    assert.deepEqual(volumesOf(current), withBoot(result.volume));
  });

  it('import: two concurrent processes are serialised by the host lock and leave one box and one image volume', async () => {
    const name = sandbox.track(uniqueBoxName('20240101'));
    const [a, b] = await Promise.all([tb(['basebox', 'import', boxFile, '--name', name]), tb(['basebox', 'import', boxFile, '--name', name])]);
    ok(a);
    ok(b);
    assert.ok(/Waiting for the host lock .*libvirt\.lock, held by pid \d+/.test(a.stderr + b.stderr), `${a.stderr}\n---\n${b.stderr}`);
    assert.equal(countBoxes(name), 1);
    assert.equal(volumesOf(name).length, 3, 'one image volume, with its kernel and initrd');
  });

  it('import: a missing box file is a clear usage error', async () => {
    const res = await tb(['basebox', 'import', '/nonexistent/x.box', '--name', uniqueBoxName('20240101')]);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /The box file \/nonexistent\/x\.box does not exist/);
  });

  it('list --json: name, date, version, current, size, volumes, in use', async () => {
    const res = ok(await tb(['basebox', 'list', '--json']));
    const doc = JSON.parse(res.stdout) as {
      prefix: string;
      current: string;
      boxes: { name: string; date: string | null; version: string; current: boolean; sizeBytes: number | null; volumes: { name: string; path: string; capacityBytes: number; allocationBytes: number }[]; inUse: boolean; usedBy: string[] }[];
    };
    assert.equal(doc.prefix, 'tails-builder');
    assert.equal(doc.current, current);
    const mine = doc.boxes.find((b) => b.name === current);
    assert.ok(mine, res.stdout);
    assert.deepEqual(Object.keys(mine), ['name', 'date', 'version', 'current', 'sizeBytes', 'volumes', 'inUse', 'usedBy']);
    assert.equal(mine.date, '20200101');
    assert.equal(mine.version, '0');
    assert.equal(mine.current, true);
    assert.equal(mine.inUse, false);
    assert.deepEqual(mine.usedBy, []);
    assert.equal(mine.volumes.length, 3, 'the image, and the kernel and initrd beside it');
    const [volume] = mine.volumes;
    assert.ok(volume);
    assert.equal(volume.capacityBytes, 64 * 1024 * 1024);
    assert.equal(mine.sizeBytes, mine.volumes.reduce((sum, v) => sum + v.allocationBytes, 0));
    assert.ok(volume.allocationBytes > 0);

    const text = ok(await tb(['basebox', 'list'])).stdout;
    assert.match(text, /^NAME\s+DATE\s+SIZE\s+IN USE$/m);
    assert.match(text, new RegExp(`^\\* ${current}\\s+2020-01-01\\s+\\d+(\\.\\d)? KiB\\s+no$`, 'm'));
  });

  it('clean-old: removes an old box and its volume; keeps the current box (however old) and the newest', async () => {
    const old = sandbox.track(uniqueBoxName('20200102'));
    const newest = sandbox.track(uniqueBoxName(computeCutoff(new Date(), 0)));
    ok(await tb(['basebox', 'import', boxFile, '--name', old]));
    ok(await tb(['basebox', 'import', boxFile, '--name', newest]));

    const dry = ok(await tb(['basebox', 'clean-old', '--dry-run', '--json']));
    const plan = JSON.parse(dry.stdout) as { dryRun: boolean; months: number; cutoff: string; current: string; decisions: { name: string; action: string; reason: string }[]; removed: unknown[] };
    assert.equal(plan.dryRun, true);
    assert.equal(plan.months, 6);
    assert.equal(plan.current, current);
    const byName = Object.fromEntries(plan.decisions.map((d) => [d.name, `${d.action}:${d.reason}`]));
    assert.equal(byName[old], 'remove:old');
    assert.equal(byName[current], 'keep:current');
    assert.equal(byName[newest], 'keep:newest');
    assert.deepEqual(plan.removed, []);
    assert.equal(countBoxes(old), 1, 'dry run removed nothing');

    const res = ok(await tb(['basebox', 'clean-old']));
    assert.match(res.stdout, new RegExp(`^remove\\s+${old}\\s+2020-01-02\\s+older than the cutoff$`, 'm'));
    assert.match(res.stdout, new RegExp(`^keep\\s+${current}\\s+2020-01-01\\s+the current checkout builds with it$`, 'm'));
    assert.match(res.stdout, /^Removed \d+ box\(es\) and \d+ pool volume\(s\)\.$/m);
    assert.equal(countBoxes(old), 0);
    assert.deepEqual(volumesOf(old), []);
    assert.equal(countBoxes(current), 1);
    assert.equal(volumesOf(current).length, 3);
    assert.equal(countBoxes(newest), 1);
    assert.equal(volumesOf(newest).length, 3);
  });

  it('clean-old: --months must be a positive whole number', async () => {
    const res = await tb(['basebox', 'clean-old', '--months', '0']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /--months must be a whole number of months/);
  });

  it('clean-all: refuses without --yes, previews with --dry-run, then removes every box and volume', async () => {
    const refused = await tb(['basebox', 'clean-all']);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /clean-all would remove \d+ box\(es\) .* not confirmed/);
    assert.match(refused.stderr, /hint: .*clean-all --dry-run.*clean-all --yes/);
    assert.equal(countBoxes(current), 1);

    const dry = ok(await tb(['basebox', 'clean-all', '--dry-run']));
    assert.match(dry.stdout, new RegExp(`^remove\\s+${current}\\s`, 'm'));
    assert.match(dry.stdout, /^Dry run: would remove \d+ box\(es\)/m);
    assert.equal(countBoxes(current), 1);

    const res = ok(await tb(['basebox', 'clean-all', '--yes', '--json']));
    const doc = JSON.parse(res.stdout) as { mode: string; removed: { name: string; volumes: string[] }[]; failed: string[] };
    assert.equal(doc.mode, 'all');
    assert.deepEqual(doc.failed, []);
    assert.ok(doc.removed.some((r) => r.name === current && r.volumes.length === 3));
    assert.deepEqual(sandbox.vagrantBoxes(), []);
    assert.deepEqual(volumesOf(current), []);
    const empty = ok(await tb(['basebox', 'list', '--json']));
    assert.deepEqual((JSON.parse(empty.stdout) as { boxes: unknown[] }).boxes, []);
  });
});
