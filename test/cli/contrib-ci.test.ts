/**
 * The contrib CI examples' first build, without a VM: run as their CI runs them
 * (contrib/gitlab/.gitlab-ci.yml under gitlab-ci-local, shell executor; the
 * Jenkinsfile's sh steps in order in one workspace), on a fresh project whose
 * builder box is not imported. Each gets past the checkout check (it used to
 * stop there: "uncommitted changes … ?? doctor.json ?? events.ndjson") to the
 * refusal that names the missing box, with its events and JUnit report in
 * out/. The full builds are in test/vm/contrib-ci.ts.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SyntaxValidator } from 'fast-xml-validator';
import { REPO_ROOT } from '../helpers/builder-project.js';
import { MAIN } from '../helpers/cli.js';
import { assertEventStream } from '../helpers/events.js';
import { createTempRepo, GIT_ENV, makeTempDir, type TempRepo } from '../helpers/git-repo.js';
import { SAMPLE_LAYOUT } from '../helpers/sample-layout.js';
import { GITLAB_CI_LOCAL, jenkinsStages } from '../vm/contrib-ci.js';

const repos: TempRepo[] = [];
const dirs: string[] = [];
after(() => {
  for (const r of repos) r.remove();
  for (const d of dirs) execFileSync('rm', ['-rf', d]);
});

function project(files: Record<string, string> = {}): TempRepo {
  const r = createTempRepo();
  repos.push(r);
  r.write({
    ...SAMPLE_LAYOUT,
    ...files,
  });
  r.commit('Initial', '2024-09-02T10:00:00Z');
  return r;
}

/** PATH with `tails-build` as `npm link` puts it, an empty vagrant home, nothing else of the caller's. */
function jobEnv(): Record<string, string> {
  const tmp = makeTempDir('tb-contrib-');
  dirs.push(tmp);
  mkdirSync(join(tmp, 'bin'));
  writeFileSync(join(tmp, 'bin/tails-build'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(MAIN)} "$@"\n`);
  chmodSync(join(tmp, 'bin/tails-build'), 0o755);
  mkdirSync(join(tmp, 'vagrant'));
  mkdirSync(join(tmp, 'home'));
  const env: Record<string, string> = { ...GIT_ENV, PATH: `${join(tmp, 'bin')}:${process.env.PATH ?? '/usr/bin:/bin'}`, HOME: process.env.HOME ?? tmp, VAGRANT_HOME: join(tmp, 'vagrant'), TAILS_BUILD_CACHE: join(tmp, 'cache'), GITLAB_CI_LOCAL_HOME: join(tmp, 'home') };
  for (const key of ['LANG', 'LIBVIRT_DEFAULT_URI', 'TAILS_BUILD_NETNS']) { const v = process.env[key]; if (v !== undefined) env[key] = v; };
  return env;
}

function assertRefusedForTheBox(out: string): void {
  const events = assertEventStream(readFileSync(join(out, 'events.ndjson'), 'utf8'), 3);
  const result = events[events.length - 1] as unknown as { error: { code: string } };
  assert.equal(result.error.code, 'basebox-not-imported');
  const xml = readFileSync(join(out, 'iso.xml'), 'utf8');
  SyntaxValidator.validate(xml);
  assert.match(xml, /<testsuite name="tails-build iso"/);
  assert.ok(existsSync(join(out, 'doctor.json')));
}

describe('the contrib CI examples, first build, no box yet', () => {
  it('GitLab (gitlab-ci-local, shell executor): doctor passes; iso is not refused for the files the jobs wrote, but for the missing box', { timeout: 120_000 }, () => {
    const r = project({ '.gitlab-ci.yml': readFileSync(join(REPO_ROOT, 'contrib/gitlab/.gitlab-ci.yml'), 'utf8') });
    appendFileSync(join(r.root, '.git/info/exclude'), '/.gitlab-ci-local/\n');
    const env = jobEnv();
    const res = spawnSync(process.execPath, [GITLAB_CI_LOCAL, '--home', String(env.GITLAB_CI_LOCAL_HOME)], { cwd: r.root, env, encoding: 'utf8', timeout: 110_000 });
    const output = `${res.stdout}${res.stderr}`;
    assert.equal(res.status, 1, output);
    assert.match(output, /PASS\s+doctor/);
    assert.match(output, /FAIL\s+iso/);
    assert.doesNotMatch(output, /has uncommitted changes/);
    assert.match(output, /not counting 2 untracked file\(s\) under out\/ \(out\/doctor\.json, out\/events\.ndjson\)/);
    assertRefusedForTheBox(join(r.root, 'out'));
    // when: always: the iso job's artifacts are uploaded on failure too.
    assert.ok(existsSync(join(r.root, '.gitlab-ci-local/artifacts/iso/out/iso.xml')));
    assert.ok(existsSync(join(r.root, '.gitlab-ci-local/artifacts/doctor/out/doctor.json')));
  });

  it('Jenkins (the sh steps, in order, one workspace, detached HEAD): Host passes; Build is refused for the missing box, not the workspace', { timeout: 120_000 }, () => {
    const r = project();
    const commit = r.git('rev-parse', 'HEAD');
    r.git('checkout', '-q', '--detach');
    const env = { ...jobEnv(), JENKINS_URL: 'http://jenkins.invalid/', BUILD_ID: '1', GIT_BRANCH: 'origin/main', GIT_COMMIT: commit };
    const stages = jenkinsStages(readFileSync(join(REPO_ROOT, 'contrib/jenkins/Jenkinsfile'), 'utf8')).filter((s) => s.when === undefined);
    const codes = stages.flatMap((s) => s.sh).map((step) => {
      const res = spawnSync('sh', ['-xe', '-c', step], { cwd: r.root, env, encoding: 'utf8', timeout: 60_000 });
      assert.doesNotMatch(res.stderr, /has uncommitted changes/);
      return res.status;
    });
    assert.deepEqual(codes, [0, 3]);
    assertRefusedForTheBox(join(r.root, 'out'));
  });
});
