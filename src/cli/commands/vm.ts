/** `tails-build vm …`: the build VM of this checkout (kept by keeprunning or rescue). */
import type { Command } from 'commander';
import type { Deps } from '../../app/deps.js';
import { formatCommand, type Command as RunCommand } from '../../core/command.js';
import { UserError } from '../../core/errors.js';
import { vmMessages } from '../../core/messages/index.js';
import { cacheRoot, cacheVolume, depsFor, vmNetns, type CliContext } from '../context.js';

export function registerVm(program: Command, ctx: CliContext): void {
  const vm = program
    .command('vm')
    .description("this checkout's build VM: the one keeprunning reuses and rescue keeps")
    .addHelpText('after', '\nExamples:\n  tails-build vm status\n  tails-build vm ssh -c "cat /var/lib/vagrant_box_build_from"\n  tails-build vm destroy');

  vm.command('status')
    .description('whether the build VM exists, its box, and the ref it was created for (its branch lock, read over ssh while it runs)')
    .addHelpText('after', `
The ref is the VM's branch lock, which the build writes inside the VM
(/var/lib/vagrant_box_build_from): it is read over ssh when the VM is running;
otherwise the ref is null (--json) or "unknown", with the reason (refNote).`)
    .action(async (_opts: unknown, cmd: Command) => {
      const [{ loadProject }, { vmIdentity }, { readVmStatus }] = await Promise.all([import('../../app/project.js'), import('../../core/build-vm.js'), import('../../app/vm-status.js')]);
      const { deps, globals } = depsFor(ctx, cmd);
      const project = await loadProject(deps, { projectDir: globals.project, cwd: ctx.cwd });
      const id = vmIdentity(project.root, cacheRoot(ctx));
      const status = await readVmStatus(deps, { toolRoot: ctx.toolRoot, netns: vmNetns(ctx) }, id);
      if (globals.json) deps.out.data(status);
      else deps.out.line(vmMessages.statusLine(status.domain, status.state, status.box, status.ref, status.refNote));
    });

  vm.command('ssh')
    .description('run a command in the running build VM (-c); without -c, print the command that opens a shell in it')
    .option('-c, --command <cmd>', 'the command to run over ssh')
    .addHelpText('after', `
With --json, stdout is one JSON document: { domain, command, exitCode, stdout,
stderr }, the command's output in it (not streamed); a non-zero exit is also
an error on stderr.`)
    .action(async (opts: { command?: string }, cmd: Command) => {
      const [{ loadProject }, { guestSsh }, { vmIdentity }] = await Promise.all([import('../../app/project.js'), import('../../app/build-vm-access.js'), import('../../core/build-vm.js')]);
      const { deps, globals } = depsFor(ctx, cmd);
      const project = await loadProject(deps, { projectDir: globals.project, cwd: ctx.cwd });
      const id = vmIdentity(project.root, cacheRoot(ctx));
      if ((await deps.domains.state(id.domain)) !== 'running') throw vmMessages.notRunning(id.domain, project.root);
      const ssh = await guestSsh(deps, { toolRoot: ctx.toolRoot, netns: vmNetns(ctx) }, id);
      if (opts.command === undefined) {
        deps.out.line(formatCommand(ssh('', 'read')).replace(/ ''$/, ''));
        return;
      }
      await runVmCommand(deps, globals.json, id.domain, opts.command, ssh(opts.command, 'read'));
    });

  vm.command('prune')
    .description('remove what killed builds left on this host: VMs whose build process is gone (not kept on purpose), their volumes, state and stale locks')
    .option('-n, --dry-run', 'list what would be removed; remove nothing')
    .addHelpText('after', `
Every build records its process next to its VM's state (<cache>/vms/<id>/run.json).
A build killed outright (SIGKILL, a crashed Jenkins agent) or a deleted workspace
leaves its VM running; prune removes those — never a running build's VM, never one
kept with --keep-running or --rescue (tails-build vm destroy in its checkout does).
tails-build doctor says when there is something to prune.

Examples:
  tails-build vm prune --dry-run
  tails-build vm prune`)
    .action(async (opts: { dryRun?: boolean }, cmd: Command) => {
      const { pruneVms } = await import('../../app/vm-prune.js');
      const dryRun = opts.dryRun === true;
      const { deps, globals } = depsFor(ctx, cmd, { dryRun });
      const result = await pruneVms(deps, { toolRoot: ctx.toolRoot, netns: vmNetns(ctx), cacheRoot: cacheRoot(ctx), dryRun });
      if (globals.json) {
        deps.out.data(result);
        return;
      }
      for (const run of result.runs) {
        deps.out.line(`${run.domain}: ${run.verdict} (pid ${String(run.pid)}, ${run.checkout}) — ${run.action}`);
      }
      for (const lock of result.locks) deps.out.line(`${lock}: its holder is gone — removed`);
      for (const socket of result.sockets) deps.out.line(`${socket}: its snapshot server is gone — removed`);
      if (result.runs.length === 0 && result.locks.length === 0 && result.sockets.length === 0) deps.out.line('Nothing to prune: no build VM was left by a killed run.');
    });

  vm.command('destroy')
    .description("stop the cache cleanly and remove this checkout's build VM (the apt-cacher-ng disk is kept)")
    .action(async (_opts: unknown, cmd: Command) => {
      const [{ loadProject }, { destroyVm }, { vmIdentity }] = await Promise.all([import('../../app/project.js'), import('../../app/build-vm-access.js'), import('../../core/build-vm.js')]);
      const { deps, globals } = depsFor(ctx, cmd);
      const project = await loadProject(deps, { projectDir: globals.project, cwd: ctx.cwd });
      const id = vmIdentity(project.root, cacheRoot(ctx));
      const removed = await destroyVm(deps, id, { toolRoot: ctx.toolRoot, netns: vmNetns(ctx) }, 'tails-build vm destroy');
      if (globals.json) deps.out.data({ domain: id.domain, removed });
      else deps.out.line(removed ? `${id.domain}: destroyed` : `${id.domain}: no such VM, nothing to do`);
    });

  vm.command('clear-cache')
    .description('delete the apt-cacher-ng disks build VMs share (each next build creates an empty one); a disk in use is refused, never deleted')
    .action(async (_opts: unknown, cmd: Command) => {
      const { CACHE_DISKS_MAX, cacheDiskLock, cacheDiskVolume } = await import('../../core/build-vm.js');
      const { deps, globals } = depsFor(ctx, cmd);
      const names = Array.from({ length: CACHE_DISKS_MAX }, (_, i) => cacheDiskVolume(cacheVolume(ctx), i));
      const volumes = (await deps.pool.listVolumes()).filter((v) => names.includes(v.name)).sort((a, b) => names.indexOf(a.name) - names.indexOf(b.name));
      if (volumes.length === 0) {
        if (globals.json) deps.out.data({ volumes: [] });
        else deps.out.line(`${cacheVolume(ctx)}: no such volume, nothing to do`);
        return;
      }
      const busy: string[] = [];
      const removed: string[] = [];
      for (const volume of volumes) {
        // Under the disk's lock: never delete a disk a starting build has just taken.
        const got = await deps.locks.tryAcquire(cacheDiskLock(volume.name));
        if (!('release' in got)) {
          busy.push(`${volume.name} is held by ${got.heldBy === undefined ? 'a build' : `${got.heldBy.command} (pid ${String(got.heldBy.pid)})`}`);
          continue;
        }
        try {
          const users = await deps.domains.usersOfFile(volume.path);
          if (users.length > 0) {
            busy.push(`${volume.name} is attached to ${users.join(', ')}`);
            continue;
          }
          await deps.pool.deleteVolume(volume.name);
          removed.push(volume.name);
          if (!globals.json) deps.out.line(`${volume.name}: deleted`);
        } finally {
          await got.release();
        }
      }
      if (globals.json) deps.out.data({ volumes: [...removed.map((v) => ({ volume: v, removed: true })), ...busy.map((b) => ({ volume: b.split(' ')[0], removed: false }))] });
      if (busy.length > 0) {
        throw new UserError('cache-in-use', `Not deleted, in use: ${busy.join('; ')}.`, {
          hint: 'Let the build finish, or destroy the VM first: tails-build vm destroy (run in its checkout); then rerun tails-build vm clear-cache',
        });
      }
    });
}

/**
 * Runs `vm ssh -c`'s command: its output streamed to stdout; with --json, held
 * and put in the one JSON document stdout gets. A non-zero exit throws after it.
 */
export async function runVmCommand(deps: Pick<Deps, 'runner' | 'out'>, json: boolean, domain: string, shown: string, guest: RunCommand): Promise<void> {
  const result = json ? await deps.runner.tryRun(guest) : await deps.runner.tryRun(guest, { onLine: (l) => { deps.out.line(l); } });
  if (json) deps.out.data({ domain, command: shown, exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr });
  if (result.exitCode !== 0) throw vmMessages.commandFailed(shown, result.exitCode, domain, result.stderr);
}
