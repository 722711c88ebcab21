/**
 * `tails-build verify` on a real mismatch: a test build that fetches a package
 * through apt-cacher-ng and writes its artifacts as the build-VM tests' does,
 * plus one file that is not reproducible on purpose (the build's time and
 * random bytes). Two fresh VMs on the box the basebox tests built: exit 4,
 * both artifact sets kept, one diffoscope report for the differing file and
 * none for the identical ones, verify-report.json naming it. diffoscope comes
 * from `bootstrap.sh test` (diffoscope-minimal). Called from basebox.test.ts;
 * it sets the project state it needs and puts the checkout back after.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { tryVirsh } from '../helpers/box-store.js';
import { runTailsBuild } from '../helpers/cli.js';
import { assertEventStream } from '../helpers/events.js';
import { makeTempDir } from '../helpers/git-repo.js';
import type { BuildVmFixture } from './build-vm.js';

const BUILD_TIMEOUT = 20 * 60_000;
const UNREPRODUCIBLE = 'unreproducible.txt';

/** Fetches a package through apt-cacher-ng; every artifact is reproducible but one. */
const MISMATCH_SCRIPT = `#!/bin/bash
set -euo pipefail
sudo apt-get update -q
apt-get download hello
cp hello_*.deb "$ARTIFACTS_DIR/"
git rev-parse HEAD >"$ARTIFACTS_DIR/commit.txt"
# Not reproducible on purpose: when this build ran, and random bytes.
{
  echo "built at $(date -u +%s%N)"
  echo "random $(od -An -N16 -tx1 /dev/urandom | tr -d ' \\n')"
} >"$ARTIFACTS_DIR/${UNREPRODUCIBLE}"
`;

interface VerifyReport {
  schema: string;
  identical: boolean;
  commit: string;
  files: { name: string; first: string | null; second: string | null; identical: boolean }[];
  builds: { label: string; artifactsDir: string; report: string }[];
  diffoscope: string[];
  note?: string;
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export function describeVerifyMismatch(fixture: () => BuildVmFixture): void {
  describe('verify on a real mismatch (a build with one unreproducible artifact, two fresh VMs, diffoscope)', () => {
    let start: string | undefined;
    let output: string | undefined;
    after(() => {
      // Back to the commit the earlier tests left, for the tests after these.
      if (start !== undefined) execFileSync('git', ['-C', fixture().repo.root, 'reset', '-q', '--hard', start]);
      if (output !== undefined) rmSync(output, { recursive: true, force: true });
    });

    it('exit 4; both sets kept; a diffoscope report for the differing file only; verify-report.json and the error name it; no VM left', { timeout: 2 * BUILD_TIMEOUT }, async () => {
      const f = fixture();
      const repo = f.repo;
      start = repo.git('rev-parse', 'HEAD');
      assert.ok(existsSync('/usr/bin/diffoscope'), 'diffoscope is missing: bash provision/host/bootstrap.sh test installs diffoscope-minimal');
      // Whatever the earlier tests left (a committed fail or slow file, the sample recipe): this build only.
      for (const leftover of ['fail', 'slow', 'dirty', 'later.txt']) rmSync(join(repo.root, leftover), { force: true });
      const config = JSON.parse(readFileSync(join(repo.root, 'tails-build.json'), 'utf8')) as Record<string, unknown>;
      repo.write({ 't/mismatch.sh': MISMATCH_SCRIPT, 'tails-build.json': JSON.stringify({ ...config, buildCommand: 'bash t/mismatch.sh' }, null, 2) });
      const commit = repo.commit('A build that is not reproducible on purpose', '2026-11-08T12:00:00Z');
      output = makeTempDir('tb-verify-mismatch-');

      const r = await runTailsBuild(['--json', 'verify', '--store', f.store, '--no-ram', '--memory', '1536', '--output', output], {
        cwd: repo.root,
        env: { ...f.env, CI: 'true' },
        timeoutMs: 2 * BUILD_TIMEOUT,
      });
      assert.equal(r.code, 4, r.stderr.slice(-4000));
      assert.match(r.stderr, new RegExp(`The build of ${commit.slice(0, 12)} is not reproducible: ${UNREPRODUCIBLE.replace('.', '\\.')} differ`));
      const reportPath = join(output, `diffoscope-${UNREPRODUCIBLE}.txt`);
      assert.ok(r.stderr.includes(`Read why in ${reportPath}`), r.stderr.slice(-2000));
      const events = assertEventStream(r.stdout, 4);
      const verdict = events.find((e) => e.event === 'verify');
      assert.equal(verdict?.identical, false);
      const result = events[events.length - 1] as { error?: { code: string } };
      assert.equal(result.error?.code, 'not-reproducible');

      // verify-report.json: the differing file with both hashes; every other artifact identical.
      const report = JSON.parse(readFileSync(join(output, 'verify-report.json'), 'utf8')) as VerifyReport;
      assert.equal(report.schema, 'tails-build/verify@1');
      assert.equal(report.identical, false);
      assert.equal(report.commit, commit);
      const differing = report.files.filter((x) => !x.identical);
      assert.deepEqual(differing.map((x) => x.name), [UNREPRODUCIBLE]);
      const names = report.files.map((x) => x.name);
      assert.ok(names.includes('commit.txt') && names.some((n) => /^hello_.*\.deb$/.test(n)), names.join(' '));
      assert.ok(!names.includes('build.log') && !names.includes('build-report.json'));

      // Both sets kept, as the report says, with the hashes it records.
      const one = join(output, 'build-1');
      const two = join(output, 'build-2');
      assert.deepEqual(report.builds.map((b) => b.artifactsDir), [one, two]);
      for (const file of report.files) {
        assert.equal(sha256(join(one, file.name)), file.first, `build-1/${file.name}`);
        assert.equal(sha256(join(two, file.name)), file.second, `build-2/${file.name}`);
      }
      assert.notEqual(differing[0]?.first, differing[0]?.second);

      // One diffoscope report, for the differing file, explaining the difference; none for the identical ones.
      assert.deepEqual(report.diffoscope, [reportPath]);
      assert.equal(report.note, undefined);
      assert.deepEqual(readdirSync(output).filter((n) => n.startsWith('diffoscope-')), [`diffoscope-${UNREPRODUCIBLE}.txt`]);
      const explained = readFileSync(reportPath, 'utf8');
      assert.ok(explained.includes(join(one, UNREPRODUCIBLE)) && explained.includes(join(two, UNREPRODUCIBLE)), explained);
      assert.match(explained, /^-built at \d+$/m);
      assert.match(explained, /^\+built at \d+$/m);
      assert.match(explained, /^[-+]random [0-9a-f]{32}$/m);

      // Each build pinned like the other, each VM destroyed.
      const built = [one, two].map((dir) => JSON.parse(readFileSync(join(dir, 'build-report.json'), 'utf8')) as { serials: unknown; builderSecurity: string; vm: { domain: string } });
      assert.deepEqual(built[1]?.serials, built[0]?.serials);
      assert.equal(built[1]?.builderSecurity, built[0]?.builderSecurity);
      for (const b of built) {
        assert.equal(tryVirsh('domstate', b.vm.domain), undefined, `${b.vm.domain} is still defined`);
        assert.ok(!(tryVirsh('vol-list', '--pool', 'default') ?? '').includes(`${b.vm.domain}.img`));
      }
      assert.equal(repo.git('status', '--porcelain'), '');
    });
  });
}
