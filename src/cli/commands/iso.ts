import type { Command } from 'commander';
import type { CliContext } from '../context.js';

export function registerIso(program: Command, _ctx: CliContext): void {
  program.command('iso').description('build the ISO (not yet implemented)');
}
