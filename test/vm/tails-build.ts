/**
 * A Tails-shaped checkout built by `tails-build iso` for real: its own
 * vagrant/provision/setup-tails-builder and build-tails (written for this
 * test, test/fixtures/tails/) run in a real VM under Tails' contract, and fail
 * loudly unless every variable, share, disk, ref and submodule is as Tails'
 * scripts expect. Built on a branch (the base-branch merge made in the VM's
 * view of the checkout, names with the build time), then on a tag (stable
 * names) with verify; one build stops at Tails' package archive, which this
 * machine cannot reach, and is told so. Called from basebox.test.ts (the box
 * it built, imported under the fixture's box name); fails, never skips.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { IsoBuildPlan } from '../../src/core/iso-plan.js';
import { resultOf } from '../helpers/builder-project.js';
import { runTailsBuild } from '../helpers/cli.js';
import { assertEventStream } from '../helpers/events.js';
import { makeTempDir } from '../helpers/git-repo.js';
import { checkOutTag, createTailsCheckout, parseTailsBuildEnvList, readRepoState, TAILS_FIXTURE_FETCH_TAILS_ARCHIVE, tailsArtifactPattern, type TailsCheckout } from '../helpers/tails-checkout.js';

export interface TailsBuildFixture {
  readonly store: string;
  readonly env: Record<string, string>;
  /** The .box the basebox tests built, imported here under the Tails checkout's box name. */
  readonly boxFile: string;
  /** The builder project's frozen serials, which the test store holds: the Tails checkout's ISO set. */
  readonly serials: Readonly<Record<string, string>>;
  /** Registers a box name whose vagrant box and pool volumes the basebox tests remove at the end. */
  readonly track: (name: string) => string;
}

const BUILD_TIMEOUT = 20 * 60_000;
/** The Tails tests' own disks (never a user's apt-cacher-ng-data.qcow2): kept between runs, warm. */
export const TEST_TAILS_CACHE_VOLUME = 'tails-build-test-tails-acng.qcow2';

interface BuildResult {
  ok: boolean;
  reused: boolean;
  artifacts: string[];
  vm: string;
}

