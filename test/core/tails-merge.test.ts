/** The pure part of the base-branch merge: git's default message, git var's ident line, merge-tree's -z output, the commands. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatCommand } from '../../src/core/command.js';
import { commitTreeCommand, formatGitDate, formatMergeMessage, parseIdent, parseMergeTree } from '../../src/core/tails-merge.js';

const TREE = '67746221a21d43b0732e81295ede008e5b84a620';

describe('formatMergeMessage', () => {
  it("is git merge --no-edit's message: ' into <branch>' except on main and master", () => {
    assert.equal(formatMergeMessage('stable', 'feature/x'), "Merge remote-tracking branch 'origin/stable' into feature/x");
    assert.equal(formatMergeMessage('stable', 'master'), "Merge remote-tracking branch 'origin/stable'");
    assert.equal(formatMergeMessage('devel', 'main'), "Merge remote-tracking branch 'origin/devel'");
  });
});

describe('parseIdent', () => {
  it('takes the name and email of git var GIT_AUTHOR_IDENT, not its time', () => {
    assert.deepEqual(parseIdent('Jane Q. Dev <jane@example.org> 1796281320 +0100\n'), { name: 'Jane Q. Dev', email: 'jane@example.org' });
    assert.equal(parseIdent('<jane@example.org> 1796281320 +0100'), undefined);
    assert.equal(parseIdent('fatal: no'), undefined);
  });
});

describe('parseMergeTree', () => {
  it('a clean merge: the tree alone', () => {
    assert.deepEqual(parseMergeTree(`${TREE}\0`), { tree: TREE, conflicts: [], messages: [] });
  });

  it('conflicts: the paths once each, and the CONFLICT messages (not the informational ones)', () => {
    const out = [TREE, 'a', 'dir/b c', '', '1', 'a', 'Auto-merging', 'Auto-merging a\n', '1', 'a', 'CONFLICT (contents)', 'CONFLICT (content): Merge conflict in a\n', '2', 'dir/b c', 'x', 'CONFLICT (rename/delete)', 'CONFLICT (rename/delete): x renamed to dir/b c in HEAD, but deleted in origin.\n', ''].join('\0');
    assert.deepEqual(parseMergeTree(out), {
      tree: TREE,
      conflicts: ['a', 'dir/b c'],
      messages: ['CONFLICT (content): Merge conflict in a', 'CONFLICT (rename/delete): x renamed to dir/b c in HEAD, but deleted in origin.'],
    });
  });

  it('anything else is not merge-tree output', () => {
    assert.equal(parseMergeTree('fatal: bad revision\n'), undefined);
  });
});

describe('commitTreeCommand', () => {
  it('two parents, feature first; unsigned; the date as git stores it, for author and committer; no outside config', () => {
    const cmd = commitTreeCommand('/tmp/m', {
      tree: TREE,
      parents: ['f'.repeat(40), 'b'.repeat(40)],
      message: 'Merge',
      identities: { author: { name: 'A', email: 'a@x' }, committer: { name: 'C', email: 'c@x' } },
      date: '2026-12-03T09:00:00Z',
    });
    assert.equal(formatCommand(cmd), `git --git-dir=/tmp/m commit-tree --no-gpg-sign ${TREE} -p ${'f'.repeat(40)} -p ${'b'.repeat(40)} -m Merge`);
    assert.equal(cmd.effect, 'read');
    assert.deepEqual(
      { ...cmd.env },
      {
        GIT_DIR: '/tmp/m',
        GIT_OBJECT_DIRECTORY: '/tmp/m/objects',
        GIT_ALTERNATE_OBJECT_DIRECTORIES: '',
        GIT_INDEX_FILE: '/tmp/m/index',
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CONFIG_GLOBAL: '/dev/null',
        GIT_NO_REPLACE_OBJECTS: '1',
        GIT_TERMINAL_PROMPT: '0',
        GIT_AUTHOR_NAME: 'A',
        GIT_AUTHOR_EMAIL: 'a@x',
        GIT_AUTHOR_DATE: '1796288400 +0000',
        GIT_COMMITTER_NAME: 'C',
        GIT_COMMITTER_EMAIL: 'c@x',
        GIT_COMMITTER_DATE: '1796288400 +0000',
      },
    );
    assert.equal(formatGitDate('2026-12-03T09:00:00Z'), '1796288400 +0000');
  });
});
