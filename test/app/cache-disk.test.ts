/**
 * The pool of cache disks with strict fakes: host locks with real
 * one-holder-at-a-time semantics in memory, a pool and domains that know only
 * what each test tells them. The VM tests (test/vm/build-vm.ts) run two real
 * builds at once on two disks.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { takeCacheDisk, type CacheDiskRequest } from '../../src/app/cache-disk.js';
import { cacheDiskLock, cacheDiskVolume, vmIdentity } from '../../src/core/build-vm.js';
import { InterruptedError } from '../../src/core/errors.js';
import type { HostLocks, LockWaitInfo } from '../../src/core/ports.js';

interface World {
  held: Map<string, LockWaitInfo>;
  volumes: Map<string, string>;
  /** volume path → running domains using it */
  attached: Map<string, string[]>;
  created: string[];
  warnings: string[];
  infos: string[];
}

function world(volumes: string[] = []): World {
  return { held: new Map(), volumes: new Map(volumes.map((v) => [v, `/pool/${v}`])), attached: new Map(), created: [], warnings: [], infos: [] };
}

function deps(w: World, who = 'tails-build iso', signal = new AbortController().signal) {
  const locks: HostLocks = {
    tryAcquire: (name) => {
      const holder = w.held.get(name);
      if (holder !== undefined) return Promise.resolve({ heldBy: holder });
      w.held.set(name, { pid: 4242, command: who, startedAt: '2026-11-29T12:00:00Z', lockPath: `/locks/${name}.lock` });
      return Promise.resolve({
        release: () => {
          w.held.delete(name);
          return Promise.resolve();
        },
      });
    },
    acquire: () => Promise.reject(new Error('acquire: not expected')),
    withLock: () => Promise.reject(new Error('withLock: not expected')),
    pruneStale: () => Promise.reject(new Error('pruneStale: not expected')),
  };
  const unexpected = (what: string) => () => Promise.reject(new Error(`${what}: not expected`));
  return {
    locks,
    pool: {
      name: 'default',
      ensurePool: () => Promise.resolve(),
      hasPool: unexpected('hasPool'),
      listVolumes: () => Promise.resolve([...w.volumes].map(([name, path]) => ({ name, path }))),
      readVolumeInfo: unexpected('readVolumeInfo'),
      deleteVolume: unexpected('deleteVolume'),
      uploadVolume: unexpected('uploadVolume'),
      createVolume: ({ name }: { name: string }) => {
        w.created.push(name);
        w.volumes.set(name, `/pool/${name}`);
        return Promise.resolve();
      },
      listDomainDisks: unexpected('listDomainDisks'),
      readNetworkXml: unexpected('readNetworkXml'),
      defineNetwork: unexpected('defineNetwork'),
    },
    domains: {
      state: (domain: string) => Promise.resolve([...w.attached.values()].some((ds) => ds.includes(domain)) ? ('running' as const) : ('absent' as const)),
      list: unexpected('list'),
      xml: unexpected('xml'),
      remove: unexpected('remove'),
      usersOfFile: (path: string) => Promise.resolve(w.attached.get(path) ?? []),
    },
    signal,
    out: {
      warn: (m: string) => {
        w.warnings.push(m);
      },
      info: (m: string) => {
        w.infos.push(m);
      },
    },
  } as unknown as Parameters<typeof takeCacheDisk>[0];
}

const BASE = 'tb-test-acng.qcow2';
const request = (over: Partial<CacheDiskRequest> = {}): CacheDiskRequest => ({
  vm: vmIdentity('/work/checkout-a', '/cache'),
  baseVolume: BASE,
  disks: 2,
  waitMs: 60_000,
  pollMs: 5,
  report: () => undefined,
  ...over,
});

describe('cacheDiskVolume and its lock', () => {
  it('names the pool: the first disk keeps the base name, the others get -2, -3…', () => {
    assert.equal(cacheDiskVolume('tails-build-apt-cacher-ng.qcow2', 0), 'tails-build-apt-cacher-ng.qcow2');
    assert.equal(cacheDiskVolume('tails-build-apt-cacher-ng.qcow2', 1), 'tails-build-apt-cacher-ng-2.qcow2');
    assert.equal(cacheDiskVolume('tails-build-apt-cacher-ng.qcow2', 2), 'tails-build-apt-cacher-ng-3.qcow2');
    assert.equal(cacheDiskLock('tails-build-apt-cacher-ng-2.qcow2'), 'cache-disk-tails-build-apt-cacher-ng-2.qcow2');
  });
});

