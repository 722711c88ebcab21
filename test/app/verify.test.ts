/**
 * verify's orchestration with strict fakes: a scripted build function stands
 * in for the VM build (each call is recorded; one call more than scripted
 * fails the test), and deps expose only the runner, which answers `which
 * diffoscope` and diffoscope itself and throws on anything else. The real
 * builds, mismatch included, are test/vm/verify-mismatch.ts and sample-iso.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Deps } from '../../src/app/deps.js';
import type { VmBuildRequest, VmBuildResult } from '../../src/app/build-vm.js';
import { verify, type BuildOne, type VerifyRequest } from '../../src/app/verify.js';
import { formatCommand, type Command } from '../../src/core/command.js';
import type { IsoBuildPlan } from '../../src/core/iso-plan.js';
import type { RunResult, Runner } from '../../src/core/ports.js';
import type { HashedFile, PublishedBuild } from '../../src/core/verify.js';
import type { StepRecord } from '../../src/ui/progress.js';

const COMMIT = 'c'.repeat(40);
const BOX = 'tails-builder-amd64-bookworm-20261101-abcdef0';
const OUT = '/p/verify';
const h = (c: string): string => c.repeat(64);
const file = (name: string, sha: string): HashedFile => ({ name, bytes: 1, sha256: sha });

/**
 * Only the fields of a plan verify reads or passes on; the plan's other fields
 * are computeIsoPlan's business (tested in iso-dry-run), not verify's.
 */
function planOf(options: { rescue?: boolean; keepRunning?: boolean; pinned?: Record<string, string> } = {}): IsoBuildPlan {
  return {
    request: {
      options: { keepRunning: options.keepRunning ?? false, rescue: options.rescue ?? false, forceCleanup: false, compression: 'fast' },
      git: { commit: COMMIT, ref: 'main' },
      artifactsDir: '/p',
      pinnedSerials: options.pinned,
      builderSecurity: undefined,
      bootTest: false,
    },
    basebox: { name: BOX },
    vm: { cpus: 2, memoryMiB: 1536, machineType: 'q35', cpuModel: undefined, keep: options.keepRunning === true ? 'keep-running' : 'destroy' },
  } as unknown as IsoBuildPlan;
}

/** What buildInVm would return for a build that wrote `files` into `artifactsDir`. */
function built(request: VmBuildRequest, files: readonly HashedFile[], over: Partial<VmBuildResult> = {}): VmBuildResult {
  const dir = request.plan.request.artifactsDir;
  return {
    ok: true,
    exitCode: 0,
    accelerator: { accelerator: 'tcg', reason: 'no /dev/kvm' },
    domain: 'tails-build-x',
    vm: 'destroyed',
    reused: false,
    cacheDisk: true,
    cache: { volume: 'c.qcow2', disk: 1, of: 2 },
    artifactsDir: dir,
    artifacts: files.map((f) => f.name),
    log: `${dir}/build.log`,
    timings: [],
    serials: { iso: { debian: '2026110102', 'debian-security': '2026110103' }, builderSecurity: '2026110104', notes: [] },
    files,
    bootTest: undefined,
    report: `${dir}/build-report.json`,
    ...over,
  };
}

/** A build function answering each call with the next scripted answer; a call beyond the script fails the test. */
function scriptedBuilds(answers: ((r: VmBuildRequest) => VmBuildResult)[]): BuildOne & { calls: VmBuildRequest[] } {
  const calls: VmBuildRequest[] = [];
  const fn = (_deps: Deps, request: VmBuildRequest): Promise<VmBuildResult> => {
    calls.push(request);
    const answer = answers[calls.length - 1];
    if (answer === undefined) throw new Error(`unexpected build ${String(calls.length)}: only ${String(answers.length)} scripted`);
    return Promise.resolve(answer(request));
  };
  return Object.assign(fn, { calls });
}