export function describeTailsBuild(fixture: () => TailsBuildFixture): void {
  describe('a Tails checkout built by tails-build iso (its own scripts, Tails\' contract, a real VM)', () => {
    let t: TailsCheckout | undefined;
    let stableHead = '';
    const dirs: string[] = [];
    after(() => {
      t?.remove();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });
    const env = (): Record<string, string> => ({ ...fixture().env, CI: 'true', TAILS_BUILD_CACHE_VOLUME: TEST_TAILS_CACHE_VOLUME });
    const run = (args: string[], extra: Record<string, string> = {}) => {
      if (t === undefined) throw new Error('no checkout');
      return runTailsBuild(['--json', ...args, '--store', fixture().store], { cwd: t.root, env: { ...env(), ...extra }, timeoutMs: 2 * BUILD_TIMEOUT });
    };

    it('on a branch: the checkout\'s own scripts get rake build\'s exact environment, the base-branch merge (the checkout untouched), /vagrant, both disks and the submodule; Tails\' artifacts come back named with the build time; a build that stops at deb.tails.boum.org names that host', { timeout: 3 * BUILD_TIMEOUT }, async () => {
      const f = fixture();
      t = createTailsCheckout({ inVm: true, isoSerials: f.serials });
      // A local snapshot store (the tests' own, on the test port), on both branches: the VM resolves Tails' snapshot host to it.
      for (const branch of ['stable', 'feature/x']) {
        t.repo.git('checkout', '-q', branch);
        t.repo.write({ 'tails-build.json': `${JSON.stringify({ snapshots: { baseUrl: 'http://127.0.0.1:8471/' } }, null, 2)}\n` });
        t.repo.commit('tails-build: a local snapshot store', '2026-12-02T10:30:00Z');
        t.repo.git('push', '-q', 'origin', branch);
        if (branch === 'stable') stableHead = t.repo.git('rev-parse', 'HEAD');
      }
      const named = await runTailsBuild(['basebox', 'name'], { cwd: t.root, env: env() });
      assert.equal(named.code, 0, named.stderr);
      const box = f.track(named.stdout.trim());
      const added = spawnSync('vagrant', ['box', 'add', '--force', '--name', box, f.boxFile], { env: { ...process.env, ...f.env }, encoding: 'utf8' });
      assert.equal(added.status, 0, added.stderr);

      const before = readRepoState(t.root);
      const dry = await run(['iso', '--dry-run', '--memory', '1536']);
      assert.equal(dry.code, 0, dry.stderr);
      const plan = JSON.parse(dry.stdout) as IsoBuildPlan;
      const expected = plan.environment ?? [];
      assert.ok(expected.some((e) => e.name === 'FEATURE_BRANCH_GIT_COMMIT'), 'the branch is merged with its base');

      // First a build that fetches from Tails' own archive: it stops there, and says which host and which step.
      t.repo.write({ [TAILS_FIXTURE_FETCH_TAILS_ARCHIVE]: 'yes\n' });
      t.repo.commit('fixture: fetch from deb.tails.boum.org', '2026-12-02T11:00:00Z');
      const artifactsA = makeTempDir('tb-tails-artifacts-');
      dirs.push(artifactsA);
      const stopped = await run(['iso', '--memory', '1536', '--keep-running', '--artifacts', artifactsA]);
      assert.notEqual(stopped.code, 0, 'the build reached deb.tails.boum.org?');
      assert.match(stopped.stderr, /deb\.tails\.boum\.org/);
      assert.match(stopped.stderr, /Tails' own package archive/);
      assert.match(stopped.stderr, /build-tails|build step|\bbuild\b/);
      assertEventStream(stopped.stdout, stopped.code ?? -1);

      // The same branch, fixed: the kept VM is reused (no boot), the merge made again for the new commit.
      t.repo.git('rm', '-q', TAILS_FIXTURE_FETCH_TAILS_ARCHIVE);
      t.repo.commit('fixture: no more deb.tails.boum.org', '2026-12-02T12:00:00Z');
      const before2 = readRepoState(t.root);
      const dry2 = JSON.parse((await run(['iso', '--dry-run', '--memory', '1536'])).stdout) as IsoBuildPlan;
      const artifacts = makeTempDir('tb-tails-artifacts-');
      dirs.push(artifacts);
      const r = await run(['iso', '--memory', '1536', '--artifacts', artifacts]);
      assert.equal(r.code, 0, `${r.stderr}\n${r.stdout.slice(-4000)}`);
      assertEventStream(r.stdout, 0);
      // What the provision step says it did is what it did: the checkout's script ran; the tool ran no apt-cacher-ng of its own.
      const provisioned = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { event: string; id?: string; status?: string; title?: string }).find((e) => e.event === 'step' && e.id === 'provision' && e.status === 'done');
      assert.match(provisioned?.title ?? '', /the base-branch merge [0-9a-f]{12} in the VM's view of the checkout, the snapshot server forwarded by ssh, the checkout's setup-tails-builder run as root \(exit 0\)$/);
      const result = resultOf(r.stdout) as BuildResult;
      assert.equal(result.ok, true);
      assert.equal(result.vm, 'destroyed');
      const log = readFileSync(join(artifacts, 'build.log'), 'utf8');
      assert.equal(result.reused, true, 'the VM kept by the stopped build is reused');
      assert.match(log, /\[setup-tails-builder\]/);
      assert.match(log, /\[build-tails\]/);
      // The website cache disk outlived the stopped build's run: the fixture's marker from then is found.
      assert.match(log, /^\[build-tails\] website cache: [1-9]\d* entries before$/m);
      assert.match(log, /^\[build-tails\] cloned submodules\/fixture-tools from \/amnesia\.git\/\.git\/modules\/submodules\/fixture-tools$/m);
      assert.match(log, /^\[snapshots\] 200 GET \/debian\/\d{10}\/dists\/bookworm\/InRelease /m);
      assert.match(log, /under a tmpfs overlay at \/amnesia\.git, with the base-branch merge [0-9a-f]{40} on refs\/heads\/feature\/x/);

      const files = readdirSync(artifacts).sort();
      const tailsNamed = files.filter((n) => n.startsWith('tails-amd64-'));
      assert.equal(tailsNamed.length, 5, files.join(' '));
      // Tails' auto/config: the feature branch's commit, the base's, the build time.
      const variable = (name: string): string => dry2.environment?.find((e) => e.name === name)?.value ?? '';
      const pattern = tailsArtifactPattern({ branch: 'feature/x', baseBranch: 'stable', commit: variable('FEATURE_BRANCH_GIT_COMMIT'), baseCommit: variable('BASE_BRANCH_GIT_COMMIT') });
      for (const name of tailsNamed) assert.match(name.replace(/\.[a-z-]+$/, ''), pattern);

      // tails-build-env.list: every variable rake build exports, as the scripts saw them, = the dry run's.
      const envList = parseTailsBuildEnvList(readFileSync(join(artifacts, 'tails-build-env.list'), 'utf8'));
      const seen = envList.variables.filter(([, value]) => value !== '').map(([name, value]) => [name, value]);
      assert.deepEqual(seen, (dry2.environment ?? []).map((e) => [e.name, e.value]));
      assert.match(envList.aptSnapshotsSerials, /^\{"debian":"\d{10}","debian-security":"\d{10}"\}$/);
      // The user's checkout is as it was: the merge lived in the VM only.
      assert.deepEqual(readRepoState(t.root), before2);
      assert.notDeepEqual(before, before2);
      const report = JSON.parse(readFileSync(join(artifacts, 'build-report.json'), 'utf8')) as { ok: boolean; artifacts: { name: string }[] };
      assert.equal(report.ok, true);
      assert.deepEqual(report.artifacts.map((a) => a.name).filter((n) => n.startsWith('tails-')).sort(), [...tailsNamed, 'tails-build-env.list'].sort());
    });

    it('on a tag: stable names, no merge, release options; verify builds it twice and finds it identical', { timeout: 3 * BUILD_TIMEOUT }, async () => {
      if (t === undefined) throw new Error('the branch test made no checkout');
      checkOutTag(t, '6.10', stableHead);
      const r = await run(['verify', '--memory', '1536']);
      assert.equal(r.code, 0, `${r.stderr}\n${r.stdout.slice(-4000)}`);
      assert.equal(assertEventStream(r.stdout, 0).find((e) => e.event === 'verify')?.identical, true);
      for (const n of [1, 2]) {
        const dir = join(t.root, `verify/build-${String(n)}`);
        const names = readdirSync(dir).filter((x) => x.startsWith('tails-')).sort();
        assert.deepEqual(names, ['tails-amd64-6.10.apt-sources', 'tails-amd64-6.10.build-manifest', 'tails-amd64-6.10.buildlog', 'tails-amd64-6.10.iso', 'tails-amd64-6.10.packages', 'tails-build-env.list']);
        const envList = new Map(parseTailsBuildEnvList(readFileSync(join(dir, 'tails-build-env.list'), 'utf8')).variables);
        assert.equal(envList.get('GIT_REF'), '6.10');
        assert.equal(envList.get('FEATURE_BRANCH_GIT_COMMIT'), '');
        assert.equal(envList.get('MKSQUASHFS_OPTIONS'), '');
        assert.equal(envList.get('TAILS_WEBSITE_CACHE'), '0');
      }
    });
  });
}

