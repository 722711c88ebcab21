import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assessExpiry, field, parseReleaseFile, parseRfc2822Date, stripClearsign } from '../../src/core/release-file.js';
import { inReleaseText, releaseText } from '../helpers/snapshot-server.js';

describe('parseRfc2822Date', () => {
  const table: [string, string | undefined][] = [
    ['Sat, 12 Oct 2024 08:00:00 UTC', '2024-10-12T08:00:00.000Z'],
    ['Sat, 12 Oct 2024 08:00:00 GMT', '2024-10-12T08:00:00.000Z'],
    ['Sat, 12 Oct 2024 08:00:00 +0000', '2024-10-12T08:00:00.000Z'],
    ['Sat, 12 Oct 2024 10:00:00 +0200', '2024-10-12T08:00:00.000Z'],
    ['Fri, 11 Oct 2024 23:30:00 -0830', '2024-10-12T08:00:00.000Z'],
    ['12 Oct 2024 08:00:00 UTC', '2024-10-12T08:00:00.000Z'],
    ['Tue, 1 Apr 2025 00:00 UTC', '2025-04-01T00:00:00.000Z'],
    ['Sat, 31 Feb 2024 08:00:00 UTC', undefined],
    ['Sat, 12 Foo 2024 08:00:00 UTC', undefined],
    ['2024-10-12T08:00:00Z', undefined],
    ['Sat, 12 Oct 2024 25:00:00 UTC', undefined],
    ['', undefined],
  ];
  for (const [text, expected] of table) {
    it(JSON.stringify(text), () => { assert.equal(parseRfc2822Date(text)?.toISOString(), expected); });
  }
});

describe('stripClearsign', () => {
  it('returns the signed text, dash-escaping undone', () => {
    const text = '-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nOrigin: Debian\n- -----not armour\n-----BEGIN PGP SIGNATURE-----\n\nabc\n-----END PGP SIGNATURE-----\n';
    assert.equal(stripClearsign(text), 'Origin: Debian\n-----not armour');
  });
  it('leaves an unsigned Release alone', () => { assert.equal(stripClearsign('Origin: Debian\n'), 'Origin: Debian\n'); });
});

describe('parseReleaseFile', () => {
  const args = { suite: 'bookworm-security', codename: 'bookworm', date: 'Sat, 12 Oct 2024 08:00:00 UTC', validUntil: 'Sat, 19 Oct 2024 08:00:00 UTC' };

  it('reads an InRelease: fields, Date, Valid-Until', () => {
    const release = parseReleaseFile(inReleaseText(args));
    assert.equal(release.fields.Suite, 'bookworm-security');
    assert.equal(release.fields.Codename, 'bookworm');
    assert.equal(release.date?.toISOString(), '2024-10-12T08:00:00.000Z');
    assert.equal(release.validUntil?.toISOString(), '2024-10-19T08:00:00.000Z');
    assert.match(release.fields.SHA256 ?? '', /^\n3957f28d/);
    assert.equal(release.fields['-----BEGIN PGP SIGNATURE-----'], undefined);
  });

  it('reads a Release without Valid-Until', () => {
    const release = parseReleaseFile(releaseText({ suite: args.suite, codename: args.codename, date: args.date }));
    assert.equal(release.validUntil, undefined);
    assert.equal(release.date?.toISOString(), '2024-10-12T08:00:00.000Z');
  });

  it('looks fields up case-insensitively', () => { assert.equal(field({ 'Valid-Until': 'x' }, 'valid-until'), 'x'); });

  it('handles CRLF', () => { assert.equal(parseReleaseFile('Date: Sat, 12 Oct 2024 08:00:00 UTC\r\nSuite: x\r\n').fields.Suite, 'x'); });
});

describe('assessExpiry', () => {
  const now = new Date('2024-10-12T08:00:00Z');
  const table: [string, Date | undefined, number, { ok: boolean; daysLeft: number | undefined }][] = [
    ['no Valid-Until never expires', undefined, 30, { ok: true, daysLeft: undefined }],
    ['45 days left, 30 asked', new Date('2024-11-26T08:00:00Z'), 30, { ok: true, daysLeft: 45 }],
    ['exactly 30 days', new Date('2024-11-11T08:00:00Z'), 30, { ok: true, daysLeft: 30 }],
    ['29.9 days', new Date('2024-11-11T06:00:00Z'), 30, { ok: false, daysLeft: 29 }],
    ['already expired', new Date('2024-10-02T08:00:00Z'), 30, { ok: false, daysLeft: -10 }],
    ['expired, 0 days asked', new Date('2024-10-12T07:00:00Z'), 0, { ok: false, daysLeft: -1 }],
  ];
  for (const [name, until, days, expected] of table) it(name, () => { assert.deepEqual(assessExpiry(until, now, days), expected); });
});
