/**
 * `basebox create`: the builder box from the frozen builder serials only —
 * snapshots ensured and served, root tree, disk image, GRUB, qcow2, the
 * vagrant-libvirt box (fixed member order and times), import. Same commit and
 * serials ⇒ same box sha256.
 */
import { computeDiskIdentity, planKernelCommandLine } from '../core/disk-image.js';
import { join } from 'node:path';
import type { SnapshotSource } from '../core/basebox-build.js';
import { messages } from '../core/messages/index.js';
import { isLoopbackUrl, resolveArchiveOrigin, resolveGuestBaseUrl, resolveMirrorSource, type ProjectConfig } from '../core/project.js';
import { snapshotUrl } from '../core/snapshot-origin.js';
import { LATEST } from '../core/serials.js';
import { progressOptions, runSteps, type ProgressMode, type Step, type StepRecord, type StepTiming } from '../ui/progress.js';
import { findBaseboxName, type BaseboxNameResult } from './basebox-name.js';
import { baseboxImageSteps, type BaseboxImageState } from './basebox-image.js';
import { resolveBoxDefinition, resolveSnapshotKeyring, type SnapshotKeyring } from './box-definition.js';
import { importBasebox } from './basebox-import.js';
import { withCleanup, type CleanupStack } from './cleanup.js';
import type { Deps } from './deps.js';
import { ensureSnapshots } from './snapshot-ensure.js';
import { serveLocalSnapshotsIfNeeded } from './local-snapshots.js';
import { readSerialSet } from './serial-sets.js';

/** The builder disk's virtual size (Tails: 20G); the qcow2 only holds what is used. */
export const BOX_DISK_BYTES = 20 * 1024 ** 3;

const REQUIRED_TOOLS: readonly (readonly [string, string])[] = [
  ['mmdebstrap', 'mmdebstrap'],
  ['mkfs.ext4', 'e2fsprogs'],
  ['debugfs', 'e2fsprogs'],
  ['sfdisk', 'fdisk'],
  ['qemu-img', 'qemu-utils'],
  ['tar', 'tar'],
  ['mount', 'mount'],
  ['gpgv', 'gpgv'],
];

export interface CreateBaseboxRequest {
  readonly ignoreChanges: boolean;
  /** Rebuild even when the box is already imported or cached. */
  readonly force: boolean;
  /** `--no-import` skips `vagrant box add`. */
  readonly import: boolean;
  /** `--output FILE`: also write the .box there. */
  readonly output: string | undefined;
  /** Boxes and work dirs live here (outside the checkout). */
  readonly cacheRoot: string;
  /** The local snapshot store. */
  readonly store: string;
  /** Where the tool's own definitions/ are (defaults for projects without packages/customize.sh). */
  readonly toolRoot: string;
  readonly keepWork: boolean;
  readonly isRoot: boolean;
  readonly progress: ProgressMode;
  readonly renderStream: NodeJS.WriteStream;
  /** Called as each step ends, with the tail of its output (JUnit reports). */
  readonly onStep?: (record: StepRecord) => void;
}

export interface CreateBaseboxResult {
  readonly name: string;
  readonly boxFile: string;
  readonly sha256: string;
  readonly sizeBytes: number;
  /** built: made now; cached: the .box for this name was already in the cache. */
  readonly source: 'built' | 'cached' | 'imported-already';
  readonly imported: boolean;
  readonly output: string | undefined;
  readonly serials: Readonly<Record<string, string>>;
  readonly timings: readonly StepTiming[];
}

interface CreateState extends BaseboxImageState {
  box?: { path: string; sha256: string; sizeBytes: number };
  imported?: boolean;
}

