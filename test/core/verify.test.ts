/** verify's pure part: how two artifact sets pair up, and what a published build report must say. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { artifactKey, compareArtifacts, comparedName, parsePublishedBuild, type HashedFile } from '../../src/core/verify.js';

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

/** A Tails branch build's basename (auto/config) at the build time `at`. */
const branch = (at: string): string => `tails-amd64-feature_tor-14@0123456789+stable@abcdef0123-${at}`;
const EXTENSIONS = ['.iso', '.img', '.packages', '.build-manifest', '.apt-sources', '.buildlog'];

describe('artifactKey', () => {
  const cases: [string, string, string][] = [
    ['a branch build: the time goes, the rest stays', `${branch('20261203T1412Z')}.iso`, 'tails-amd64-feature_tor-14@0123456789+stable@abcdef0123-<DATETIME_NOW>.iso'],
    ['the base branch itself (no +base part)', 'tails-amd64-stable@abcdef0123-20261203T1412Z.build-manifest', 'tails-amd64-stable@abcdef0123-<DATETIME_NOW>.build-manifest'],
    ['a longer short id (git made 10 hex unambiguous with more)', 'tails-amd64-devel@0123456789ab-20261203T1412Z.packages', 'tails-amd64-devel@0123456789ab-<DATETIME_NOW>.packages'],
    ['a tag build: stable, unchanged', 'tails-amd64-6.9.iso', 'tails-amd64-6.9.iso'],
    ['a release-candidate tag (~ for -): unchanged', 'tails-amd64-7.0~rc1.img', 'tails-amd64-7.0~rc1.img'],
    ['tails-build-env.list: unchanged', 'tails-build-env.list', 'tails-build-env.list'],
    ["the sample's names: unchanged", 'tails-build-sample-amd64-0123456789ab.iso', 'tails-build-sample-amd64-0123456789ab.iso'],
    ['a time-shaped suffix outside that shape (no @id): unchanged', 'tails-amd64-6.9-20261203T1412Z.iso', 'tails-amd64-6.9-20261203T1412Z.iso'],
    ['not a Tails name at all: unchanged', 'other@0123456789-20261203T1412Z.iso', 'other@0123456789-20261203T1412Z.iso'],
    ['a short id that is not hex: unchanged', 'tails-amd64-devel@0123456789xz-20261203T1412Z.iso', 'tails-amd64-devel@0123456789xz-20261203T1412Z.iso'],
  ];
  for (const [what, name, key] of cases) {
    it(what, () => {
      assert.equal(artifactKey(name), key);
    });
  }
});

