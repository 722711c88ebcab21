/**
 * A normal user, the way Tails developers build: a real account created here,
 * in the libvirt and kvm groups, using qemu:///system as itself (libvirtd
 * lets the libvirt group in, there being no polkit on this host). On hosts
 * whose VM networks live in a namespace, its session is started inside it by
 * root once, as a Jenkins agent would be. It imports the box the basebox tests
 * built, is refused precisely what needs root or what QEMU cannot read, and
 * builds the sample ISO. Called from basebox.test.ts; fails, never skips.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, copyFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { tryVirsh } from '../helpers/box-store.js';
import { resultOf } from '../helpers/builder-project.js';
import { MAIN } from '../helpers/cli.js';
import type { TempRepo } from '../helpers/git-repo.js';
import { TEST_CACHE_VOLUME } from './build-vm.js';

export interface NormalUserFixture {
  readonly repo: TempRepo;
  readonly store: string;
  /** The .box the basebox tests built (root's), and its name. */
  readonly boxFile: string;
  readonly boxName: string;
  /** The namespace VM networks live in (undefined: the host's). */
  readonly netns: string | undefined;
}

/** The test's own account: never a real user's. */
export const TEST_USER = 'tails-build-test-user';
const BUILD_TIMEOUT = 20 * 60_000;

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function ensureUser(): { uid: number; home: string } {
  if (spawnSync('id', ['-u', TEST_USER]).status === 0) execFileSync('userdel', ['--remove', TEST_USER], { stdio: 'ignore' });
  execFileSync('useradd', ['--create-home', '--shell', '/bin/bash', '--groups', 'libvirt,kvm', TEST_USER]);
  const fields = execFileSync('getent', ['passwd', TEST_USER], { encoding: 'utf8' }).trim().split(':');
  const home = String(fields[5]);
  // As Debian's adduser makes it since bookworm (useradd follows login.defs): QEMU cannot enter it yet.
  chmodSync(home, 0o700);
  return { uid: Number(fields[2]), home };
}

