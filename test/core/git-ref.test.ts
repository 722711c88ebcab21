import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computeBuildRef } from '../../src/core/git-ref.js';
import type { GitHead } from '../../src/core/ports.js';

const C = '0123456789abcdef0123456789abcdef01234567';
const noCi = { jenkinsUrl: undefined, gitBranch: undefined };

describe('computeBuildRef', () => {
  const table: [string, GitHead, { ref: string; releasing: boolean }][] = [
    ['a branch', { commit: C, branch: 'feature/x', tagsAtHead: [] }, { ref: 'feature/x', releasing: false }],
    ['a tag on a branch', { commit: C, branch: 'stable', tagsAtHead: ['6.9'] }, { ref: '6.9', releasing: true }],
    ['a detached tag', { commit: C, branch: undefined, tagsAtHead: ['6.10'] }, { ref: '6.10', releasing: true }],
  ];
  for (const [name, head, expected] of table) {
    it(name, () => {
      const ref = computeBuildRef(head, noCi);
      assert.equal(ref.ref, expected.ref);
      assert.equal(ref.releasing, expected.releasing);
      assert.equal(ref.commit, C);
    });
  }
  it('refuses a detached HEAD without a tag', () => {
    assert.throws(() => computeBuildRef({ commit: C, branch: undefined, tagsAtHead: [] }, noCi), /is detached and no tag points at it/);
  });
  const jenkins: [string, string, boolean][] = [
    ['origin/feature/x', 'feature/x', true],
    ['refs/remotes/origin/feature/x', 'feature/x', true],
    ['feature/x', 'feature/x', true],
    ['origin/main', 'feature/x', false],
  ];
  for (const [gitBranch, branch, ok] of jenkins) {
    it(`Jenkins GIT_BRANCH=${gitBranch} on ${branch}: ${ok ? 'accepted' : 'refused'}`, () => {
      const run = (): unknown => computeBuildRef({ commit: C, branch, tagsAtHead: [] }, { jenkinsUrl: 'https://j/', gitBranch });
      if (ok) assert.doesNotThrow(run);
      else assert.throws(run, /Jenkins asked to build/);
    });
  }
  it('Jenkins checks out a detached HEAD: GIT_BRANCH names the ref (origin/ dropped)', () => {
    const ref = computeBuildRef({ commit: C, branch: undefined, tagsAtHead: [] }, { jenkinsUrl: 'https://j/', gitBranch: 'origin/feature/x', gitCommit: C });
    assert.equal(ref.ref, 'feature/x');
    assert.equal(ref.releasing, false);
  });
  it('Jenkins GIT_COMMIT that is not HEAD is refused, naming both', () => {
    assert.throws(
      () => computeBuildRef({ commit: C, branch: undefined, tagsAtHead: [] }, { jenkinsUrl: 'https://j/', gitBranch: 'origin/main', gitCommit: 'b'.repeat(40) }),
      (e: Error) => e.message.includes(`GIT_COMMIT=${'b'.repeat(40)}`) && e.message.includes(`HEAD is ${C}`),
    );
  });
  it('a tag build under Jenkins is a release build', () => {
    const ref = computeBuildRef({ commit: C, branch: undefined, tagsAtHead: ['6.9'] }, { jenkinsUrl: 'https://j/', gitBranch: 'refs/tags/6.9', gitCommit: C });
    assert.equal(ref.ref, '6.9');
    assert.equal(ref.releasing, true);
  });
});
