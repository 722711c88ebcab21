/**
 * `tails-build doctor` against the real host. After `bootstrap.sh setup` every
 * required check passes here; these tests fail (never skip) when QEMU,
 * libvirt or vagrant are missing, which is the point.
 */
import assert from 'node:assert/strict';
import { existsSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runTailsBuild } from '../helpers/cli.js';
import { createTestKey } from '../helpers/fake-debian-mirror.js';
import { makeTempDir } from '../helpers/git-repo.js';

interface Check {
  id: string;
  title: string;
  required: boolean;
  ok: boolean;
  detail: string;
  hint: string | null;
}

/** stdout of `--json`: JSON documents (exactly one: the report, even on failure). */
function jsonDocuments(stdout: string): unknown[] {
  return stdout
    .split(/\n(?=\{)/)
    .filter((d) => d.trim() !== '')
    .map((d) => JSON.parse(d) as unknown);
}

function reportOf(stdout: string): { ok: boolean; checks: Check[] } {
  const first = jsonDocuments(stdout)[0] as { ok: boolean; checks: Check[] };
  assert.equal(typeof first.ok, 'boolean');
  assert.ok(Array.isArray(first.checks));
  return first;
}

const REQUIRED = ['git', 'node', 'qemu', 'qemu-img', 'libvirt', 'vagrant', 'vagrant-libvirt', 'mmdebstrap', 'debugfs', 'sfdisk', 'flock', 'debian-keyring'];
const cwd = makeTempDir('tb-doctor-');
after(() => { rmSync(cwd, { recursive: true, force: true }); });

describe('tails-build doctor (real host)', () => {
  it('every required check is ok, exit 0', async () => {
    const r = await runTailsBuild(['doctor'], { cwd });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    for (const line of ['git', 'node >= 20.5', 'qemu-system-x86_64', 'qemu-img', 'libvirt daemon', 'vagrant', 'vagrant-libvirt plugin', 'mmdebstrap']) {
      assert.match(r.stdout, new RegExp(`^ok +${line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} `, 'm'), r.stdout);
    }
    assert.match(r.stdout, /All required prerequisites are present\./);
  });

  it('--json: { ok, checks } with one entry per check', async () => {
    const r = await runTailsBuild(['--json', 'doctor'], { cwd });
    assert.equal(r.code, 0, r.stderr);
    const docs = jsonDocuments(r.stdout);
    assert.equal(docs.length, 1);
    const report = reportOf(r.stdout);
    assert.equal(report.ok, true);
    assert.deepEqual(
      report.checks.filter((c) => c.required).map((c) => c.id),
      REQUIRED,
    );
    for (const c of report.checks) {
      assert.deepEqual(Object.keys(c).sort(), ['detail', 'hint', 'id', 'ok', 'required', 'title']);
      if (c.required) assert.equal(c.ok, true, `${c.id}: ${c.detail}`);
      if (c.ok) assert.equal(c.hint, null);
    }
  });

  it('with PATH reduced to node and git: the rest is missing, with install commands, exit 5', async () => {
    const bin = makeTempDir('tb-path-');
    try {
      symlinkSync(process.execPath, join(bin, 'node'));
      const gits = (process.env.PATH ?? '').split(':').map((d) => join(d, 'git'));
      symlinkSync(gits.find((p) => existsSync(p)) ?? '/usr/bin/git', join(bin, 'git'));
      const r = await runTailsBuild(['doctor'], { cwd, env: { PATH: bin } });
      assert.equal(r.code, 5, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /^ok +git /m);
      assert.match(r.stdout, /^ok +node >= 20\.5 /m);
      for (const [title, pkg] of [
        ['qemu-system-x86_64', 'qemu-system-x86'],
        ['qemu-img', 'qemu-utils'],
        ['libvirt daemon', 'libvirt-daemon-system libvirt-clients'],
        ['mmdebstrap', 'mmdebstrap'],
        ['vagrant-libvirt plugin', 'vagrant-libvirt'],
      ] as const) {
        assert.match(r.stdout, new RegExp(`^missing +${title} .*\\n +fix: apt-get install --no-install-recommends ${pkg}$`, 'm'), r.stdout);
      }
      assert.match(r.stderr, /required host prerequisite\(s\) missing: qemu-system-x86_64, qemu-img, libvirt daemon, vagrant, vagrant-libvirt plugin, mmdebstrap, debugfs and mkfs\.ext4 \(box image\), sfdisk \(box image\), flock \(host locks\), gpgv \+ Debian archive keyring \(snapshot signatures\)\./);
      assert.match(r.stderr, /hint: .*bootstrap\.sh setup/);

      const j = await runTailsBuild(['doctor', '--json'], { cwd, env: { PATH: bin } });
      assert.equal(j.code, 5);
      const report = reportOf(j.stdout);
      assert.equal(report.ok, false);
      const qemu = report.checks.find((c) => c.id === 'qemu')!;
      assert.deepEqual(qemu, {
        id: 'qemu',
        title: 'qemu-system-x86_64',
        required: true,
        ok: false,
        detail: 'qemu-system-x86_64 not found on PATH',
        hint: 'apt-get install --no-install-recommends qemu-system-x86',
      });
      // stdout stays a single JSON document; the error goes to stderr.
      assert.equal(jsonDocuments(j.stdout).length, 1);
      assert.equal(j.code, 5);
      assert.match(j.stderr, /error: \d+ required host prerequisite\(s\) missing/);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it('with an unreachable --libvirt-uri: libvirt reported unreachable, exit 5', async () => {
    const uri = 'qemu+unix:///system?socket=/nonexistent';
    const r = await runTailsBuild(['doctor', '--json', '--libvirt-uri', uri], { cwd, timeoutMs: 30_000 });
    assert.equal(r.code, 5, `${r.stdout}\n${r.stderr}`);
    const report = reportOf(r.stdout);
    const libvirt = report.checks.find((c) => c.id === 'libvirt')!;
    assert.equal(libvirt.ok, false);
    assert.match(libvirt.detail, /^libvirt at qemu\+unix:\/\/\/system\?socket=\/nonexistent is not reachable: .*\/nonexistent/);
    assert.match(libvirt.hint ?? '', /virsh -c/);
    assert.deepEqual(
      report.checks.filter((c) => c.required && !c.ok).map((c) => c.id),
      ['libvirt'],
    );
  });
});


describe('tails-build doctor --keyring (real gpgv, real keyrings)', () => {
  async function keyringCheck(keyring: string): Promise<{ code: number | null; check: Check }> {
    const r = await runTailsBuild(['doctor', '--json', '--keyring', keyring], { cwd });
    const check = reportOf(r.stdout).checks.find((c) => c.id === 'debian-keyring');
    assert.ok(check !== undefined, r.stdout);
    return { code: r.code, check };
  }

  it("the default keyring verifies a Debian-signed InRelease of this host", async () => {
    const { check } = await keyringCheck('/usr/share/keyrings/debian-archive-keyring.gpg');
    assert.equal(check.ok, true, check.detail);
    assert.match(check.detail, /^gpgv verified \/\S+InRelease against \/usr\/share\/keyrings\/debian-archive-keyring\.gpg \(\d+ keys\)$/);
  });

  it('a keyring that does not exist: missing, exit 5 (the old `gpgv --keyring … --version` probe passed)', async () => {
    const { code, check } = await keyringCheck(join(cwd, 'absent.gpg'));
    assert.equal(code, 5);
    assert.equal(check.ok, false);
    assert.equal(check.detail, `keyring ${join(cwd, 'absent.gpg')} does not exist`);
    assert.match(check.hint ?? '', /debian-archive-keyring/);
  });

  it('an empty keyring: missing, exit 5', async () => {
    const empty = join(cwd, 'empty.gpg');
    writeFileSync(empty, '');
    const { code, check } = await keyringCheck(empty);
    assert.equal(code, 5);
    assert.equal(check.detail, `keyring ${empty} is empty: it holds no keys`);
  });

  it("a keyring of a throwaway gpg key: gpgv does not verify Debian's InRelease, exit 5", async () => {
    const key = createTestKey();
    try {
      const { code, check } = await keyringCheck(key.keyring);
      assert.equal(code, 5);
      assert.equal(check.ok, false);
      assert.match(check.detail, /^gpgv does not verify \S+InRelease against \S+ \(1 key\(s\), 0 with a Debian user ID\): gpgv: Can't check signature: No public key$/);
    } finally {
      key.remove();
    }
  });
});
