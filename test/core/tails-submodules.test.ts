import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UserError } from '../../src/core/errors.js';
import {
  checkSubmoduleFacts,
  findSubmoduleProblems,
  gitmodulesRefusal,
  hasCommitCommand,
  lsTreeCommand,
  parseGitlinks,
  parseGitmodules,
  urlReach,
  type GitmodulesParse,
  type SubmoduleEntry,
  type SubmoduleFacts,
  type SubmoduleObservation,
  type UrlReach,
} from '../../src/core/tails-submodules.js';

const ROOT = '/src/tails';
const A = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';

/** Tails' .gitmodules, as 6.9 writes it (tabs, https urls on Tails' GitLab). */
const TAILS_GITMODULES = [
  '[submodule "submodules/live-build"]',
  '\tpath = submodules/live-build',
  '\turl = https://gitlab.tails.boum.org/tails/live-build.git',
  '[submodule "submodules/pythonlib"]',
  '\tpath = submodules/pythonlib',
  '\turl = https://gitlab.tails.boum.org/tails/python-lib.git',
  '',
].join('\n');

const LIVE_BUILD: SubmoduleEntry = { name: 'submodules/live-build', path: 'submodules/live-build', url: 'https://gitlab.tails.boum.org/tails/live-build.git' };
const PYTHONLIB: SubmoduleEntry = { name: 'submodules/pythonlib', path: 'submodules/pythonlib', url: 'https://gitlab.tails.boum.org/tails/python-lib.git' };

const entries = (...list: [string, string, string?][]): GitmodulesParse => ({ ok: true, entries: list.map(([name, path, url]) => ({ name, path, url })) });
const refused = (line: number, text: string, why: RegExp) => ({ line, text, why });

