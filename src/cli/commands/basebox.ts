/** `tails-build basebox …`: the builder box. */
import type { Command } from 'commander';
import { suiteFromSteps } from '../../core/junit.js';
import type { StepRecord } from '../../ui/progress.js';
import { withJUnit } from '../junit.js';
import { join, resolve } from 'node:path';
import { cacheRoot, depsFor, progressMode, snapshotStoreDir, vmNetns, type CliContext } from '../context.js';
import { registerBaseboxManagement } from './basebox-manage.js';

export function registerBasebox(program: Command, ctx: CliContext): void {
  const basebox = program
    .command('basebox')
    .description('the builder basebox every build VM boots')
    .addHelpText('after', '\nExamples:\n  tails-build basebox name\n  tails-build basebox name --json');

  basebox
    .command('name')
    .description('print the builder box name: <prefix>-<arch>-<codename>-<date>-<commit> of the last commit touching the box definition dir')
    .option('--ignore-changes', 'name the box even though the definition dir has uncommitted changes')
    .addHelpText(
      'after',
      `
The name changes with every commit touching the box definition dir (including a
bump of the builder serials), so such a commit always yields a new box. On a Tails
checkout it is the name Tails' own Rakefile prints.

Examples:
  tails-build basebox name
  tails-build -C ~/src/tails basebox name --json`,
    )
    .action(async (opts: { ignoreChanges?: boolean }, cmd: Command) => {
      const [{ loadProject }, { findBaseboxName }] = await Promise.all([import('../../app/project.js'), import('../../app/basebox-name.js')]);
      const { deps, globals } = depsFor(ctx, cmd);
      const project = await loadProject(deps, { projectDir: globals.project, cwd: ctx.cwd });
      const result = await findBaseboxName(deps, project, { ignoreChanges: opts.ignoreChanges === true });
      if (result.uncommittedChanges.length > 0) {
        deps.out.warn(
          `${result.definitionDir} has ${result.uncommittedChanges.length} uncommitted change(s); the box is named after commit ${result.shortId}, which does not contain them.`,
        );
      }
      if (globals.json) {
        deps.out.data({
          name: result.name,
          arch: result.arch,
          codename: result.codename,
          date: result.date,
          shortId: result.shortId,
          definitionDir: result.definitionDir,
          uncommittedChanges: result.uncommittedChanges,
        });
      } else {
        deps.out.line(result.name);
      }
    });

  basebox
    .command('create')
    .description('create the builder box from the frozen builder serials (mmdebstrap → ext4 → GRUB → qcow2 → vagrant-libvirt box) and import it')
    .option('--ignore-changes', 'build although the definition dir has uncommitted changes (the name does not reflect them)')
    .option('--force', 'rebuild even when the box is already imported or cached')
    .option('--no-import', 'do not import the box into vagrant and the libvirt pool')
    .option('-o, --output <file>', 'also write the .box to FILE')
    .option('--store <dir>', 'local snapshot store (default: <cache>/snapshots)')
    .option('--keep-work', 'keep the work dir (root tarball, qcow2) for inspection')
    .option('--junit <file>', 'also write a JUnit XML report there: one testcase per step (Jenkins: junit)')
    .addHelpText(
      'after',
      `
The box is bit-for-bit reproducible: the same commit of the definition dir and the
same builder serials give the same .box sha256. Boxes are cached in
<cache>/boxes (TAILS_BUILD_CACHE, default /var/cache/tails-build for root).
When the project's snapshots are served on loopback (the default), the builder
serials are ensured in the local store and served for the duration.

Examples:
  tails-build basebox create
  tails-build basebox create --no-import --output /tmp/builder.box --json
  tails-build basebox create --force`,
    )
    .action(async (opts: { ignoreChanges?: boolean; force?: boolean; import: boolean; output?: string; store?: string; keepWork?: boolean; junit?: string }, cmd: Command) => {
      const [{ loadProject }, { createBasebox }] = await Promise.all([import('../../app/project.js'), import('../../app/basebox-create.js')]);
      const { deps, globals } = depsFor(ctx, cmd);
      deps.out.startEvents('basebox create');
      const steps: StepRecord[] = [];
      const started = deps.clock.now().toISOString();
      let box = '';
      const result = await withJUnit(ctx, opts.junit, (outcome) => [suiteFromSteps('tails-build basebox create', started, steps, outcome, box === '' ? {} : { box })], async () => {
      const project = await loadProject(deps, { projectDir: globals.project, cwd: ctx.cwd });
      const created = await createBasebox(deps, project, {
        ignoreChanges: opts.ignoreChanges === true,
        force: opts.force === true,
        import: opts.import,
        output: opts.output === undefined ? undefined : resolve(ctx.cwd, opts.output),
        cacheRoot: cacheRoot(ctx),
        store: snapshotStoreDir(ctx, opts.store),
        toolRoot: ctx.toolRoot,
        keepWork: opts.keepWork === true,
        isRoot: ctx.uid === 0,
        progress: progressMode(ctx, globals),
        renderStream: ctx.stderrStream,
        onStep: (s) => steps.push(s),
      });
      box = created.name;
      return created;
      });
      if (globals.json) {
        deps.out.result({ ...result });
        return;
      }
      deps.out.line(result.name);
      if (result.source !== 'imported-already') {
        deps.out.info(`box: ${result.boxFile}${result.sha256 === '' ? '' : ` (sha256 ${result.sha256}, ${result.sizeBytes} bytes)`}${result.imported ? ', imported' : ''}`);
      }
    });

  basebox
    .command('test')
    .description('boot the imported builder box in a throwaway vagrant-libvirt VM, run a command over ssh, destroy the VM')
    .option('--check <command>', 'what to run in the VM', 'true && cat /etc/hostname')
    .addHelpText(
      'after',
      `
The accelerator is probed first: KVM when it really works with the host CPU, TCG
otherwise (much slower; this is the case on hosts whose /dev/kvm is paravirtual).
On CI hosts whose VM networks live in a network namespace, set TAILS_BUILD_NETNS.

Examples:
  tails-build basebox test
  TAILS_BUILD_NETNS=tbns tails-build basebox test --check 'sudo -n true' --json`,
    )
    .action(async (opts: { check: string }, cmd: Command) => {
      const [{ loadProject }, { findBaseboxName }, { smokeTestBasebox }] = await Promise.all([import('../../app/project.js'), import('../../app/basebox-name.js'), import('../../app/basebox-smoke.js')]);
      const { deps, globals } = depsFor(ctx, cmd);
      deps.out.startEvents('basebox test');
      const project = await loadProject(deps, { projectDir: globals.project, cwd: ctx.cwd });
      const { name } = await findBaseboxName(deps, project, { ignoreChanges: true });
      const result = await smokeTestBasebox(deps, {
        name,
        netns: vmNetns(ctx),
        workDir: join(cacheRoot(ctx), 'work', `smoke-${process.pid}`),
        check: opts.check,
        progress: progressMode(ctx, globals),
        renderStream: ctx.stderrStream,
      });
      if (globals.json) deps.out.result({ ...result });
      else deps.out.line(result.output);
    });

  registerBaseboxManagement(basebox, ctx);
}
