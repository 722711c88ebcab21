/**
 * The main job for real: the embedded sample recipe built by `tails-build iso`
 * in fresh VMs on the box the basebox tests built, from the test snapshot
 * store, through the persistent apt-cacher-ng disk; the ISO booted by QEMU;
 * `verify` and `verify --against` proving two builds bit-identical. Called
 * from basebox.test.ts after the build-VM tests (which leave the project with
 * a custom buildCommand: the first test restores the default).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import { tryVirsh } from '../helpers/box-store.js';
import { resultOf } from '../helpers/builder-project.js';
import { runTailsBuild } from '../helpers/cli.js';
import type { BuildVmFixture } from './build-vm.js';
import { assertEventStream } from '../helpers/events.js';

const BUILD_TIMEOUT = 20 * 60_000;

interface Report {
  ok: boolean;
  git: { commit: string };
  box: string;
  serials: { builder: Record<string, string>; iso: Record<string, string> };
  builderSecurity: string;
  serialsDeclared: { iso: Record<string, string> };
  compression: string;
  bootTest: {
    ok: boolean; markerSeen: boolean; poweredOff: boolean; log: string;
    machines: { machine: string; ok: boolean; markerSeen: boolean; poweredOff: boolean; log: string }[];
  } | null;
  vm: { domain: string; cacheDisk: boolean; after: string; boot?: { direct: boolean; why?: string } };
  artifacts: { name: string; bytes: number; sha256: string }[];
}

/** Bytes the build VM fetched from the snapshot server (the `[snapshots] STATUS METHOD PATH BYTES ORIGIN` lines of build.log). */
function snapshotBytes(log: string): number {
  let total = 0;
  for (const m of log.matchAll(/^\[snapshots\] \d{3} [A-Z]+ \S+ (\d+) /gm)) total += Number(m[1]);
  return total;
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export function describeSampleIso(fixture: () => BuildVmFixture): void {
  describe('the sample live ISO (real recipe, real VM, real boot)', () => {
    let first: Report | undefined;
    const root = (): string => fixture().repo.root;
    const report = (dir = root()): Report => JSON.parse(readFileSync(join(dir, 'build-report.json'), 'utf8')) as Report;
    const run = (args: string[], env: Record<string, string> = {}) => {
      const f = fixture();
      // As a CI job runs it: CI=true, no TTY.
      return runTailsBuild(['--json', ...args, '--store', f.store], { cwd: f.repo.root, env: { ...f.env, CI: 'true', ...env }, timeoutMs: BUILD_TIMEOUT });
    };

    it('iso --boot-test: builds the sample ISO in a fresh VM, boots it, sees the marker with the commit; the report records the serials apt used', { timeout: BUILD_TIMEOUT }, async () => {
      const f = fixture();
      // The build-VM tests set a test buildCommand: back to the default recipe.
      const config = JSON.parse(readFileSync(join(f.repo.root, 'tails-build.json'), 'utf8')) as Record<string, unknown>;
      delete config.buildCommand;
      f.repo.write({ 'tails-build.json': JSON.stringify(config, null, 2) });
      if (f.repo.git('status', '--porcelain') !== '') f.repo.commit('Build the embedded sample ISO', '2026-11-06T12:00:00Z');
      const commit = f.repo.git('rev-parse', 'HEAD');

      const r = await run(['iso', '--boot-test']);
      assert.equal(r.code, 0, r.stderr.slice(-4000));
      // The plan is what ran: the dry-run's steps are the run's, in order, each done.
      const dry = await runTailsBuild(['iso', '--dry-run', '--json', '--boot-test', '--store', f.store], { cwd: f.repo.root, env: { ...f.env, CI: 'true' } });
      assert.equal(dry.code, 0, dry.stderr);
      const planned = (JSON.parse(dry.stdout) as { steps: { id: string; title: string }[] }).steps;
      const ran = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { event: string; id?: string; status?: string; title?: string }).filter((e) => e.event === 'step');
      assert.deepEqual(ran.filter((e) => e.status === 'started').map((e) => [e.id, e.title]), planned.map((s) => [s.id, s.title]));
      assert.deepEqual(ran.filter((e) => e.status !== 'started').map((e) => `${String(e.id)}:${String(e.status)}`), planned.map((s) => `${s.id}:done`));
      const rep = report();
      first = rep;
      // The box came from basebox create + import: its kernel and initrd are in the pool, booted directly.
      assert.deepEqual(rep.vm.boot, { direct: true });
      assert.equal(rep.ok, true);
      assert.equal(rep.git.commit, commit);
      // Every serial is a number, never "latest", although the project says "latest".
      assert.deepEqual(rep.serialsDeclared.iso, { debian: 'latest', 'debian-security': 'latest' });
      for (const serial of Object.values(rep.serials.iso)) assert.match(serial, /^\d{10}$/);
      assert.match(rep.builderSecurity, /^\d{10}$/);
      assert.equal(rep.compression, 'fast');

      const name = `tails-build-sample-amd64-${commit.slice(0, 12)}`;
      for (const ext of ['.iso', '.packages', '.apt-sources', '.build-manifest']) assert.ok(existsSync(join(f.repo.root, `${name}${ext}`)), `${name}${ext}`);
      // What apt really used is what the report records.
      const sources = readFileSync(join(f.repo.root, `${name}.apt-sources`), 'utf8');
      for (const [archive, serial] of Object.entries(rep.serials.iso)) assert.match(sources, new RegExp(`/${archive}/${serial}[/ ]`), `${archive} ${serial} in:\n${sources}`);
      assert.doesNotMatch(sources, /latest/);
      const envList = readFileSync(join(f.repo.root, 'tails-build-env.list'), 'utf8');
      assert.match(envList, new RegExp(`^APT_SNAPSHOTS_SERIALS=${JSON.stringify(rep.serials.iso).replace(/[{}]/g, '\\$&')}$`, 'm'));
      assert.match(envList, new RegExp(`^GIT_COMMIT=${commit}$`, 'm'));
      const manifest = readFileSync(join(f.repo.root, `${name}.build-manifest`), 'utf8');
      assert.match(manifest, new RegExp(`sha256: ${sha256(join(f.repo.root, `${name}.iso`))}`));
      const packages = readFileSync(join(f.repo.root, `${name}.packages`), 'utf8');
      assert.match(packages, /^busybox-static\t\S+$/m);
      // The generic kernel (AHCI, USB), not the cloud one.
      assert.match(packages, /^linux-image-[0-9.-]+-amd64\t\S+$/m);

      // The boot test: on pc (IDE CD), q35 (AHCI CD) and a USB stick, each booted, with the
      // marker naming this commit on its own console, and powered off by itself.
      assert.ok(rep.bootTest !== null);
      assert.equal(rep.bootTest.ok, true);
      assert.equal(rep.bootTest.poweredOff, true);
      const logs = { pc: 'boot-test.log', q35: 'boot-test-q35.log', usb: 'boot-test-usb.log' };
      assert.deepEqual(rep.bootTest.machines.map((m) => [m.machine, m.ok, m.markerSeen, m.poweredOff, basename(m.log)]), Object.entries(logs).map(([machine, log]) => [machine, true, true, true, log]));
      const medium = { pc: '/dev/sr0', q35: '/dev/sr0', usb: '/dev/sda' };
      for (const [machine, log] of Object.entries(logs)) {
        const consoleText = readFileSync(join(f.repo.root, log), 'utf8');
        assert.match(consoleText, new RegExp(`TAILS-BUILD-BOOT-OK commit=${commit}`), `${machine}: ${log}`);
        assert.match(consoleText, new RegExp(`tails-build initramfs: live medium on ${medium[machine as keyof typeof medium]}`), `${machine}: ${log}`);
      }
      assert.match(readFileSync(join(f.repo.root, 'boot-test-q35.log'), 'utf8'), /scsi host\d+: ahci/);

      // The builder got its security fixes from that snapshot, kernel and GRUB held.
      const log = readFileSync(join(f.repo.root, 'build.log'), 'utf8');
      assert.match(log, new RegExp(`security fixes: builder debian-security source at snapshot ${rep.builderSecurity}`));
      // The box was built from the builder's frozen debian-security serial: at that snapshot there is nothing to upgrade.
      const boxSecurity = readFileSync(join(f.repo.root, 'definitions/builder/APT_snapshots.d/debian-security/serial'), 'utf8').trim();
      if (boxSecurity === rep.builderSecurity) assert.match(log, new RegExp(`security fixes: none to apply, the box was built from debian-security ${boxSecurity}`));
      else assert.match(log, /security fixes: upgraded from debian-security \d+ \(held: [^)]*grub-pc-bin[^)]*linux-image-amd64/);
      assert.match(log, /\[recipe\] built tails-build-sample-amd64-/);

      // Nothing left: no domain, no root volume; the checkout is clean for the next build.
      assert.equal(tryVirsh('domstate', rep.vm.domain), undefined);
      assert.ok(!(tryVirsh('vol-list', '--pool', 'default') ?? '').includes(`${rep.vm.domain}.img`));
      assert.equal(f.repo.git('status', '--porcelain'), '');
    });

    it('verify after an iso, in the default artifacts dir (not refused): two fresh VMs, the first pinned by APT_SNAPSHOTS_SERIALS while the builder moves to a newer debian-security, the second pinned to the first; identical hashes, the first iso\'s image; the warm cache fetches 0 bytes; no domain, volume or lock left', { timeout: 2 * BUILD_TIMEOUT }, async () => {
      const f = fixture();
      assert.ok(first !== undefined, 'the first build ran');
      // A newer debian-security snapshot, so that "latest" and the pin differ.
      const pinned = first.serials.iso['debian-security'] ?? '';
      const mirrored = await runTailsBuild(['snapshots', 'mirror', '--new', '--store', f.store, 'debian-security'], { cwd: f.repo.root, env: f.env, timeoutMs: 600_000 });
      assert.equal(mirrored.code, 0, mirrored.stderr);
      const r = await run(['verify'], { APT_SNAPSHOTS_SERIALS: JSON.stringify(first.serials.iso) });
      assert.equal(r.code, 0, r.stderr.slice(-4000));
      assert.equal(assertEventStream(r.stdout, 0).find((e) => e.event === 'verify')?.identical, true);
      const result = resultOf(r.stdout) as { identical: boolean; files: { name: string; first: string; second: string; identical: boolean }[] };
      assert.equal(result.identical, true);
      const names = result.files.map((x) => x.name);
      assert.ok(names.some((n) => n.endsWith('.iso')) && names.includes('tails-build-env.list'), names.join(' '));
      assert.ok(!names.includes('build.log') && !names.includes('build-report.json'));
      for (const file of result.files) assert.equal(file.first, file.second);
      const one = report(join(f.repo.root, 'verify/build-1'));
      const two = report(join(f.repo.root, 'verify/build-2'));
      assert.deepEqual(two.serials, one.serials, 'the second build used the serials the first resolved');
      assert.equal(two.builderSecurity, one.builderSecurity);
      // The first build: pinned by APT_SNAPSHOTS_SERIALS, not the newer latest; its builder upgraded to the newer one.
      assert.equal(one.serials.iso['debian-security'], pinned, 'the pinned serial, not the newer latest');
      assert.notEqual(one.builderSecurity, pinned, 'the builder moved to the newer debian-security snapshot');
      const log = readFileSync(join(f.repo.root, 'verify/build-1/build.log'), 'utf8');
      assert.match(log, new RegExp(`iso debian-security: latest -> ${pinned} \\(APT_SNAPSHOTS_SERIALS\\)`));
      assert.match(log, /security fixes: upgraded from debian-security \d+ \(held: [^)]*grub-pc-bin[^)]*linux-image-amd64/);
      // Same commit, same ISO serials, other fresh VMs: the image the first iso built. (The manifest and
      // tails-build-env.list record the builder's newer debian-security serial, so they differ from the first iso's.)
      const image = (r: Report): Report['artifacts'] => r.artifacts.filter((a) => /\.(iso|packages|apt-sources)$/.test(a.name));
      assert.deepEqual(image(one), image(first));
      const manifest = one.artifacts.find((a) => a.name.endsWith('.build-manifest'))?.name ?? '';
      assert.match(readFileSync(join(f.repo.root, 'verify/build-1', manifest), 'utf8'), new RegExp(`builder_debian_security_serial: '${one.builderSecurity}'`));
      // Everything the recipe needed came from the cache disk (the builder's newer security indices did not exist before).
      for (const n of [1, 2]) {
        const built = readFileSync(join(f.repo.root, `verify/build-${String(n)}/build.log`), 'utf8');
        const recipePart = built.slice(built.indexOf('[vm] building '));
        assert.equal(snapshotBytes(recipePart), 0, `build ${String(n)}: bytes fetched from the snapshot server during the recipe:\n${recipePart.split('\n').filter((l) => l.startsWith('[snapshots]')).join('\n')}`);
      }
      for (const rep of [one, two]) {
        assert.equal(tryVirsh('domstate', rep.vm.domain), undefined);
        assert.ok(!(tryVirsh('vol-list', '--pool', 'default') ?? '').includes(`${rep.vm.domain}.img`));
      }
      // No other tails-build runs here while the suite does: no lock may be left.
      const lockDir = process.env.TAILS_BUILD_LOCK_DIR ?? '/run/lock/tails-build';
      if (existsSync(lockDir)) assert.deepEqual(readdirSync(lockDir).filter((n) => n.endsWith('.lock')), []);
      assert.equal(f.repo.git('status', '--porcelain'), '');
    });

    it('verify --against a published build-report.json: one rebuild, compared with its hashes; a report of another commit is refused', { timeout: BUILD_TIMEOUT }, async () => {
      const f = fixture();
      const published = join(f.repo.root, 'verify/build-1/build-report.json');
      const r = await run(['verify', '--against', published, '--output', join(f.repo.root, 'verify/against')]);
      assert.equal(r.code, 0, r.stderr.slice(-4000));
      assert.equal((resultOf(r.stdout) as { identical: boolean }).identical, true);

      f.repo.write({ 'later.txt': 'a later commit\n' });
      f.repo.commit('A later commit', '2026-11-07T12:00:00Z');
      const other = await run(['verify', '--against', published]);
      assert.equal(other.code, 3, other.stderr);
      assert.match(other.stderr, /describes commit [0-9a-f]{40}; this checkout is at [0-9a-f]{40}/);
      assert.match(other.stderr, /git checkout [0-9a-f]{40}/);
      execFileSync('git', ['-C', f.repo.root, 'reset', '-q', '--hard', 'HEAD~1']);
    });
  });
}