describe('parseGitmodules: git config syntax, as git reads it', () => {
  const table: [string, string, GitmodulesParse][] = [
    ["Tails' file", TAILS_GITMODULES, { ok: true, entries: [LIVE_BUILD, PYTHONLIB] }],
    ['empty', '', entries()],
    ['comments only', '# nothing\n; here\n', entries()],
    ['no spaces, no final newline', '[submodule "a"]\npath=x\nurl=u', entries(['a', 'x', 'u'])],
    ['case-insensitive section and keys; case-sensitive name', '[Submodule "Lb"]\n  PATH = p\n  Url = u\n', entries(['Lb', 'p', 'u'])],
    ['comments after values, # and ;', '[submodule "a"] # c\npath = p ; c\nurl = u # c\n', entries(['a', 'p', 'u'])],
    ['a quoted value keeps its spaces and comment characters', '[submodule "a"]\npath = "  sp ace "\nurl = "h;x#y"\n', entries(['a', '  sp ace ', 'h;x#y'])],
    ['inner whitespace becomes spaces, the ends are trimmed', '[submodule "a"]\npath =   a   b\t c  \n', entries(['a', 'a   b  c'])],
    ['escapes in values', '[submodule "a"]\npath = a\\tb\\"c\\\\\n', entries(['a', 'a\tb"c\\'])],
    ['a backslash at the end of a line continues the value', '[submodule "a"]\npath = p\\\n  q\n', entries(['a', 'p  q'])],
    ['escapes in the name', '[submodule "a\\"q\\\\"]\npath = p\n', entries(['a"q\\', 'p'])],
    ['dots in the name', '[submodule "a.b.c"]\npath = p\n', entries(['a.b.c', 'p'])],
    ['the old [submodule.name] form, lowercased', '[submodule.Foo]\npath = p\n', entries(['foo', 'p'])],
    ['a key on the header line', '[submodule "a"] path = p\n', entries(['a', 'p'])],
    ['CRLF line ends', '[submodule "a"]\r\npath = p\r\nurl = u\r\n', entries(['a', 'p', 'u'])],
    ['a byte-order mark', '\uFEFF[submodule "a"]\npath = p\n', entries(['a', 'p'])],
    ['two sections of one name merge, the last value wins', '[submodule "a"]\npath = p\n[submodule "b"]\npath = q\n[submodule "a"]\npath = r\nurl = u\n', entries(['a', 'r', 'u'], ['b', 'q'])],
    ['no url', '[submodule "a"]\npath = p\n', entries(['a', 'p'])],
    ['no path, or an empty one: left out (git cannot use it)', '[submodule "a"]\nurl = u\n[submodule "b"]\npath = ""\n', entries()],
    ['other sections and keys are ignored', '[core]\n\tbare\n[submodule "a"]\npath = p\nbranch = main\nupdate\n', entries(['a', 'p'])],
    ['a key before any section (git reads it, nothing asks for it)', 'path = x\n[submodule "a"]\npath = p\n', entries(['a', 'p'])],
  ];
  for (const [name, text, expected] of table) {
    it(name, () => {
      assert.deepEqual(parseGitmodules(text), expected);
    });
  }

  const refusals: [string, string, { line: number; text: string; why: RegExp }][] = [
    ['an unclosed header', '[submodule "a"]\npath = p\n[submodule "b"\npath = q\n', refused(3, '[submodule "b"', /closing double quote must be followed by "\]"/)],
    ['an unclosed subsection name', '[submodule "a]\npath = p\n', refused(1, '[submodule "a]', /no closing double quote/)],
    ['an unquoted subsection name', '[submodule a]\n', refused(1, '[submodule a]', /must be in double quotes/)],
    ['an empty header', '[]\n', refused(1, '[]', /names no section/)],
    ['a bad section character', '[sub_module "a"]\n', refused(1, '[sub_module "a"]', /not "_"/)],
    ['an unknown escape', '[submodule "a"]\npath = a\\x\n', refused(2, 'path = a\\x', /"\\x" is no escape git knows/)],
    ['an unclosed quote', '[submodule "a"]\npath = "p\nurl = u\n', refused(2, 'path = "p', /does not close it/)],
    ['a key followed by a comment, no "="', '[submodule "a"]\npath # c\n', refused(2, 'path # c', /"path" must be followed by "="/)],
    ['a bad key character', '[submodule "a"]\npa_th = p\n', refused(2, 'pa_th = p', /a key may hold only letters, digits and "-", not "_"/)],
    ['a line starting with a digit', '[submodule "a"]\n1path = p\n', refused(2, '1path = p', /cannot start with "1"/)],
    ['a path without a value (git: "missing value")', '[submodule "a"]\n\tpath\n', refused(2, '\tpath', /submodule\.a\.path has no value/)],
    ['a url without a value', '[submodule "a"]\npath = p\nurl\n', refused(3, 'url', /submodule\.a\.url has no value/)],
    ['a name with a .. component', '[submodule "../../hooks"]\npath = p\n', refused(2, 'path = p', /git ignores the submodule name "\.\.\/\.\.\/hooks"/)],
    ['a name with a .. component (backslash)', '[submodule "a\\\\..\\\\b"]\npath = p\n', refused(2, 'path = p', /git ignores the submodule name/)],
    ['an empty name', '[submodule ""]\npath = p\n', refused(2, 'path = p', /may not be empty/)],
    ['a url that looks like an option', '[submodule "a"]\npath = p\nurl = --upload-pack=touch /tmp/x\n', refused(3, 'url = --upload-pack=touch /tmp/x', /starts with "-"/)],
    ['a path that looks like an option', '[submodule "a"]\npath = -p\n', refused(2, 'path = -p', /starts with "-"/)],
  ];
  for (const [name, text, expected] of refusals) {
    it(`refused: ${name}`, () => {
      const parsed = parseGitmodules(text);
      assert.equal(parsed.ok, false);
      assert.equal(parsed.line, expected.line);
      assert.equal(parsed.text, expected.text);
      assert.match(parsed.why, expected.why);
    });
  }

  it('the refusal names the file, the line, and how to see what git reads', () => {
    const parsed = parseGitmodules('[submodule "a"]\npath = "p\n');
    assert.equal(parsed.ok, false);
    const e = gitmodulesRefusal(ROOT, parsed);
    assert.ok(e instanceof UserError);
    assert.equal(e.code, 'tails-gitmodules-invalid');
    assert.equal(e.kind, 'precondition');
    assert.equal(
      e.message,
      '/src/tails/.gitmodules line 2 does not parse as git config: the value opens a double quote and does not close it (`path = "p`). It names the submodules the build VM clones, so the build cannot start.',
    );
    assert.equal(e.hint, 'Fix line 2 (git -C /src/tails config -f .gitmodules --list shows what git makes of the file) and commit it, then run tails-build iso again.');
  });
});

