/**
 * The submodule check of a Tails build (app/tails-submodules.ts) with real
 * git, real files and the real runner: a superproject with a real submodule
 * added from a local repository, then broken the ways a checkout is (its
 * .git/modules/<name> gone, the recorded commit not fetched, the repository
 * left in the work tree, a linked worktree); each refusal names the
 * submodule, and running the command its hint names makes the check pass.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { diskFiles } from '../../src/adapters/disk-file.js';
import { createRunner } from '../../src/adapters/runner.js';
import { checkTailsSubmodules } from '../../src/app/tails-submodules.js';
import { ExternalCommandError, exitCodeFor, UserError } from '../../src/core/errors.js';
import { createTempRepo, GIT_ENV, makeTempDir, type TempRepo } from '../helpers/git-repo.js';

const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups) c();
});

function tempDir(prefix: string): string {
  const dir = makeTempDir(prefix);
  cleanups.push(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

function repo(): TempRepo {
  const r = createTempRepo();
  cleanups.push(() => {
    r.remove();
  });
  return r;
}

/** A clean environment: no global config of the developer's (HOME is empty). */
const home = tempDir('tb-home-');
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, LANG: 'C', GIT_CONFIG_NOSYSTEM: '1' };
const quiet = { info: () => undefined, warn: () => undefined, debug: () => undefined };
const deps = {
  runner: createRunner({ log: quiet, dryRun: false, path: env.PATH, baseEnv: env }),
  files: diskFiles,
  disk: diskFiles,
};

