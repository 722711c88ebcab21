import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  GUEST_SNAPSHOT_BASE_URL,
  isLoopbackUrl,
  parseTailsSettings,
  resolveArchiveOrigin,
  resolveGuestBaseUrl,
  resolveMirrorSource,
  resolveProjectConfig,
  TAILS_SNAPSHOT_BASE_URL,
  withLoopbackSnapshotsAt,
  type ObservedProject,
} from '../../src/core/project.js';

const ours: ObservedProject = { root: '/p', hasTailsBoxDefinition: false, tailsSettings: undefined, configText: undefined };
const tails: ObservedProject = {
  root: '/t',
  hasTailsBoxDefinition: true,
  tailsSettings: "ARCHITECTURE = 'amd64'.freeze\nDISTRIBUTION = 'trixie'.freeze\n",
  configText: undefined,
};

describe('resolveProjectConfig', () => {
  it('defaults to this tool’s layout', () => {
    const c = resolveProjectConfig(ours);
    assert.equal(c.kind, 'tails-build');
    assert.equal(c.boxDefinitionDir, 'definitions/builder');
    assert.deepEqual(c.serialDirs, { builder: 'definitions/builder/APT_snapshots.d', iso: 'definitions/iso/APT_snapshots.d' });
    assert.equal(c.snapshots.baseUrl, 'http://127.0.0.1:8470/');
    assert.equal(c.snapshots.guestBaseUrl, GUEST_SNAPSHOT_BASE_URL);
    assert.equal(`${c.arch}/${c.codename}`, 'amd64/bookworm');
  });
  it('recognises a Tails checkout and its settings without config', () => {
    const c = resolveProjectConfig(tails);
    assert.equal(c.kind, 'tails');
    assert.equal(c.boxDefinitionDir, 'vagrant/definitions/tails-builder');
    assert.deepEqual(c.serialDirs, { builder: 'vagrant/definitions/tails-builder/config/APT_snapshots.d', iso: 'config/APT_snapshots.d' });
    assert.equal(c.codename, 'trixie');
    assert.equal(c.snapshots.baseUrl, TAILS_SNAPSHOT_BASE_URL);
    assert.equal(c.snapshots.guestBaseUrl, TAILS_SNAPSHOT_BASE_URL);
  });
  it('lets tails-build.json override every path and the snapshot origin', () => {
    const c = resolveProjectConfig({
      ...ours,
      configText: JSON.stringify({
        boxDefinitionDir: './box/',
        builderSerialsDir: 'box/serials',
        isoSerialsDir: 'iso/serials',
        codename: 'trixie',
        snapshots: { baseUrl: 'https://snap.example/x', layout: 'debian', archives: { torproject: { upstream: 'https://deb.torproject.org/torproject.org', suites: ['trixie'] } } },
      }),
    });
    assert.equal(c.boxDefinitionDir, 'box');
    assert.equal(c.serialDirs.builder, 'box/serials');
    assert.equal(c.snapshots.baseUrl, 'https://snap.example/x/');
    assert.equal(c.snapshots.layout, 'debian');
    assert.equal(c.configFile, 'tails-build.json');
  });
  const bad: [string, RegExp][] = [
    ['{', /not valid JSON/],
    ['[]', /must hold a JSON object/],
    ['{"boxDir":"x"}', /unknown key "boxDir"/],
    ['{"boxDefinitionDir":"../x"}', /must be a path inside the project/],
    ['{"boxDefinitionDir":"/abs"}', /must be a path inside the project/],
    ['{"arch":""}', /"arch" must be a non-empty string/],
    ['{"snapshots":{"baseUrl":"ftp://x"}}', /"snapshots.baseUrl" must be an http\(s\) URL/],
    ['{"snapshots":{"layout":"ubuntu"}}', /"snapshots.layout" must be "tails" or "debian"/],
    ['{"snapshots":{"archives":{"debian":{"mirror":"x"}}}}', /unknown key "snapshots.archives.debian.mirror"/],
    ['{"snapshots":{"archives":{"debian":{"suites":[]}}}}', /"snapshots.archives.debian.suites" must be a non-empty list/],
  ];
  for (const [text, pattern] of bad) {
    it(`rejects ${text}`, () => {
      assert.throws(() => resolveProjectConfig({ ...ours, configText: text }), (e: Error) => pattern.test(e.message) && /tails-build\.json/.test(e.message));
    });
  }
});

