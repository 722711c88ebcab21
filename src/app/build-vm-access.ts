/**
 * Reaching and removing this checkout's build VM: vagrant run with our
 * Vagrantfile and state dir, plain ssh with vagrant's ssh-config, and removal
 * through libvirt. Used by the build (build-vm.ts) and by `tails-build vm`.
 */
import { join } from 'node:path';
import type { VmIdentity } from '../core/build-vm.js';
import { command, formatCommand, inNetns, type Command } from '../core/command.js';
import { messages } from '../core/messages/index.js';
import type { RunOptions, RunResult } from '../core/ports.js';
import { readVagrantFailure } from '../core/vagrant-failure.js';
import { underVagrantHomeLock } from '../core/vagrant-lock.js';
import type { Deps } from './deps.js';
import { RUN_RECORD, type RunRecord } from '../core/vm-run.js';

/** Where the tool's vagrant/ dir is, and the netns VM networks live in. */
export interface VmAccess {
  readonly toolRoot: string;
  readonly netns: string | undefined;
}

export type GuestCommand = (remote: string, effect?: 'read' | 'write', input?: string) => Command;

/**
 * ssh straight to the VM with the config `vagrant ssh-config` printed (written
 * once per run): no Ruby start-up per command, and nothing between us and ssh
 * to leave an orphan holding our pipes when a build is interrupted.
 */
export async function guestSsh(deps: Pick<Deps, 'vagrantHome' | 'runner' | 'disk'>, request: VmAccess, vm: VmIdentity, forward?: { readonly port: number; readonly socket: string }): Promise<GuestCommand> {
  const config = join(vm.stateDir, 'ssh-config');
  const printed = await runVagrant(deps, vagrantCommands(deps, request, vm)(['ssh-config'], 'read'), { uninterruptible: true });
  await deps.disk.writeText(config, printed.stdout);
  return sshWithConfig(request, config, forward);
}

/** scp with the config guestSsh wrote (`default:PATH` names a path in the VM), in the VM netns. */
export function scpWithConfig(request: Pick<VmAccess, 'netns'>, config: string, sources: readonly string[], dest: string): Command {
  return inNetns(request.netns, command('scp', ['-F', config, '-q', '-r', '-o', 'Compression=no', ...sources, dest], { effect: 'write' }));
}

/** ssh to the VM with the config guestSsh wrote (no vagrant run), with or without the snapshot forward. */
export function sshWithConfig(request: Pick<VmAccess, 'netns'>, config: string, forward?: { readonly port: number; readonly socket: string }): GuestCommand {
  // The build's snapshot server reaches the VM as 127.0.0.1:<port> there, for as long as the session lasts.
  const forwarding = forward === undefined ? [] : ['-o', 'ExitOnForwardFailure=yes', '-R', `127.0.0.1:${String(forward.port)}:${forward.socket}`];
  return (remote, effect = 'write', input) =>
    inNetns(request.netns, command('ssh', ['-F', config, '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=30', ...forwarding, 'default', remote], { effect, ...(input === undefined ? {} : { input }) }));
}

export type VagrantCommand = (args: readonly string[], effect?: 'read' | 'write', input?: string) => Command;

/**
 * vagrant, run for this checkout's VM: our Vagrantfile, state outside the
 * checkout, in the VM netns, and under the VAGRANT_HOME lock (core/vagrant-lock.ts):
 * two builds' vagrants never run at once on the state they share.
 */
export function vagrantCommands(deps: Pick<Deps, 'vagrantHome'>, request: VmAccess, vm: VmIdentity): VagrantCommand {
  return (args, effect = 'write', input) =>
    inNetns(
      request.netns,
      underVagrantHomeLock(deps.vagrantHome, command('vagrant', args, {
        cwd: join(request.toolRoot, 'vagrant'),
        effect,
        ...(input === undefined ? {} : { input }),
        env: {
          VAGRANT_HOME: deps.vagrantHome,
          VAGRANT_CHECKPOINT_DISABLE: '1',
          VAGRANT_CWD: join(request.toolRoot, 'vagrant'),
          VAGRANT_DOTFILE_PATH: join(vm.stateDir, '.vagrant'),
          TAILS_BUILD_VM_SETTINGS: join(vm.stateDir, 'settings.json'),
        },
      })),
    );
}

