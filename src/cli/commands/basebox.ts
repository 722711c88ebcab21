import type { Command } from 'commander';
import type { CliContext } from '../context.js';

export function registerBasebox(program: Command, _ctx: CliContext): void {
  program.command('basebox').description('builder basebox (not yet implemented)');
}
