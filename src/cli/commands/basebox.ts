/** `tails-build basebox …`: the builder box. */
import type { Command } from 'commander';
import { findBaseboxName } from '../../app/basebox-name.js';
import { loadProject } from '../../app/project.js';
import { depsFor, type CliContext } from '../context.js';
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

  registerBaseboxManagement(basebox, ctx);
}
