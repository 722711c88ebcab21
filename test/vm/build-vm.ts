/**
 * The build VM for real, on the box the basebox tests just built and imported:
 * vagrant-libvirt boots it (TCG here) in the VM netns, the checkout is shared
 * read-only over 9p, apt in the VM goes through apt-cacher-ng on the persistent
 * cache disk to the snapshot server on the host. One booted VM is shared by the
 * keeprunning, branch-lock and reuse tests; the failure test boots a fresh one
 * and finds the package the first VM cached. Called from basebox.test.ts.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tryVirsh } from '../helpers/box-store.js';
import { resultOf } from '../helpers/builder-project.js';
import { runTailsBuild } from '../helpers/cli.js';
import { makeTempDir, type TempRepo } from '../helpers/git-repo.js';

export interface BuildVmFixture {
  readonly repo: TempRepo;
  readonly store: string;
  readonly env: Record<string, string>;
}

const BUILD_TIMEOUT = 20 * 60_000;
const CACHE_VOLUME = 'tails-build-apt-cacher-ng.qcow2';

/** Reads the checkout, fetches a package through apt-cacher-ng, says what the cache held before. */
const BUILD_SCRIPT = `#!/bin/bash
set -euo pipefail
echo "cached before: $(find /var/cache/apt-cacher-ng -name 'hello_*.deb' | wc -l)"
echo "checkout is read-only: $(touch /amnesia.git/probe 2>/dev/null && echo no || echo yes)"
sudo apt-get update -q
apt-get download hello
cp hello_*.deb "$ARTIFACTS_DIR/"
git rev-parse HEAD >"$ARTIFACTS_DIR/commit.txt"
if [ -f fail ]; then echo "failing on purpose"; exit 7; fi
`;

interface BuildResult {
  event: string;
  ok: boolean;
  exitCode: number;
  domain: string;
  vm: string;
  reused: boolean;
  cacheDisk: boolean;
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
      return runTailsBuild(['--json', 'iso', '--store', f.store, '--no-ram', '--memory', '1536', '--artifacts', artifacts, ...args], { cwd: f.repo.root, env: f.env, timeoutMs: BUILD_TIMEOUT });
    };

    it('refuses a checkout QEMU (libvirt-qemu) cannot read, naming the fix, before any VM', async () => {
      const f = fixture();
      artifacts = makeTempDir('tb-artifacts-');
      f.repo.write({ 't/build.sh': BUILD_SCRIPT, 'tails-build.json': JSON.stringify({ ...JSON.parse(readFileSync(join(f.repo.root, 'tails-build.json'), 'utf8')) as object, buildCommand: 'bash t/build.sh' }) });
      f.repo.commit('A test build', '2026-11-03T12:00:00Z');
      chmodSync(f.repo.root, 0o700);
      const r = await iso([]);
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /libvirt-qemu, which cannot read .*\.git\/HEAD/);
      assert.match(r.stderr, /setfacl -m user:libvirt-qemu:rx/);
      chmodSync(f.repo.root, 0o755);
    });

    it('builds from a fresh clone in the VM, copies artifacts and the log back, keeps the VM with --keep-running', { timeout: BUILD_TIMEOUT }, async () => {
      const f = fixture();
      const r = await iso(['--keep-running']);
      assert.equal(r.code, 0, `${r.stderr}\n${r.stdout.slice(-3000)}`);
      const result = resultOf(r.stdout) as BuildResult;
      domain = result.domain;
      assert.equal(result.ok, true);
      assert.equal(result.vm, 'kept');
      assert.equal(result.cacheDisk, true);
      assert.match(r.stderr, /accelerator: (kvm|tcg)/);
      const files = readdirSync(artifacts).sort();
      assert.ok(files.includes('build.log') && files.includes('commit.txt') && files.some((n) => /^hello_.*\.deb$/.test(n)), files.join(' '));
      assert.equal(readFileSync(join(artifacts, 'commit.txt'), 'utf8').trim(), f.repo.git('rev-parse', 'HEAD'));
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

    it('reuses the kept VM for the same branch, then destroys it and keeps the cache disk', { timeout: BUILD_TIMEOUT }, async () => {
      const r = await iso([]);
      assert.equal(r.code, 0, r.stderr);
      const result = resultOf(r.stdout) as BuildResult;
      assert.equal(result.reused, true);
      assert.equal(result.vm, 'destroyed');
      assert.equal(tryVirsh('domstate', String(domain)), undefined, 'the domain is gone');
      assert.ok(!(tryVirsh('vol-list', '--pool', 'default') ?? '').includes(`${String(domain)}.img`), 'its root volume is gone');
      assert.ok(tryVirsh('vol-info', '--pool', 'default', CACHE_VOLUME) !== undefined, 'the cache volume survives');
    });

    it('a failing build in a fresh VM: non-zero exit, the whole log copied, the VM destroyed, the cache found warm', { timeout: BUILD_TIMEOUT }, async () => {
      const f = fixture();
      f.repo.write({ fail: 'yes\n' });
      f.repo.commit('Make the build fail', '2026-11-04T12:00:00Z');
      rmSync(join(artifacts, 'build.log'));
      const r = await iso([]);
      assert.equal(r.code, 4, r.stderr);
      assert.match(r.stderr, /The build failed inside the VM \(exit 7\)/);
      assert.match(r.stderr, /--rescue/);
      const log = readFileSync(join(artifacts, 'build.log'), 'utf8');
      assert.match(log, /failing on purpose/);
      assert.match(log, /cached before: [1-9]/, 'the package the first VM fetched is on the cache disk');
      assert.equal(tryVirsh('domstate', String(domain)), undefined);
      assert.ok(existsSync(artifacts));
    });
  });
}
