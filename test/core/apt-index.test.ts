import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { byHashPath, isSafeRelativePath, parsePackagesIndex, parseReleaseIndex, resolveByHash, selectMirrorIndices } from '../../src/core/apt-index.js';

const H = (c: string): string => c.repeat(64);

const IN_RELEASE = `-----BEGIN PGP SIGNED MESSAGE-----
Hash: SHA256

Origin: Debian
Suite: stable
Codename: bookworm
Acquire-By-Hash: yes
No-Support-for-Architecture-all: Packages
Architectures: all amd64 arm64
Components: main contrib
MD5Sum:
 0123456789abcdef0123456789abcdef   100 main/binary-amd64/Packages
SHA256:
 ${H('a')}   100 main/binary-amd64/Packages
 ${H('b')}    40 main/binary-amd64/Packages.gz
 ${H('c')}    30 main/binary-amd64/Packages.xz
 ${H('d')}    20 main/binary-arm64/Packages.xz
 ${H('e')}    25 main/i18n/Translation-en.xz
 ${H('f')}    10 contrib/binary-amd64/Packages.xz
 ${H('1')}    10 main/binary-all/Packages.xz
 ${H('2')}    10 ../../etc/passwd
-----BEGIN PGP SIGNATURE-----

iQ==
-----END PGP SIGNATURE-----
`;

describe('parseReleaseIndex', () => {
  const release = parseReleaseIndex(IN_RELEASE);
  it('reads the SHA256 section only, dropping unsafe paths', () => {
    assert.equal(release.files.size, 7);
    assert.deepEqual(release.files.get('main/binary-amd64/Packages.xz'), { path: 'main/binary-amd64/Packages.xz', size: 30, sha256: H('c') });
    assert.equal(release.files.has('../../etc/passwd'), false);
    assert.equal(release.acquireByHash, true);
    assert.equal(release.noArchAllIndex, true);
    assert.deepEqual(release.architectures, ['all', 'amd64', 'arm64']);
  });
  it('selects the Packages indices (xz and gz) and English translations of the wanted components and arches', () => {
    assert.deepEqual(
      selectMirrorIndices(release, ['main'], ['amd64']).map((e) => e.path),
      ['main/binary-amd64/Packages.xz', 'main/binary-amd64/Packages.gz', 'main/i18n/Translation-en.xz'],
    );
    const withAll = parseReleaseIndex(IN_RELEASE.replace('No-Support-for-Architecture-all: Packages\n', ''));
    assert.ok(selectMirrorIndices(withAll, ['main'], ['amd64']).some((e) => e.path === 'main/binary-all/Packages.xz'));
  });
  it('resolves by-hash paths only in the directory of the listed file', () => {
    const entry = release.files.get('main/binary-amd64/Packages.gz')!;
    assert.equal(byHashPath(entry), `main/binary-amd64/by-hash/SHA256/${H('b')}`);
    assert.equal(resolveByHash(release, byHashPath(entry)), entry);
    assert.equal(resolveByHash(release, `main/binary-arm64/by-hash/SHA256/${H('b')}`), undefined);
    assert.equal(resolveByHash(release, 'main/binary-amd64/Packages.gz'), undefined);
  });
});

describe('parsePackagesIndex', () => {
  it('reads Filename, Size, SHA256, Package and Version of each stanza', () => {
    const text = `Package: hello\nVersion: 2.10-3\nDescription: x\n multi-line\nFilename: pool/main/h/hello/hello_2.10-3_amd64.deb\nSize: 53000\nSHA256: ${H('A')}\n\nPackage: broken\nFilename: pool/main/b/broken.deb\nSize: 1\n\nPackage: evil\nVersion: 1\nFilename: pool/../x.deb\nSize: 1\nSHA256: ${H('c')}\n\nPackage: last\nVersion: 1\nFilename: pool/main/l/last.deb\nSize: 2\nSHA256: ${H('d')}`;
    assert.deepEqual(parsePackagesIndex(text), [
      { filename: 'pool/main/h/hello/hello_2.10-3_amd64.deb', size: 53000, sha256: H('a'), package: 'hello', version: '2.10-3' },
      { filename: 'pool/main/l/last.deb', size: 2, sha256: H('d'), package: 'last', version: '1' },
    ]);
  });
});

describe('isSafeRelativePath', () => {
  for (const [path, ok] of [
    ['pool/main/a.deb', true],
    ['', false],
    ['/etc/passwd', false],
    ['a/../b', false],
    ['a//b', false],
    ['./a', false],
    ['a\\b', false],
  ] as const) {
    it(`${JSON.stringify(path)} -> ${ok}`, () => {
      assert.equal(isSafeRelativePath(path), ok);
    });
  }
});
