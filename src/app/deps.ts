/**
 * The composition root (STYLE rule 4): builds every adapter once, from the mode
 * the CLI resolved. Use cases receive `deps` and never construct adapters.
 */
import { systemClock } from '../adapters/clock.js';
import { createGit } from '../adapters/git.js';
import { createHttp, type HttpOptions } from '../adapters/http.js';
import { createLibvirtDomains, type LibvirtDomains } from '../adapters/libvirt-domains.js';
import { createLibvirtPool } from '../adapters/libvirt-pool.js';
import { createHostLocks } from '../adapters/lock.js';
import { createVagrant } from '../adapters/vagrant.js';
import { systemHost } from '../adapters/host.js';
import { createRunner } from '../adapters/runner.js';
import { createSerialStore } from '../adapters/serial-store.js';
import { createSnapshotIo } from '../adapters/snapshot-store.js';
import type { LibvirtPool, VagrantBoxes } from '../core/box-store.js';
import type { Clock, DiskFiles, Git, Host, HostLocks, Http, ProjectFiles, RelayHandle, Runner, SerialStore } from '../core/ports.js';
import { diskFiles } from '../adapters/disk-file.js';
import { writeBoxArchive } from '../adapters/box-archive.js';
import { probeAccelerator } from '../adapters/accelerator.js';
import { startRelay } from '../adapters/relay.js';
import type { AcceleratorChoice } from '../core/accelerator.js';
import type { BoxArchiveInput, BoxArchiveResult } from '../core/box-archive.js';
import type { SnapshotIo } from '../core/snapshot-store.js';
import type { Output } from '../ui/output.js';

export interface Deps {
  readonly runner: Runner;
  readonly git: Git;
  readonly http: Http;
  /** Reading project files: the read-only part of `disk`, the same adapter. */
  readonly files: ProjectFiles;
  readonly clock: Clock;
  readonly host: Host;
  readonly serialStore: SerialStore;
  /** The local snapshot store: files, verified downloads, host apt sources, the HTTP server. */
  readonly snapshotIo: SnapshotIo;
  /** Vagrant's boxes (VAGRANT_HOME), libvirt's default pool, the host-wide locks. */
  readonly vagrant: VagrantBoxes;
  readonly pool: LibvirtPool;
  readonly locks: HostLocks;
  /** Build VM domains (state, removal through libvirt). */
  readonly domains: LibvirtDomains;
  readonly libvirtUri: string;
  readonly vagrantHome: string;
  readonly out: Output;
  /** Aborted by SIGINT/SIGTERM; long use cases check it between steps. */
  readonly signal: AbortSignal;
  /** The files port: text files, trees, disk images, hashes (app/ and cli/ do not import node:fs). */
  readonly disk: DiskFiles;
  /** The vagrant-libvirt .box writer. */
  readonly boxArchive: { write(input: BoxArchiveInput): Promise<BoxArchiveResult> };
  /** Which accelerator a VM gets (KVM only when it really works). */
  readonly accelerator: { probe(): Promise<AcceleratorChoice> };
  /** A TCP -> unix socket relay (into a VM network namespace). */
  readonly relay: { start(listen: { readonly host: string; readonly port: number }, unixSocket: string): Promise<RelayHandle> };
}

/** Where boxes live and how the host lock behaves, as the CLI resolved them (cli/context.ts#boxStoreSettings). */
export interface BoxStoreSettings {
  readonly vagrantHome: string;
  readonly libvirtUri: string;
  readonly lockDir: string;
  readonly lockTimeoutMs: number;
}

export interface Mode {
  readonly dryRun: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** HTTP tuning the CLI read from TAILS_BUILD_HTTP_* (tests shorten the backoff). */
  readonly http?: Pick<HttpOptions, 'backoffMs' | 'timeoutMs' | 'retries'>;
  readonly boxStore: BoxStoreSettings;
  /** Aborted by SIGINT/SIGTERM: running commands are killed, cleanups run. */
  readonly signal?: AbortSignal;
}

export function createDeps(mode: Mode, out: Output): Deps {
  const clock = systemClock;
  const runner = createRunner({ log: out, dryRun: mode.dryRun, path: mode.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', baseEnv: mode.env, ...(mode.signal === undefined ? {} : { signal: mode.signal }) });
  return {
    runner,
    git: createGit({ log: out, ...(mode.signal === undefined ? {} : { signal: mode.signal }) }),
    http: createHttp({ clock, log: out, ...mode.http, ...(mode.signal === undefined ? {} : { signal: mode.signal }) }),
    files: diskFiles,
    clock,
    host: systemHost,
    serialStore: createSerialStore(),
    snapshotIo: createSnapshotIo({ runner, clock, files: diskFiles }),
    vagrant: createVagrant(runner, { vagrantHome: mode.boxStore.vagrantHome }),
    pool: createLibvirtPool(runner, { uri: mode.boxStore.libvirtUri }),
    locks: createHostLocks({ dir: mode.boxStore.lockDir, timeoutMs: mode.boxStore.lockTimeoutMs, ...(mode.signal === undefined ? {} : { signal: mode.signal }) }),
    domains: createLibvirtDomains({ runner, uri: mode.boxStore.libvirtUri, log: out, dryRun: mode.dryRun }),
    libvirtUri: mode.boxStore.libvirtUri,
    vagrantHome: mode.boxStore.vagrantHome,
    out,
    signal: mode.signal ?? new AbortController().signal,
    disk: diskFiles,
    boxArchive: { write: writeBoxArchive },
    accelerator: { probe: () => probeAccelerator(runner) },
    relay: { start: startRelay },
  };
}
