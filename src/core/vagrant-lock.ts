/**
 * One vagrant at a time per VAGRANT_HOME. Vagrant keeps host-wide state in
 * VAGRANT_HOME, shared by every checkout on the host: the machine index
 * (data/machine-index), the boxes, and its process locks (data/lock.*.lock),
 * which it takes without waiting in places and then fails with
 * EnvironmentLockedError, or with a Ruby backtrace when a file it reads is
 * being rewritten by another vagrant. Two builds at once each run vagrant, so
 * every vagrant the tool starts for a build VM holds an flock on the
 * VAGRANT_HOME directory for its whole run, taken by util-linux's flock(1) in
 * front of it: the kernel releases it when vagrant ends or is killed, and
 * `--close` keeps it from vagrant's own children (an ssh left running).
 */
import type { Command } from './command.js';

/** The command, run under the VAGRANT_HOME lock: `flock --exclusive --close VAGRANT_HOME vagrant …`. */
export function underVagrantHomeLock(vagrantHome: string, cmd: Command): Command {
  return { ...cmd, file: 'flock', args: ['--exclusive', '--close', vagrantHome, cmd.file, ...cmd.args] };
}
