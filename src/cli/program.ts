/**
 * The commander program: global flags and one module per top-level command.
 * Building it loads no use case or adapter (start-up stays fast: --help, usage
 * errors); those load when a command's action runs.
 */
import { Command, CommanderError } from 'commander';
import { ExitCode } from '../core/errors.js';
import { loadCommandRuntime, type CliContext } from './context.js';
import { VERSION } from './version.js';
import { registerBasebox } from './commands/basebox.js';
import { registerDoctor } from './commands/doctor.js';
import { registerIso } from './commands/iso.js';
import { registerVerify } from './commands/verify.js';
import { registerVm } from './commands/vm.js';
import { registerSnapshots } from './commands/snapshots.js';

export { VERSION } from './version.js';

export function createProgram(ctx: CliContext): Command {
  const program = new Command('tails-build')
    .description('Build a Debian-based live ISO reproducibly inside a throwaway libvirt VM, the way Tails does.')
    .version(VERSION, '-V, --version')
    .option('-C, --project <dir>', 'project checkout to work on (default: the git toplevel of the current directory)')
    .option('--json', 'print results (and errors) as JSON on stdout; long commands print an NDJSON event stream (tails-build/events@1)')
    .option('--json-output', "with --json: steps' output lines as events too (they are in build.log anyway)")
    .option('--ci', 'unattended mode (default when CI, JENKINS_URL or BUILD_ID is set, or stdin/stderr is not a terminal): no prompts, timestamped lines, no colour, "still running" lines')
    .option('--no-ci', 'interactive mode even where CI mode would be the default')
    .option('-v, --verbose', 'print every command run and more detail on stderr')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (s) => ctx.stdout.write(s),
      writeErr: (s) => ctx.stderr.write(s),
    })
    .addHelpText(
      'after',
      `
Examples:
  tails-build doctor                         check host prerequisites
  tails-build basebox name                   print the builder box name for this checkout
  tails-build snapshots cat                  show the builder and ISO snapshot serials
  tails-build snapshots freeze               pin every ISO archive to its latest snapshot
  tails-build iso --dry-run --json           print the resolved build plan, run nothing
  tails-build iso --boot-test                build the ISO in a throwaway VM, then boot it
  tails-build verify                         build twice in fresh VMs and compare the artifacts

Exit codes: 0 ok, 1 internal error, 2 usage, 3 precondition (dirty tree, bad serial, …),
4 external failure (command, network, libvirt), 5 missing prerequisite, 130 interrupted.`,
    );
  program.exitOverride();
  // What commands run with (deps, adapters) loads when one runs, not for --help:
  // each command module imports its app/ use cases in its actions too.
  program.hook('preAction', loadCommandRuntime);
  registerBasebox(program, ctx);
  registerSnapshots(program, ctx);
  registerIso(program, ctx);
  registerVerify(program, ctx);
  registerVm(program, ctx);
  registerDoctor(program, ctx);
  return program;
}

/** Maps commander's own exits (help, version, bad flags) to our exit codes. */
export function commanderExitCode(error: CommanderError): ExitCode {
  if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') {
    return ExitCode.ok;
  }
  return ExitCode.usage;
}

/** Applies exitOverride and output routing to every subcommand, recursively. */
export function configureSubcommands(cmd: Command, ctx: CliContext): void {
  for (const sub of cmd.commands) {
    sub.exitOverride();
    sub.configureOutput({ writeOut: (s) => ctx.stdout.write(s), writeErr: (s) => ctx.stderr.write(s) });
    sub.showHelpAfterError('(run with --help for usage)');
    configureSubcommands(sub, ctx);
  }
}
