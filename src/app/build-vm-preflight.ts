/**
 * Before a build VM starts: libvirt answers, the host has the memory, the box
 * is imported, QEMU can read the checkout, the build command exists, and the
 * artifacts can be written — each refusal naming the fact and the next command.
 */
import { join } from 'node:path';
import type { VmIdentity } from '../core/build-vm.js';
import { command } from '../core/command.js';
import { firstDenied, parseGetfacl, pathChain, type AccessAcl, type PathEntry, type Principal } from '../core/file-access.js';
import { doctorMessages } from '../core/messages/index.js';
import { UserError } from '../core/errors.js';
import { DEFAULT_BUILD_COMMAND, DEFAULT_BUILD_SCRIPT } from '../core/project.js';
import { destroyVm } from './build-vm-access.js';
import type { VmBuildRequest } from './build-vm.js';
import type { Deps } from './deps.js';

/** The host and the checkout: everything but the builder box (checkBasebox). */
export async function checkHost(deps: Deps, request: VmBuildRequest, vm: VmIdentity): Promise<void> {
  // Before anything is created: where the log and the artifacts go.
  await checkArtifactsDir(deps, request.plan.request.artifactsDir);
  // Before anything else: every later step needs libvirt, and its own errors say little.
  const uri = deps.libvirtUri;
  const answer = await deps.runner.tryRun(command('virsh', ['-c', uri, 'uri'], { effect: 'read', timeoutMs: 20_000 }));
  if (answer.exitCode !== 0) {
    const why = answer.stderr.trim().split('\n').pop() ?? `exit code ${String(answer.exitCode)}`;
    throw new UserError('libvirt-down', `libvirt does not answer at ${uri}, so no build VM can start: ${why}`, {
      kind: 'prerequisite',
      hint: doctorMessages.fix.libvirtDown(uri, request.netns ?? 'tbns', deps.host.uid() === 0 ? undefined : `uid ${String(deps.host.uid())}`),
    });
  }
  // QEMU's own "cannot set up guest memory 'pc.ram'" is buried in vagrant's output (Tails #20085).
  const reused = (await deps.domains.state(vm.domain)) === 'running';
  const needed = request.plan.vm.memoryMiB;
  const available = deps.host.availableMemoryMiB();
  if (!reused && needed > available) {
    throw new UserError('not-enough-memory', `The build VM needs ${String(needed)} MiB of memory; this host has ${String(available)} MiB available.`, {
      hint: request.plan.request.options.ramBuild
        ? 'Build on the VM disk instead of in RAM: tails-build iso --no-ram (or set --memory N)'
        : `Free memory, or give the VM less: tails-build iso --memory ${String(Math.max(1024, available - 512))}`,
    });
  }
  await giveQemuTheCheckout(deps, request.project.root);
  await checkQemuReadsCheckout(deps, request.project.root);
  if (request.buildCommand === DEFAULT_BUILD_COMMAND && (await deps.disk.stat(join(request.project.root, DEFAULT_BUILD_SCRIPT))) === undefined) {
    throw new UserError('no-build-script', `The project's build command is the default, "${DEFAULT_BUILD_COMMAND}", but ${join(request.project.root, DEFAULT_BUILD_SCRIPT)} does not exist.`, {
      hint: `Add that script, or set "buildCommand" in ${join(request.project.root, 'tails-build.json')} to what the VM should run (with ARTIFACTS_DIR set).`,
    });
  }
  // A domain left by a crashed run, with no vagrant state to drive it: remove it.
  const state = await deps.domains.state(vm.domain);
  if (state !== 'absent' && state !== 'running') await destroyVm(deps, vm, request, 'left by an earlier run');
}

/** The builder box the plan names is imported into vagrant. */
export async function checkBasebox(deps: Deps, request: VmBuildRequest): Promise<void> {
  const box = request.plan.basebox.name;
  if (!(await deps.vagrant.listBoxes()).some((b) => b.name === box)) {
    throw new UserError('basebox-not-imported', `The builder box ${box} is not in vagrant (VAGRANT_HOME=${deps.vagrantHome}).`, {
      hint: 'Create and import it first: tails-build basebox create',
    });
  }
}

/**
 * What Tails' Rakefile does in ensure_correct_permissions, inside the working
 * copy only: QEMU (another user) may open the checkout root, the 9p export (go+rx; Tails gives go+x), and read
 * what the VM reads over 9p (go+rX on .git, and on Tails' submodules/ and
 * vagrant/ when they exist). `git clone` into a `mktemp -d` directory gives a
 * 0700 root; a umask of 077 gives unreadable objects. Parent directories are
 * never changed: checkQemuReadsCheckout explains them.
 */
