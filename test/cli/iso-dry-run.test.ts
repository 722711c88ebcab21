/** `tails-build iso --dry-run --json` on real git repositories: the resolved request and plan, nothing executed. */
import assert from 'node:assert/strict';
import { cpus } from 'node:os';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SyntaxValidator } from 'fast-xml-validator';
import { assertEventStream } from '../helpers/events.js';
import { after, describe, it } from 'node:test';
import type { IsoBuildPlan } from '../../src/core/iso-plan.js';
import { runTailsBuild } from '../helpers/cli.js';
import { SAMPLE_LAYOUT } from '../helpers/sample-layout.js';
import { createTempRepo, type TempRepo } from '../helpers/git-repo.js';
import { createTailsCheckout } from '../helpers/tails-checkout.js';

const repos: TempRepo[] = [];
after(() => {
  for (const r of repos) r.remove();
});

function project(): TempRepo {
  const r = createTempRepo();
  repos.push(r);
  r.write({
    ...SAMPLE_LAYOUT,
    'README': 'sample\n',
  });
  r.commit('Initial', '2024-09-02T10:00:00Z');
  return r;
}

async function plan(r: TempRepo, args: string[] = [], env: Record<string, string> = {}): Promise<IsoBuildPlan> {
  const res = await runTailsBuild(['iso', '--dry-run', '--json', ...args], { cwd: r.root, env });
  assert.equal(res.code, 0, res.stderr);
  return JSON.parse(res.stdout) as IsoBuildPlan;
}

