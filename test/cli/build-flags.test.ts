/**
 * The build flags' help says what the code does, and verify's --artifacts
 * (iso's name for "where the artifacts go"; --output is its older name) takes effect.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { verifyOutputDir } from '../../src/cli/build-flags.js';
import { planVmSettings, provisionEnv, vmIdentity, type ProvisionInput } from '../../src/core/build-vm.js';
import { UsageError } from '../../src/core/errors.js';
import { runTailsBuild } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/git-repo.js';

const cwd = makeTempDir('tb-flags-');
after(() => { rmSync(cwd, { recursive: true, force: true }); });

/** commander's help, one option per entry (its description's wrapped lines joined). */
function optionHelp(help: string, flag: string): string {
  const lines = help.split('\n');
  const start = lines.findIndex((l) => l.trimStart().startsWith(flag));
  assert.ok(start !== -1, `${flag} not in:\n${help}`);
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((l) => /^\s*-/.test(l) || l.trim() === '');
  return [lines[start] ?? '', ...rest.slice(0, end === -1 ? rest.length : end)].map((l) => l.trim()).join(' ');
}

describe('build flags: help agrees with the code', () => {
  for (const command of ['iso', 'verify']) {
    it(`${command} --cpu-model: the default it names under TCG is planVmSettings'`, async () => {
      const r = await runTailsBuild([command, '--help'], { cwd });
      assert.equal(r.code, 0, r.stderr);
      const tcg = planVmSettings({
        box: 'b', identity: vmIdentity('/p', '/c'), libvirtUri: 'qemu:///system', pool: 'default', accelerator: 'tcg',
        cpus: 2, memoryMiB: 2048, machineType: 'q35', cpuModel: undefined, checkout: '/p', cacheDisk: false,
      }).cpuModel;
      assert.equal(tcg, 'qemu64');
      const help = optionHelp(r.stdout, '--cpu-model');
      assert.match(help, new RegExp(`default host-passthrough on KVM, ${tcg} on TCG`), help);
      assert.doesNotMatch(help, /maximum/);
    });
  }

  it('--offline: the help names exactly what provisioning changes (apt-cacher-ng offline mode, no builder upgrade), not "no network" or "no time sync"', async () => {
    const r = await runTailsBuild(['iso', '--help'], { cwd });
    const help = optionHelp(r.stdout, '--offline');
    assert.match(help, /apt-cacher-ng in offline mode/);
    assert.match(help, /no security upgrade of the builder/);
    assert.match(help, /the VM keeps its network/);
    assert.doesNotMatch(help, /time sync|without network/, help);
    // What the help rests on: offline changes the provisioning environment in OFFLINE only
    // (the caller also passes no builder security serial), and the script reads OFFLINE for apt-cacher-ng alone.
    const input: ProvisionInput = {
      record: { ref: 'main', commit: 'c', box: 'b', serials: {} }, builderSecuritySerial: undefined, hostEpoch: 0, dateOffsetDays: 0,
      snapshotHost: '127.0.0.1', snapshotPort: 8470, offline: false, checkoutHostPath: '/src/checkout',
    };
    const online = provisionEnv(input);
    const offline = provisionEnv({ ...input, offline: true });
    assert.deepEqual(Object.keys(online).filter((k) => online[k] !== offline[k]), ['OFFLINE']);
    const script = readFileSync(new URL('../../../vagrant/provision/setup-build-vm.sh', import.meta.url), 'utf8');
    assert.deepEqual(script.split('\n').filter((l) => l.includes('$OFFLINE')).map((l) => l.trim()), ['Offlinemode: $OFFLINE', 'say "apt-cacher-ng: running on 127.0.0.1:3142 (offline mode: $OFFLINE)"']);
    assert.doesNotMatch(script, /timesync|ntpd|chrony/);
  });

  it('verify --help lists --artifacts, and --output as its older name', async () => {
    const r = await runTailsBuild(['verify', '--help'], { cwd });
    assert.match(optionHelp(r.stdout, '--artifacts'), /where build-1\/, build-2\/ and verify-report\.json go/);
    assert.match(optionHelp(r.stdout, '--output'), /the older name of --artifacts/);
  });
});

describe('verifyOutputDir: where verify puts both builds', () => {
  const rows: readonly [string, { artifacts?: string; output?: string }, string][] = [
    ['--artifacts, relative to the working directory', { artifacts: 'out' }, '/work/p/out'],
    ['--artifacts, absolute', { artifacts: '/srv/verify' }, '/srv/verify'],
    ['--output, its older name', { output: 'out' }, '/work/p/out'],
    ['both, naming the same directory', { artifacts: 'out', output: '/work/p/out' }, '/work/p/out'],
    ['neither: <ARTIFACTS or the project root>/verify', {}, '/art/verify'],
  ];
  for (const [name, flags, dir] of rows) it(name, () => { assert.equal(verifyOutputDir('/work/p', flags, '/art'), dir); });

  it('both, naming different directories: a usage error naming both', () => {
    assert.throws(() => verifyOutputDir('/work/p', { artifacts: 'a', output: 'b' }, '/art'), (e: unknown) => e instanceof UsageError && /--artifacts a and --output b/.test(e.message));
  });
});

describe('tails-build verify --artifacts (no VM: refused before anything is planned)', () => {
  const file = join(cwd, 'a-file');
  writeFileSync(file, 'x\n');

  for (const flag of ['--artifacts', '--output']) {
    it(`${flag} naming a file: refused, the file named, exit 2`, async () => {
      const r = await runTailsBuild(['verify', flag, 'a-file'], { cwd });
      assert.equal(r.code, 2, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stderr, new RegExp(`verify's --artifacts ${file} is not a directory .*nothing was built`));
      assert.match(r.stderr, /hint: .*tails-build verify --artifacts DIR/);
    });
  }

  it('--artifacts and --output naming different directories: refused, exit 2', async () => {
    const r = await runTailsBuild(['verify', '--artifacts', 'a', '--output', 'b'], { cwd });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /verify got --artifacts a and --output b/);
  });
});