/** The runner: `which diffoscope` answers `diffoscopeAt`; diffoscope runs answer `exitCode`; anything else throws. */
function diffoscopeRunner(diffoscopeAt: string | undefined, answer: RunResult = { exitCode: 1, stdout: '', stderr: '' }): Runner & { ran: string[] } {
  const ran: string[] = [];
  return {
    ran,
    which: (name: string) => {
      if (name !== 'diffoscope') throw new Error(`unexpected which ${name}`);
      return Promise.resolve(diffoscopeAt);
    },
    tryRun: (cmd: Command) => {
      if (diffoscopeAt === undefined || cmd.file !== diffoscopeAt) throw new Error(`unexpected command: ${formatCommand(cmd)}`);
      ran.push(formatCommand(cmd));
      return Promise.resolve(answer);
    },
    run: (cmd: Command) => Promise.reject(new Error(`unexpected command: ${formatCommand(cmd)}`)),
    start: (cmd: Command) => Promise.reject(new Error(`unexpected start: ${formatCommand(cmd)}`)),
  };
}

/** Deps with only what is given; reading any other port throws. */
function strictDeps(given: Partial<Deps> = {}): Deps {
  return new Proxy(given, {
    get(target, key) {
      if (typeof key === 'string' && key in target) return target[key as keyof Deps];
      if (key === 'then') return undefined; // not a thenable
      throw new Error(`verify read deps.${String(key)}, which this test does not provide`);
    },
  }) as Deps;
}

function request(plan: IsoBuildPlan, over: Partial<VerifyRequest> = {}): VerifyRequest {
  return { build: { buildCommand: 'bash t/build.sh' } as unknown as VerifyRequest['build'], plan, outputDir: OUT, ...over };
}

const SET = [file('x.iso', h('1')), file('x.packages', h('2')), file('tails-build-env.list', h('3'))];

