/**
 * The guest scripts' own logic, run by bash with the system commands they
 * call stubbed on PATH (the VM tests run them for real).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const TEARDOWN = fileURLToPath(new URL('../../../vagrant/provision/teardown.sh', import.meta.url));
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Runs a script with each named command replaced by `exit CODE` (and a line on stderr). */
function runWithStubs(script: string, stubs: Record<string, number>): { status: number | null; stdout: string; stderr: string } {
  const bin = mkdtempSync(join(tmpdir(), 'tb-stubs-'));
  dirs.push(bin);
  for (const [name, code] of Object.entries(stubs)) {
    writeFileSync(join(bin, name), `#!/bin/sh\necho "stub ${name} $*" >&2\nexit ${String(code)}\n`);
    chmodSync(join(bin, name), 0o755);
  }
  const r = spawnSync('bash', [script], { env: { PATH: `${bin}:/usr/bin:/bin` }, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('teardown.sh', () => {
  const ok = { systemctl: 0, mountpoint: 0, fstrim: 0, umount: 0, sync: 0, mount: 0 };
  it('stops apt-cacher-ng, unmounts the cache and says so', () => {
    const r = runWithStubs(TEARDOWN, ok);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /cache disk unmounted/);
  });
  it('a failed unmount fails, says so, and leaves the filesystem read-only (it used to print "unmounted" and exit 0)', () => {
    const r = runWithStubs(TEARDOWN, { ...ok, umount: 32 });
    assert.notEqual(r.status, 0);
    assert.doesNotMatch(r.stdout, /unmounted/);
    assert.match(r.stderr, /stub mount -o remount,ro \/var\/cache\/apt-cacher-ng/);
    assert.match(r.stderr, /could not be unmounted \(busy\); it was synced and remounted read-only/);
  });
  it('nothing mounted: nothing to unmount, success', () => {
    const r = runWithStubs(TEARDOWN, { ...ok, mountpoint: 1, umount: 99 });
    assert.equal(r.status, 0, r.stderr);
  });
});
