/**
 * The process groups the runner started and that are still running, apart
 * from the runner (and execa) so that main.ts can kill them on a second
 * signal without loading either at start-up.
 */

/** Every process group a runner of this process started and that has not exited yet. */
export const liveGroups = new Set<number>();

export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone already
  }
}

/**
 * Kills every process group still running (a second Ctrl-C exits at once, but
 * must not leave orphans: vagrant, ssh, QEMU for the boot test, the relay).
 * execa knows only the subprocesses of one call; this sweeps all of them.
 */
export function killAllProcessGroups(signal: NodeJS.Signals = 'SIGKILL'): number {
  for (const pid of liveGroups) killGroup(pid, signal);
  return liveGroups.size;
}
