/**
 * Observe the checkout and compute the ISO build plan. Reads only; writes
 * nothing that outlives it (a Tails checkout's base-branch merge is made in a
 * throwaway repository under scratchDir, removed before this returns).
 */
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { resolveBuildOptions, type OptionToken } from '../core/build-options.js';
import { computeBuildRef, type CiFacts } from '../core/git-ref.js';
import { planIsoBuild, type IsoBuildPlan } from '../core/iso-plan.js';
import { messages } from '../core/messages/index.js';
import { resolveArchiveOrigin, type ProjectConfig } from '../core/project.js';
import { isSerial, parseSerialsJson } from '../core/serials.js';
import { UsageError } from '../core/errors.js';
import { findBaseboxName } from './basebox-name.js';
import type { Deps } from './deps.js';
import { readSerialSets } from './serial-sets.js';
import { computeTailsBuild } from './tails-environment.js';
import { checkTailsSubmodules } from './tails-submodules.js';

export interface IsoRequestInputs {
  /** Option words from TAILS_BUILD_OPTIONS, then from flags (flags last, so they win). */
  readonly optionWords: readonly OptionToken[];
  readonly httpProxy: string | undefined;
  readonly ci: CiFacts;
  /** ARTIFACTS or --artifacts, relative to cwd; default: the project root. */
  readonly artifactsDir: string | undefined;
  /** Other dirs this command writes its output to (verify: --output, or "verify"), relative to the artifacts dir. */
  readonly outputDirs?: readonly string[];
  readonly cwd: string;
  /** APT_SNAPSHOTS_SERIALS, raw. */
  readonly pinnedSerialsJson: string | undefined;
  readonly dryRun: boolean;
  /** --builder-security-serial: pins the builder's debian-security snapshot. */
  readonly builderSecurity?: string | undefined;
  readonly bootTest?: boolean;
  /** Where a Tails checkout's base-branch merge is made (a throwaway repository under it): the temp dir. */
  readonly scratchDir: string;
}

export async function computeIsoPlan(deps: Deps, project: ProjectConfig, inputs: IsoRequestInputs): Promise<IsoBuildPlan> {
  const head = await deps.git.readHead(project.root);
  const git = computeBuildRef(head, inputs.ci);
  const resolved = resolveBuildOptions(inputs.optionWords, {
    hostCpus: deps.host.cpuCount(),
    releasing: git.releasing,
    httpProxy: inputs.httpProxy,
    websiteCache: project.kind === 'tails',
    proxies: project.kind === 'tails' ? 'tails' : 'vm',
  });
  const { options } = resolved;

  // Before git status, which dies on a submodule whose repository left .git/modules: named, with its fix.
  if (project.kind === 'tails') {
    const refused = await checkTailsSubmodules(deps, project.root);
    if (refused !== undefined) throw refused;
  }
  const artifactsDir = resolve(inputs.cwd, inputs.artifactsDir ?? project.root);
  const outputDirs = [artifactsDir, ...(inputs.outputDirs ?? []).map((d) => resolve(artifactsDir, d))];
  const { source: status, output } = splitStatus(await deps.git.readStatus(project.root), outputPrefixes(project.root, outputDirs));
  if (output.files.length > 0) deps.out.info(messages.iso.outputNotSource(output.dirs, output.files));
  if (status.length > 0) {
    if (!options.ignoreChanges) throw messages.iso.dirtyTree(project.root, status, relative(project.root, artifactsDir));
    deps.out.warn(`the checkout has ${status.length} uncommitted change(s); they are not built (the VM builds commit ${git.commit.slice(0, 12)}).`);
  }
  for (const warning of resolved.warnings) deps.out.warn(warning);

  const basebox = await findBaseboxName(deps, project, { ignoreChanges: options.ignoreChanges });
  const sets = await readSerialSets(deps, project);
  const layouts = Object.fromEntries(Object.keys(sets.iso).map((archive) => [archive, resolveArchiveOrigin(project, archive).layout]));
  const pinnedSerials =
    inputs.pinnedSerialsJson === undefined || inputs.pinnedSerialsJson.trim() === ''
      ? undefined
      : parseSerialsJson(inputs.pinnedSerialsJson, 'APT_SNAPSHOTS_SERIALS', layouts);

  // The boot test waits for the marker the sample recipe puts on the ISO's console: a Tails ISO prints none.
  if (project.kind === 'tails' && inputs.bootTest === true) {
    throw new UsageError('boot-test-not-for-tails', `--boot-test boots the ISO and waits for the line the sample recipe prints on its serial console (the commit it was built from); ${project.root} is a Tails checkout, whose ISO prints no such line, so the test could only time out.`, 'Build without --boot-test, and boot the Tails ISO with Tails\' own test suite (features/, run_test_suite).');
  }
  // A Tails checkout: the git state and the environment its in-VM build gets, as rake build computes them.
  const tails = project.kind === 'tails' ? await computeTailsBuild(deps, project, { head, ci: inputs.ci, options, httpProxy: inputs.httpProxy, isoSerials: sets.iso, pinnedSerials, scratchDir: inputs.scratchDir }) : undefined;
  // A project with nothing to run in the VM: the plan is its refusal. A Tails checkout runs its own build-tails.
  const refused = project.buildCommand === undefined && project.kind !== 'tails' ? messages.iso.noBuildCommand(project.root) : undefined;
  return planIsoBuild({
    project,
    dryRun: inputs.dryRun,
    ...(refused === undefined ? {} : { refusal: { code: refused.code, message: refused.message, hint: refused.hint } }),
    ...(tails === undefined ? {} : { tails }),
    basebox: {
      name: basebox.name,
      prefix: basebox.prefix,
      arch: basebox.arch,
      codename: basebox.codename,
      date: basebox.date,
      shortId: basebox.shortId,
    },
    serials: sets,
    request: {
      options,
      optionWords: resolved.applied,
      warnings: resolved.warnings,
      git,
      artifactsDir,
      pinnedSerials,
      builderSecurity: inputs.builderSecurity === undefined ? undefined : checkBuilderSecurity(project, inputs.builderSecurity),
      bootTest: inputs.bootTest === true,
    },
  });
}

