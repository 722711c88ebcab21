/** verify's pure part: how two artifact sets pair up, and what a published build report must say. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareArtifacts, parsePublishedBuild, type HashedFile } from '../../src/core/verify.js';

const h = (c: string): string => c.repeat(64);
const file = (name: string, sha: string): HashedFile => ({ name, bytes: 10, sha256: sha });

describe('compareArtifacts', () => {
  it('identical sets: every file identical, listed by name (sorted, whatever the order each build listed them in)', () => {
    const c = compareArtifacts([file('b.iso', h('1')), file('a.packages', h('2'))], [file('a.packages', h('2')), file('b.iso', h('1'))]);
    assert.deepEqual(c, {
      identical: true,
      files: [
        { name: 'a.packages', first: h('2'), second: h('2'), identical: true },
        { name: 'b.iso', first: h('1'), second: h('1'), identical: true },
      ],
    });
  });

  it('one differing file: not identical, that file names both hashes, the others stay identical', () => {
    const c = compareArtifacts([file('a.packages', h('2')), file('b.iso', h('1'))], [file('a.packages', h('2')), file('b.iso', h('9'))]);
    assert.equal(c.identical, false);
    assert.deepEqual(c.files.filter((f) => !f.identical), [{ name: 'b.iso', first: h('1'), second: h('9'), identical: false }]);
    assert.deepEqual(c.files.filter((f) => f.identical).map((f) => f.name), ['a.packages']);
  });

  it('a file only in one set: not identical, missing on the other side (either side)', () => {
    const extraFirst = compareArtifacts([file('a', h('1')), file('only-first', h('3'))], [file('a', h('1'))]);
    assert.equal(extraFirst.identical, false);
    assert.deepEqual(extraFirst.files[1], { name: 'only-first', first: h('3'), second: undefined, identical: false });
    const extraSecond = compareArtifacts([file('a', h('1'))], [file('a', h('1')), file('only-second', h('4'))]);
    assert.equal(extraSecond.identical, false);
    assert.deepEqual(extraSecond.files[1], { name: 'only-second', first: undefined, second: h('4'), identical: false });
  });

  it('two empty sets are not "identical": a build that wrote nothing proves nothing', () => {
    assert.deepEqual(compareArtifacts([], []), { identical: false, files: [] });
  });
});

const commit = 'a'.repeat(40);
const report = (over: Record<string, unknown> = {}): string =>
  JSON.stringify({
    schema: 'tails-build/build-report@1',
    ok: true,
    git: { commit, ref: 'main' },
    box: 'tails-builder-amd64-bookworm-20261101-abcdef0',
    serials: { builder: { debian: '2026110101' }, iso: { debian: '2026110102', 'debian-security': '2026110103' } },
    builderSecurity: '2026110104',
    compression: 'fast',
    artifacts: [{ name: 'x.iso', bytes: 5, sha256: h('e') }],
    ...over,
  });

describe('parsePublishedBuild', () => {
  it('takes the commit, box, ISO serials, builder debian-security, compression and hashes from a report', () => {
    assert.deepEqual(parsePublishedBuild(report(), 'r.json'), {
      commit,
      ref: 'main',
      box: 'tails-builder-amd64-bookworm-20261101-abcdef0',
      isoSerials: { debian: '2026110102', 'debian-security': '2026110103' },
      builderSecurity: '2026110104',
      compression: 'fast',
      artifacts: [{ name: 'x.iso', bytes: 5, sha256: h('e') }],
    });
  });

  const refused: [string, string, RegExp][] = [
    ['not JSON', '{', /r\.json is not a usable build report: not JSON/],
    ['another schema', report({ schema: 'other@1' }), /schema is "other@1"/],
    ['a failed build', report({ ok: false }), /it records a failed build/],
    ['a serial still "latest"', report({ serials: { iso: { debian: 'latest' } } }), /serials\.iso\.debian is "latest", not a resolved serial/],
    ['no artifacts', report({ artifacts: [] }), /it lists no artifacts/],
    ['an artifact without a sha256', report({ artifacts: [{ name: 'x.iso' }] }), /artifacts\[0\] has no name or sha256/],
  ];
  for (const [what, text, message] of refused) {
    it(`refuses ${what}, naming what is wrong and what to pass`, () => {
      assert.throws(() => parsePublishedBuild(text, 'r.json'), (error: Error & { code?: string; hint?: string }) => {
        assert.equal(error.code, 'bad-build-report');
        assert.match(error.message, message);
        assert.match(error.hint ?? '', /build-report\.json a tails-build iso wrote/);
        return true;
      });
    });
  }
});
