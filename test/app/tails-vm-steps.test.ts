import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUILD_STEPS, type BuildRun } from '../../src/app/build-vm-steps.js';

/** Only what the provision step's done title reads. */
function run(kind: 'tails' | 'tails-build', baseUrl: string, merge: unknown, cache: { volume: string | null } | undefined): BuildRun {
  return {
    record: { ref: 'feature/x', commit: 'f'.repeat(40), box: 'b', serials: {} },
    cache,
    request: { project: { kind, snapshots: { baseUrl } }, plan: kind === 'tails' ? { tailsGit: { merge } } : {} },
  } as unknown as BuildRun;
}

const title = (r: BuildRun): string => BUILD_STEPS.provision.doneTitle?.(r) ?? '';
const MERGE = { planned: true, outcome: 'diverged', commit: 'abcdef1234567890'.padEnd(40, '0') };

describe('the provision step says what it did', () => {
  it("a Tails checkout: its setup-tails-builder ran; the tool mounted no cache and ran no apt-cacher-ng (Tails' script does)", () => {
    const t = title(run('tails', 'http://time-based.snapshots.deb.tails.boum.org/', MERGE, { volume: 'apt-cacher-ng-data.qcow2' }));
    assert.match(t, /setup-tails-builder run as root \(exit 0\)/);
    assert.match(t, /the base-branch merge abcdef123456 in the VM's view of the checkout/);
    assert.doesNotMatch(t, /apt-cacher-ng running|cache disk mounted/);
    // On Tails' own server nothing is forwarded, and the title does not say it is.
    assert.doesNotMatch(t, /forwarded/);
  });

  it('a Tails checkout on a local store: the snapshot server forwarded; no merge, none named', () => {
    const t = title(run('tails', 'http://127.0.0.1:8471/', { planned: false, why: 'releasing' }, { volume: 'apt-cacher-ng-data.qcow2' }));
    assert.match(t, /the snapshot server forwarded by ssh/);
    assert.doesNotMatch(t, /merge/);
  });

  it('the sample: as before', () => {
    assert.equal(
      title(run('tails-build', 'http://127.0.0.1:8471/', undefined, { volume: 'v' })),
      'Provisioned: branch lock for feature/x, cache disk mounted, apt-cacher-ng running, the snapshot server forwarded by ssh',
    );
  });
});
