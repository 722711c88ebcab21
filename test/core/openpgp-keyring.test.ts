import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { crc24, isDebianUserId, readKeyringContents, toBinaryKeyring } from '../../src/core/openpgp-keyring.js';
import { armor } from '../helpers/openpgp-armor.js';

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

describe('toBinaryKeyring', () => {
  const bookworm = new Uint8Array(readFileSync('/usr/share/keyrings/debian-archive-bookworm-stable.gpg'));
  const automatic = new Uint8Array(readFileSync('/usr/share/keyrings/debian-archive-bookworm-automatic.gpg'));
  const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

  it('CRC-24 is OpenPGP\'s (the check value of "123456789")', () => {
    assert.equal(crc24(encode('123456789')), 0x21cf02);
  });

  it('a binary keyring is taken as it is', () => {
    const result = toBinaryKeyring(bookworm);
    assert.ok(result.form === 'binary', JSON.stringify(result));
    assert.deepEqual(result.bytes, bookworm);
    assert.equal(result.keys, 1);
  });

  it('armored certificates, concatenated (with armor headers and CRLF), are dearmored into one binary keyring', () => {
    const text = armor(bookworm, ['Comment: the stable release key']) + 'text between blocks\n' + armor(automatic).replace(/\n/g, '\r\n');
    const result = toBinaryKeyring(encode(text));
    assert.ok(result.form === 'armored', JSON.stringify(result));
    assert.deepEqual(result.bytes, new Uint8Array([...bookworm, ...automatic]));
    assert.equal(result.keys, 2);
    assert.ok(result.userIds.every(isDebianUserId), result.userIds.join('\n'));
  });

  it('a damaged armored block, a text without a key, an empty file: invalid, saying why', () => {
    const good = armor(bookworm);
    const lines = good.split('\n');
    const damaged = [...lines.slice(0, 3), lines[3]!.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')), ...lines.slice(4)].join('\n');
    assert.deepEqual(toBinaryKeyring(encode(damaged)), { form: 'invalid', reason: 'armored block 1: its CRC-24 checksum does not match (a damaged file)' });
    assert.deepEqual(toBinaryKeyring(encode('-----BEGIN PGP MESSAGE-----\nabc\n-----END PGP MESSAGE-----\n')), { form: 'invalid', reason: 'no "BEGIN PGP PUBLIC KEY BLOCK" armor in it' });
    assert.deepEqual(toBinaryKeyring(encode('not a key\n')), { form: 'invalid', reason: 'no OpenPGP packet at byte 0' });
    assert.deepEqual(toBinaryKeyring(new Uint8Array()), { form: 'invalid', reason: 'it holds no public key' });
  });
});