describe('takeCacheDisk', () => {
  it('two builds at once get two different disks, each created once; the check and the attach happen under the disk lock', async () => {
    const w = world();
    const d = deps(w);
    const [a, b] = await Promise.all([takeCacheDisk(d, request()), takeCacheDisk(d, request({ vm: vmIdentity('/work/checkout-b', '/cache') }))]);
    assert.deepEqual([a.volume, b.volume].sort(), ['tb-test-acng-2.qcow2', BASE]);
    assert.deepEqual(w.created.sort(), ['tb-test-acng-2.qcow2', BASE]);
    // Each lock is held until the build releases it (its VM gone).
    assert.deepEqual([...w.held.keys()].sort(), [cacheDiskLock('tb-test-acng-2.qcow2'), cacheDiskLock(BASE)]);
    await a.release();
    await b.release();
    assert.equal(w.held.size, 0);
  });

  it('a third build waits while both disks are held, says by whom, and takes the first disk freed', async () => {
    const w = world([BASE, 'tb-test-acng-2.qcow2']);
    const d = deps(w);
    const a = await takeCacheDisk(d, request());
    const b = await takeCacheDisk(d, request());
    const lines: string[] = [];
    const third = takeCacheDisk(d, request({ report: (l) => lines.push(l) }));
    for (let i = 0; i < 50 && lines.length === 0; i += 1) await new Promise((r) => setTimeout(r, 5));
    assert.match(lines[0] ?? '', /^waiting for a cache disk: tb-test-acng\.qcow2: held by tails-build iso \(pid 4242, since 2026-11-29T12:00:00Z\); tb-test-acng-2\.qcow2: held by .*TAILS_BUILD_CACHE_DISKS=2; one build per disk/);
    await b.release();
    const c = await third;
    assert.equal(c.volume, 'tb-test-acng-2.qcow2');
    assert.equal(c.index, 1);
    assert.equal(lines.length, 1, 'announced once while nothing changed');
    await a.release();
    await c.release();
  });

  it('skips a disk attached to a kept VM (no lock, still running) and never attaches it twice', async () => {
    const w = world([BASE, 'tb-test-acng-2.qcow2']);
    w.attached.set(`/pool/${BASE}`, ['tails-build-kept-default']);
    const got = await takeCacheDisk(deps(w), request());
    assert.equal(got.volume, 'tb-test-acng-2.qcow2');
    assert.deepEqual([...w.held.keys()], [cacheDiskLock('tb-test-acng-2.qcow2')], 'the kept disk lock was released again');
  });

  it('every disk attached to kept VMs: builds without a cache, says why and what to run', async () => {
    const w = world([BASE, 'tb-test-acng-2.qcow2']);
    w.attached.set(`/pool/${BASE}`, ['tails-build-a-default']);
    w.attached.set('/pool/tb-test-acng-2.qcow2', ['tails-build-b-default']);
    const got = await takeCacheDisk(deps(w), request());
    assert.equal(got.volume, null);
    assert.match(got.why ?? '', /all 2 cache disk\(s\) are attached to kept VMs \(tb-test-acng\.qcow2 is attached to the kept VM tails-build-a-default; /);
    assert.match(w.warnings[0] ?? '', /runs without a cache .*tails-build vm destroy.* TAILS_BUILD_CACHE_DISKS/);
    assert.equal(w.held.size, 0);
  });

  it('a reused kept VM keeps the disk it has attached, even the second one', async () => {
    const vm = vmIdentity('/work/checkout-a', '/cache');
    const w = world([BASE, 'tb-test-acng-2.qcow2']);
    w.attached.set('/pool/tb-test-acng-2.qcow2', [vm.domain]);
    const got = await takeCacheDisk(deps(w), request({ vm, attached: 'tb-test-acng-2.qcow2' }));
    assert.equal(got.volume, 'tb-test-acng-2.qcow2');
    const none = await takeCacheDisk(deps(world()), request({ vm, attached: null }));
    assert.equal(none.volume, null);
  });

  it('an interrupt ends the wait for a disk at once, even mid-sleep between tries: InterruptedError, no disk lock taken', async () => {
    const w = world([BASE, 'tb-test-acng-2.qcow2']);
    const a = await takeCacheDisk(deps(w), request());
    const b = await takeCacheDisk(deps(w), request());
    const interrupt = new AbortController();
    const lines: string[] = [];
    // A poll far longer than the test: only the signal can end the sleep between tries.
    const third = takeCacheDisk(deps(w, 'tails-build iso', interrupt.signal), request({ pollMs: 600_000, report: (l) => lines.push(l) }));
    for (let i = 0; i < 200 && lines.length === 0; i += 1) await new Promise((r) => setTimeout(r, 5));
    assert.match(lines[0] ?? '', /^waiting for a cache disk: /);
    const abortedAt = Date.now();
    interrupt.abort('SIGINT');
    const late = new Promise<never>((_, reject) => setTimeout(() => { reject(new Error('still waiting 5 s after the interrupt')); }, 5000).unref());
    await assert.rejects(Promise.race([third, late]), (error: unknown) => error instanceof InterruptedError && /^Interrupted by SIGINT/.test(error.message));
    assert.ok(Date.now() - abortedAt < 1000, 'rejected at once');
    await a.release();
    await b.release();
    assert.equal(w.held.size, 0, 'the interrupted build took no disk lock');
    // Interrupted before it starts: no lock is even tried, although both disks are free.
    await assert.rejects(takeCacheDisk(deps(w, 'tails-build iso', interrupt.signal), request()), InterruptedError);
    assert.equal(w.held.size, 0);
    assert.deepEqual(w.created, []);
  });

  it('gives up after the wait with an error naming the holders and the settings to change', async () => {
    const w = world([BASE]);
    const d = deps(w);
    const a = await takeCacheDisk(d, request({ disks: 1 }));
    await assert.rejects(takeCacheDisk(d, request({ disks: 1, waitMs: 20 })), (error: Error & { code?: string; hint?: string }) => {
      assert.equal(error.code, 'cache-disks-busy');
      assert.match(error.message, /waiting for an apt-cacher-ng disk: tb-test-acng\.qcow2: held by tails-build iso \(pid 4242/);
      assert.match(error.hint ?? '', /TAILS_BUILD_CACHE_DISKS \(now 1\).*TAILS_BUILD_LOCK_TIMEOUT/);
      return true;
    });
    await a.release();
  });
});
