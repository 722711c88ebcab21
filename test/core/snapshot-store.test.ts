import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDeb822Sources, parseOneLineSources } from '../../src/adapters/apt-sources.js';
import { UserError } from '../../src/core/errors.js';
import { findHostUpstream, parseSha256sums, planNextSerial, renderSha256sums, routeStoreRequest, storePaths } from '../../src/core/snapshot-store.js';

const NOW = new Date('2026-11-21T23:59:00Z');

describe('planNextSerial', () => {
  const cases: [string[], string][] = [
    [[], '2026112101'],
    [['2026112001', '2026112002'], '2026112101'],
    [['2026112101'], '2026112102'],
    [['2026112109', '2026112103'], '2026112110'],
    [['not-a-serial', '20261121'], '2026112101'],
  ];
  for (const [existing, expected] of cases) {
    it(`${JSON.stringify(existing)} -> ${expected}`, () => {
      assert.equal(planNextSerial(existing, NOW), expected);
    });
  }
  it('refuses a 100th serial in a day', () => {
    assert.throws(() => planNextSerial(['2026112199'], NOW), (e) => e instanceof UserError && e.code === 'store-serials-exhausted');
  });
});

describe('routeStoreRequest', () => {
  const cases: [string, unknown][] = [
    ['/debian/project/trace/debian', { kind: 'trace', archive: 'debian' }],
    ['/debian/project/trace/other', { kind: 'not-found' }],
    ['/debian/2026112101/SHA256SUMS', { kind: 'sha256sums', archive: 'debian', serial: '2026112101' }],
    ['/debian/2026112101/dists/bookworm/InRelease', { kind: 'dists', archive: 'debian', serial: '2026112101', suite: 'bookworm', path: 'InRelease' }],
    [
      '/debian/2026112101/dists/bookworm/main/binary-amd64/by-hash/SHA256/ab',
      { kind: 'dists', archive: 'debian', serial: '2026112101', suite: 'bookworm', path: 'main/binary-amd64/by-hash/SHA256/ab' },
    ],
    ['/debian/2026112101/pool/main/g/gcc/g%2B%2B_12_amd64.deb', { kind: 'pool', archive: 'debian', serial: '2026112101', path: 'pool/main/g/gcc/g++_12_amd64.deb' }],
    ['/debian/2026112101/pool/main/../../../etc/passwd', { kind: 'not-found' }],
    ['/debian/2026112101/pool/main/%2e%2e/x', { kind: 'not-found' }],
    ['/debian/latest/dists/bookworm/InRelease', { kind: 'not-found' }],
    ['/debian//2026112101/dists/bookworm/InRelease', { kind: 'not-found' }],
    ['/debian/2026112101/dists/bookworm', { kind: 'not-found' }],
    ['/%zz', { kind: 'not-found' }],
  ];
  for (const [path, expected] of cases) {
    it(path, () => {
      assert.deepEqual(routeStoreRequest(path), expected);
    });
  }
});

describe('SHA256SUMS', () => {
  const a = 'a'.repeat(64);
  const b = 'b'.repeat(64);
  it('renders sorted by suite and parses back', () => {
    const text = renderSha256sums({ 'bookworm-updates': b, bookworm: a });
    assert.equal(text, `${a}  dists/bookworm/InRelease\n${b}  dists/bookworm-updates/InRelease\n`);
    assert.deepEqual(parseSha256sums(text), { bookworm: a, 'bookworm-updates': b });
  });
  it('rejects anything else', () => {
    for (const bad of ['', `${a}  dists/bookworm/Release\n`, `${a.slice(1)}  dists/x/InRelease\n`, 'garbage\n']) assert.equal(parseSha256sums(bad), undefined, bad);
  });
});

describe('store paths', () => {
  it('keeps pool files once per archive, serials apart', () => {
    assert.equal(storePaths.pool('debian', 'pool/main/h/hello/hello_1_amd64.deb'), 'debian/pool/main/h/hello/hello_1_amd64.deb');
    assert.equal(storePaths.inRelease('debian', '2026112101', 'bookworm'), 'debian/2026112101/dists/bookworm/InRelease');
    assert.equal(storePaths.trace('debian-security'), 'debian-security/project/trace/debian-security');
  });
});

describe('host apt sources', () => {
  it('parses one-line and deb822 sources, skipping deb-src, comments and disabled stanzas', () => {
    const oneLine = parseOneLineSources(
      '# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://ftp.fr.debian.org/debian bookworm main contrib\ndeb-src http://x/debian bookworm main\ndeb http://security.debian.org/debian-security bookworm-security main # tail\n',
    );
    assert.deepEqual(oneLine, [
      { uri: 'http://ftp.fr.debian.org/debian', suites: ['bookworm'], components: ['main', 'contrib'] },
      { uri: 'http://security.debian.org/debian-security', suites: ['bookworm-security'], components: ['main'] },
    ]);
    const deb822 = parseDeb822Sources(
      'Types: deb\n# http://snapshot.debian.org/archive/debian/20250520T000000Z\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\nTypes: deb-src\nURIs: http://x/\nSuites: y\n\nTypes: deb\nEnabled: no\nURIs: http://off/\nSuites: bookworm\n',
    );
    assert.deepEqual(deb822, [{ uri: 'http://deb.debian.org/debian', suites: ['bookworm', 'bookworm-updates'], components: ['main'] }]);
    assert.equal(findHostUpstream([...oneLine, ...deb822], 'bookworm-updates'), 'http://deb.debian.org/debian/');
    assert.equal(findHostUpstream(oneLine, 'bookworm'), 'http://ftp.fr.debian.org/debian/');
    assert.equal(findHostUpstream(oneLine, 'trixie'), undefined);
  });
});
