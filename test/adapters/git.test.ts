/** The git adapter (simple-git), against real repositories in temp dirs. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { chmodSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createGit } from '../../src/adapters/git.js';
import { InterruptedError, UserError } from '../../src/core/errors.js';
import { createTempRepo, makeTempDir, type TempRepo } from '../helpers/git-repo.js';
import { createTailsCheckout } from '../helpers/tails-checkout.js';

const repos: TempRepo[] = [];
function repo(options: { init?: boolean } = {}): TempRepo {
  const r = createTempRepo(options);
  repos.push(r);
  return r;
}
after(() => {
  for (const r of repos) r.remove();
});

function hasCode(code: string): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof UserError, String(e));
    assert.equal(e.code, code, e.message);
    return true;
  };
}

/** A repository whose `git status` blocks (its fsmonitor hook sleeps) — a stuck git. */
function stuckRepo(): TempRepo {
  const r = repo();
  r.write({ 'a.txt': 'a\n' });
  r.commit('first', '2024-01-02T03:04:05Z');
  const hook = join(makeTempDir('tb-hook-'), 'slow-fsmonitor');
  writeFileSync(hook, '#!/bin/sh\nexec sleep 10 >/dev/null 2>&1\n');
  chmodSync(hook, 0o755);
  r.git('config', 'core.fsmonitor', hook);
  return r;
}