describe('resolveArchiveOrigin', () => {
  it('derives the suite and honours --base-url', () => {
    const c = resolveProjectConfig(ours);
    assert.deepEqual(resolveArchiveOrigin(c, 'debian'), { baseUrl: 'http://127.0.0.1:8470/', layout: 'tails', suite: 'bookworm' });
    assert.equal(resolveArchiveOrigin(c, 'debian-security').suite, 'bookworm-security');
    assert.equal(resolveArchiveOrigin(c, 'debian', 'http://other:1').baseUrl, 'http://other:1/');
  });
});

describe('withLoopbackSnapshotsAt', () => {
  it('moves every loopback base URL (the default and an archive\'s own) to a private server, and leaves remote ones', () => {
    const c = resolveProjectConfig({
      ...ours,
      configText: JSON.stringify({ snapshots: { baseUrl: 'http://127.0.0.1:8471/', archives: { 'debian-security': { baseUrl: 'http://127.0.0.1:8471/' }, tails: { baseUrl: 'https://tagged.example/' } } } }),
    });
    const moved = withLoopbackSnapshotsAt(c, 'http://127.0.0.1:40123');
    assert.equal(resolveArchiveOrigin(moved, 'debian').baseUrl, 'http://127.0.0.1:40123/');
    assert.equal(resolveArchiveOrigin(moved, 'debian-security').baseUrl, 'http://127.0.0.1:40123/');
    assert.equal(resolveArchiveOrigin(moved, 'tails').baseUrl, 'https://tagged.example/');
    assert.equal(moved.snapshots.guestBaseUrl, c.snapshots.guestBaseUrl);
  });
});

describe('resolveMirrorSource', () => {
  const c = resolveProjectConfig(ours);
  it('knows Debian and its security archive', () => {
    assert.deepEqual(resolveMirrorSource(c, 'debian'), {
      upstream: 'http://deb.debian.org/debian/',
      suites: ['bookworm', 'bookworm-updates'],
      components: ['main'],
      architectures: ['amd64'],
    });
    assert.deepEqual(resolveMirrorSource(c, 'debian-security')?.suites, ['bookworm-security']);
  });
  it('prefers the host’s apt mirror over the default, and config over both', () => {
    assert.equal(resolveMirrorSource(c, 'debian', 'http://mirror.local/debian')?.upstream, 'http://mirror.local/debian/');
    const configured = resolveProjectConfig({ ...ours, configText: '{"snapshots":{"archives":{"debian":{"upstream":"http://cfg/debian/"}}}}' });
    assert.equal(resolveMirrorSource(configured, 'debian', 'http://mirror.local/debian')?.upstream, 'http://cfg/debian/');
  });
  it('has no upstream for an archive only the project knows', () => {
    assert.equal(resolveMirrorSource(c, 'torproject'), undefined);
  });
});

describe('guest base URL and loopback', () => {
  it('maps a loopback snapshot server to the name provisioning resolves', () => {
    const c = resolveProjectConfig(ours);
    assert.equal(resolveGuestBaseUrl(c, 'debian'), GUEST_SNAPSHOT_BASE_URL);
  });
  const table: [string, boolean][] = [
    ['http://127.0.0.1:8470/', true],
    ['http://127.1.2.3/', true],
    ['http://localhost/', true],
    ['http://[::1]:80/', true],
    ['http://user@localhost:1/', true],
    ['http://deb.debian.org/debian', false],
    ['http://10.0.2.2:3142', false],
  ];
  for (const [url, expected] of table) {
    it(`${url} ${expected ? 'is' : 'is not'} loopback`, () => {
      assert.equal(isLoopbackUrl(url), expected);
    });
  }
});

describe('parseTailsSettings', () => {
  it('reads frozen constants with either quote', () => {
    assert.deepEqual(parseTailsSettings(`ARCHITECTURE = "arm64".freeze\n  DISTRIBUTION = 'trixie'.freeze`), { arch: 'arm64', codename: 'trixie' });
    assert.deepEqual(parseTailsSettings('# nothing'), {});
  });
});