describe('verify: two builds', () => {
  it('identical sets: identical, both builds listed, no diffoscope run (the runner is never asked)', async () => {
    const builds = scriptedBuilds([(r) => built(r, SET), (r) => built(r, [...SET].reverse())]);
    const result = await verify(strictDeps(), request(planOf()), builds);
    assert.equal(result.identical, true);
    assert.ok(result.comparison.files.every((f) => f.identical));
    assert.deepEqual(result.builds.map((b) => [b.label, b.artifactsDir, b.report]), [
      ['build 1', `${OUT}/build-1`, `${OUT}/build-1/build-report.json`],
      ['build 2', `${OUT}/build-2`, `${OUT}/build-2/build-report.json`],
    ]);
    assert.deepEqual(result.diffoscope, []);
    assert.equal(result.diffoscopeNote, undefined);
  });

  it('one differing file: not identical, one diffoscope report for it (build-1 against build-2), none for the identical ones', async () => {
    const builds = scriptedBuilds([(r) => built(r, SET), (r) => built(r, [file('x.iso', h('9')), SET[1] as HashedFile, SET[2] as HashedFile])]);
    const runner = diffoscopeRunner('/usr/bin/diffoscope');
    const result = await verify(strictDeps({ runner }), request(planOf()), builds);
    assert.equal(result.identical, false);
    assert.deepEqual(result.comparison.files.filter((f) => !f.identical), [{ name: 'x.iso', first: h('1'), second: h('9'), identical: false }]);
    assert.deepEqual(runner.ran, [`/usr/bin/diffoscope --text ${OUT}/diffoscope-x.iso.txt --no-progress ${OUT}/build-1/x.iso ${OUT}/build-2/x.iso`]);
    assert.deepEqual(result.diffoscope, [`${OUT}/diffoscope-x.iso.txt`]);
    assert.equal(result.diffoscopeNote, undefined);
  });

  it("Tails branch builds (their names carry the build time): the two .iso pair, and diffoscope compares each build's own file", async () => {
    const one = 'tails-amd64-devel@0123456789-20261203T1412Z';
    const two = 'tails-amd64-devel@0123456789-20261203T1539Z';
    const builds = scriptedBuilds([
      (r) => built(r, [file(`${one}.iso`, h('1')), file(`${one}.packages`, h('2'))]),
      (r) => built(r, [file(`${two}.iso`, h('9')), file(`${two}.packages`, h('2'))]),
    ]);
    const runner = diffoscopeRunner('/usr/bin/diffoscope');
    const result = await verify(strictDeps({ runner }), request(planOf()), builds);
    assert.equal(result.identical, false);
    assert.deepEqual(result.comparison.files.map((f) => [f.name, f.secondName, f.identical]), [
      [`${one}.iso`, `${two}.iso`, false],
      [`${one}.packages`, `${two}.packages`, true],
    ]);
    assert.deepEqual(runner.ran, [`/usr/bin/diffoscope --text ${OUT}/diffoscope-${one}.iso.txt --no-progress ${OUT}/build-1/${one}.iso ${OUT}/build-2/${two}.iso`]);
  });

  it('a file only in one set: not identical, named missing on that side; diffoscope compares only files both sets hold', async () => {
    const builds = scriptedBuilds([(r) => built(r, [...SET, file('stamp.txt', h('5'))]), (r) => built(r, SET)]);
    const runner = diffoscopeRunner('/usr/bin/diffoscope');
    const result = await verify(strictDeps({ runner }), request(planOf()), builds);
    assert.equal(result.identical, false);
    assert.deepEqual(result.comparison.files.filter((f) => !f.identical), [{ name: 'stamp.txt', first: h('5'), second: undefined, identical: false }]);
    assert.deepEqual(runner.ran, []);
    assert.deepEqual(result.diffoscope, []);
  });

  it('diffoscope not installed: the hashes still decide, and the note says how to install it', async () => {
    const builds = scriptedBuilds([(r) => built(r, SET), (r) => built(r, [file('x.iso', h('9'))])]);
    const result = await verify(strictDeps({ runner: diffoscopeRunner(undefined) }), request(planOf()), builds);
    assert.equal(result.identical, false);
    assert.deepEqual(result.diffoscope, []);
    assert.match(result.diffoscopeNote ?? '', /diffoscope is not installed \(apt-get install --no-install-recommends diffoscope\)/);
  });

  it('diffoscope failing (exit 2) is no report: the note names the file, its error and the command to run by hand', async () => {
    const builds = scriptedBuilds([(r) => built(r, SET), (r) => built(r, [file('x.iso', h('9')), SET[1] as HashedFile, SET[2] as HashedFile])]);
    const runner = diffoscopeRunner('/usr/bin/diffoscope', { exitCode: 2, stdout: '', stderr: 'Traceback …\nMemoryError\n' });
    const result = await verify(strictDeps({ runner }), request(planOf()), builds);
    assert.equal(result.identical, false);
    assert.deepEqual(result.diffoscope, []);
    assert.equal(result.diffoscopeNote, `diffoscope could not compare x.iso (exit 2: MemoryError); run it by hand: diffoscope ${OUT}/build-1/NAME ${OUT}/build-2/NAME`);
  });

  it('the second build is pinned to the serials and builder debian-security the first resolved, each in a fresh VM destroyed after', async () => {
    const steps: StepRecord[] = [];
    const builds = scriptedBuilds([
      (r) => {
        r.onStep?.({ id: 'vm-up', title: 'Start', status: 'done', ms: 1, tail: [] });
        return built(r, SET, { serials: { iso: { debian: '2026110201', 'debian-security': '2026110202' }, builderSecurity: '2026110203', notes: [] } });
      },
      (r) => {
        r.onStep?.({ id: 'vm-up', title: 'Start', status: 'done', ms: 1, tail: [] });
        return built(r, SET);
      },
    ]);
    const announced: string[] = [];
    await verify(strictDeps(), request(planOf(), { build: { buildCommand: 'b', onStep: (s: StepRecord) => steps.push(s) } as unknown as VerifyRequest['build'], onBuild: (n, of, what) => announced.push(`${String(n)}/${String(of)} ${what}`) }), builds);
    const [first, second] = builds.calls;
    assert.ok(first !== undefined && second !== undefined);
    // The first resolves: nothing pinned but what the project pinned, the builder's latest security snapshot.
    assert.equal(first.plan.request.pinnedSerials, undefined);
    assert.equal(first.plan.request.builderSecurity, undefined);
    assert.equal('builderSecurity' in first, false);
    assert.equal(first.plan.request.artifactsDir, `${OUT}/build-1`);
    // The second: exactly what the first resolved.
    assert.deepEqual(second.plan.request.pinnedSerials, { debian: '2026110201', 'debian-security': '2026110202' });
    assert.equal(second.plan.request.builderSecurity, '2026110203');
    assert.equal(second.builderSecurity, '2026110203');
    assert.equal(second.plan.request.artifactsDir, `${OUT}/build-2`);
    for (const call of [first, second]) {
      assert.equal(call.buildCommand, 'b');
      assert.equal(call.plan.vm.keep, 'destroy');
      assert.equal(call.plan.request.options.forceCleanup, true);
      assert.equal(call.plan.request.options.keepRunning, false);
      assert.equal(call.plan.request.git.commit, COMMIT);
    }
    assert.deepEqual(steps.map((s) => s.id), ['build-1/vm-up', 'build-2/vm-up']);
    assert.deepEqual(announced, ['1/2 resolving the serials', '2/2 pinned to the first: debian=2026110201 debian-security=2026110202, builder debian-security=2026110203']);
  });

  it('the project pinned serials (APT_SNAPSHOTS_SERIALS) reach the first build; --rescue: each build keeps its VM only if it fails (keep-on-failure)', async () => {
    const builds = scriptedBuilds([(r) => built(r, SET), (r) => built(r, SET)]);
    await verify(strictDeps(), request(planOf({ rescue: true, pinned: { debian: '2026110111' } })), builds);
    assert.deepEqual(builds.calls[0]?.plan.request.pinnedSerials, { debian: '2026110111' });
    for (const call of builds.calls) {
      assert.equal(call.plan.vm.keep, 'keep-on-failure');
      assert.equal(call.plan.request.options.keepRunning, true, 'rescue keeps the VM running for inspection');
    }
  });

  it('a failing first build stops before the second: exit 4 (external), its exit code and log named, the fix told', async () => {
    const builds = scriptedBuilds([(r) => built(r, [], { ok: false, exitCode: 7, serials: undefined })]);
    await assert.rejects(verify(strictDeps(), request(planOf()), builds), (error: Error & { code?: string; kind?: string; hint?: string }) => {
      assert.equal(error.code, 'verify-build-failed');
      assert.equal(error.kind, 'external');
      assert.equal(error.message, `verify: build 1 failed (exit 7), so there is nothing to compare. Its log is ${OUT}/build-1/build.log.`);
      assert.match(error.hint ?? '', /tails-build iso shows the same failure.*--rescue/);
      return true;
    });
    assert.equal(builds.calls.length, 1, 'no second build');
  });

  it('a failing second build (its boot test failing) is refused too, naming the boot failure', async () => {
    const bootTest = { ok: false, markerSeen: false, poweredOff: true, seconds: 3, accelerator: 'tcg' as const, iso: 'x.iso', log: 'boot.log', failure: 'no marker', machines: [] };
    const builds = scriptedBuilds([(r) => built(r, SET), (r) => built(r, SET, { ok: false, exitCode: 4, bootTest })]);
    await assert.rejects(verify(strictDeps(), request(planOf()), builds), /verify: build 2 failed \(exit 4; boot test: no marker\)/);
  });

  it('refuses keeprunning before any build, naming the option to drop', async () => {
    const builds = scriptedBuilds([]);
    await assert.rejects(verify(strictDeps(), request(planOf({ keepRunning: true })), builds), (error: Error & { code?: string; hint?: string }) => {
      assert.equal(error.code, 'verify-keeprunning');
      assert.match(error.hint ?? '', /Drop --keep-running/);
      return true;
    });
    assert.equal(builds.calls.length, 0);
  });
});

