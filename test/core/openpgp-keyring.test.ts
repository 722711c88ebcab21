import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { isDebianUserId, readKeyringContents } from '../../src/core/openpgp-keyring.js';

describe('readKeyringContents', () => {
  it("Debian's archive keyring (the real file): its keys and their Debian user IDs", () => {
    const contents = readKeyringContents(new Uint8Array(readFileSync('/usr/share/keyrings/debian-archive-keyring.gpg')));
    assert.ok(contents.kind === 'keys', JSON.stringify(contents));
    assert.ok(contents.keys >= 3, String(contents.keys));
    assert.ok(contents.userIds.includes('Debian Archive Automatic Signing Key (12/bookworm) <ftpmaster@debian.org>'), contents.userIds.join('\n'));
    assert.ok(contents.userIds.every(isDebianUserId), contents.userIds.join('\n'));
  });

  it('an empty file holds no keys', () => {
    assert.deepEqual(readKeyringContents(new Uint8Array()), { kind: 'keys', keys: 0, userIds: [] });
  });

  it('an armored key or text is not a binary keyring', () => {
    const armored = new TextEncoder().encode('-----BEGIN PGP PUBLIC KEY BLOCK-----\n');
    assert.deepEqual(readKeyringContents(armored), { kind: 'not-a-keyring', reason: 'no OpenPGP packet at byte 0' });
  });

  it('a truncated keyring is not a keyring', () => {
    const whole = new Uint8Array(readFileSync('/usr/share/keyrings/debian-archive-bookworm-stable.gpg'));
    const contents = readKeyringContents(whole.subarray(0, whole.length - 10));
    assert.equal(contents.kind, 'not-a-keyring');
  });

  it('new-format packets: a public key and a user ID', () => {
    const uid = new TextEncoder().encode('Debian Test <x@debian.org>');
    const bytes = new Uint8Array([0xc6, 3, 4, 0, 0, 0xcd, uid.length, ...uid]);
    assert.deepEqual(readKeyringContents(bytes), { kind: 'keys', keys: 1, userIds: ['Debian Test <x@debian.org>'] });
  });
});

describe('isDebianUserId', () => {
  const rows: readonly [string, boolean][] = [
    ['Debian Archive Automatic Signing Key (12/bookworm) <ftpmaster@debian.org>', true],
    ['Debian Stable Release Key (12/bookworm) <debian-release@lists.debian.org>', true],
    ['Throwaway <t@example.org>', false],
    ['Debian impostor <me@example.org>', false],
  ];
  for (const [id, debian] of rows) it(id, () => { assert.equal(isDebianUserId(id), debian); });
});
