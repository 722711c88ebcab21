/** Artifacts copied into the checkout go to .git/info/exclude, once each: a strict runner and an in-memory files port. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { excludeFromGit, excludeLines } from '../../src/app/git-exclude.js';
import { formatCommand, type Command } from '../../src/core/command.js';
import type { RunResult, Runner } from '../../src/core/ports.js';
import { memoryFiles } from '../helpers/files.js';

const HEADER = '# Artifacts tails-build copied into this checkout (it adds them here; remove at will)';
const REV_PARSE = 'git -C /repo rev-parse --path-format=absolute --git-path info/exclude';

/** Answers `git rev-parse … info/exclude` with `answer`; any other command throws. */
function gitPathRunner(answer: RunResult): Runner & { ran: string[] } {
  const ran: string[] = [];
  return {
    ran,
    run: () => Promise.reject(new Error('run: not expected')),
    tryRun: (cmd: Command) => {
      const shown = formatCommand(cmd);
      if (shown !== REV_PARSE) throw new Error(`unexpected command: ${shown}`);
      ran.push(shown);
      return Promise.resolve(answer);
    },
    which: () => Promise.reject(new Error('which: not expected')),
    start: () => Promise.reject(new Error('start: not expected')),
  };
}

const found = gitPathRunner({ exitCode: 0, stdout: '/repo/.git/info/exclude\n', stderr: '' });

describe('excludeLines', () => {
  it('anchors the names under the artifacts dir, escapes glob characters, and skips dirs outside the checkout', () => {
    assert.deepEqual(excludeLines('/repo', '/repo', ['b.iso', 'a[1].log', 'b.iso', 'sub/x', '']), ['/a\\[1].log', '/b.iso']);
    assert.deepEqual(excludeLines('/repo', '/repo/out/verify', ['x.iso']), ['/out/verify/x.iso']);
    assert.deepEqual(excludeLines('/repo', '/elsewhere', ['x.iso']), []);
  });
});

describe('excludeFromGit', () => {
  it('creates the exclude file (and .git/info) with the header and the names', async () => {
    const disk = memoryFiles({ '/repo/.git/HEAD': 'ref: refs/heads/main\n' });
    await excludeFromGit({ runner: gitPathRunner({ exitCode: 0, stdout: '/repo/.git/info/exclude\n', stderr: '' }), disk }, '/repo', '/repo', ['tails.iso', 'build.log']);
    assert.equal(disk.texts.get('/repo/.git/info/exclude'), `${HEADER}\n/build.log\n/tails.iso\n`);
  });

  it('appends only the missing names, once, after a line break the file lacked; the header is not repeated', async () => {
    const disk = memoryFiles({ '/repo/.git/info/exclude': `# mine\n${HEADER}\n/build.log` });
    await excludeFromGit({ runner: found, disk }, '/repo', '/repo', ['build.log', 'tails.iso']);
    assert.equal(disk.texts.get('/repo/.git/info/exclude'), `# mine\n${HEADER}\n/build.log\n/tails.iso\n`);
    const before = disk.texts.get('/repo/.git/info/exclude');
    await excludeFromGit({ runner: found, disk }, '/repo', '/repo', ['tails.iso']);
    assert.equal(disk.texts.get('/repo/.git/info/exclude'), before);
  });

  it('asks git nothing and writes nothing for an artifacts dir outside the checkout', async () => {
    const runner = gitPathRunner({ exitCode: 0, stdout: '', stderr: '' });
    const disk = memoryFiles();
    await excludeFromGit({ runner, disk }, '/repo', '/srv/artifacts', ['tails.iso']);
    assert.deepEqual(runner.ran, []);
    assert.equal(disk.texts.size, 0);
  });

  it('writes nothing when git cannot say where the exclude file is', async () => {
    const disk = memoryFiles();
    await excludeFromGit({ runner: gitPathRunner({ exitCode: 128, stdout: '', stderr: 'fatal: not a git repository' }), disk }, '/repo', '/repo', ['tails.iso']);
    assert.equal(disk.texts.size, 0);
  });
});