describe('verify --against a published report', () => {
  const published: PublishedBuild = {
    commit: COMMIT,
    ref: 'main',
    box: BOX,
    isoSerials: { debian: '2026100101', 'debian-security': '2026100102' },
    builderSecurity: '2026100103',
    compression: 'fast',
    artifacts: SET,
  };
  const against = (report: Partial<PublishedBuild> = {}): NonNullable<VerifyRequest['against']> => ({ report: { ...published, ...report }, source: '/srv/build-report.json' });

  it('one build, pinned to the report\'s ISO serials and builder debian-security, compared with its hashes', async () => {
    const builds = scriptedBuilds([(r) => built(r, SET)]);
    const result = await verify(strictDeps(), request(planOf(), { against: against() }), builds);
    assert.equal(builds.calls.length, 1);
    const call = builds.calls[0];
    assert.ok(call !== undefined);
    assert.deepEqual(call.plan.request.pinnedSerials, published.isoSerials);
    assert.equal(call.plan.request.builderSecurity, '2026100103');
    assert.equal(call.builderSecurity, '2026100103');
    assert.equal(call.plan.request.artifactsDir, `${OUT}/build-1`);
    assert.equal(result.identical, true);
    assert.deepEqual(result.builds.map((b) => [b.label, b.report]), [['published', '/srv/build-report.json'], ['rebuild', `${OUT}/build-1/build-report.json`]]);
  });

  it('a differing rebuild: not identical, no diffoscope (the published files are not here), the note says what to fetch', async () => {
    const builds = scriptedBuilds([(r) => built(r, [file('x.iso', h('9')), SET[1] as HashedFile, SET[2] as HashedFile])]);
    const result = await verify(strictDeps(), request(planOf(), { against: against() }), builds);
    assert.equal(result.identical, false);
    assert.deepEqual(result.comparison.files.filter((f) => !f.identical).map((f) => f.name), ['x.iso']);
    assert.deepEqual(result.diffoscope, []);
    assert.match(result.diffoscopeNote ?? '', /fetch them and run: diffoscope PUBLISHED REBUILT/);
  });

  it('a report of another commit is refused before any build, naming both commits and the checkout to make', async () => {
    const other = 'd'.repeat(40);
    const builds = scriptedBuilds([]);
    await assert.rejects(verify(strictDeps(), request(planOf(), { against: against({ commit: other }) }), builds), (error: Error & { code?: string; hint?: string }) => {
      assert.equal(error.code, 'verify-other-commit');
      assert.equal(error.message, `/srv/build-report.json describes commit ${other}; this checkout is at ${COMMIT}.`);
      assert.equal(error.hint, `Check out the commit it describes first: git checkout ${other}`);
      return true;
    });
    assert.equal(builds.calls.length, 0);
  });

  it('a report built in another builder box is refused before any build, naming both boxes', async () => {
    const builds = scriptedBuilds([]);
    await assert.rejects(verify(strictDeps(), request(planOf(), { against: against({ box: 'tails-builder-amd64-bookworm-20250101-1234567' }) }), builds), (error: Error & { code?: string; hint?: string }) => {
      assert.equal(error.code, 'verify-other-box');
      assert.match(error.message, new RegExp(`builder box tails-builder-amd64-bookworm-20250101-1234567; this checkout's box is ${BOX}`));
      assert.match(error.hint ?? '', /tails-build basebox create/);
      return true;
    });
    assert.equal(builds.calls.length, 0);
  });
});