export async function createBasebox(deps: Deps, project: ProjectConfig, request: CreateBaseboxRequest): Promise<CreateBaseboxResult> {
  const identity = await findBaseboxName(deps, project, { ignoreChanges: request.ignoreChanges });
  const serials = await readBuilderSerials(deps, project);
  const boxesDir = join(request.cacheRoot, 'boxes');
  const boxFile = join(boxesDir, `${identity.name}.box`);

  // Uncommitted changes (--ignore-changes) are not in the name: never take a cached or imported box for them.
  const force = request.force || identity.uncommittedChanges.length > 0;
  if (force && !request.force) deps.out.warn(`${identity.definitionDir} has uncommitted changes: rebuilding ${identity.name} instead of reusing it.`);
  const alreadyImported = request.import && (await deps.vagrant.listBoxes()).some((b) => b.name === identity.name);
  const cached = (await deps.disk.stat(boxFile))?.kind === 'file';
  if (!force && alreadyImported && request.output === undefined) {
    deps.out.info(`${identity.name} is already imported; nothing to do (pass --force to rebuild it).`);
    return { name: identity.name, boxFile, sha256: '', sizeBytes: 0, source: 'imported-already', imported: true, output: undefined, serials, timings: [] };
  }

  return withCleanup(async (cleanup) => {
    const state: CreateState = {};
    const steps: Step<CreateState>[] = [];
    const build = force || !cached;
    if (build) {
      await verifyTools(deps, request.isRoot);
      const workDir = join(request.cacheRoot, 'work', `${identity.name}-${process.pid}`);
      const definition = await resolveBoxDefinition(deps, project, request.toolRoot);
      const keyring = await resolveSnapshotKeyring(deps, project, Object.keys(serials), workDir);
      const sources = await serveSnapshots(deps, project, serials, keyring, request, cleanup);
      if (!request.keepWork) cleanup.push(`remove ${workDir}`, () => deps.disk.remove(workDir));
      steps.push(
        ...baseboxImageSteps(
          deps,
          {
            name: identity.name,
            definitionDir: definition.dir,
            packages: definition.packages,
            customizeHook: definition.hook,
            hostSources: sources.host,
            guestSources: sources.guest,
            keyringFile: keyring.file,
            codename: project.codename,
            arch: project.arch,
            sourceDateEpoch: identity.sourceDateEpoch,
            workDir,
            diskBytes: BOX_DISK_BYTES,
          },
          cleanup,
        ),
        packageStep(deps, identity, boxFile, boxesDir, cleanup),
      );
    } else {
      deps.out.info(`using the cached ${boxFile} (pass --force to rebuild it).`);
      state.box = { path: boxFile, sha256: await deps.disk.sha256File(boxFile), sizeBytes: (await deps.disk.stat(boxFile))?.bytes ?? 0 };
    }
    if (request.output !== undefined) steps.push(outputStep(deps, request.output, cleanup));
    if (request.import) steps.push(importStep(deps, identity.name));
    const progress = progressOptions(request.progress, (text) => { deps.out.line(text); }, request.renderStream, () => deps.clock.now(), deps.out.progress);
    const timings = await runSteps(steps, state, request.onStep === undefined ? progress : { ...progress, onStep: request.onStep });
    const box = state.box ?? { path: boxFile, sha256: '', sizeBytes: 0 };
    return {
      name: identity.name,
      boxFile: box.path,
      sha256: box.sha256,
      sizeBytes: box.sizeBytes,
      source: build ? 'built' : 'cached',
      imported: state.imported === true,
      output: request.output,
      serials,
      timings,
    };
  });
}

async function readBuilderSerials(deps: Deps, project: ProjectConfig): Promise<Readonly<Record<string, string>>> {
  const set = await readSerialSet(deps, project, 'builder');
  const dir = project.serialDirs.builder;
  if (Object.keys(set).length === 0) throw messages.basebox.noBuilderSerials(dir);
  for (const [archive, serial] of Object.entries(set)) {
    if (serial === LATEST) throw messages.basebox.builderSerialNotFrozen(archive, dir);
  }
  return set;
}

async function verifyTools(deps: Deps, isRoot: boolean): Promise<void> {
  if (!isRoot) throw messages.basebox.notRoot();
  for (const [tool, pkg] of REQUIRED_TOOLS) {
    if ((await deps.runner.which(tool)) === undefined) throw messages.basebox.toolMissing(tool, pkg);
  }
}

/**
 * Snapshot URLs for mmdebstrap (host) and for the box's apt (guest), each
 * with the keyring that verifies it. A
 * loopback origin is our local store: ensure the serials exist in it and serve
 * it at that address for the duration, unless a server already answers there.
 */