describe('git: findTopLevel', () => {
  it('finds the toplevel from a subdirectory', async () => {
    const r = repo();
    mkdirSync(join(r.root, 'a', 'b'), { recursive: true });
    assert.equal(await createGit().findTopLevel(join(r.root, 'a', 'b')), realpathSync(r.root));
  });
  it('says a directory outside any work tree is not a git repo, with git\'s reason', async () => {
    const dir = makeTempDir('tb-norepo-');
    await assert.rejects(createGit().findTopLevel(dir), (e: unknown) => {
      hasCode('not-a-git-repo')(e);
      assert.match((e as Error).message, /is not inside a git work tree \(not a git repository/);
      return true;
    });
  });
  it('says a missing directory cannot be opened', async () => {
    await assert.rejects(createGit().findTopLevel(join(makeTempDir('tb-gone-'), 'missing')), hasCode('unreadable-checkout'));
  });
});

describe('git: findLastCommitTouching', () => {
  it('gives %h (as the user\'s config abbreviates it), the author date and time of the last commit touching the dir', async () => {
    const r = repo();
    r.write({ 'defs/a': '1\n' });
    r.commit('defs', '2024-01-02T03:04:05Z');
    r.write({ 'other/b': '1\n' });
    r.commit('other', '2024-02-03T00:00:00Z');
    r.git('config', 'core.abbrev', '12');
    const last = await createGit().findLastCommitTouching(r.root, 'defs');
    assert.deepEqual(last, {
      shortId: r.git('log', '-1', '--pretty=%h', '--', 'defs/'),
      authorDate: '20240102',
      authorTime: Date.parse('2024-01-02T03:04:05Z') / 1000,
    });
    assert.equal(last.shortId.length, 12);
  });
  it('gives undefined when no commit touches the dir, or there are no commits at all', async () => {
    const r = repo();
    assert.equal(await createGit().findLastCommitTouching(r.root, 'defs'), undefined);
    r.write({ 'other/b': '1\n' });
    r.commit('other', '2024-02-03T00:00:00Z');
    assert.equal(await createGit().findLastCommitTouching(r.root, 'defs'), undefined);
  });
});

describe('git: readStatus', () => {
  it('gives `git status --porcelain` lines verbatim: changes, renames, untracked files (quoted as git quotes them), not ignored ones', async () => {
    const r = repo();
    r.write({ 'defs/a': '1\n', 'defs/old': 'o\n', 'top': 't\n', '.gitignore': '*.log\n' });
    r.commit('first', '2024-01-02T03:04:05Z');
    r.git('mv', 'defs/old', 'defs/new');
    r.write({ 'defs/a': '2\n', 'defs/new file': 'n\n', 'defs/t\tab': 'x\n', 'defs/x.log': 'ignored\n', 'top': 'changed\n' });
    const git = createGit();
    const all = await git.readStatus(r.root);
    // Not r.git(): it trims the output, and with it the leading space of ' M'.
    const expected = execFileSync('git', ['status', '--porcelain=v1', '--untracked-files=all'], { cwd: r.root, encoding: 'utf8' });
    assert.deepEqual(all, expected.split('\n').filter((line) => line !== ''));
    assert.ok(all.includes(' M defs/a'), all.join('\n'));
    assert.ok(all.includes('?? "defs/t\\tab"'), all.join('\n'));
    assert.ok(!all.some((line) => line.includes('x.log')));
    assert.deepEqual(await git.readStatus(r.root, 'defs'), all.filter((line) => line.includes('defs/')));
  });
  it('gives no lines for a clean tree', async () => {
    const r = repo();
    r.write({ a: '1\n' });
    r.commit('first', '2024-01-02T03:04:05Z');
    assert.deepEqual(await createGit().readStatus(r.root), []);
  });
});

describe('git: readHead', () => {
  it('gives the commit, the branch and the tags at HEAD, sorted', async () => {
    const r = repo();
    r.write({ a: '1\n' });
    const commit = r.commit('first', '2024-01-02T03:04:05Z');
    r.git('tag', 'v1');
    r.git('tag', '-a', '-m', 'annotated', 'a0');
    assert.deepEqual(await createGit().readHead(r.root), { commit, branch: 'main', tagsAtHead: ['a0', 'v1'] });
  });
  it('gives no branch on a detached HEAD', async () => {
    const r = repo();
    r.write({ a: '1\n' });
    const first = r.commit('first', '2024-01-02T03:04:05Z');
    r.write({ a: '2\n' });
    r.commit('second', '2024-01-03T03:04:05Z');
    r.git('checkout', '-q', '--detach', first);
    assert.deepEqual(await createGit().readHead(r.root), { commit: first, branch: undefined, tagsAtHead: [] });
  });
  it('says a repository without commits has none', async () => {
    await assert.rejects(createGit().readHead(repo().root), hasCode('no-commits'));
  });
});

describe('git: every call is logged, bounded in time and interruptible', () => {
  it('logs each git it runs at debug level, as the runner logs its commands', async () => {
    const r = repo();
    const debug: string[] = [];
    await createGit({ log: { info: () => undefined, warn: () => undefined, debug: (m) => debug.push(m) } }).findTopLevel(r.root);
    assert.deepEqual(debug, [`$ git -C ${r.root} rev-parse --show-toplevel`]);
  });
  it('kills a git that prints nothing for timeoutMs: a UserError, not a wrong answer', async () => {
    const r = stuckRepo();
    await assert.rejects(createGit({ timeoutMs: 300 }).readStatus(r.root), (e: unknown) => {
      hasCode('git-timeout')(e);
      assert.match((e as Error).message, /printed nothing for 0\.3 s and was killed/);
      return true;
    });
  });
  it('kills a running git on the interrupt (InterruptedError) and refuses new calls', async () => {
    const r = stuckRepo();
    const controller = new AbortController();
    const debug: string[] = [];
    const git = createGit({ signal: controller.signal, log: { info: () => undefined, warn: () => undefined, debug: (m) => debug.push(m) } });
    const running = git.readStatus(r.root);
    setTimeout(() => {
      controller.abort('SIGINT');
    }, 200);
    await assert.rejects(running, (e: unknown) => e instanceof InterruptedError && /Interrupted by SIGINT/.test(e.message));
    // The interrupt is not read as "no commits" or "not a repo".
    await assert.rejects(git.readHead(r.root), InterruptedError);
    await assert.rejects(git.findTopLevel(r.root), InterruptedError);
    assert.equal(debug.length, 1, 'no git was started after the interrupt');
  });
});

describe('git: readCommit and findMergeBase (a Tails checkout\'s base branch)', () => {
  it('reads origin/<base>, undefined for a ref that does not exist', async () => {
    const t = createTailsCheckout();
    after(() => { t.remove(); });
    const git = createGit();
    assert.equal(await git.readCommit(t.root, 'refs/remotes/origin/stable'), t.baseCommit);
    assert.equal(await git.readCommit(t.root, 'refs/remotes/origin/devel'), undefined);
  });
  it('finds the merge base: the fork point when diverged, the older commit when one contains the other, undefined for unrelated histories', async () => {
    const t = createTailsCheckout();
    after(() => { t.remove(); });
    const git = createGit();
    assert.equal(await git.findMergeBase(t.root, t.featureCommit, t.baseCommit), t.forkCommit);
    assert.equal(await git.findMergeBase(t.root, t.forkCommit, t.baseCommit), t.forkCommit);
    t.repo.git('checkout', '-q', '--orphan', 'unrelated');
    const lone = t.repo.commit('unrelated', '2026-12-02T11:00:00Z');
    assert.equal(await git.findMergeBase(t.root, lone, t.baseCommit), undefined);
  });
});