describe('compareArtifacts on Tails names', () => {
  it("a Tails .buildlog that differs is listed, not compared: its lines carry the build's times", () => {
    const a = [{ name: 'tails-amd64-6.10.iso', sha256: 'i', bytes: 1 }, { name: 'tails-amd64-6.10.buildlog', sha256: 'l1', bytes: 1 }];
    const b = [{ name: 'tails-amd64-6.10.iso', sha256: 'i', bytes: 1 }, { name: 'tails-amd64-6.10.buildlog', sha256: 'l2', bytes: 1 }];
    const c = compareArtifacts(a, b);
    assert.equal(c.identical, true);
    assert.match(c.files.find((f) => f.name.endsWith('.buildlog'))?.notCompared ?? '', /build log/);
    // The ISO still counts.
    assert.equal(compareArtifacts(a, [{ name: 'tails-amd64-6.10.iso', sha256: 'x', bytes: 1 }, b[1] ?? { name: '', sha256: '', bytes: 0 }]).identical, false);
    // A log only on one side is still missing.
    assert.equal(compareArtifacts(a, [b[0] ?? { name: '', sha256: '', bytes: 0 }]).identical, false);
  });

  it('branch builds at different times pair by what each file is (.iso with .iso …), naming both names', () => {
    const one = EXTENSIONS.map((ext, i) => file(`${branch('20261203T1412Z')}${ext}`, h(String(i))));
    const two = EXTENSIONS.map((ext, i) => file(`${branch('20261203T1539Z')}${ext}`, h(String(i)))).reverse();
    const c = compareArtifacts([...one, file('tails-build-env.list', h('e'))], [file('tails-build-env.list', h('e')), ...two]);
    assert.equal(c.identical, true);
    assert.equal(c.files.length, EXTENSIONS.length + 1);
    const iso = c.files.find((f) => f.name.endsWith('.iso'));
    assert.deepEqual(iso, { name: `${branch('20261203T1412Z')}.iso`, secondName: `${branch('20261203T1539Z')}.iso`, first: h('0'), second: h('0'), identical: true });
    assert.equal(comparedName(iso), `${branch('20261203T1412Z')}.iso / ${branch('20261203T1539Z')}.iso`);
    // The fixed name is the same on both sides: one name, no secondName.
    assert.deepEqual(c.files.find((f) => f.name === 'tails-build-env.list'), { name: 'tails-build-env.list', first: h('e'), second: h('e'), identical: true });
  });

  it('a branch build whose .packages differ: that pair is DIFFERENT, with both hashes', () => {
    const c = compareArtifacts([file(`${branch('20261203T1412Z')}.packages`, h('1'))], [file(`${branch('20261204T0000Z')}.packages`, h('2'))]);
    assert.deepEqual(c, {
      identical: false,
      files: [{ name: `${branch('20261203T1412Z')}.packages`, secondName: `${branch('20261204T0000Z')}.packages`, first: h('1'), second: h('2'), identical: false }],
    });
  });

  it('tag builds pair by their (stable) names, with no second name', () => {
    const c = compareArtifacts([file('tails-amd64-6.9.iso', h('1')), file('tails-amd64-6.9.img', h('2'))], [file('tails-amd64-6.9.img', h('2')), file('tails-amd64-6.9.iso', h('1'))]);
    assert.deepEqual(c, {
      identical: true,
      files: [
        { name: 'tails-amd64-6.9.img', first: h('2'), second: h('2'), identical: true },
        { name: 'tails-amd64-6.9.iso', first: h('1'), second: h('1'), identical: true },
      ],
    });
  });

  it('an artifact only one branch build wrote is still missing on the other side', () => {
    const c = compareArtifacts(
      [file(`${branch('20261203T1412Z')}.iso`, h('1')), file(`${branch('20261203T1412Z')}.img`, h('2'))],
      [file(`${branch('20261203T1539Z')}.iso`, h('1'))],
    );
    assert.equal(c.identical, false);
    assert.deepEqual(c.files[0], { name: `${branch('20261203T1412Z')}.img`, first: h('2'), second: undefined, identical: false });
    assert.equal(c.files[1]?.identical, true);
  });

  it('two builds of different branches or commits do not pair: each is missing on the other side', () => {
    const c = compareArtifacts([file(`${branch('20261203T1412Z')}.iso`, h('1'))], [file('tails-amd64-feature_tor-14@9999999999+stable@abcdef0123-20261203T1412Z.iso', h('1'))]);
    assert.equal(c.identical, false);
    assert.deepEqual(c.files.map((f) => [f.first === undefined, f.second === undefined]), [[false, true], [true, false]]);
  });

  it("the sample's names pair by name, as before", () => {
    const names = ['tails-build-sample-amd64-0123456789ab.iso', 'tails-build-sample-amd64-0123456789ab.packages'];
    const c = compareArtifacts(names.map((n) => file(n, h('1'))), names.map((n) => file(n, h('1'))));
    assert.deepEqual(c.files.map((f) => ({ ...f })), names.map((name) => ({ name, first: h('1'), second: h('1'), identical: true })));
  });

  it('two ISOs of one branch in one set (a stale one beside the new): they cannot be told apart, so they pair by exact name only', () => {
    const c = compareArtifacts(
      [file(`${branch('20261203T1412Z')}.iso`, h('1')), file(`${branch('20261201T0900Z')}.iso`, h('9'))],
      [file(`${branch('20261203T1539Z')}.iso`, h('1'))],
    );
    assert.equal(c.identical, false);
    assert.deepEqual(c.files.map((f) => [f.name, f.first !== undefined, f.second !== undefined]), [
      [`${branch('20261201T0900Z')}.iso`, true, false],
      [`${branch('20261203T1412Z')}.iso`, true, false],
      [`${branch('20261203T1539Z')}.iso`, false, true],
    ]);
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
