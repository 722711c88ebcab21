/**
 * The contrib CI examples, run the way their CI runs them, on the box the
 * basebox tests built: contrib/gitlab/.gitlab-ci.yml committed as the
 * project's .gitlab-ci.yml and run by gitlab-ci-local (shell executor, the
 * jobs' scripts exactly as written, in the checkout); contrib/jenkins/Jenkinsfile
 * by its `sh` steps, extracted from the file, in order, in one workspace (a
 * clone on Jenkins' detached HEAD) with the git plugin's variables, then its
 * `junit` and `archiveArtifacts` patterns matched. Each job's iso is the sample
 * ISO with --boot-test in a fresh VM; `tails-build` is on PATH as `npm link`
 * would put it (a wrapper running the built dist/src/main.js). Called from
 * basebox.test.ts; sets up the checkout it needs (the default recipe, no
 * `fail` or `slow` file) whatever the tests before it left.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync, appendFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { XMLParser } from 'fast-xml-parser';
import { SyntaxValidator } from 'fast-xml-validator';
import { REPO_ROOT } from '../helpers/builder-project.js';
import { MAIN } from '../helpers/cli.js';
import { assertEventStream } from '../helpers/events.js';
import { GIT_ENV, makeTempDir } from '../helpers/git-repo.js';
import type { BuildVmFixture } from './build-vm.js';

const JOB_TIMEOUT = 30 * 60_000;
export const GITLAB_CI_LOCAL = join(REPO_ROOT, 'node_modules/.bin/gitlab-ci-local');

interface Report {
  ok: boolean;
  git: { commit: string; ref: string };
  bootTest: { ok: boolean } | null;
  artifacts: { name: string }[];
}

interface Run {
  code: number | null;
  output: string;
}

/** Runs a command to its end, stdout and stderr together (as a CI console shows them). */
function run(file: string, args: readonly string[], cwd: string, env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    const timer = setTimeout(() => child.kill('SIGINT'), JOB_TIMEOUT);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** The Jenkinsfile's stages in order, each with its `sh` steps and whether a `when` guards it. */
export function jenkinsStages(text: string): { name: string; when: string | undefined; sh: string[] }[] {
  const body = text.slice(0, text.search(/^\s*post\s*\{/m));
  return body.split(/\bstage\('/).slice(1).map((chunk) => ({
    name: chunk.slice(0, chunk.indexOf("'")),
    when: /\bwhen\s*\{([^}]*)\}/.exec(chunk)?.[1]?.trim(),
    sh: [...chunk.matchAll(/^\s*sh\s+'([^']*)'\s*$/gm)].map((m) => String(m[1])),
  }));
}

/** The comma-separated Ant patterns of a post step's argument, e.g. archiveArtifacts artifacts: '…'. */
export function jenkinsPatterns(text: string, step: string, argument: string): string[] {
  const m = new RegExp(`\\b${step}\\s+${argument}:\\s*'([^']*)'`).exec(text);
  assert.ok(m !== null, `no ${step} ${argument}: in the Jenkinsfile`);
  return String(m[1]).split(',').map((p) => p.trim());
}

/** An Ant (Jenkins) or GitLab artifacts pattern as a RegExp over paths relative to the workspace. */
export function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charAt(i);
    if (pattern.startsWith('**/', i)) {
      re += '(?:.*/)?';
      i += 2;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function filesUnder(dir: string, root = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name), root) : [relative(root, join(dir, e.name))]));
}

function assertJUnit(path: string): void {
  const xml = readFileSync(path, 'utf8');
  SyntaxValidator.validate(xml);
  const doc = new XMLParser({ ignoreAttributes: false, isArray: (n) => n === 'testcase' }).parse(xml) as { testsuites: { testsuite: { '@_name': string; '@_failures': string; testcase: { '@_name': string; failure?: unknown }[] } } };
  const suite = doc.testsuites.testsuite;
  assert.equal(suite['@_name'], 'tails-build iso');
  assert.equal(suite['@_failures'], '0', xml);
  assert.ok(suite.testcase.some((c) => c['@_name'].startsWith('boot-test')), `no boot-test testcase in ${path}`);
}

/** The checks every job's out/ must pass: the build report, the event stream, the JUnit report, the boot test. */
function assertIsoOutput(dir: string, commit: string): void {
  const report = JSON.parse(readFileSync(join(dir, 'build-report.json'), 'utf8')) as Report;
  assert.equal(report.ok, true);
  assert.equal(report.git.commit, commit);
  assert.equal(report.bootTest?.ok, true);
  assert.ok(existsSync(join(dir, `tails-build-sample-amd64-${commit.slice(0, 12)}.iso`)), readdirSync(dir).join(' '));
  assertEventStream(readFileSync(join(dir, 'events.ndjson'), 'utf8'), 0);
  assertJUnit(join(dir, 'iso.xml'));
  assert.match(readFileSync(join(dir, 'boot-test.log'), 'utf8'), new RegExp(`TAILS-BUILD-BOOT-OK commit=${commit}`));
}