async function serveSnapshots(
  deps: Deps,
  project: ProjectConfig,
  serials: Readonly<Record<string, string>>,
  keyring: SnapshotKeyring,
  request: CreateBaseboxRequest,
  cleanup: CleanupStack,
): Promise<{ host: SnapshotSource[]; guest: SnapshotSource[] }> {
  const local = Object.keys(serials).some((a) => isLoopbackUrl(resolveArchiveOrigin(project, a).baseUrl));
  if (local) {
    await ensureSnapshots(deps, project, { set: 'builder', store: request.store });
    await serveLocalSnapshotsIfNeeded(deps, project, request.store, cleanup);
  }
  const host: SnapshotSource[] = [];
  const guest: SnapshotSource[] = [];
  for (const [archive, serial] of Object.entries(serials)) {
    const origin = resolveArchiveOrigin(project, archive);
    const mirror = resolveMirrorSource(project, archive);
    const suites = mirror?.suites ?? [origin.suite];
    const components = mirror?.components ?? ['main'];
    // Tails' server signs with Tails' key; otherwise the sources keep Debian's keyring (the default).
    const tails = keyring.file !== undefined && keyring.tailsArchives.includes(archive) ? keyring.file : undefined;
    host.push({ archive, serial, url: snapshotUrl(origin, archive, serial), suites, components, ...(tails === undefined ? {} : { keyring: tails.hostPath }) });
    guest.push({
      archive,
      serial,
      url: snapshotUrl({ ...origin, baseUrl: resolveGuestBaseUrl(project, archive) }, archive, serial),
      suites,
      components,
      ...(tails === undefined ? {} : { keyring: tails.guestPath }),
    });
  }
  return { host, guest };
}

/**
 * A `.partial` file is only ever renamed into place: whatever stops the run
 * before that (a failed step, Ctrl-C) must not leave it behind, so its removal
 * is registered before it is written (after the rename it removes nothing).
 */
function removePartialOnExit(deps: Pick<Deps, 'disk'>, cleanup: CleanupStack, partial: string): void {
  cleanup.push(`remove ${partial}`, () => deps.disk.remove(partial));
}

function packageStep(deps: Pick<Deps, 'boxArchive' | 'disk'>, identity: BaseboxNameResult, boxFile: string, boxesDir: string, cleanup: CleanupStack): Step<CreateState> {
  return {
    id: 'package',
    title: `Package the vagrant-libvirt box ${identity.name}.box`,
    run: async (state) => {
      if (state.qcow2 === undefined) throw new Error('internal: no qcow2 to package');
      if (state.kernel === undefined || state.initrd === undefined) throw new Error('internal: no kernel or initrd to package');
      await deps.disk.mkdirp(boxesDir);
      const partial = `${boxFile}.partial`;
      removePartialOnExit(deps, cleanup, partial);
      const written = await deps.boxArchive.write({
        output: partial,
        boxImage: state.qcow2,
        boot: { kernel: state.kernel, initrd: state.initrd, cmdline: planKernelCommandLine(computeDiskIdentity(identity.name)) },
        virtualSizeBytes: BOX_DISK_BYTES,
        mtime: identity.sourceDateEpoch,
      });
      await deps.disk.rename(partial, boxFile);
      state.box = { path: boxFile, sha256: written.sha256, sizeBytes: written.sizeBytes };
    },
  };
}

function outputStep(deps: Pick<Deps, 'disk'>, output: string, cleanup: CleanupStack): Step<CreateState> {
  return {
    id: 'output',
    title: `Copy the box to ${output}`,
    run: async (state) => {
      if (state.box === undefined) throw new Error('internal: no box to copy');
      removePartialOnExit(deps, cleanup, `${output}.partial`);
      await deps.disk.copyFile(state.box.path, `${output}.partial`);
      await deps.disk.rename(`${output}.partial`, output);
    },
  };
}

function importStep(deps: Deps, name: string): Step<CreateState> {
  return {
    id: 'import',
    title: `Import ${name} into vagrant and the libvirt pool`,
    run: async (state, report) => {
      if (state.box === undefined) throw new Error('internal: no box to import');
      const result = await importBasebox(deps, { name, boxFile: state.box.path });
      report(`volume ${result.volume}`);
      state.imported = true;
    },
  };
}
