/** `tails-build verify`: build twice in fresh VMs (or once against a published report) and compare. */
import type { Command } from 'commander';
import { basename, join, resolve } from 'node:path';
import { UserError } from '../../core/errors.js';
import { comparedName, parsePublishedBuild } from '../../core/verify.js';
import type { Deps } from '../../app/deps.js';
import { addBuildFlags, isoInputs, verifyExplicitDir, verifyOutputDir, vmBuildBase, type BuildCommandFlags } from '../build-flags.js';
import { messages } from '../../core/messages/index.js';
import { depsFor, type CliContext } from '../context.js';
import { junitProperties, printPlan } from './iso.js';
import { withJUnit } from '../junit.js';
import { suiteFromSteps } from '../../core/junit.js';
import type { IsoBuildPlan } from '../../core/iso-plan.js';
import type { StepRecord } from '../../ui/progress.js';

interface VerifyFlags extends BuildCommandFlags {
  readonly against?: string;
  readonly artifacts?: string;
  readonly output?: string;
}

export const VERIFY_REPORT = 'verify-report.json';

export function registerVerify(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('verify')
    .description('prove the build is reproducible: build the same commit in two fresh VMs (the second pinned to the serials the first used) and compare every artifact')
    .option('--against <build-report.json>', 'rebuild what a published build report describes (commit, serials, box) once, and compare with its sha256s')
    .option('--artifacts <dir>', 'where build-1/, build-2/ and verify-report.json go (default: <ARTIFACTS or the project root>/verify)')
    .option('--output <dir>', 'the older name of --artifacts');
  addBuildFlags(cmd, 'boot-test the ISO of each build too')
    .addHelpText(
      'after',
      `
Compared: every artifact the recipe wrote (the .iso, .packages, .apt-sources,
.build-manifest, tails-build-env.list) — not build.log, build-report.json or the
boot console. Both hashes are printed with the verdict; verify-report.json holds
them. On a mismatch both artifact sets are kept, diffoscope (when installed)
writes a report per differing file next to them, and the exit code is 4.
The builder's debian-security snapshot is pinned too: tool versions in the
builder (xorriso, mksquashfs) can reach the ISO.

Examples:
  tails-build verify                                   two builds, compare
  tails-build verify --artifacts /srv/verify           build-1/ and build-2/ there
  tails-build verify --against /srv/release/build-report.json
  tails-build --json verify | tail -n 1 | jq .identical`,
    )
    .action(async (flags: VerifyFlags, command: Command) => {
      // Loaded when the command runs (start-up, --help: none of it).
      const [{ loadProject }, { computeIsoPlan }, { verify }, { excludeFromGit }] = await Promise.all([import('../../app/project.js'), import('../../app/iso-plan.js'), import('../../app/verify.js'), import('../../app/git-exclude.js')]);
      const { deps, globals } = depsFor(ctx, command);
      // Before anything is planned or built: a file where the builds would go.
      const explicitDir = verifyExplicitDir(ctx.cwd, flags);
      if (explicitDir !== undefined && (await deps.disk.stat(explicitDir))?.kind === 'file') throw messages.verify.outputNotADirectory(explicitDir);
      deps.out.startEvents('verify');
      const steps: StepRecord[] = [];
      const started = deps.clock.now().toISOString();
      let plan: IsoBuildPlan | undefined;
      await withJUnit(ctx, flags.junit, (outcome) => [suiteFromSteps('tails-build verify', started, steps, outcome, plan === undefined ? {} : junitProperties(plan))], async () => {
        const project = await loadProject(deps, { projectDir: globals.project, cwd: ctx.cwd });
        const against = flags.against === undefined ? undefined : await readReport(deps, resolve(ctx.cwd, flags.against));
        // verify's --artifacts is where both builds go, not iso's artifacts dir: ARTIFACTS keeps its meaning here.
        const { artifacts: _bothBuildsDir, ...buildFlags } = flags;
        const base = isoInputs(ctx, buildFlags, false);
        // The published build's compression reaches its bytes: rebuild with it unless told otherwise.
        const compression = against?.report.compression;
        const inputs = compression === undefined || flags.compression !== undefined
          ? base
          : { ...base, optionWords: [...base.optionWords, { text: compression === 'fast' ? 'fastcomp' : 'defaultcomp', source: against?.source ?? '' }] };
        const planned = await computeIsoPlan(deps, project, {
          ...inputs,
          // Its own output dir, like the artifacts dir: untracked files there are not source.
          outputDirs: [flags.output === undefined ? 'verify' : resolve(ctx.cwd, flags.output)],
          ...(against === undefined ? {} : { pinnedSerialsJson: JSON.stringify(against.report.isoSerials), builderSecurity: against.report.builderSecurity }),
        });
        plan = planned;
        const outputDir = verifyOutputDir(ctx.cwd, flags, planned.request.artifactsDir);
        if (!globals.json) printPlan(deps.out, planned);
        deps.out.event({ event: 'plan', plan: planned });
        const result = await verify(deps, {
          build: { ...vmBuildBase(ctx, globals, flags, project.buildCommand), project, onStep: (s) => steps.push(s) },
          plan: planned,
          outputDir,
          ...(against === undefined ? {} : { against }),
          onBuild: (n, of, what) => {
            deps.out.info(`verify: build ${String(n)} of ${String(of)} in a fresh VM (${what})`);
          },
        });
        const summary = {
          schema: 'tails-build/verify@1',
          identical: result.identical,
          commit: planned.request.git.commit,
          files: result.comparison.files,
          builds: result.builds.map((b) => ({ label: b.label, artifactsDir: b.artifactsDir, report: b.report })),
          diffoscope: result.diffoscope,
          ...(result.diffoscopeNote === undefined ? {} : { note: result.diffoscopeNote }),
        };
        steps.push({
          id: 'compare',
          title: 'Compare the sha256 of every reproducible artifact',
          status: 'done',
          ms: 0,
          tail: result.comparison.files.map((f) => `${f.identical ? 'identical' : f.notCompared !== undefined ? 'not compared' : 'DIFFERENT'} ${comparedName(f)}: ${f.first ?? '(missing)'} / ${f.second ?? '(missing)'}`),
        });
        await deps.disk.writeText(join(outputDir, VERIFY_REPORT), `${JSON.stringify(summary, null, 2)}\n`);
        await excludeFromGit(deps, project.root, outputDir, [VERIFY_REPORT, ...result.diffoscope.map((p) => basename(p))]);
        deps.out.event({ event: 'verify', identical: summary.identical, files: summary.files });
        if (globals.json) deps.out.result(summary);
        else {
          const [a, b] = result.builds;
          deps.out.line(`Compared ${a?.label ?? ''} (${a?.artifactsDir || a?.report || ''}) with ${b?.label ?? ''} (${b?.artifactsDir ?? ''}):`);
          for (const f of result.comparison.files) {
            deps.out.line(`  ${f.identical ? 'identical' : f.notCompared !== undefined ? 'not compared' : 'DIFFERENT'}  ${comparedName(f)}${!f.identical && f.notCompared !== undefined ? ` (${f.notCompared})` : ''}`);
            deps.out.line(`      ${a?.label ?? ''}: ${f.first ?? '(missing)'}`);
            deps.out.line(`      ${b?.label ?? ''}: ${f.second ?? '(missing)'}`);
          }
          deps.out.line(result.identical ? `Reproducible: ${reproducibleCount(result.comparison.files)} bit-for-bit identical.` : 'NOT reproducible: the artifacts differ (both sets are kept).');
          for (const r of result.diffoscope) deps.out.line(`diffoscope: ${r}`);
          if (result.diffoscopeNote !== undefined) deps.out.info(result.diffoscopeNote);
        }
        if (!result.identical) {
          throw new UserError('not-reproducible', `The build of ${planned.request.git.commit.slice(0, 12)} is not reproducible: ${result.comparison.files.filter((f) => !f.identical && f.notCompared === undefined).map((f) => comparedName(f)).join(', ')} differ.`, {
            kind: 'external',
            hint: result.diffoscope.length > 0 ? `Read why in ${result.diffoscope.join(', ')}` : `Compare the two sets in ${outputDir} (diffoscope explains each difference: apt-get install diffoscope).`,
          });
        }
      });
    });
}

async function readReport(deps: Pick<Deps, 'disk'>, path: string): Promise<{ report: ReturnType<typeof parsePublishedBuild>; source: string }> {
  const cannot = (why: string): UserError =>
    new UserError('no-build-report', `Cannot read the build report ${path}: ${why}.`, { hint: 'Pass the build-report.json a tails-build iso wrote next to its artifacts.' });
  let text: string | undefined;
  try {
    text = await deps.disk.readText(path);
  } catch (error) {
    // The files port says "Cannot read <path>: <reason>." with the reason as its cause.
    const reason = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    throw cannot(reason instanceof Error ? reason.message : String(reason));
  }
  if (text === undefined) throw cannot('no such file');
  return { report: parsePublishedBuild(text, path), source: path };
}

function reproducibleCount(files: readonly { readonly identical: boolean; readonly notCompared?: string }[]): string {
  const skipped = files.filter((f) => !f.identical && f.notCompared !== undefined).length;
  return skipped === 0 ? `all ${String(files.length)} artifacts are` : `${String(files.length - skipped)} of ${String(files.length)} artifacts are (the other ${String(skipped)}: build logs, not compared)`;
}
