/**
 * Texts of `tails-build vm …`: this checkout's build VM, its status, a command
 * run in it. Each failure names the fact and the next command.
 */
import { UserError } from '../errors.js';

export const vmMessages = {
  /** Why a status has no ref: the branch lock lives inside the VM. */
  refUnknown: {
    notRunning: (state: string, lockFile: string) => `unknown: the branch lock (${lockFile}) is inside the VM, which is ${state}`,
    noLock: (lockFile: string) => `none: the VM has no branch lock (${lockFile}) yet; the next build records its ref there`,
    unreadable: (lockFile: string, reason: string) => `unknown: reading ${lockFile} in the VM failed: ${reason}`,
  },
  statusLine: (domain: string, state: string, box: string | null, ref: string | null, refNote: string | null) =>
    `${domain}: ${state}${box === null ? '' : ` (box ${box})`}, ref ${ref ?? refNote ?? 'unknown'}`,
  notRunning: (domain: string, root: string) =>
    new UserError('vm-not-running', `The build VM ${domain} of ${root} is not running.`, { hint: 'Keep one after a build with: tails-build iso --keep-running (or --rescue for a failed build)' }),
  commandFailed: (command: string, exitCode: number, domain: string, stderr: string) =>
    new UserError('vm-command-failed', `"${command}" exited with ${String(exitCode)} in ${domain}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`, {
      kind: 'external',
      hint: `Look around in the VM: tails-build vm ssh (prints the ssh command), or run another command with tails-build vm ssh -c CMD`,
    }),
};
