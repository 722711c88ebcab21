/**
 * The build VM for real, on the box the basebox tests just built and imported:
 * vagrant-libvirt boots it (TCG here) in the VM netns, the checkout is shared
 * read-only over 9p, apt in the VM goes through apt-cacher-ng on the persistent
 * cache disk to the snapshot server on the host. One booted VM is shared by the
 * keeprunning, branch-lock and reuse tests; the failure test boots a fresh one
 * and finds the package the first VM cached. Called from basebox.test.ts.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { XMLParser } from 'fast-xml-parser';
import { SyntaxValidator } from 'fast-xml-validator';
import { assertEventStream } from '../helpers/events.js';
import { tryVirsh } from '../helpers/box-store.js';
import { resultOf } from '../helpers/builder-project.js';
import { MAIN, runTailsBuild } from '../helpers/cli.js';
import { makeTempDir, type TempRepo } from '../helpers/git-repo.js';

export interface BuildVmFixture {
  readonly repo: TempRepo;
  readonly store: string;
  readonly env: Record<string, string>;
}

const BUILD_TIMEOUT = 20 * 60_000;
/** The tests' own apt-cacher-ng volume (never a user's), kept between runs so that they run warm. */
export const TEST_CACHE_VOLUME = 'tails-build-test-apt-cacher-ng.qcow2';
const CACHE_VOLUME = TEST_CACHE_VOLUME;

/** Reads the checkout, fetches a package through apt-cacher-ng, says what the cache held before. */
const BUILD_SCRIPT = `#!/bin/bash
set -euo pipefail
echo "cached before: $(find /var/cache/apt-cacher-ng -name 'hello_*.deb' | wc -l)"
echo "checkout is read-only: $(touch /amnesia.git/probe 2>/dev/null && echo no || echo yes)"
echo "probe: clock $(date -u +%s)"
echo "probe: scratch $(findmnt -no FSTYPE "$TAILS_BUILD_TMP" 2>/dev/null || echo vm-disk)"
echo "probe: compression $TAILS_BUILD_COMPRESSION"
echo "probe: serials $TAILS_BUILD_ISO_SERIALS"
echo "probe: cpus $(nproc)"
echo "probe: memory $(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo)"
echo "probe: machine $(cat /sys/class/dmi/id/product_name)"
echo "probe: cpu $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
echo "probe: acng $(awk '/^Offlinemode:/ { print "offline=" $2 }' /etc/apt-cacher-ng/acng.conf)"
echo "probe: dirty file in the clone: $([ -e dirty ] && echo yes || echo no)"
sudo apt-get update -q
apt-get download hello
cp hello_*.deb "$ARTIFACTS_DIR/"
git rev-parse HEAD >"$ARTIFACTS_DIR/commit.txt"
if [ -f fail ]; then echo "failing on purpose"; exit 7; fi
if [ -f slow ]; then echo "sleeping on purpose"; sleep 600; fi
`;

interface BuildResult {
  event: string;
  ok: boolean;
  exitCode: number;
  domain: string;
  vm: string;
  reused: boolean;
  cacheDisk: boolean;
  cache: { volume: string | null; disk: number | null; of: number };
  accelerator: { accelerator: string };
  artifacts: string[];
  log: string;
}

