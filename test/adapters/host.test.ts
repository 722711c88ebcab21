import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { libvirtdNetns, parseMemAvailableMiB } from '../../src/adapters/host.js';
import { makeTempDir } from '../helpers/git-repo.js';

describe('libvirtdNetns', () => {
  it('names the namespace the running libvirtd was started in (bootstrap.sh starts it in tbns)', () => {
    assert.equal(libvirtdNetns(), process.env.TAILS_BUILD_NETNS ?? 'tbns');
  });
  it('is undefined for a process in no named namespace, a missing pid file or garbage in it', () => {
    const dir = makeTempDir();
    const netns = join(dir, 'netns');
    mkdirSync(netns);
    writeFileSync(join(dir, 'self.pid'), `${String(process.pid)}\n`);
    writeFileSync(join(dir, 'bad.pid'), 'not a pid\n');
    assert.equal(libvirtdNetns(join(dir, 'self.pid'), netns), undefined);
    assert.equal(libvirtdNetns(join(dir, 'bad.pid'), netns), undefined);
    assert.equal(libvirtdNetns(join(dir, 'missing.pid'), netns), undefined);
  });
});

describe('parseMemAvailableMiB', () => {
  it('reads MemAvailable in MiB, or nothing when the kernel does not say', () => {
    assert.equal(parseMemAvailableMiB('MemTotal:       24684132 kB\nMemFree:        21397592 kB\nMemAvailable:   21946912 kB\n'), 21432);
    assert.equal(parseMemAvailableMiB('MemTotal: 1 kB\n'), undefined);
  });
});