async function giveQemuTheCheckout(deps: Deps, root: string): Promise<void> {
  const changed: string[] = [];
  // Not ours to change (another user's checkout): the read check below explains what is missing.
  const chmod = async (args: string[], what: string): Promise<void> => {
    const done = await deps.runner.tryRun(command('chmod', args, { effect: 'write' }));
    if (done.exitCode === 0) changed.push(what);
    else deps.out.warn(`Could not give ${what}: ${done.stderr.trim().split('\n').pop() ?? `chmod exit ${String(done.exitCode)}`}.`);
  };
  // Tails gives the root go+x only; QEMU's 9p export opens the directory itself, so it also needs read (r).
  const info = await deps.disk.stat(root);
  if (info !== undefined && (info.mode & 0o055) !== 0o055) await chmod(['go+rx', '--', root], `go+rx on ${root}`);
  for (const dir of ['.git', 'submodules', 'vagrant']) {
    const path = join(root, dir);
    if ((await deps.disk.stat(path))?.kind !== 'directory') continue;
    // Anything a group or other user may not read (files) or enter (directories), without following links.
    const found = await deps.runner.run(command('find', [path, '(', '-type', 'd', '!', '-perm', '-go+rx', ')', '-o', '(', '-type', 'f', '!', '-perm', '-go+r', ')', '-print', '-quit'], { effect: 'read' }));
    if (found.stdout.trim() === '') continue;
    await chmod(['-R', 'go+rX', '--', path], `go+rX on ${path}`);
  }
  if (changed.length > 0) deps.out.info(`QEMU runs as another user (libvirt-qemu), who must read the checkout over 9p: gave ${changed.join(' and ')} (as Tails' Rakefile does; parent directories are never changed).`);
}

/**
 * QEMU runs as libvirt-qemu: the 9p share fails obscurely when it cannot read
 * the checkout. Root asks the kernel (runuser … test -r); another user cannot
 * become libvirt-qemu, so it computes the kernel's answer from every
 * directory's mode bits and ACLs (core/file-access.ts).
 */
async function checkQemuReadsCheckout(deps: Deps, root: string): Promise<void> {
  const head = join(root, '.git', 'HEAD');
  const uid = await deps.runner.tryRun(command('id', ['-u', 'libvirt-qemu'], { effect: 'read' }));
  if (uid.exitCode !== 0) return; // no such user: QEMU runs as someone else here
  let denied: string | undefined;
  if (deps.host.uid() === 0) {
    const probe = await deps.runner.tryRun(command('runuser', ['-u', 'libvirt-qemu', '--', 'test', '-r', head], { effect: 'read' }));
    if (probe.exitCode !== 0) denied = head;
    // QEMU opens the root itself: the 9p export.
    const export9p = await deps.runner.tryRun(command('runuser', ['-u', 'libvirt-qemu', '--', 'test', '-r', root, '-a', '-x', root], { effect: 'read' }));
    if (denied === undefined && export9p.exitCode !== 0) denied = `${root} (it may not open it: the 9p export)`;
  } else {
    const gids = await deps.runner.tryRun(command('id', ['-G', 'libvirt-qemu'], { effect: 'read' }));
    const qemu: Principal = { name: 'libvirt-qemu', uid: Number(uid.stdout.trim()), gids: gids.stdout.trim().split(/\s+/).filter((g) => g !== '').map(Number) };
    const chain: PathEntry[] = [];
    for (const path of pathChain(head)) {
      const info = await deps.disk.stat(path);
      if (info === undefined) break;
      chain.push({ path, mode: info.mode, uid: info.uid, gid: info.gid });
    }
    // ACLs can grant what the mode bits refuse (the fix below uses them); without getfacl, the bits decide.
    const acl = await deps.runner.tryRun(command('getfacl', ['--absolute-names', '--numeric', '--', ...chain.map((e) => e.path)], { effect: 'read' })).catch(() => undefined);
    const acls = acl === undefined ? new Map<string, AccessAcl>() : parseGetfacl(acl.stdout);
    const found = firstDenied(qemu, chain.map((e) => {
      const entry = acls.get(e.path);
      return entry === undefined ? e : { ...e, acl: entry };
    }));
    if (found !== undefined) denied = found.needs === 'read' ? head : `${found.path} (it may not enter it)`;
  }
  if (denied !== undefined) {
    throw new UserError('checkout-unreadable', `QEMU runs as libvirt-qemu, which cannot read ${head}${denied === head ? '' : ` (stopped at ${denied})`}, so the checkout cannot be shared with the build VM.`, {
      hint: `Let it traverse every parent directory and read the checkout, e.g.: setfacl -m user:libvirt-qemu:rx ${parents(root).join(' ')} && setfacl -R -m user:libvirt-qemu:rX ${root}`,
    });
  }
}

/** The artifacts dir exists as a writable directory, or can be made one. */
async function checkArtifactsDir(deps: Deps, dir: string): Promise<void> {
  const info = await deps.disk.stat(dir).catch(() => undefined);
  if (info !== undefined && info.kind !== 'directory') {
    throw new UserError('artifacts-not-a-dir', `The artifacts dir ${dir} exists and is not a directory, so the build log and artifacts cannot go there.`, {
      hint: 'Name a directory: tails-build iso --artifacts DIR (or set ARTIFACTS); it is created if missing.',
    });
  }
  try {
    await deps.disk.mkdirp(dir);
    // Written and removed: the one test of "writable" that holds for ACLs, read-only mounts and root alike.
    const probe = join(dir, `.tails-build-probe-${String(deps.host.pid())}`);
    await deps.disk.writeText(probe, '');
    await deps.disk.remove(probe);
  } catch (error) {
    throw new UserError('artifacts-unwritable', `The artifacts dir ${dir} cannot be created or written: ${error instanceof Error ? error.message : String(error)}.`, {
      hint: 'Name a directory this user can write: tails-build iso --artifacts DIR (or set ARTIFACTS).',
    });
  }
}

function parents(path: string): string[] {
  const parts = path.split('/').filter((p) => p !== '');
  return parts.map((_, i) => `/${parts.slice(0, i + 1).join('/')}`);
}