export function describeContribCi(fixture: () => BuildVmFixture): void {
  describe('the contrib CI examples, run as their CI runs them (gitlab-ci-local; the Jenkinsfile\'s sh steps in one workspace)', () => {
    let tmp: string;
    let env: Record<string, string>;
    let storeLink: string | undefined;

    before(() => {
      const f = fixture();
      // The build-VM tests leave a test buildCommand and a committed `fail`: the sample recipe, no fail or slow.
      const config = JSON.parse(readFileSync(join(f.repo.root, 'tails-build.json'), 'utf8')) as Record<string, unknown>;
      delete config.buildCommand;
      f.repo.write({ 'tails-build.json': JSON.stringify(config, null, 2) });
      for (const name of ['fail', 'slow']) rmSync(join(f.repo.root, name), { force: true });
      if (f.repo.git('status', '--porcelain') !== '') f.repo.commit('The sample ISO, for the CI examples', '2026-11-08T12:00:00Z');

      tmp = makeTempDir('tb-contrib-ci-');
      chmodSync(tmp, 0o755);
      // `tails-build` on PATH, as `npm link` in the tool's checkout puts it.
      const bin = join(tmp, 'bin');
      mkdirSync(bin);
      writeFileSync(join(bin, 'tails-build'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(MAIN)} "$@"\n`);
      chmodSync(join(bin, 'tails-build'), 0o755);
      // The jobs name no --store: the default store (<cache>/snapshots) is the test store.
      const cache = f.env.TAILS_BUILD_CACHE;
      assert.ok(cache !== undefined, 'the fixture sets TAILS_BUILD_CACHE');
      if (!existsSync(join(cache, 'snapshots'))) {
        storeLink = join(cache, 'snapshots');
        symlinkSync(f.store, storeLink);
      }
      env = { GIT_CONFIG_NOSYSTEM: '1' };
      for (const key of ['HOME', 'LANG', 'LIBVIRT_DEFAULT_URI', 'TAILS_BUILD_NETNS', 'TAILS_BUILD_LOCK_DIR']) {
        const value = process.env[key];
        if (value !== undefined) env[key] = value;
      }
      Object.assign(env, f.env, { PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` });
      assert.equal(execFileSync('sh', ['-c', 'command -v tails-build'], { env, encoding: 'utf8' }).trim(), join(bin, 'tails-build'));
    });

    after(() => {
      if (storeLink !== undefined) rmSync(storeLink, { force: true });
      rmSync(tmp, { recursive: true, force: true });
    });

    it('GitLab: the pipeline of contrib/gitlab/.gitlab-ci.yml passes under gitlab-ci-local; the artifacts are where its artifacts: say, the JUnit report parses, the checkout is left with out/ only', { timeout: JOB_TIMEOUT }, async () => {
      const f = fixture();
      assert.ok(existsSync(GITLAB_CI_LOCAL), `${GITLAB_CI_LOCAL} is missing: run npm ci (gitlab-ci-local is a devDependency)`);
      const ci = readFileSync(join(REPO_ROOT, 'contrib/gitlab/.gitlab-ci.yml'), 'utf8');
      f.repo.write({ '.gitlab-ci.yml': ci });
      const commit = f.repo.commit('GitLab CI, as contrib/gitlab has it', '2026-11-08T13:00:00Z');
      // A runner's checkout has no .gitlab-ci-local/: keep the emulator's state out of git status.
      appendFileSync(join(f.repo.root, '.git/info/exclude'), '/.gitlab-ci-local/\n');
      const gitlabHome = join(tmp, 'gitlab-ci-local-home');
      mkdirSync(gitlabHome);
      try {
        const r = await run(process.execPath, [GITLAB_CI_LOCAL, '--home', gitlabHome], f.repo.root, { ...env, ...GIT_ENV });
        assert.equal(r.code, 0, r.output.slice(-6000));
        assert.match(r.output, /PASS\s+doctor/);
        assert.match(r.output, /PASS\s+iso/);
        assert.doesNotMatch(r.output, /prune starting/, 'prune runs on a schedule only');
        assert.doesNotMatch(r.output, /has uncommitted changes/);

        // Each job's artifacts:paths, as GitLab would upload them.
        const artifacts = (job: string): string => join(f.repo.root, '.gitlab-ci-local/artifacts', job);
        const doctor = JSON.parse(readFileSync(join(artifacts('doctor'), 'out/doctor.json'), 'utf8')) as { ok: boolean };
        assert.equal(doctor.ok, true);
        const uploaded = filesUnder(artifacts('iso'));
        const declared = /^iso:\n[\s\S]*?\n {4}paths:\n((?: {6}- .*\n)+)/m.exec(ci)?.[1];
        assert.ok(declared !== undefined, 'the iso job declares artifacts:paths');
        for (const pattern of declared.split('\n').filter((l) => l.trim() !== '').map((l) => l.replace(/^ {6}- /, '').trim().replace(/^"(.*)"$/, '$1'))) {
          assert.ok(uploaded.some((p) => globToRegExp(pattern).test(p)), `nothing uploaded matches ${pattern}: ${uploaded.join(' ')}`);
        }
        const junit = /^\s+junit: (\S+)$/m.exec(ci)?.[1];
        assert.equal(junit, 'out/iso.xml');
        assertIsoOutput(join(f.repo.root, 'out'), commit);
        assertJUnit(join(artifacts('iso'), junit));
        // The job wrote only under out/ (what the tool copied there is excluded; what the job redirected is untracked there).
        for (const line of f.repo.git('status', '--porcelain', '--untracked-files=all').split('\n').filter((l) => l !== '')) assert.match(line, /^\?\? out\//);
        assert.match(r.output, /not counting \d+ untracked file\(s\) under out\//);
      } finally {
        rmSync(join(f.repo.root, 'out'), { recursive: true, force: true });
        rmSync(join(f.repo.root, '.gitlab-ci-local'), { recursive: true, force: true });
      }
    });

    it('Jenkins: the sh steps of contrib/jenkins/Jenkinsfile, in order, in one workspace on a detached HEAD with the git plugin\'s variables: each exits 0; its junit and archiveArtifacts patterns find the files', { timeout: JOB_TIMEOUT }, async () => {
      const f = fixture();
      const text = readFileSync(join(REPO_ROOT, 'contrib/jenkins/Jenkinsfile'), 'utf8');
      const stages = jenkinsStages(text);
      assert.deepEqual(stages.map((s) => s.name), ['Host', 'Prune', 'Build']);
      // Not triggered by the timer: the Prune stage is skipped, as Jenkins would.
      const steps = stages.filter((s) => s.when === undefined || !/triggeredBy 'TimerTrigger'/.test(s.when)).flatMap((s) => s.sh);
      assert.ok(steps.length >= 2 && steps.some((s) => s.includes(' iso ')), steps.join('\n'));

      // The git plugin: a clone of the job's repository, on a detached HEAD at GIT_COMMIT.
      const workspace = join(tmp, 'workspace');
      execFileSync('git', ['clone', '-q', f.repo.root, workspace]);
      const commit = execFileSync('git', ['-C', workspace, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
      execFileSync('git', ['-C', workspace, 'checkout', '-q', '--detach', commit]);
      const jenkins = { ...env, JENKINS_URL: 'http://jenkins.invalid/', BUILD_ID: '1', BUILD_NUMBER: '1', JOB_NAME: 'tails-build', WORKSPACE: workspace, GIT_BRANCH: 'origin/main', GIT_COMMIT: commit };
      try {
        for (const step of steps) {
          // Jenkins' sh step: the script run by sh -xe in the workspace.
          const r = await run('sh', ['-xe', '-c', step], workspace, jenkins);
          assert.equal(r.code, 0, `sh '${step}' exited ${String(r.code)}:\n${r.output.slice(-6000)}`);
          assert.doesNotMatch(r.output, /has uncommitted changes/);
        }
        // post { always { junit …; archiveArtifacts … } }: every pattern finds a file (the stages' outputs kept in the workspace).
        const files = filesUnder(workspace).filter((p) => !p.startsWith('.git/'));
        const reports = jenkinsPatterns(text, 'junit', 'testResults').flatMap((pattern) => files.filter((p) => globToRegExp(pattern).test(p)));
        assert.deepEqual(reports, ['out/iso.xml']);
        for (const pattern of jenkinsPatterns(text, 'archiveArtifacts', 'artifacts')) assert.ok(files.some((p) => globToRegExp(pattern).test(p)), `archiveArtifacts: nothing matches ${pattern}: ${files.join(' ')}`);
        assert.equal((JSON.parse(readFileSync(join(workspace, 'out/doctor.json'), 'utf8')) as { ok: boolean }).ok, true, 'doctor.json kept from the Host stage');
        assertIsoOutput(join(workspace, 'out'), commit);
        const report = JSON.parse(readFileSync(join(workspace, 'out/build-report.json'), 'utf8')) as Report;
        assert.equal(report.git.ref, 'main', 'on the detached HEAD, GIT_BRANCH names the ref');
      } finally {
        rmSync(workspace, { recursive: true, force: true });
      }
    });
  });
}
