import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computeBaseboxName, parseBaseboxName } from '../../src/core/basebox.js';

describe('computeBaseboxName', () => {
  const table: [Parameters<typeof computeBaseboxName>[0], string][] = [
    [
      { prefix: 'tails-builder', arch: 'amd64', codename: 'bookworm', date: '20240902', shortId: 'f5bd6a877e9' },
      'tails-builder-amd64-bookworm-20240902-f5bd6a877e9',
    ],
    [
      { prefix: 'tails-builder', arch: 'arm64', codename: 'trixie', date: '20260209', shortId: 'abcdef1' },
      'tails-builder-arm64-trixie-20260209-abcdef1',
    ],
    [{ prefix: 'my-box', arch: 'amd64', codename: 'bookworm', date: '20261122', shortId: '0123456789ab' }, 'my-box-amd64-bookworm-20261122-0123456789ab'],
  ];
  for (const [parts, expected] of table) {
    it(`names ${expected}`, () => {
      assert.equal(computeBaseboxName(parts).name, expected);
    });
  }
});

describe('parseBaseboxName', () => {
  it('round-trips a Tails name', () => {
    const parsed = parseBaseboxName('tails-builder-amd64-bookworm-20240902-f5bd6a877e9', 'tails-builder');
    assert.deepEqual(parsed, {
      name: 'tails-builder-amd64-bookworm-20240902-f5bd6a877e9',
      prefix: 'tails-builder',
      arch: 'amd64',
      codename: 'bookworm',
      date: '20240902',
      shortId: 'f5bd6a877e9',
    });
  });
  const rejects = ['tails-builder-amd64-bookworm-2024090-f5bd6a8', 'other-amd64-bookworm-20240902-f5bd6a8', 'tails-builder-amd64-20240902-f5bd6a8', 'tails-builder-amd64-bookworm-20240902-XYZ'];
  for (const name of rejects) {
    it(`rejects ${name}`, () => {
      assert.equal(parseBaseboxName(name, 'tails-builder'), undefined);
    });
  }
});