export function describeNormalUser(fixture: () => NormalUserFixture): void {
  describe('a normal user in the libvirt group (a real account, qemu:///system, no polkit)', () => {
    let home = '';
    let checkout = '';
    let box = '';
    let artifacts = '';
    const env = (): Record<string, string> => ({
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: home,
      USER: TEST_USER,
      LOGNAME: TEST_USER,
      LANG: 'C.UTF-8',
      CI: 'true',
      LIBVIRT_DEFAULT_URI: 'qemu:///system',
      TAILS_BUILD_CACHE_VOLUME: TEST_CACHE_VOLUME,
      ...(process.env.TAILS_BUILD_LOCK_DIR === undefined ? {} : { TAILS_BUILD_LOCK_DIR: process.env.TAILS_BUILD_LOCK_DIR }),
    });
    /** tails-build as the user: a clean environment, in the VM namespace unless `outside`. */
    const asUser = async (args: string[], options: { outside?: boolean; cwd?: string; timeoutMs?: number; env?: Record<string, string> } = {}): Promise<Ran> => {
      const netns = fixture().netns;
      const user = ['runuser', '-u', TEST_USER, '--', 'env', '-i', ...Object.entries({ ...env(), ...options.env }).map(([k, v]) => `${k}=${v}`), process.execPath, MAIN, ...args];
      const [file, ...argv] = options.outside === true || netns === undefined ? user : ['ip', 'netns', 'exec', netns, ...user];
      const child = spawn(String(file), argv, { cwd: options.cwd ?? checkout, stdio: ['ignore', 'pipe', 'pipe'] });
      const out = { stdout: '', stderr: '' };
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out.stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (out.stderr += d));
      const timer = setTimeout(() => child.kill('SIGINT'), options.timeoutMs ?? 120_000);
      const [code] = (await once(child, 'exit')) as [number | null];
      clearTimeout(timer);
      return { code, ...out };
    };

    after(() => {
      if (home !== '') {
        spawnSync('ip', ['netns', 'exec', fixture().netns ?? '', 'runuser', '-u', TEST_USER, '--', 'env', `HOME=${home}`, 'vagrant', 'box', 'remove', '--force', fixture().boxName], { stdio: 'ignore' });
        spawnSync('userdel', ['--remove', TEST_USER], { stdio: 'ignore' });
      }
    });

    it('set-up: the account, its checkout (a clone) and the box file root built', () => {
      const f = fixture();
      ({ home } = ensureUser());
      checkout = join(home, 'checkout');
      // Cloned by root (the fixture repo is root's), copied not hard-linked, then given to the user.
      execFileSync('git', ['clone', '-q', '--no-hardlinks', f.repo.root, checkout]);
      execFileSync('chown', ['-R', `${TEST_USER}:`, checkout]);
      box = join(home, 'builder.box');
      copyFileSync(f.boxFile, box);
      execFileSync('chown', [`${TEST_USER}:`, box]);
      artifacts = join(home, 'artifacts');
      assert.equal(statSync(home).mode & 0o777, 0o700);
    });

    it('doctor: libvirt answers the user at qemu:///system (libvirtd lets the libvirt group in without polkit)', async () => {
      const r = await asUser(['doctor', '--json']);
      const report = JSON.parse(r.stdout) as { checks: { id: string; ok: boolean; detail: string }[] };
      const libvirt = report.checks.find((c) => c.id === 'libvirt');
      assert.equal(libvirt?.ok, true, `${JSON.stringify(libvirt)}\n${r.stderr}`);
    });

    it('basebox create is refused as root-only, naming how to build as oneself; basebox import of root\'s box works', { timeout: BUILD_TIMEOUT }, async () => {
      const refused = await asUser(['basebox', 'create', '--store', fixture().store]);
      assert.equal(refused.code, 5, refused.stderr);
      assert.match(refused.stderr, /Creating the builder box needs root/);
      assert.match(refused.stderr, /tails-build basebox import \/tmp\/builder\.box/);
      const imported = await asUser(['basebox', 'import', box, '--name', fixture().boxName], { timeoutMs: BUILD_TIMEOUT });
      assert.equal(imported.code, 0, imported.stderr);
      const listed = await asUser(['basebox', 'list']);
      assert.match(listed.stdout, new RegExp(fixture().boxName));
      assert.ok(readdirSync(join(home, '.vagrant.d', 'boxes')).length > 0, 'the box is in the user\'s own vagrant');
    });

    it('outside the VM network namespace: refused before any VM, naming the command that starts a session inside it', async () => {
      // Found from libvirtd (bootstrap.sh notes where it started it), or named as CI hosts do.
      const netns = fixture().netns ?? 'tbns';
      const r = await asUser(['iso', '--store', fixture().store, '--no-ram', '--memory', '1536', '--artifacts', artifacts], { outside: true, ...(fixture().netns === undefined ? { env: { TAILS_BUILD_NETNS: netns } } : {}) });
      assert.equal(r.code, 5, r.stderr);
      assert.match(r.stderr, new RegExp(`network namespace ${netns} .*entering it takes root.*runs as ${TEST_USER}`));
      assert.match(r.stderr, new RegExp(`ip netns exec ${netns} runuser -u ${TEST_USER} -- bash -l`));
    });

    it('a home QEMU cannot enter: refused before any VM, naming the directory and the fix (computed, not probed: the user cannot become libvirt-qemu)', async () => {
      const r = await asUser(['iso', '--store', fixture().store, '--no-ram', '--memory', '1536', '--artifacts', artifacts]);
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, new RegExp(`libvirt-qemu, which cannot read ${checkout}/\\.git/HEAD \\(stopped at ${home} \\(it may not enter it\\)\\)`));
      assert.match(r.stderr, /setfacl -m user:libvirt-qemu:rx/);
    });

    it('builds the sample ISO as the user: artifacts its own, the VM destroyed, nothing left', { timeout: BUILD_TIMEOUT }, async () => {
      // What the hint says, the ACL way: the home stays closed to everyone else.
      execFileSync('setfacl', ['-m', 'user:libvirt-qemu:x', home]);
      const r = await asUser(['--json', 'iso', '--store', fixture().store, '--no-ram', '--memory', '1536', '--artifacts', artifacts], { timeoutMs: BUILD_TIMEOUT });
      assert.equal(r.code, 0, r.stderr.slice(-4000));
      const result = resultOf(r.stdout) as { ok: boolean; domain: string; vm: string; artifacts: string[] };
      assert.equal(result.ok, true);
      assert.equal(result.vm, 'destroyed');
      assert.ok(result.artifacts.some((a) => a.endsWith('.iso')), result.artifacts.join(' '));
      for (const name of readdirSync(artifacts)) assert.equal(statSync(join(artifacts, name)).uid, Number(execFileSync('id', ['-u', TEST_USER], { encoding: 'utf8' }).trim()), `${name} is not the user's`);
      assert.equal(tryVirsh('domstate', result.domain), undefined, 'the domain is gone');
      chmodSync(artifacts, 0o755);
    });
  });
}