describe('urlReach: the host a submodule url names', () => {
  const table: [string | undefined, UrlReach][] = [
    ['https://gitlab.tails.boum.org/tails/live-build.git', { kind: 'host', host: 'gitlab.tails.boum.org' }],
    ['https://user:pw@GitLab.Example.org:8443/x.git', { kind: 'host', host: 'gitlab.example.org' }],
    ['ssh://git@gitlab.tails.boum.org:2222/tails/x.git', { kind: 'host', host: 'gitlab.tails.boum.org' }],
    ['ssh://[::1]:22/x', { kind: 'host', host: '::1' }],
    ['git@gitlab.tails.boum.org:tails/x.git', { kind: 'host', host: 'gitlab.tails.boum.org' }],
    ['gitlab.tails.boum.org:tails/x.git', { kind: 'host', host: 'gitlab.tails.boum.org' }],
    ['../live-build.git', { kind: 'relative' }],
    ['./x', { kind: 'relative' }],
    ['/srv/git/x.git', { kind: 'local' }],
    ['file:///srv/git/x.git', { kind: 'local' }],
    ['dir/with:colon', { kind: 'local' }],
    ['', { kind: 'none' }],
    [undefined, { kind: 'none' }],
  ];
  for (const [url, expected] of table) {
    it(`${String(url)} → ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(urlReach(url), expected);
    });
  }
});

describe('git commands and their output', () => {
  it('ls-tree: what a revision records at the paths, taken literally', () => {
    const cmd = lsTreeCommand(ROOT, 'HEAD', ['submodules/live-build', 'submodules/*']);
    assert.deepEqual(cmd.args, ['-C', ROOT, '--literal-pathspecs', 'ls-tree', '-z', '--full-tree', 'HEAD', '--', 'submodules/live-build', 'submodules/*']);
    assert.equal(cmd.effect, 'read');
  });
  it('parseGitlinks keeps gitlinks (mode 160000) only, paths verbatim', () => {
    const out = [`160000 commit ${A}\tsubmodules/live-build`, `040000 tree ${B}\tsubmodules/pythonlib`, `100644 blob ${B}\tfile`, `160000 commit ${B}\todd\tname\n`, ''].join('\0');
    assert.deepEqual([...parseGitlinks(out)], [['submodules/live-build', A], ['odd\tname\n', B]]);
    assert.deepEqual([...parseGitlinks('')], []);
  });
  it('cat-file -e in the module repository, never fetching lazily', () => {
    const cmd = hasCommitCommand('/src/tails/.git/modules/submodules/live-build', A);
    assert.deepEqual(cmd.args, ['--git-dir', '/src/tails/.git/modules/submodules/live-build', 'cat-file', '-e', `${A}^{commit}`]);
    assert.deepEqual(cmd.env, { GIT_NO_LAZY_FETCH: '1' });
    assert.equal(cmd.effect, 'read');
  });
});

const fine = (entry: SubmoduleEntry, commit = A): SubmoduleObservation => ({ entry, recorded: [{ rev: 'HEAD', commit }], repo: 'present', workTreeGit: 'absent', present: [commit] });
const facts = (...submodules: SubmoduleObservation[]): SubmoduleFacts => ({ root: ROOT, gitDirIsDirectory: true, submodules });

describe('findSubmoduleProblems: what the build VM would not find in .git/modules', () => {
  const table: [string, SubmoduleFacts, string[]][] = [
    ['every submodule there with its commit', facts(fine(LIVE_BUILD), fine(PYTHONLIB, B)), []],
    ['no submodules', facts(), []],
    ['an entry no revision records a gitlink for: not a submodule of the build', facts({ entry: LIVE_BUILD, recorded: [], repo: 'absent', workTreeGit: 'absent', present: [] }), []],
    ['.git/modules/<name> missing', facts(fine(PYTHONLIB), { ...fine(LIVE_BUILD), repo: 'absent', present: [] }), ['missing submodules/live-build']],
    ['.git/modules/<name> missing, its .git file left', facts({ ...fine(LIVE_BUILD), repo: 'absent', workTreeGit: 'file', present: [] }), ['missing submodules/live-build gitFileLeft']],
    ['the repository in the work tree', facts({ ...fine(LIVE_BUILD), repo: 'absent', workTreeGit: 'directory', present: [] }), ['in-work-tree submodules/live-build']],
    ['.git/modules/<name> not a git dir', facts({ ...fine(LIVE_BUILD), repo: 'not-a-git-dir', present: [] }), ['not-a-git-dir submodules/live-build']],
    ['the recorded commit missing', facts({ ...fine(LIVE_BUILD), present: [] }), ['commit-missing submodules/live-build HEAD']],
    [
      'one of two revisions records a commit the repository lacks',
      facts({ entry: LIVE_BUILD, recorded: [{ rev: 'HEAD', commit: A }, { rev: 'origin/stable', commit: B }], repo: 'present', workTreeGit: 'absent', present: [A] }),
      ['commit-missing submodules/live-build origin/stable'],
    ],
    ['.git is a file (a linked worktree): every recorded submodule at once', { ...facts(fine(LIVE_BUILD), fine(PYTHONLIB)), gitDirIsDirectory: false }, ['checkout-git-file submodules/live-build,submodules/pythonlib']],
    ['.git is a file, but no submodule recorded', { ...facts({ ...fine(LIVE_BUILD), recorded: [] }), gitDirIsDirectory: false }, []],
  ];
  for (const [name, f, expected] of table) {
    it(name, () => {
      const found = findSubmoduleProblems(f).map((p) =>
        p.kind === 'checkout-git-file' ? `${p.kind} ${p.entries.map((e) => e.name).join(',')}` : `${p.kind} ${p.entry.name}${p.kind === 'commit-missing' ? ` ${p.commits.map((c) => c.rev).join(',')}` : ''}${p.kind === 'missing' && p.gitFileLeft ? ' gitFileLeft' : ''}`,
      );
      assert.deepEqual(found, expected);
      assert.equal(checkSubmoduleFacts(f) === undefined, expected.length === 0);
    });
  }
});

describe('checkSubmoduleFacts: the refusal names each submodule, the fact and the git command', () => {
  it('a missing module repository and a missing commit', () => {
    const e = checkSubmoduleFacts(facts({ ...fine(LIVE_BUILD), repo: 'absent', present: [] }, { ...fine(PYTHONLIB, B), present: [] }));
    assert.ok(e instanceof UserError);
    assert.equal(e.code, 'tails-submodule-missing');
    assert.equal(e.kind, 'precondition');
    assert.equal(
      e.message,
      [
        '2 submodules are not in /src/tails/.git/modules as the build needs them:',
        '  - submodules/live-build (path submodules/live-build, url https://gitlab.tails.boum.org/tails/live-build.git): /src/tails/.git/modules/submodules/live-build does not exist (the submodule was never cloned into this checkout).',
        '  - submodules/pythonlib (path submodules/pythonlib, url https://gitlab.tails.boum.org/tails/python-lib.git): /src/tails/.git/modules/submodules/pythonlib lacks commit bbbbbbbbbbbb (what HEAD records at submodules/pythonlib).',
        "build-tails clones every submodule in the build VM from /amnesia.git/.git/modules/<name> (this checkout's .git/modules, shared read-only over 9p) and fetches none itself: the VM cannot reach gitlab.tails.boum.org.",
      ].join('\n'),
    );
    assert.equal(
      e.hint,
      [
        'In /src/tails, with network access to gitlab.tails.boum.org:',
        '  git -C /src/tails submodule update --init -- submodules/live-build',
        '  git -C /src/tails submodule update -- submodules/pythonlib',
        'then run tails-build iso again.',
      ].join('\n'),
    );
  });

  it('one submodule: singular; a commit of another revision is fetched in the module repository', () => {
    const e = checkSubmoduleFacts(facts({ entry: LIVE_BUILD, recorded: [{ rev: B, commit: A }], repo: 'present', workTreeGit: 'absent', present: [] }));
    assert.ok(e instanceof UserError);
    assert.match(e.message, /^A submodule is not in \/src\/tails\/\.git\/modules as the build needs it:\n/);
    assert.match(e.message, /lacks commit aaaaaaaaaaaa \(what bbbbbbbbbbbb records at submodules\/live-build\)/);
    assert.equal(e.hint, ['In /src/tails, with network access to gitlab.tails.boum.org:', '  git --git-dir /src/tails/.git/modules/submodules/live-build fetch origin', 'then run tails-build iso again.'].join('\n'));
  });

  it('a repository in the work tree is absorbed; a broken one is moved aside; odd paths are quoted', () => {
    const odd: SubmoduleEntry = { name: 'submodules/my lib', path: 'submodules/my lib', url: '../my-lib.git' };
    const e = checkSubmoduleFacts(facts({ ...fine(LIVE_BUILD), repo: 'absent', workTreeGit: 'directory', present: [] }, { ...fine(odd), repo: 'not-a-git-dir', present: [] }));
    assert.ok(e instanceof UserError);
    assert.match(e.message, /its repository is \/src\/tails\/submodules\/live-build\/\.git, in its work tree \(as an older git cloned submodules\), not \/src\/tails\/\.git\/modules\/submodules\/live-build\./);
    assert.match(e.message, /submodules\/my lib \(path submodules\/my lib, url \.\.\/my-lib\.git\): \/src\/tails\/\.git\/modules\/submodules\/my lib is not a git repository \(it has no HEAD file or no objects\/ directory\)\./);
    assert.match(e.message, /the VM cannot reach gitlab\.tails\.boum\.org, the checkout's origin remote \(a relative url is relative to it\)\.$/);
    assert.equal(
      e.hint,
      [
        'In /src/tails, with network access to gitlab.tails.boum.org:',
        '  git -C /src/tails submodule absorbgitdirs -- submodules/live-build && git -C /src/tails submodule update -- submodules/live-build',
        "  mv -- '/src/tails/.git/modules/submodules/my lib' '/src/tails/.git/submodules-my lib.broken' && git -C /src/tails submodule deinit -f -- 'submodules/my lib' && git -C /src/tails submodule update --init -- 'submodules/my lib'",
        'then run tails-build iso again.',
      ].join('\n'),
    );
  });

  it('a .git file left in the work tree: deinit clears it before update --init', () => {
    const e = checkSubmoduleFacts(facts({ ...fine(LIVE_BUILD), repo: 'absent', workTreeGit: 'file', present: [] }));
    assert.ok(e instanceof UserError);
    assert.match(e.message, /\/src\/tails\/\.git\/modules\/submodules\/live-build does not exist \(its work tree's \.git file, \/src\/tails\/submodules\/live-build\/\.git, still points at it\)\./);
    assert.equal(
      e.hint,
      [
        'In /src/tails, with network access to gitlab.tails.boum.org:',
        '  git -C /src/tails submodule deinit -f -- submodules/live-build && git -C /src/tails submodule update --init -- submodules/live-build',
        'then run tails-build iso again.',
      ].join('\n'),
    );
  });

  it('no url in .gitmodules', () => {
    const e = checkSubmoduleFacts(facts({ ...fine({ ...LIVE_BUILD, url: undefined }), repo: 'absent', present: [] }));
    assert.ok(e instanceof UserError);
    assert.match(e.message, /\(path submodules\/live-build, url none in \.gitmodules\)/);
    assert.match(e.message, /the VM cannot fetch a submodule \.gitmodules gives no url for\.$/);
    assert.match(e.hint ?? '', /^In \/src\/tails, where its url can be fetched from:\n/);
  });

  it('a linked worktree: its .git is a file', () => {
    const e = checkSubmoduleFacts({ ...facts(fine(LIVE_BUILD), fine(PYTHONLIB)), gitDirIsDirectory: false });
    assert.ok(e instanceof UserError);
    assert.equal(e.code, 'tails-submodule-missing');
    assert.equal(
      e.message,
      '/src/tails/.git is a file, not a directory: this checkout is a linked worktree (git worktree add) or itself a submodule, and keeps its repository and its submodules elsewhere. build-tails clones the checkout from /amnesia.git/.git and each submodule from /amnesia.git/.git/modules/<name> in the build VM (the checkout is shared read-only over 9p), so it would find none of its submodules: submodules/live-build, submodules/pythonlib.',
    );
    assert.equal(e.hint, 'Build in a checkout whose .git is a directory: the main worktree (the first line of git -C /src/tails worktree list), after git submodule update --init there; or a fresh clone (git clone --recurse-submodules URL DIR).');
  });
});
