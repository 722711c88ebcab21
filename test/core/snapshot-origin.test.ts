import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ArchiveOrigin } from '../../src/core/project.js';
import {
  latestSerialUrls,
  monthListingUrls,
  parseLatestSerial,
  parseMonthListing,
  parseTraceSerial,
  releaseFileUrls,
  snapshotUrl,
  traceUrl,
} from '../../src/core/snapshot-origin.js';
import { monthListingHtml, traceText } from '../helpers/snapshot-server.js';

const tails: ArchiveOrigin = { baseUrl: 'http://time-based.snapshots.deb.tails.boum.org/', layout: 'tails', suite: 'bookworm' };
const debian: ArchiveOrigin = { baseUrl: 'https://snapshot.debian.org/', layout: 'debian', suite: 'bookworm-security' };

describe('URL builders', () => {
  const table: [string, string, string][] = [
    ['tails snapshot', snapshotUrl(tails, 'debian', '2024101502'), 'http://time-based.snapshots.deb.tails.boum.org/debian/2024101502/'],
    ['tails trace', traceUrl(tails, 'debian-security'), 'http://time-based.snapshots.deb.tails.boum.org/debian-security/project/trace/debian-security'],
    ['tails InRelease', releaseFileUrls(tails, 'debian', '2024101502')[0], 'http://time-based.snapshots.deb.tails.boum.org/debian/2024101502/dists/bookworm/InRelease'],
    ['tails Release', releaseFileUrls(tails, 'debian', '2024101502')[1], 'http://time-based.snapshots.deb.tails.boum.org/debian/2024101502/dists/bookworm/Release'],
    ['debian snapshot', snapshotUrl(debian, 'debian-security', '20241015T022531Z'), 'https://snapshot.debian.org/archive/debian-security/20241015T022531Z/'],
    [
      'debian InRelease',
      releaseFileUrls(debian, 'debian-security', '20241015T022531Z')[0],
      'https://snapshot.debian.org/archive/debian-security/20241015T022531Z/dists/bookworm-security/InRelease',
    ],
  ];
  for (const [name, actual, expected] of table) it(name, () => { assert.equal(actual, expected); });

  it('month listings: this month, then the previous one', () => {
    assert.deepEqual(monthListingUrls(debian, 'debian', new Date('2024-10-15T12:00:00Z')), [
      'https://snapshot.debian.org/archive/debian/?year=2024&month=10',
      'https://snapshot.debian.org/archive/debian/?year=2024&month=9',
    ]);
    assert.deepEqual(monthListingUrls(debian, 'debian', new Date('2025-01-01T00:10:00Z')), [
      'https://snapshot.debian.org/archive/debian/?year=2025&month=1',
      'https://snapshot.debian.org/archive/debian/?year=2024&month=12',
    ]);
  });

  it('latest-serial URLs per layout', () => {
    const now = new Date('2024-10-15T12:00:00Z');
    assert.deepEqual(latestSerialUrls(tails, 'tails', now), ['http://time-based.snapshots.deb.tails.boum.org/tails/project/trace/tails']);
    assert.equal(latestSerialUrls(debian, 'debian', now).length, 2);
  });
});

describe('parseTraceSerial', () => {
  const table: [string, string | undefined][] = [
    [traceText('2024101502'), '2024101502'],
    ['Archive serial: 2024101502', '2024101502'],
    ['Archive serial:   2024101502  \n', '2024101502'],
    ['Date: x\n', undefined],
    ['Archive serial: 20241015\n', undefined],
    ['Archive serial: latest\n', undefined],
    ['', undefined],
  ];
  for (const [text, expected] of table) it(JSON.stringify(text.slice(0, 40)), () => { assert.equal(parseTraceSerial(text), expected); });
});

describe('parseMonthListing', () => {
  it('picks the greatest timestamp link, whatever the order', () => { assert.equal(parseMonthListing(monthListingHtml('debian', ['20241001T022531Z', '20241015T204612Z', '20241003T084512Z'])), '20241015T204612Z'); });
  it('accepts links with a path', () => { assert.equal(parseMonthListing('<a href="/archive/debian/20241001T022531Z/">x</a>'), '20241001T022531Z'); });
  it('ignores other links', () => { assert.equal(parseMonthListing('<a href="../">up</a><a href="20241001/">x</a>'), undefined); });
  it('dispatches per layout', () => {
    assert.equal(parseLatestSerial(tails, traceText('2024101502')), '2024101502');
    assert.equal(parseLatestSerial(debian, monthListingHtml('debian', ['20241001T022531Z'])), '20241001T022531Z');
  });
});
