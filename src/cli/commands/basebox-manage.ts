/** `tails-build basebox list|clean-old|clean-all` (stub). */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';

export function registerBaseboxManagement(_basebox: Command, _ctx: CliContext): void {
  // list, clean-old and clean-all land here.
}
