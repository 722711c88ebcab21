/**
 * What a CI job writes is not the source being built: untracked files under the
 * artifacts dir (and verify's output dir), when it lies inside the checkout, are
 * left out of the uncommitted-changes check, and the tool says so; anything else
 * is still refused. Real git repositories, the built binary.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { splitStatus, outputPrefixes } from '../../src/app/iso-plan.js';
import type { IsoBuildPlan } from '../../src/core/iso-plan.js';
import { runTailsBuild } from '../helpers/cli.js';
import { SAMPLE_LAYOUT } from '../helpers/sample-layout.js';
import { createTempRepo, makeTempDir, type TempRepo } from '../helpers/git-repo.js';

const repos: TempRepo[] = [];
after(() => {
  for (const r of repos) r.remove();
});

function project(): TempRepo {
  const r = createTempRepo();
  repos.push(r);
  r.write({
    ...SAMPLE_LAYOUT,
    'out/README': 'tracked, under the artifacts dir\n',
    README: 'sample\n',
  });
  r.commit('Initial', '2024-09-02T10:00:00Z');
  return r;
}

describe('the uncommitted-changes check and the files a CI job writes', () => {
  it('refuses events.ndjson and doctor.json written at the top of the checkout (the contrib examples did), and the hint says where to write them', async () => {
    const r = project();
    r.write({ 'events.ndjson': '', 'doctor.json': '{}' });
    const res = await runTailsBuild(['iso', '--dry-run', '--json', '--artifacts', 'out'], { cwd: r.root });
    assert.equal(res.code, 3, res.stderr);
    assert.match(res.stderr, /has uncommitted changes/);
    assert.match(res.stderr, /\?\? doctor\.json/);
    assert.match(res.stderr, /\?\? events\.ndjson/);
    // With the default artifacts dir (the checkout itself) the hint names the fix.
    const byDefault = await runTailsBuild(['iso', '--dry-run', '--json'], { cwd: r.root });
    assert.equal(byDefault.code, 3);
    assert.match(byDefault.stderr, /--artifacts out --junit out\/iso\.xml > out\/events\.ndjson/);
  });

  it('--artifacts out inside the checkout: untracked files under out/ are not counted, and it says so; ARTIFACTS the same', async () => {
    const r = project();
    mkdirSync(join(r.root, 'out/reports'), { recursive: true });
    r.write({ 'out/events.ndjson': '', 'out/doctor.json': '{}', 'out/reports/iso.xml': '<x/>' });
    for (const how of [{ args: ['--artifacts', 'out'], env: {} }, { args: [], env: { ARTIFACTS: 'out' } }]) {
      const res = await runTailsBuild(['iso', '--dry-run', '--json', ...how.args], { cwd: r.root, env: how.env });
      assert.equal(res.code, 0, res.stderr);
      assert.equal((JSON.parse(res.stdout) as IsoBuildPlan).request.artifactsDir, join(r.root, 'out'));
      assert.match(res.stderr, /not counting 3 untracked file\(s\) under out\/ \(out\/doctor\.json, out\/events\.ndjson, out\/reports\/iso\.xml\) as uncommitted changes/);
    }
    // From a subdirectory, --artifacts is relative to cwd.
    mkdirSync(join(r.root, 'sub'));
    const fromSub = await runTailsBuild(['iso', '--dry-run', '--json', '--artifacts', '../out'], { cwd: join(r.root, 'sub') });
    assert.equal(fromSub.code, 0, fromSub.stderr);
  });

  it('still refuses a change to a tracked file under out/, an untracked file elsewhere, and everything when the artifacts dir is the checkout', async () => {
    const r = project();
    r.write({ 'out/README': 'edited\n' });
    const tracked = await runTailsBuild(['iso', '--dry-run', '--artifacts', 'out'], { cwd: r.root });
    assert.equal(tracked.code, 3, tracked.stderr);
    assert.match(tracked.stderr, / M out\/README/);
    r.git('checkout', '--', 'out/README');
    r.write({ 'out/events.ndjson': '', 'outside.txt': 'x\n' });
    const elsewhere = await runTailsBuild(['iso', '--dry-run', '--artifacts', 'out'], { cwd: r.root });
    assert.equal(elsewhere.code, 3, elsewhere.stderr);
    assert.match(elsewhere.stderr, /\?\? outside\.txt/);
    assert.doesNotMatch(elsewhere.stderr, /\?\? out\/events\.ndjson/);
    const atRoot = await runTailsBuild(['iso', '--dry-run'], { cwd: r.root });
    assert.equal(atRoot.code, 3, atRoot.stderr);
    assert.match(atRoot.stderr, /\?\? out\/events\.ndjson/);
    // An artifacts dir outside the checkout excuses nothing inside it.
    const outside = await runTailsBuild(['iso', '--dry-run', '--artifacts', makeTempDir('tb-artifacts-')], { cwd: r.root });
    assert.equal(outside.code, 3, outside.stderr);
  });

  it('verify: its own output dir (--output, default <artifacts>/verify) is output too; the refusal that follows is the missing box, not the checkout', async () => {
    const r = project();
    r.write({ 'verify/build-1/build.log': 'x\n', 'elsewhere/verify-report.json': '{}' });
    const env = { VAGRANT_HOME: makeTempDir('tb-empty-vagrant-') };
    const byDefault = await runTailsBuild(['--json', 'verify', '--output', 'elsewhere'], { cwd: r.root, env });
    assert.equal(byDefault.code, 3, byDefault.stderr);
    assert.match(byDefault.stderr, /\?\? verify\/build-1\/build\.log/, 'verify/ is not its output dir when --output says elsewhere');
    const res = await runTailsBuild(['--json', 'verify'], { cwd: r.root, env: { ...env, CI: 'true' } });
    assert.match(res.stderr, /\?\? elsewhere\/verify-report\.json/);
    r.git('clean', '-qfdx', 'elsewhere');
    const ok = await runTailsBuild(['--json', 'verify'], { cwd: r.root, env: { ...env, CI: 'true' } });
    assert.equal(ok.code, 3, ok.stderr);
    assert.match(ok.stderr, /not counting 1 untracked file\(s\) under verify\//);
    assert.match(ok.stderr, /The builder box \S+ is not in vagrant/);
  });
});

describe('splitStatus (porcelain lines)', () => {
  it('keeps only untracked files under a prefix apart, C-quoted paths included', () => {
    const prefixes = outputPrefixes('/c', ['/c', '/c/out', '/elsewhere', '/c/out']);
    assert.deepEqual(prefixes, ['out/']);
    const split = splitStatus(['?? out/a b.iso', '?? "out/caf\\303\\251"', ' M out/README', '?? outside', '?? output/x'], prefixes);
    assert.deepEqual(split.source, [' M out/README', '?? outside', '?? output/x']);
    assert.equal(split.output.files.length, 2);
    assert.deepEqual(split.output.dirs, ['out/']);
  });
});