describe('tails-build iso --dry-run --json', () => {
  it('prints the resolved request and plan: box name, serials, options', async () => {
    const r = project();
    const head = r.git('rev-parse', 'HEAD');
    const short = r.git('rev-parse', '--short', 'HEAD');
    const p = await plan(r);
    assert.equal(p.schema, 'tails-build/iso-plan@1');
    assert.equal(p.dryRun, true);
    assert.equal(p.basebox.name, `tails-builder-amd64-bookworm-20240902-${short}`);
    assert.deepEqual(p.serials, {
      builder: { debian: '2024090201', 'debian-security': '2024090202' },
      iso: { debian: '2024101502', 'debian-security': 'latest' },
    });
    assert.deepEqual(p.request.git, { commit: head, ref: 'main', branch: 'main', releasing: false });
    assert.equal(p.request.options.cpus, cpus().length);
    assert.equal(p.request.options.ramBuild, true);
    assert.equal(p.request.options.proxy, 'vmproxy');
    assert.equal(p.request.options.compression, 'fast');
    assert.equal(p.request.artifactsDir, r.root);
    assert.equal(p.vm.keep, 'destroy');
    assert.ok(p.steps.some((s) => s.id === 'basebox'));
    // Nothing was executed: the checkout is untouched.
    assert.equal(r.git('status', '--porcelain', '--ignored'), '');
  });

  it('takes TAILS_BUILD_OPTIONS, and flags win over it', async () => {
    const r = project();
    const p = await plan(r, ['--cpus', '1', '--no-ram'], { TAILS_BUILD_OPTIONS: 'keeprunning cpus=3 ram memory=4096 dateoffset=-2' });
    assert.equal(p.request.options.cpus, 1);
    assert.equal(p.request.options.keepRunning, true);
    assert.equal(p.request.options.ramBuild, false);
    assert.equal(p.request.options.dateOffsetDays, -2);
    assert.equal(p.vm.memoryMiB, 4096);
    assert.equal(p.vm.keep, 'keep-running');
    const sources = p.request.optionWords.map((w) => `${w.text}@${w.source}`);
    assert.ok(sources.includes('cpus=3@TAILS_BUILD_OPTIONS'));
    assert.ok(sources.includes('cpus=1@--cpus'));
  });

  it('fails on an unknown TAILS_BUILD_OPTIONS word, naming it', async () => {
    const r = project();
    const res = await runTailsBuild(['iso', '--dry-run'], { cwd: r.root, env: { TAILS_BUILD_OPTIONS: 'keeprunning frobnicate' } });
    assert.equal(res.code, 2);
    assert.equal(res.stdout, '');
    assert.match(res.stderr, /error: Unknown build option "frobnicate" in TAILS_BUILD_OPTIONS/);
    assert.match(res.stderr, /hint: Known options:/);
  });

  it('fails on a malformed flag value, naming the flag', async () => {
    const r = project();
    const res = await runTailsBuild(['iso', '--dry-run', '--cpus', 'many'], { cwd: r.root });
    assert.equal(res.code, 2);
    assert.match(res.stderr, /Malformed build option "cpus=many" in --cpus/);
  });

  it('rejects an unknown flag as a usage error', async () => {
    const r = project();
    const res = await runTailsBuild(['iso', '--dry-run', '--frobnicate'], { cwd: r.root });
    assert.equal(res.code, 2);
    assert.match(res.stderr, /unknown option '--frobnicate'/);
  });

  it('refuses a dirty tree unless --ignore-changes', async () => {
    const r = project();
    r.write({ README: 'edited\n' });
    const refused = await runTailsBuild(['iso', '--dry-run'], { cwd: r.root });
    assert.equal(refused.code, 3);
    assert.match(refused.stderr, /has uncommitted changes/);
    assert.match(refused.stderr, /M README/);
    assert.match(refused.stderr, /--ignore-changes/);
    const p = await plan(r, ['--ignore-changes']);
    assert.equal(p.request.options.ignoreChanges, true);
    const viaEnv = await plan(r, [], { TAILS_BUILD_OPTIONS: 'ignorechanges' });
    assert.equal(viaEnv.request.options.ignoreChanges, true);
  });

  it('builds a tag as a release: ref is the tag, release compression', async () => {
    const r = project();
    r.git('tag', '6.9');
    const p = await plan(r);
    assert.equal(p.request.git.ref, '6.9');
    assert.equal(p.request.git.releasing, true);
    assert.equal(p.request.options.compression, 'default');
    assert.equal(p.request.options.cacheWebsite, false);
  });

  it('refuses a detached HEAD that no tag points at', async () => {
    const r = project();
    r.write({ README: 'second\n' });
    r.commit('Second', '2024-09-03T10:00:00Z');
    r.git('checkout', '-q', '--detach', 'HEAD~1');
    const res = await runTailsBuild(['iso', '--dry-run'], { cwd: r.root });
    assert.equal(res.code, 3);
    assert.match(res.stderr, /is detached and no tag points at it/);
  });

  it('refuses when Jenkins asked for another branch', async () => {
    const r = project();
    const res = await runTailsBuild(['iso', '--dry-run'], {
      cwd: r.root,
      env: { JENKINS_URL: 'https://jenkins.example/', GIT_BRANCH: 'origin/feature/x' },
    });
    assert.equal(res.code, 3);
    assert.match(res.stderr, /Jenkins asked to build "origin\/feature\/x" but the checkout is at "main"/);
    const ok = await plan(r, [], { JENKINS_URL: 'https://jenkins.example/', GIT_BRANCH: 'origin/main' });
    assert.equal(ok.request.git.ref, 'main');
    const head = r.git('rev-parse', 'HEAD');
    const wrong = await runTailsBuild(['iso', '--dry-run'], { cwd: r.root, env: { JENKINS_URL: 'https://jenkins.example/', GIT_BRANCH: 'origin/main', GIT_COMMIT: 'c'.repeat(40) } });
    assert.equal(wrong.code, 3, wrong.stderr);
    assert.match(wrong.stderr, new RegExp(`GIT_COMMIT=${'c'.repeat(40)} but HEAD is ${head}`));
    // As Jenkins checks out: a detached HEAD, the branch in GIT_BRANCH.
    r.git('checkout', '-q', '--detach', 'HEAD');
    const detached = await plan(r, [], { JENKINS_URL: 'https://jenkins.example/', GIT_BRANCH: 'origin/main', GIT_COMMIT: head });
    assert.equal(detached.request.git.ref, 'main');
    r.git('checkout', '-q', 'main');
  });

  it('records APT_SNAPSHOTS_SERIALS and rejects a malformed one', async () => {
    const r = project();
    const p = await plan(r, [], { APT_SNAPSHOTS_SERIALS: '{"debian-security":"2024101601"}' });
    assert.deepEqual(p.request.pinnedSerials, { 'debian-security': '2024101601' });
    const bad = await runTailsBuild(['iso', '--dry-run'], { cwd: r.root, env: { APT_SNAPSHOTS_SERIALS: '{"debian":"latest"}' } });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /APT_SNAPSHOTS_SERIALS/);
    assert.match(bad.stderr, /latest/);
  });

  it('honours --artifacts and ARTIFACTS', async () => {
    const r = project();
    assert.equal((await plan(r, ['--artifacts', '/srv/out'])).request.artifactsDir, '/srv/out');
    assert.equal((await plan(r, [], { ARTIFACTS: '/srv/env' })).request.artifactsDir, '/srv/env');
  });

  it('prints a readable plan without --json', async () => {
    const r = project();
    const res = await runTailsBuild(['iso', '--dry-run'], { cwd: r.root });
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /Basebox: +tails-builder-amd64-bookworm-20240902-/);
    assert.match(res.stdout, /Serials: +builder +debian=2024090201 debian-security=2024090202/);
    assert.match(res.stdout, /Dry run: nothing was executed\./);
  });

  it('without --dry-run and without the builder box: names the box and the command that creates it, exit 3', async () => {
    const r = project();
    const res = await runTailsBuild(['iso'], { cwd: r.root });
    assert.equal(res.code, 3, res.stderr);
    assert.match(res.stderr, /The builder box tails-builder-\S+ is not in vagrant/);
    assert.match(res.stderr, /tails-build basebox create/);
  });

  it('--json in CI (no TTY): stdout is an event stream (tails-build/events@1) ending in a result with the exit code, for a refusal before any VM too', async () => {
    const r = project();
    const res = await runTailsBuild(['--json', 'iso'], { cwd: r.root, env: { CI: 'true' } });
    assert.equal(res.code, 3, res.stderr);
    const events = assertEventStream(res.stdout, 3);
    // The plan's steps follow the plan: preflight done, basebox failed, the rest skipped, cleanup run.
    assert.deepEqual(events.map((e) => e.event).filter((e, i, all) => e !== 'step' || all[i - 1] !== 'step'), ['run', 'plan', 'step', 'result']);
    assert.deepEqual(events.filter((e) => e.event === 'step' && e.status === 'failed').map((e) => e.id), ['basebox']);
    const result = events[events.length - 1] as unknown as { error: { code: string; message: string } };
    assert.equal(result.error.code, 'basebox-not-imported');
    assert.match(res.stderr, /error: The builder box/, 'the human error stays on stderr');
    const refused = await runTailsBuild(['--json', 'iso'], { cwd: r.root, env: { CI: 'true', TAILS_BUILD_OPTIONS: 'bogus' } });
    assert.equal(refused.code, 2);
    assertEventStream(refused.stdout, 2);
  });

  it('with libvirt down: names the URI, what virsh said and how to start it, exit 5, before any VM work', async () => {
    const r = project();
    const uri = 'qemu+unix:///system?socket=/nonexistent/libvirt-sock';
    const res = await runTailsBuild(['iso'], { cwd: r.root, env: { LIBVIRT_DEFAULT_URI: uri } });
    assert.equal(res.code, 5, res.stderr);
    assert.match(res.stderr, /libvirt does not answer at qemu\+unix:\/\/\/system\?socket=\/nonexistent\/libvirt-sock, so no build VM can start: .*(No such file|Failed to connect)/);
    assert.match(res.stderr, /virsh -c/);
    // --junit: the report is written all the same, and names the failure.
    const junit = join(r.root, 'reports', 'iso.xml');
    const again = await runTailsBuild(['iso', '--junit', 'reports/iso.xml'], { cwd: r.root, env: { LIBVIRT_DEFAULT_URI: uri } });
    assert.equal(again.code, 5);
    const xml = readFileSync(junit, 'utf8');
    assert.equal(SyntaxValidator.validate(xml), true);
    // Every step of the plan is a testcase: preflight failed, the cleanup ran, the rest skipped, saying why.
    assert.match(xml, /<testsuite name="tails-build iso" tests="9" failures="1" errors="0" skipped="7"/);
    assert.match(xml, /<testcase classname="tails-build.iso" name="preflight: Check the artifacts dir[^"]*" time="[0-9.]+">\s*<failure message="libvirt does not answer at /);
    assert.match(xml, /name="build: [^"]*" time="0.000">\s*<skipped message="skipped: preflight failed"\/>/);
    assert.match(xml, /name="cleanup: Cleaned up: no VM was started" time="[0-9.]+"\/>/);
    assert.match(xml, /<property name="commit" value="[0-9a-f]{40}"\/>/);
  });

  it('asking for more VM memory than the host has: both numbers and what to run instead, exit 3', async () => {
    const r = project();
    const res = await runTailsBuild(['iso', '--no-ram', '--memory', '99999999'], { cwd: r.root });
    assert.equal(res.code, 3, res.stderr);
    assert.match(res.stderr, /The build VM needs 99999999 MiB of memory; this host has \d+ MiB available/);
    assert.match(res.stderr, /tails-build iso --memory \d+/);
  });

  it('every step of the plan is one the build does: serials resolved, box checked (not imported), security fixes, the boot test when asked', async () => {
    const r = project();
    const p = await plan(r, ['--boot-test', '--date-offset', '-2']);
    assert.deepEqual(p.steps.map((s) => s.id), ['preflight', 'basebox', 'accelerator', 'resolve-serials', 'vm-up', 'provision', 'build', 'artifacts', 'boot-test', 'cleanup']);
    assert.deepEqual(p.steps.filter((s) => s.always).map((s) => s.id), ['artifacts', 'cleanup']);
    const title = (id: string): string => p.steps.find((s) => s.id === id)?.title ?? '';
    assert.match(title('basebox'), /is imported \(if not, refuse and name: tails-build basebox create\)/);
    assert.match(title('provision'), /debian-security snapshot and upgrade \(kernel and GRUB held; none when the box was built from it\), set the clock -2 day\(s\) off/);
    assert.equal(p.request.bootTest, true);
    const offline = await plan(r, ['--offline']);
    assert.match(offline.steps.find((s) => s.id === 'provision')?.title ?? '', /keep the box's security snapshot \(offline\)/);
    assert.ok(!(await plan(r)).steps.some((s) => s.id === 'boot-test'));
  });

  it('refuses options that cannot apply, saying why: extproxy (the VM fetches from our own snapshot server), cachewebsite (no website here)', async () => {
    const r = project();
    for (const [args, env, pattern] of [
      [['--proxy', 'extproxy'], { http_proxy: 'http://proxy.example:3128' }, /The extproxy proxy mode \(from --proxy\) does not apply to tails-build: the build VM fetches every package from tails-build's own snapshot server/],
      [[], { TAILS_BUILD_OPTIONS: 'vmproxy+extproxy' }, /vmproxy\+extproxy proxy mode \(from TAILS_BUILD_OPTIONS\) does not apply/],
      [['--cache-website'], {}, /"cachewebsite=yes" \(from --cache-website\) does not apply: this project's recipe builds no website/],
      [['--builder-security-serial', '2024023101'], {}, /--builder-security-serial 2024023101 is not a debian-security serial/],
    ] as [string[], Record<string, string>, RegExp][]) {
      const res = await runTailsBuild(['iso', '--dry-run', ...args], { cwd: r.root, env });
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`);
      assert.match(res.stderr, pattern);
    }
    const p = await plan(r, ['--no-cache-website', '--builder-security-serial', '2024090203']);
    assert.equal(p.request.options.cacheWebsite, false);
    assert.equal(p.request.builderSecurity, '2024090203');
  });

  it('verify --against: a report that is not one, or describes another commit, is refused before any VM', async () => {
    const r = project();
    r.write({ 'bad.json': '{"schema":"nope"}' });
    const bad = await runTailsBuild(['verify', '--against', 'bad.json'], { cwd: r.root, env: { LIBVIRT_DEFAULT_URI: 'qemu+unix:///system?socket=/nonexistent/sock' } });
    assert.equal(bad.code, 3, bad.stderr);
    assert.match(bad.stderr, /bad.json is not a usable build report: schema is "nope"/);
    const other = { schema: 'tails-build/build-report@1', ok: true, git: { commit: 'a'.repeat(40), ref: 'main' }, box: 'b', serials: { iso: { debian: '2024101502', 'debian-security': '2024101503' } }, builderSecurity: '2024101503', artifacts: [{ name: 'x.iso', bytes: 1, sha256: 'f'.repeat(64) }] };
    r.write({ 'other.json': JSON.stringify(other) });
    r.commit('Reports', '2024-09-04T10:00:00Z');
    const res = await runTailsBuild(['verify', '--against', 'other.json'], { cwd: r.root });
    assert.equal(res.code, 3, res.stderr);
    assert.match(res.stderr, /other.json describes commit a{40}; this checkout is at [0-9a-f]{40}/);
    assert.match(res.stderr, /git checkout a{40}/);
  });

  it('--artifacts naming an existing file: a clear refusal before anything is created (it was an internal error with a stack trace)', async () => {
    const r = project();
    r.write({ 'not-a-dir': 'x\n' });
    r.commit('A file', '2024-09-05T10:00:00Z');
    const res = await runTailsBuild(['iso', '--artifacts', 'not-a-dir'], { cwd: r.root });
    assert.equal(res.code, 3, res.stderr);
    assert.match(res.stderr, /The artifacts dir .*not-a-dir exists and is not a directory/);
    assert.match(res.stderr, /--artifacts DIR/);
    assert.doesNotMatch(res.stderr, /internal error|EEXIST|at .*\.js:\d+/);
  });

  it('documents options and examples in --help', async () => {
    const r = project();
    const res = await runTailsBuild(['iso', '--help'], { cwd: r.root });
    assert.equal(res.code, 0);
    assert.match(res.stdout, /TAILS_BUILD_OPTIONS/);
    assert.match(res.stdout, /Examples:/);
    assert.match(res.stdout, /--keep-running/);
  });

  it('the plan is what runs: the step ids of --dry-run --json are those of a real run\'s events (libvirt down: preflight fails, every later step skipped or, for cleanup, run)', async () => {
    const r = project();
    const dry = await plan(r);
    const real = await runTailsBuild(['--json', 'iso'], { cwd: r.root, env: { CI: 'true', LIBVIRT_DEFAULT_URI: 'qemu+unix:///system?socket=/nonexistent/libvirt-sock' } });
    assert.equal(real.code, 5, real.stderr);
    assertEventStream(real.stdout, 5);
    assert.deepEqual(stepIds(real.stdout), dry.steps.map((s) => s.id));
    const statuses = stepEvents(real.stdout).filter((e) => e.status !== 'started').map((e) => `${e.id}:${e.status}`);
    assert.deepEqual(statuses, ['preflight:failed', ...dry.steps.slice(1, -1).map((s) => `${s.id}:skipped`), 'cleanup:done']);
  });

  it('a Tails checkout with --boot-test: refused as a usage error (exit 2), the boot test waits for a marker only the sample prints', async () => {
    const t = createTailsCheckout({ inVm: true });
    repos.push(t.repo, t.origin);
    const r = await runTailsBuild(['iso', '--dry-run', '--boot-test'], { cwd: t.root });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /is a Tails checkout, whose ISO prints no such line/);
    assert.match(r.stderr, /Build without --boot-test/);
  });

  it('a Tails checkout whose submodule is not in .git/modules: refused before any VM, exit 3, naming it and the git submodule commands (the dry run too)', async () => {
    const t = createTailsCheckout({ inVm: true });
    repos.push(t.repo, t.origin);
    rmSync(join(t.root, '.git/modules/submodules/fixture-tools'), { recursive: true, force: true });
    const real = await runTailsBuild(['--json', 'iso'], { cwd: t.root, env: { CI: 'true' } });
    assert.equal(real.code, 3, real.stderr);
    assertEventStream(real.stdout, 3);
    assert.match(real.stderr, /submodules\/fixture-tools .*does not exist/);
    assert.match(real.stderr, /build-tails clones every submodule in the build VM from \/amnesia\.git\/\.git\/modules/);
    assert.match(real.stderr, /git -C .* submodule deinit -f -- submodules\/fixture-tools && git -C .* submodule update --init -- submodules\/fixture-tools/);
    const dry = await runTailsBuild(['iso', '--dry-run'], { cwd: t.root });
    assert.equal(dry.code, 3, dry.stderr);
    assert.match(dry.stderr, /submodules\/fixture-tools .*does not exist/);
  });

  it('a Tails checkout: planned as rake build runs it (its own scripts), and a checkout without them refused at preflight, exit 3, before any VM', async () => {
    const t = createTailsCheckout();
    repos.push(t.repo, t.origin);
    const r = t.repo;
    const dry = await plan(r);
    assert.equal(dry.project.kind, 'tails');
    assert.equal(dry.refusal, undefined);
    assert.deepEqual(dry.steps.map((s) => s.id), ['preflight', 'basebox', 'accelerator', 'resolve-serials', 'vm-up', 'provision', 'build', 'artifacts', 'cleanup']);
    assert.match(dry.steps.find((s) => s.id === 'provision')?.title ?? '', /the checkout's vagrant\/provision\/setup-tails-builder as root with the 10 variables rake build exports/);
    assert.match(dry.steps.find((s) => s.id === 'build')?.title ?? '', /^Run the checkout's build-tails for feature\/x at /);
    const real = await runTailsBuild(['--json', 'iso'], { cwd: r.root, env: { CI: 'true' } });
    assert.equal(real.code, 3, real.stderr);
    assertEventStream(real.stdout, 3);
    assert.deepEqual(stepIds(real.stdout), dry.steps.map((s) => s.id));
    assert.match(real.stderr, /is a Tails checkout without vagrant\/provision\/setup-tails-builder/);
    assert.match(real.stderr, /git -C .* checkout HEAD -- vagrant\/provision\/setup-tails-builder/);
  });
});

interface StepEvent { event: string; id: string; status: string }

function stepEvents(stdout: string): StepEvent[] {
  return stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as StepEvent).filter((e) => e.event === 'step');
}

/** The ids of the steps a run's events name, each once, in order. */
function stepIds(stdout: string): string[] {
  return [...new Set(stepEvents(stdout).map((e) => e.id))];
}