/**
 * Runs a vagrant command; when it fails, the error says what vagrant said
 * (its message, or the exception of a Ruby backtrace: core/vagrant-failure.ts),
 * not the last lines of its backtrace.
 */
export async function runVagrant(deps: Pick<Deps, 'runner' | 'vagrantHome'>, cmd: Command, options?: RunOptions): Promise<RunResult> {
  const result = await deps.runner.tryRun(cmd, options);
  if (result.exitCode === 0) return result;
  throw messages.vagrant.failed({ command: formatCommand(cmd), exitCode: result.exitCode, failure: readVagrantFailure(result.stderr, result.stdout), vagrantHome: deps.vagrantHome });
}

/** Stops the cache cleanly inside the VM, then removes the domain and its root volume through libvirt; keeps the cache disk. */
export async function destroyVm(deps: Deps, vm: VmIdentity, request: VmAccess, why: string): Promise<boolean> {
  const state = await deps.domains.state(vm.domain);
  if (state === 'absent') {
    await deps.disk.remove(join(vm.stateDir, '.vagrant'));
    await deps.disk.remove(join(vm.stateDir, RUN_RECORD));
    return false;
  }
  deps.out.info(`Destroying the build VM ${vm.domain} (${why}).`);
  if (state === 'running') {
    // Best effort: a VM interrupted while booting has no ssh yet, and must go all the same.
    let why: string | undefined;
    try {
      const script = await toolScript(deps, request.toolRoot, 'vagrant/provision/teardown.sh');
      const ssh = await guestSsh(deps, request, vm);
      const stopped = await deps.runner.tryRun({ ...ssh('sudo bash -s', 'write', script), timeoutMs: 120_000 }, { uninterruptible: true });
      if (stopped.exitCode !== 0) why = stopped.stderr.split('\n').filter((l) => l.startsWith('E: ')).map((l) => l.slice(3)).join('; ') || `exit ${String(stopped.exitCode)}`;
    } catch (error) {
      why = error instanceof Error ? error.message.split('\n')[0] : String(error);
    }
    if (why !== undefined) deps.out.warn(`Could not stop apt-cacher-ng cleanly in ${vm.domain} (${why}); the cache disk is checked with e2fsck when next used.`);
  }
  await deps.domains.remove(vm.domain, vm.rootVolume, deps.pool.name);
  await deps.disk.remove(join(vm.stateDir, '.vagrant'));
  await deps.disk.remove(join(vm.stateDir, RUN_RECORD));
  return true;
}

/** Whose VM this is (tails-build vm prune reads it): this process, or kept on purpose. */
export async function writeRunRecord(deps: Pick<Deps, 'host' | 'clock' | 'disk'>, vm: VmIdentity, checkout: string, kept: boolean): Promise<void> {
  const pid = deps.host.pid();
  const record: RunRecord = { pid, processStart: deps.host.processStart(pid), startedAt: deps.clock.now().toISOString(), domain: vm.domain, rootVolume: vm.rootVolume, checkout, kept };
  await deps.disk.writeText(join(vm.stateDir, RUN_RECORD), `${JSON.stringify(record, null, 2)}\n`);
}

/** The box a running VM was started from and the cache volume it has attached (null: none), as its settings file recorded them. */
export async function readRunningSettings(deps: Pick<Deps, 'disk'>, vm: VmIdentity): Promise<{ box?: string; cacheVolume?: string | null } | undefined> {
  try {
    const settings = JSON.parse((await deps.disk.readText(join(vm.stateDir, 'settings.json'))) ?? '') as { box?: unknown; cacheDisk?: { volume?: unknown } | null };
    const cache = settings.cacheDisk === null ? null : typeof settings.cacheDisk?.volume === 'string' ? settings.cacheDisk.volume : undefined;
    return { ...(typeof settings.box === 'string' ? { box: settings.box } : {}), ...(cache === undefined ? {} : { cacheVolume: cache }) };
  } catch {
    return undefined;
  }
}

/** One of the tool's own guest scripts (vagrant/provision/…). */
export async function toolScript(deps: Pick<Deps, 'disk'>, toolRoot: string, path: string): Promise<string> {
  const text = await deps.disk.readText(join(toolRoot, path));
  if (text === undefined) throw new Error(`${join(toolRoot, path)} is missing from the tool's own files`);
  return text;
}
