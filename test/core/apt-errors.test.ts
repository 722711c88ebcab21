import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyAptFailure } from '../../src/core/apt-errors.js';

describe('classifyAptFailure', () => {
  const table: [string, string, RegExp | undefined][] = [
    [
      'a tampered pool file',
      'E: Failed to fetch http://127.0.0.1:8470/debian/2026112201/pool/main/b/base-files/base-files_12.4%2bdeb12u12_amd64.deb  Hash Sum mismatch\n   Hashes of expected file:',
      /apt refused the frozen snapshot: http:\/\/127\.0\.0\.1:8470\/debian\/2026112201\/pool\/main\/b\/base-files\/\S+ \(its hash or size/,
    ],
    [
      'a truncated index',
      'E: Failed to fetch http://127.0.0.1:8470/debian/2026112201/dists/bookworm/main/binary-amd64/by-hash/SHA256/abc  File has unexpected size (10 != 20). Mirror sync in progress? [IP: 127.0.0.1 8470]',
      /apt refused the frozen snapshot: \S+by-hash\/SHA256\/abc/,
    ],
    [
      'a tampered InRelease',
      'W: GPG error: http://127.0.0.1:8470/debian/2026112201 bookworm InRelease: The following signatures were invalid: BADSIG 6ED0E7B82643E131 Debian Archive Automatic Signing Key (12/bookworm) <ftpmaster@debian.org>\nE: The repository \'http://127.0.0.1:8470/debian/2026112201 bookworm InRelease\' is not signed.',
      /apt refused the frozen snapshot: the InRelease signature \(The following signatures were invalid/,
    ],
    ['a package gone upstream', 'E: Failed to fetch http://127.0.0.1:8470/debian/2026112201/pool/main/x/x/x_1_amd64.deb  404  Not Found [IP: 127.0.0.1 8470]', /cannot provide http:\/\/127\.0\.0\.1:8470\/\S+x_1_amd64\.deb/],
    ['anything else', 'E: Unable to locate package frobnicate', undefined],
  ];
  for (const [name, output, expected] of table) {
    it(name, () => {
      const error = classifyAptFailure(output);
      if (expected === undefined) assert.equal(error, undefined);
      else {
        assert.ok(error !== undefined);
        assert.match(error.message, expected);
        assert.ok(error.hint !== undefined && error.hint.length > 0);
      }
    });
  }
});
