import type { Command } from 'commander';
import type { CliContext } from '../context.js';

export function registerDoctor(program: Command, _ctx: CliContext): void {
  program.command('doctor').description('check host prerequisites (not yet implemented)');
}
