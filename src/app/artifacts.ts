/**
 * Artifacts back from the build VM: what the build left in its artifacts dir,
 * copied with scp over vagrant's ssh config. A listing that fails is a failed
 * build (it used to count as "no artifacts", and the build passed).
 */
import { GUEST_WORK_DIR } from '../core/build-vm.js';
import { UserError } from '../core/errors.js';
import { scpWithConfig, type GuestCommand } from './build-vm-access.js';
import type { Deps } from './deps.js';

export interface ArtifactSource {
  readonly ssh: GuestCommand;
  readonly netns: string | undefined;
  /** vagrant's ssh config, written when the VM was reached. */
  readonly sshConfig: string;
  /** Where the build left them (default: the sample's artifacts dir) and how to list them (one name a line). */
  readonly dir?: string;
  readonly listing?: string;
}

export async function retrieveArtifacts(deps: Pick<Deps, 'runner'>, from: ArtifactSource, dest: string): Promise<string[]> {
  const dir = from.dir ?? `${GUEST_WORK_DIR}/artifacts`;
  const listed = await deps.runner.tryRun(from.ssh(from.listing ?? `find ${dir} -mindepth 1 -maxdepth 1 -printf '%f\\n'`, 'read'));
  if (listed.exitCode !== 0) {
    const said = listed.stderr.trim().split('\n').slice(-3).join(' | ') || `exit code ${String(listed.exitCode)}`;
    throw new UserError('artifacts-unlisted', `Could not list the artifacts in the build VM (${dir}): ${said}. Without them the build cannot count as done.`, {
      kind: 'external',
      hint: 'Rebuild with --rescue to keep the VM and look inside: tails-build vm ssh -c "ls -la ~/tails-build/artifacts"',
    });
  }
  const names = listed.stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.includes('/'));
  if (names.length === 0) return [];
  // Tails' artifacts are root's where build-tails ran as_root_do (Rakefile: chown before scp).
  if (from.dir !== undefined) await deps.runner.run(from.ssh(`sudo chown vagrant ${names.map((n) => `'${dir}/${n}'`).join(' ')}`, 'write'));
  await deps.runner.run(scpWithConfig(from, from.sshConfig, names.map((n) => `default:${dir}/${n}`), dest));
  return names.sort();
}
