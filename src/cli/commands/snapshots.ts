import type { Command } from 'commander';
import type { CliContext } from '../context.js';

export function registerSnapshots(program: Command, _ctx: CliContext): void {
  program.command('snapshots').description('show, bump, freeze and thaw APT snapshot serials (not yet implemented)');
}