/** git as the user runs it, with local-path submodules allowed (git ≥ 2.38.1 refuses file:// transports by default). */
function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'protocol.file.allow=always', ...args], { cwd, encoding: 'utf8', env: { ...env, ...GIT_ENV }, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** Runs each command line of a refusal's hint (`git …`, `a && b`), as the user would paste it. */
function runHint(hint: string | undefined, cwd: string): void {
  const lines = (hint ?? '').split('\n').filter((l) => l.startsWith('  ')).map((l) => l.trim());
  assert.ok(lines.length > 0, `the hint names a command: ${String(hint)}`);
  for (const line of lines) {
    execFileSync('sh', ['-c', line], { cwd, env: { ...env, ...GIT_ENV, GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'protocol.file.allow', GIT_CONFIG_VALUE_0: 'always' }, stdio: ['ignore', 'pipe', 'pipe'] });
  }
}

const NAME = 'submodules/live-build';
const PATH = 'submodules/live-build';

interface Superproject {
  readonly sup: TempRepo;
  /** The repository the submodule was added from (its url). */
  readonly sub: TempRepo;
}

/** A superproject with a submodule named as Tails names them (submodules/<x>), added from a local repository, committed. */
function superproject(): Superproject {
  const sub = repo();
  sub.write({ 'Makefile': 'install:\n' });
  sub.commit('live-build', '2026-12-01T10:00:00Z');
  const sup = repo();
  sup.write({ 'README': 'tails\n' });
  sup.commit('init', '2026-12-01T10:00:00Z');
  git(sup.root, 'submodule', 'add', '-q', '--name', NAME, sub.root, PATH);
  sup.commit('Add live-build', '2026-12-01T11:00:00Z');
  return { sup, sub };
}

async function refusal(root: string, revs?: readonly string[]): Promise<UserError> {
  const e = await checkTailsSubmodules(deps, root, revs === undefined ? {} : { revs });
  assert.ok(e instanceof UserError, 'refused');
  assert.equal(exitCodeFor(e), 3);
  return e;
}

describe('checkTailsSubmodules with real git', () => {
  it('a checkout without .gitmodules: nothing to check', async () => {
    const r = repo();
    r.write({ README: 'x\n' });
    r.commit('init', '2026-12-01T10:00:00Z');
    assert.equal(await checkTailsSubmodules(deps, r.root), undefined);
  });

  it('a submodule cloned into .git/modules with its commit: ok', async () => {
    const { sup } = superproject();
    assert.equal(await checkTailsSubmodules(deps, sup.root), undefined);
    assert.equal(await checkTailsSubmodules(deps, sup.root, { revs: ['HEAD', 'HEAD~0'] }), undefined);
  });

  it('a .gitmodules entry HEAD records no gitlink for is not a submodule of the build', async () => {
    const { sup } = superproject();
    sup.write({ '.gitmodules': `${readFileSync(join(sup.root, '.gitmodules'), 'utf8')}[submodule "submodules/gone"]\n\tpath = submodules/gone\n\turl = https://gitlab.tails.boum.org/tails/gone.git\n` });
    sup.commit('A stale entry', '2026-12-01T12:00:00Z');
    assert.equal(await checkTailsSubmodules(deps, sup.root), undefined);
  });

  it('.git/modules/<name> removed: refused naming it; its hint (deinit, update --init) makes it pass', async () => {
    const { sup, sub } = superproject();
    rmSync(join(sup.root, '.git/modules', NAME), { recursive: true, force: true });
    const e = await refusal(sup.root);
    assert.equal(e.code, 'tails-submodule-missing');
    assert.equal(
      e.message,
      [
        'A submodule is not in ' + sup.root + '/.git/modules as the build needs it:',
        `  - ${NAME} (path ${PATH}, url ${sub.root}): ${sup.root}/.git/modules/${NAME} does not exist (its work tree's .git file, ${sup.root}/${PATH}/.git, still points at it).`,
        "build-tails clones every submodule in the build VM from /amnesia.git/.git/modules/<name> (this checkout's .git/modules, shared read-only over 9p) and fetches none itself: the VM cannot reach paths of this machine outside the checkout (a local url).",
      ].join('\n'),
    );
    assert.equal(
      e.hint,
      [`In ${sup.root}, where its url can be fetched from:`, `  git -C ${sup.root} submodule deinit -f -- ${PATH} && git -C ${sup.root} submodule update --init -- ${PATH}`, 'then run tails-build iso again.'].join('\n'),
    );
    runHint(e.hint, sup.root);
    assert.equal(await checkTailsSubmodules(deps, sup.root), undefined);
  });

  it('a clone without its submodules: refused; git submodule update --init makes it pass', async () => {
    const { sup } = superproject();
    const clone = tempDir('tb-clone-');
    git(clone, 'clone', '-q', sup.root, 'tails');
    const root = join(clone, 'tails');
    const e = await refusal(root);
    assert.match(e.message, new RegExp(`${root}/\\.git/modules/${NAME} does not exist \\(the submodule was never cloned into this checkout\\)`));
    assert.match(e.hint ?? '', new RegExp(`^  git -C ${root} submodule update --init -- ${PATH}$`, 'm'));
    runHint(e.hint, root);
    assert.equal(await checkTailsSubmodules(deps, root), undefined);
  });

  it('the module repository lacks the commit HEAD records (made in another clone): refused with git submodule update, which fetches it', async () => {
    const { sup, sub } = superproject();
    // Another clone of the submodule makes a commit; the superproject records it without fetching it.
    const other = tempDir('tb-other-');
    git(other, 'clone', '-q', sub.root, 'lb');
    const lb = join(other, 'lb');
    git(lb, 'commit', '-q', '--allow-empty', '-m', 'newer live-build');
    const newer = git(lb, 'rev-parse', 'HEAD');
    git(sup.root, 'update-index', '--cacheinfo', `160000,${newer},${PATH}`);
    git(sup.root, 'commit', '-q', '-m', 'Bump live-build');

    const e = await refusal(sup.root);
    assert.equal(e.code, 'tails-submodule-missing');
    assert.match(e.message, new RegExp(`^  - ${NAME} \\(path ${PATH}, url ${sub.root}\\): ${sup.root}/\\.git/modules/${NAME} lacks commit ${newer.slice(0, 12)} \\(what HEAD records at ${PATH}\\)\\.$`, 'm'));
    assert.match(e.hint ?? '', new RegExp(`^  git -C ${sup.root} submodule update -- ${PATH}$`, 'm'));

    // The commit reaches the url; the hint's command fetches it.
    git(lb, 'push', '-q', 'origin', 'HEAD:refs/heads/newer');
    runHint(e.hint, sup.root);
    assert.equal(await checkTailsSubmodules(deps, sup.root), undefined);
  });

  it('a commit another revision records (the base branch): refused with a fetch in the module repository', async () => {
    const { sup, sub } = superproject();
    const base = git(sup.root, 'rev-parse', 'HEAD');
    git(sup.root, 'switch', '-q', '-c', 'stable');
    git(sub.root, 'commit', '-q', '--allow-empty', '-m', 'live-build on stable');
    const onStable = git(sub.root, 'rev-parse', 'HEAD');
    git(sup.root, 'update-index', '--cacheinfo', `160000,${onStable},${PATH}`);
    git(sup.root, 'commit', '-q', '-m', 'Bump live-build on stable');
    const stable = git(sup.root, 'rev-parse', 'HEAD');
    git(sup.root, 'switch', '-q', '-c', 'feature/x', base);
    execFileSync('git', ['-C', join(sup.root, PATH), 'checkout', '-q', git(sup.root, 'ls-tree', '--object-only', 'HEAD', PATH)], { env: { ...env, ...GIT_ENV } });

    assert.equal(await checkTailsSubmodules(deps, sup.root), undefined, 'HEAD alone is fine');
    const e = await refusal(sup.root, ['HEAD', stable]);
    assert.match(e.message, new RegExp(`lacks commit ${onStable.slice(0, 12)} \\(what ${stable.slice(0, 12)} records at ${PATH}\\)`));
    assert.match(e.hint ?? '', new RegExp(`^  git --git-dir ${sup.root}/\\.git/modules/${NAME} fetch origin$`, 'm'));
    runHint(e.hint, sup.root);
    assert.equal(await checkTailsSubmodules(deps, sup.root, { revs: ['HEAD', stable] }), undefined);
  });

  it('the repository in the work tree (as an older git cloned it): refused; absorbgitdirs makes it pass', async () => {
    const sub = repo();
    sub.write({ Makefile: 'install:\n' });
    sub.commit('live-build', '2026-12-01T10:00:00Z');
    const sup = repo();
    sup.write({ README: 'tails\n' });
    sup.commit('init', '2026-12-01T10:00:00Z');
    git(sup.root, 'clone', '-q', sub.root, PATH);
    git(sup.root, 'submodule', 'add', '-q', '--name', NAME, sub.root, PATH);
    sup.commit('Add live-build', '2026-12-01T11:00:00Z');

    const e = await refusal(sup.root);
    assert.match(e.message, new RegExp(`its repository is ${sup.root}/${PATH}/\\.git, in its work tree \\(as an older git cloned submodules\\), not ${sup.root}/\\.git/modules/${NAME}\\.`));
    runHint(e.hint, sup.root);
    assert.equal(await checkTailsSubmodules(deps, sup.root), undefined);
  });

  it('.git/modules/<name> that is not a git repository: refused; moving it aside and cloning again makes it pass', async () => {
    const { sup } = superproject();
    rmSync(join(sup.root, '.git/modules', NAME, 'objects'), { recursive: true, force: true });
    const e = await refusal(sup.root);
    assert.match(e.message, new RegExp(`${sup.root}/\\.git/modules/${NAME} is not a git repository \\(it has no HEAD file or no objects/ directory\\)\\.`));
    runHint(e.hint, sup.root);
    assert.equal(await checkTailsSubmodules(deps, sup.root), undefined);
  });

  it('a linked worktree (its .git is a file): refused, naming its submodules', async () => {
    const { sup } = superproject();
    const wt = join(tempDir('tb-wt-'), 'wt');
    git(sup.root, 'worktree', 'add', '-q', wt);
    git(wt, 'submodule', 'update', '-q', '--init');
    const e = await refusal(wt);
    assert.equal(e.code, 'tails-submodule-missing');
    assert.match(e.message, new RegExp(`^${wt}/\\.git is a file, not a directory: .* so it would find none of its submodules: ${NAME}\\.$`));
  });

  it('a .gitmodules git cannot read: refused naming the line', async () => {
    const { sup } = superproject();
    sup.write({ '.gitmodules': `[submodule "${NAME}"]\n\tpath = ${PATH}\n\turl = "x\n` });
    const e = await refusal(sup.root);
    assert.equal(e.code, 'tails-gitmodules-invalid');
    assert.equal(e.message, `${sup.root}/.gitmodules line 3 does not parse as git config: the value opens a double quote and does not close it (\`url = "x\`). It names the submodules the build VM clones, so the build cannot start.`);
  });

  it('a revision that names nothing: git fails, not a refusal', async () => {
    const { sup } = superproject();
    await assert.rejects(checkTailsSubmodules(deps, sup.root, { revs: ['refs/remotes/origin/nothing'] }), ExternalCommandError);
  });
});