export function describeBuildVm(fixture: () => BuildVmFixture): void {
  describe('iso in a throwaway build VM (real vagrant-libvirt, 9p, cache disk)', () => {
    let artifacts: string;
    let domain: string | undefined;
    const iso = (args: string[]) => {
      const f = fixture();
      return runTailsBuild(['--json', 'iso', '--store', f.store, '--no-ram', '--memory', '1536', '--artifacts', artifacts, ...args], { cwd: f.repo.root, env: { ...f.env, CI: 'true' }, timeoutMs: BUILD_TIMEOUT });
    };

    it('refuses a checkout whose parent QEMU (libvirt-qemu) cannot enter, naming the fix, before any VM; the parent is not changed', async () => {
      const f = fixture();
      artifacts = makeTempDir('tb-artifacts-');
      // A parent directory is the user's, never ours to change: explained, not fixed.
      const outer = makeTempDir('tb-private-');
      const inner = join(outer, 'checkout');
      execFileSync('git', ['clone', '-q', f.repo.root, inner]);
      try {
        const r = await runTailsBuild(['iso', '--store', f.store, '--artifacts', artifacts], { cwd: inner, env: f.env });
        assert.equal(r.code, 3, r.stderr);
        assert.match(r.stderr, /libvirt-qemu, which cannot read .*\.git\/HEAD \(stopped at .*tb-private-[^/]+ \(it may not enter it\)\)|libvirt-qemu, which cannot read .*\.git\/HEAD/);
        assert.match(r.stderr, /setfacl -m user:libvirt-qemu:rx/);
        assert.equal(statSync(outer).mode & 0o777, 0o700, 'the parent directory was changed');
      } finally {
        rmSync(outer, { recursive: true, force: true });
      }
    });

    it('refuses the default build command when the project has no such script, before any VM', async () => {
      const f = fixture();
      f.repo.git('rm', '-q', 'definitions/iso/build.sh');
      f.repo.commit('No recipe', '2026-11-03T11:00:00Z');
      const r = await iso([]);
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /the default, "bash definitions\/iso\/build.sh", but .*definitions\/iso\/build.sh does not exist/);
      assert.match(r.stderr, /"buildCommand"/);
      f.repo.git('checkout', 'HEAD~1', '--', 'definitions/iso/build.sh');
      f.repo.write({ 't/build.sh': BUILD_SCRIPT, 'tails-build.json': JSON.stringify({ ...JSON.parse(readFileSync(join(f.repo.root, 'tails-build.json'), 'utf8')) as object, buildCommand: 'bash t/build.sh' }) });
      f.repo.commit('A test build', '2026-11-03T12:00:00Z');
    });

    it('builds from a fresh clone in the VM, copies artifacts and the log back, keeps the VM with --keep-running; cpus, memory, machine type and CPU model shape the VM', { timeout: BUILD_TIMEOUT }, async () => {
      const f = fixture();
      // As a checkout in a `mktemp -d` directory (the demo's throwaway clone) and a umask of 077 leave it.
      chmodSync(f.repo.root, 0o700);
      execFileSync('chmod', ['-R', 'go-rwx', join(f.repo.root, '.git')]);
      const r = await iso(['--keep-running', '--cpus', '2', '--machine-type', 'q35', '--cpu-model', 'qemu64']);
      assert.equal(r.code, 0, `${r.stderr}\n${r.stdout.slice(-3000)}`);
      assert.match(r.stderr, /gave go\+rx on \S+ and go\+rX on \S+\.git \(as Tails' Rakefile does; parent directories are never changed\)/);
      assert.equal(statSync(f.repo.root).mode & 0o055, 0o055);
      const shape = readFileSync(join(artifacts, 'build.log'), 'utf8');
      assert.match(shape, /^probe: cpus 2$/m);
      const memory = Number(/^probe: memory (\d+)$/m.exec(shape)?.[1]);
      assert.ok(memory > 1200 && memory <= 1536, `MemTotal ${String(memory)} MiB for --memory 1536`);
      assert.match(shape, /^probe: machine .*Q35/m);
      assert.match(shape, /^probe: cpu QEMU Virtual CPU/m);
      const result = resultOf(r.stdout) as BuildResult;
      domain = result.domain;
      assert.equal(result.ok, true);
      assert.equal(result.vm, 'kept');
      assert.equal(result.cacheDisk, true);
      assert.match(r.stderr, /accelerator: (kvm|tcg)/);
      const files = readdirSync(artifacts).sort();
      assert.ok(files.includes('build.log') && files.includes('commit.txt') && files.some((n) => /^hello_.*\.deb$/.test(n)), files.join(' '));
      assert.equal(readFileSync(join(artifacts, 'commit.txt'), 'utf8').trim(), f.repo.git('rev-parse', 'HEAD'));
      const report = JSON.parse(readFileSync(join(artifacts, 'build-report.json'), 'utf8')) as {
        schema: string; ok: boolean; git: { commit: string; ref: string }; box: string; artifacts: { name: string; sha256: string }[];
      };
      assert.equal(report.schema, 'tails-build/build-report@1');
      assert.equal(report.ok, true);
      assert.equal(report.git.commit, f.repo.git('rev-parse', 'HEAD'));
      const deb = report.artifacts.find((a) => a.name.startsWith('hello_'));
      assert.ok(deb !== undefined);
      assert.equal(deb.sha256, createHash('sha256').update(readFileSync(join(artifacts, deb.name))).digest('hex'));
      const log = readFileSync(join(artifacts, 'build.log'), 'utf8');
      assert.match(log, /checkout is read-only: yes/);
      assert.match(log, /branch lock: main recorded in \/var\/lib\/vagrant_box_build_from/);
      assert.match(tryVirsh('domstate', domain) ?? '', /running/);
      assert.ok(tryVirsh('vol-info', '--pool', 'default', CACHE_VOLUME) !== undefined, 'the cache volume exists');
    });

    it('refuses another branch in the kept VM, names both refs, and leaves the VM running', { timeout: BUILD_TIMEOUT }, async () => {
      const f = fixture();
      f.repo.git('checkout', '-q', '-b', 'other');
      try {
        const r = await iso([]);
        assert.equal(r.code, 3, r.stderr);
        assert.match(r.stderr, /was created to build main; this build is for other/);
        assert.match(r.stderr, /tails-build vm destroy/);
        assert.match(tryVirsh('domstate', String(domain)) ?? '', /running/);
        const lock = await runTailsBuild(['vm', 'ssh', '-c', 'cat /var/lib/vagrant_box_build_from'], { cwd: f.repo.root, env: f.env });
        assert.equal(lock.stdout.trim(), 'main', lock.stderr);
      } finally {
        f.repo.git('checkout', '-q', 'main');
      }
    });

    it('a full cache disk: says how full and what to run, exit 3, the VM and the cache left as they were', { timeout: BUILD_TIMEOUT }, async () => {
      const f = fixture();
      const r = await runTailsBuild(['iso', '--store', f.store, '--no-ram', '--memory', '1536', '--artifacts', artifacts, '--keep-running'], {
        cwd: f.repo.root,
        env: { ...f.env, TAILS_BUILD_CACHE_MIN_FREE_MIB: '100000000' },
        timeoutMs: BUILD_TIMEOUT,
      });
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /The apt-cacher-ng disk is full: the apt-cacher-ng disk has \d+ MiB free, less than the 100000000 MiB/);
      assert.match(r.stderr, /tails-build vm clear-cache/);
      assert.match(tryVirsh('domstate', String(domain)) ?? '', /running/);
      assert.ok(tryVirsh('vol-info', '--pool', 'default', CACHE_VOLUME) !== undefined);
    });

    it('reuses the kept VM for the same branch (no boot), and keeps it again with --keep-running', { timeout: BUILD_TIMEOUT }, async () => {
      const r = await iso(['--keep-running']);
      assert.equal(r.code, 0, r.stderr);
      const result = resultOf(r.stdout) as BuildResult;
      assert.equal(result.reused, true);
      assert.equal(result.vm, 'kept');
      assert.match(readFileSync(join(artifacts, 'build.log'), 'utf8'), /cached before: [1-9]/);
    });

    it('build options take effect in the VM: dateoffset sets its clock, ram a tmpfs, the compression reaches the recipe; the serials are numbers', { timeout: BUILD_TIMEOUT }, async () => {
      const before = Math.floor(Date.now() / 1000);
      const r = await iso(['--keep-running', '--date-offset=+3', '--ram', '--compression', 'default']);
      assert.equal(r.code, 0, r.stderr);
      const log = readFileSync(join(artifacts, 'build.log'), 'utf8');
      const clock = Number(/^probe: clock (\d+)$/m.exec(log)?.[1]);
      const offset = clock - before;
      assert.ok(offset > 3 * 86400 - 3600 && offset < 3 * 86400 + 3600, `the VM clock is ${String(offset)} s off, not 3 days`);
      assert.match(log, /clock: 3 day\(s\) off the host's/);
      assert.match(log, /^probe: scratch tmpfs$/m);
      assert.match(log, /^probe: compression default$/m);
      assert.match(log, /^probe: serials debian=\d{10} debian-security=\d{10}$/m);
      const env = readFileSync(join(artifacts, 'tails-build-env.list'), 'utf8');
      assert.match(env, /^TAILS_BUILD_COMPRESSION=default$/m);
      // Back to the host's clock and the VM disk for the next build in this VM.
      const again = await iso(['--keep-running']);
      assert.equal(again.code, 0, again.stderr);
      const next = readFileSync(join(artifacts, 'build.log'), 'utf8');
      assert.ok(Math.abs(Number(/^probe: clock (\d+)$/m.exec(next)?.[1]) - Date.now() / 1000) < 3600, 'the clock is back');
      assert.match(next, /^probe: scratch vm-disk$/m);
      assert.match(next, /^probe: compression fast$/m);
      assert.match(next, /^probe: acng offline=0$/m);

      // offline: apt-cacher-ng in offline mode (the build runs from the cache), the builder keeps its
      // security snapshot; ignorechanges: an uncommitted file is not built (the VM clones HEAD).
      const f = fixture();
      f.repo.write({ dirty: 'not committed\n' });
      try {
        const refused = await iso(['--keep-running', '--offline']);
        assert.equal(refused.code, 3, 'a dirty tree is refused without ignorechanges');
        const offline = await iso(['--keep-running', '--offline', '--ignore-changes']);
        assert.equal(offline.code, 0, offline.stderr);
        const log = readFileSync(join(artifacts, 'build.log'), 'utf8');
        assert.match(log, /^probe: acng offline=1$/m);
        assert.match(log, /apt-cacher-ng: running on 127\.0\.0\.1:3142 \(offline mode: 1\)/);
        assert.match(log, /security fixes: offline build, the builder keeps its box's debian-security snapshot/);
        assert.match(log, /^probe: dirty file in the clone: no$/m);
        assert.match(offline.stderr, /uncommitted change\(s\); they are not built/);
      } finally {
        rmSync(join(f.repo.root, 'dirty'));
      }
    });

    it('Ctrl-C mid-build in the kept VM: exit 130, the log so far kept, the VM destroyed through libvirt, the cache disk kept', { timeout: BUILD_TIMEOUT }, async () => {
      const f = fixture();
      f.repo.write({ slow: 'yes\n' });
      f.repo.commit('Make the build slow', '2026-11-04T12:00:00Z');
      // In the VM the tests before kept (same branch: reused, no boot); without keeprunning it is destroyed.
      const child = spawn(process.execPath, [MAIN, '--json', '--json-output', 'iso', '--store', f.store, '--no-ram', '--memory', '1536', '--artifacts', artifacts], {
        cwd: f.repo.root,
        env: { ...process.env, ...f.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      let stdout = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      let sent = false;
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
        if (!sent && d.includes('sleeping on purpose')) {
          sent = true;
          child.kill('SIGINT');
        }
      });
      const [code] = (await once(child, 'exit')) as [number | null];
      f.repo.git('rm', '-q', 'slow');
      f.repo.commit('Not slow any more', '2026-11-04T13:00:00Z');
      assert.ok(sent, `the build never started:\n${stderr}`);
      assert.equal(code, 130, stderr);
      assert.match(stderr, /SIGINT: stopping and cleaning up/);
      assert.match(stderr, /Destroying the build VM \S+ \(after the build\)/);
      assertEventStream(stdout, 130);
      assert.match(readFileSync(join(artifacts, 'build.log'), 'utf8'), /sleeping on purpose/);
      assert.equal(tryVirsh('domstate', String(domain)), undefined, 'the domain is gone');
      assert.ok(!(tryVirsh('vol-list', '--pool', 'default') ?? '').includes(`${String(domain)}.img`), 'its root volume is gone');
      assert.ok(tryVirsh('vol-info', '--pool', 'default', CACHE_VOLUME) !== undefined, 'the cache volume survives');
    });

    it('a build killed with SIGKILL leaves its VM; the next build destroys it (a dead build\'s VM is not a kept one), says so and starts clean; --keep-running does not keep a fresh VM whose provisioning failed', { timeout: 2 * BUILD_TIMEOUT }, async () => {
      const f = fixture();
      f.repo.write({ slow: 'yes\n' });
      f.repo.commit('Make the build slow (to be killed)', '2026-11-04T11:00:00Z');
      const child = spawn(process.execPath, [MAIN, '--json', '--json-output', 'iso', '--force-cleanup', '--store', f.store, '--no-ram', '--memory', '1536', '--artifacts', artifacts], {
        cwd: f.repo.root,
        env: { ...process.env, ...f.env, CI: 'true' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      let killed = false;
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        if (!killed && d.includes('sleeping on purpose')) {
          killed = true;
          child.kill('SIGKILL');
        }
      });
      await once(child, 'exit');
      f.repo.git('rm', '-q', 'slow');
      f.repo.commit('Not slow any more (killed)', '2026-11-04T11:30:00Z');
      assert.ok(killed, `the build never started:\n${stderr}`);
      assert.match(tryVirsh('domstate', String(domain)) ?? '', /running/, 'a killed build leaves its VM (nothing could clean up)');
      // The next build, asked to keep its VM, finds a provisioning that fails (the cache "full").
      const r = await runTailsBuild(['--json', 'iso', '--store', f.store, '--no-ram', '--memory', '1536', '--artifacts', artifacts, '--keep-running'], {
        cwd: f.repo.root,
        env: { ...f.env, CI: 'true', TAILS_BUILD_CACHE_MIN_FREE_MIB: '100000000' },
        timeoutMs: BUILD_TIMEOUT,
      });
      assert.equal(r.code, 3, r.stderr);
      assertEventStream(r.stdout, 3);
      assert.doesNotMatch(r.stderr, /remote port forwarding failed/);
      const events = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { event: string; id?: string; status?: string; title?: string });
      const up = events.find((e) => e.event === 'step' && e.id === 'vm-up' && e.status === 'done');
      assert.match(String(up?.title), /after destroying the VM left by a build that died \(pid \d+/);
      assert.match(r.stderr, /Destroying the build VM \S+ \(left by a build that died \(pid \d+\)\)/);
      // Its provisioning failed: keeprunning keeps only a VM that came up.
      assert.match(r.stderr, /The apt-cacher-ng disk is full/);
      assert.match(r.stderr, /Destroying the build VM \S+ \(it never came up\)/);
      assert.equal(tryVirsh('domstate', String(domain)), undefined, 'a VM whose provisioning failed is not kept');
      const report = JSON.parse(readFileSync(join(artifacts, 'build-report.json'), 'utf8')) as { ok: boolean; error: { code: string }; vm: { after: string; replaced?: string } };
      assert.equal(report.ok, false);
      assert.equal(report.error.code, 'vm-cache-full');
      assert.equal(report.vm.after, 'destroyed');
      assert.match(String(report.vm.replaced), /left by a build that died/);
      assert.ok(tryVirsh('vol-info', '--pool', 'default', CACHE_VOLUME) !== undefined, 'the cache volume survives');
    });

    it('two builds at once on one host: each takes a cache disk of its own and serves its own snapshots; both finish, and both disks outlive their VMs (the second used to fail with EADDRINUSE, then to wait)', { timeout: 2 * BUILD_TIMEOUT }, async (t) => {
      const f = fixture();
      // A second checkout of the same commits: the same builder box, another VM.
      // Cloned straight into a `mktemp -d` directory (0700), as the demo's throwaway clone: the tool gives QEMU what it needs.
      const other = makeTempDir('tb-second-');
      const second = other;
      execFileSync('git', ['clone', '-q', f.repo.root, second]);
      const env = { ...process.env, ...f.env, TAILS_BUILD_CACHE_DISKS: '2' };
      const start = (cwd: string, dir: string): { child: ChildProcess; out: { stdout: string; stderr: string } } => {
        const child = spawn(process.execPath, [MAIN, '--json', 'iso', '--store', f.store, '--no-ram', '--memory', '1536', '--artifacts', dir], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
        const out = { stdout: '', stderr: '' };
        child.stdout.setEncoding('utf8').on('data', (d: string) => (out.stdout += d));
        child.stderr.setEncoding('utf8').on('data', (d: string) => (out.stderr += d));
        return { child, out };
      };
      const children: ChildProcess[] = [];
      const round = async (n: number): Promise<{ volume: string; log: string }[]> => {
        const runs = [start(f.repo.root, makeTempDir(`tb-first-${String(n)}-`)), start(second, makeTempDir(`tb-second-${String(n)}-`))];
        children.push(...runs.map((r) => r.child));
        const codes = await Promise.all(runs.map(async (r) => ((await once(r.child, 'exit')) as [number | null])[0]));
        return runs.map((r, i) => {
          assert.equal(codes[i], 0, r.out.stderr.slice(-3000));
          assert.doesNotMatch(r.out.stderr, /EADDRINUSE|waiting for a cache disk/);
          assertEventStream(r.out.stdout, 0);
          // Which disk it got, in an event and in the result.
          const events = r.out.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { event: string; id?: string; status?: string; title?: string; volume?: string | null; disk?: number; of?: number });
          const cache = events.find((e) => e.event === 'cache');
          if (cache === undefined) throw new assert.AssertionError({ message: `no cache event:\n${r.out.stdout}` });
          const result = resultOf(r.out.stdout) as BuildResult;
          assert.equal(cache.of, 2);
          assert.equal(result.cache.volume, cache.volume);
          // The step's title, once done, names the disk.
          const up = events.find((e) => e.event === 'step' && e.id === 'vm-up' && e.status === 'done');
          assert.match(String(up?.title), new RegExp(`Started the build VM from .*cache disk ${String(cache.volume).replaceAll('.', '\\.')}`));
          return { volume: String(cache.volume), log: readFileSync(result.log, 'utf8') };
        });
      };
      try {
        // Measured, never asserted: how long two builds at once take.
        const started = Date.now();
        const first = await round(1);
        t.diagnostic(`two builds at once, first run: ${String(Math.round((Date.now() - started) / 1000))} s`);
        // At once: the second build could take only the disk the first did not hold.
        assert.deepEqual(first.map((r) => r.volume).sort(), [CACHE_VOLUME.replace('.qcow2', '-2.qcow2'), CACHE_VOLUME].sort());
        for (const r of first) assert.match(r.log, /snapshots: .* forwarded by ssh/);
        // Both disks outlive their VMs (the rescue test below finds the first one warm in a fresh VM).
        for (const volume of first.map((r) => r.volume)) assert.ok(tryVirsh('vol-info', '--pool', 'default', volume) !== undefined, `${volume} was removed with its VM`);
      } finally {
        for (const child of children) if (child.exitCode === null) child.kill('SIGINT');
        await runTailsBuild(['vm', 'destroy'], { cwd: second, env: f.env });
        rmSync(other, { recursive: true, force: true });
      }
    });

    it('a failing build with --rescue, in a fresh VM: exit 4, the whole log copied, the VM kept, the cache found warm', { timeout: BUILD_TIMEOUT }, async () => {
      const f = fixture();
      f.repo.write({ fail: 'yes\n' });
      f.repo.commit('Make the build fail', '2026-11-05T12:00:00Z');
      rmSync(join(artifacts, 'build.log'));
      const r = await iso(['--rescue']);
      assert.equal(r.code, 4, r.stderr);
      assert.match(r.stderr, /The build failed inside the VM \(exit 7\)/);
      assert.match(r.stderr, /The VM was kept: look inside with tails-build vm ssh/);
      const log = readFileSync(join(artifacts, 'build.log'), 'utf8');
      assert.match(log, /failing on purpose/);
      assert.match(log, /cached before: [1-9]/, 'the package an earlier VM fetched is on the cache disk');
      assert.match(tryVirsh('domstate', String(domain)) ?? '', /running/);
      const inside = await runTailsBuild(['vm', 'ssh', '-c', 'ls ~/tails-build/src/fail'], { cwd: f.repo.root, env: f.env });
      assert.equal(inside.code, 0, inside.stderr);
    });

    it('the same failure without --rescue: exit 4, the log copied, the VM destroyed', { timeout: BUILD_TIMEOUT }, async () => {
      const f = fixture();
      rmSync(join(artifacts, 'build.log'));
      const junit = join(artifacts, 'junit.xml');
      const r = await iso(['--junit', junit, '--boot-test']);
      assert.equal(r.code, 4, r.stderr);
      assertEventStream(r.stdout, 4);
      // The boot test did not run: skipped in the events, the human output and JUnit — never "done".
      const steps = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { event: string; id?: string; status?: string; reason?: string }).filter((e) => e.event === 'step' && e.status !== 'started');
      assert.deepEqual(steps.map((e) => `${String(e.id)}:${String(e.status)}`), ['preflight:done', 'basebox:done', 'accelerator:done', 'resolve-serials:done', 'vm-up:done', 'provision:done', 'build:failed', 'artifacts:done', 'boot-test:skipped', 'cleanup:done']);
      assert.equal(steps.find((e) => e.id === 'boot-test')?.reason, 'build failed');
      assert.match(r.stderr, /--rescue/);
      // The JUnit report names the failed step, and a real XML parser reads it.
      const xml = readFileSync(junit, 'utf8');
      SyntaxValidator.validate(xml);
      const doc = new XMLParser({ ignoreAttributes: false, isArray: (n) => n === 'testcase' }).parse(xml) as { testsuites: { testsuite: { testcase: { '@_name': string; failure?: { '@_message': string } }[] } } };
      const failed = doc.testsuites.testsuite.testcase.filter((c) => c.failure !== undefined);
      assert.deepEqual(failed.map((c) => c['@_name'].split(':')[0]), ['build']);
      assert.match(xml, /name="boot-test: [^"]*" time="0\.000">\s*<skipped message="skipped: build failed"\/>/);
      const report = JSON.parse(readFileSync(join(artifacts, 'build-report.json'), 'utf8')) as { vm: { after: string }; error: { code: string } };
      assert.equal(report.vm.after, 'destroyed', 'recorded after the cleanup ran');
      assert.equal(report.error.code, 'build-failed');
      assert.match(failed[0]?.failure?.['@_message'] ?? '', /The build failed inside the VM \(exit 7\)/);
      assert.match(readFileSync(join(artifacts, 'build.log'), 'utf8'), /failing on purpose/);
      assert.equal(tryVirsh('domstate', String(domain)), undefined);
      assert.ok(existsSync(artifacts));
      const gone = await runTailsBuild(['vm', 'destroy'], { cwd: f.repo.root, env: f.env });
      assert.equal(gone.code, 0, gone.stderr);
      assert.match(gone.stdout, /no such VM, nothing to do/);
    });
  });
}