function checkBuilderSecurity(project: ProjectConfig, serial: string): string {
  const layout = resolveArchiveOrigin(project, 'debian-security').layout;
  if (!isSerial(serial, layout)) {
    throw new UsageError('bad-builder-security-serial', `--builder-security-serial ${serial} is not a debian-security serial (${layout === 'tails' ? 'YYYYMMDDNN' : 'YYYYMMDDTHHMMSSZ'}).`, 'Give the "builderSecurity" value of the build-report.json you reproduce, e.g. --builder-security-serial 2026112901.');
  }
  return serial;
}

/**
 * The checkout-relative prefixes ("out/") of the output dirs that lie inside
 * the checkout, the checkout itself excepted: untracked files there are what a
 * build or a CI job wrote (events.ndjson, doctor.json, the artifacts), not source.
 */
export function outputPrefixes(root: string, dirs: readonly string[]): string[] {
  const prefixes = new Set<string>();
  for (const dir of dirs) {
    const rel = relative(root, dir);
    if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) continue;
    prefixes.add(`${rel.split(sep).join('/')}/`);
  }
  return [...prefixes].sort();
}

/**
 * Splits `git status --porcelain=v1` lines into changes to the source and
 * untracked files under an output prefix. Only untracked ("??") files count as
 * output: a tracked file changed under the output dir is still a change.
 */
export function splitStatus(status: readonly string[], prefixes: readonly string[]): { source: string[]; output: { dirs: string[]; files: string[] } } {
  const source: string[] = [];
  const files: string[] = [];
  const dirs = new Set<string>();
  for (const line of status) {
    const path = line.startsWith('?? ') ? unquote(line.slice(3)) : undefined;
    const prefix = path === undefined ? undefined : prefixes.find((p) => path.startsWith(p));
    if (path === undefined || prefix === undefined) source.push(line);
    else {
      files.push(path);
      dirs.add(prefix);
    }
  }
  return { source, output: { dirs: [...dirs], files } };
}

/** A porcelain path as git prints it: C-quoted when it has special characters. */
function unquote(path: string): string {
  if (!path.startsWith('"') || !path.endsWith('"')) return path;
  try {
    return JSON.parse(path) as string;
  } catch {
    return path.slice(1, -1);
  }
}
