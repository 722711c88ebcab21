/** `tails-build snapshots mirror|serve`: the local time-based snapshot store (stub). */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';

export function registerSnapshotStore(_snapshots: Command, _ctx: CliContext): void {
  // mirror and serve land here.
}
