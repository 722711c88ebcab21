/**
 * The composition root (STYLE rule 4): builds every adapter once, from the mode
 * the CLI resolved. Use cases receive `deps` and never construct adapters.
 */
import { systemClock } from '../adapters/clock.js';
import { createGit } from '../adapters/git.js';
import { createHttp, type HttpOptions } from '../adapters/http.js';
import { systemHost } from '../adapters/host.js';
import { projectFiles } from '../adapters/project-files.js';
import { createRunner } from '../adapters/runner.js';
import { createSerialStore } from '../adapters/serial-store.js';
import { createSnapshotIo } from '../adapters/snapshot-store.js';
import type { Clock, Git, Host, Http, ProjectFiles, Runner } from '../core/ports.js';
import type { SerialStore } from '../core/serials.js';
import type { SnapshotIo } from '../core/snapshot-store.js';
import type { Output } from '../ui/output.js';

export interface Deps {
  readonly runner: Runner;
  readonly git: Git;
  readonly http: Http;
  readonly files: ProjectFiles;
  readonly clock: Clock;
  readonly host: Host;
  readonly serialStore: SerialStore;
  /** The local snapshot store: files, verified downloads, host apt sources, the HTTP server. */
  readonly snapshotIo: SnapshotIo;
  readonly out: Output;
}

export interface Mode {
  readonly dryRun: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** HTTP tuning the CLI read from TAILS_BUILD_HTTP_* (tests shorten the backoff). */
  readonly http?: Pick<HttpOptions, 'backoffMs' | 'timeoutMs' | 'retries'>;
}

export function createDeps(mode: Mode, out: Output): Deps {
  const clock = systemClock;
  const runner = createRunner({ log: out, dryRun: mode.dryRun, path: mode.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', baseEnv: mode.env });
  return {
    runner,
    git: createGit(),
    http: createHttp({ clock, log: out, ...mode.http }),
    files: projectFiles,
    clock,
    host: systemHost,
    serialStore: createSerialStore(),
    snapshotIo: createSnapshotIo({ runner, clock, files: projectFiles }),
    out,
  };
}
