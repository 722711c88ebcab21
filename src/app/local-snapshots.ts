/**
 * A project whose snapshot base URL is on loopback (the default) is served from
 * the local store. Commands that need it — basebox create, and the serial
 * tools that look things up (get-latest, freeze, prepare-build, check-expiry) —
 * serve it themselves for their duration, unless a server already answers there.
 */
import { messages } from '../core/messages/index.js';
import { isLoopbackUrl, withLoopbackSnapshotsAt, type ProjectConfig } from '../core/project.js';
import type { CleanupStack } from './cleanup.js';
import type { Deps } from './deps.js';
import { startSnapshotServer } from './snapshot-server.js';

export type LocalSnapshotsDeps = Pick<Deps, 'out' | 'snapshotIo' | 'http'>;

/** Starts the local snapshot server when the project needs one and none runs; the cleanup stops it. */
export async function serveLocalSnapshotsIfNeeded(
  deps: LocalSnapshotsDeps,
  project: ProjectConfig,
  store: string,
  cleanup: CleanupStack,
): Promise<void> {
  const baseUrl = project.snapshots.baseUrl;
  if (!isLoopbackUrl(baseUrl)) return;
  if (await answersAsSnapshotServer(deps, baseUrl)) {
    deps.out.debug(`a snapshot server already answers at ${baseUrl}; using it`);
    return;
  }
  const base = new URL(baseUrl);
  // One line per request is for `snapshots serve`; here it goes to --verbose.
  const quiet = { ...deps, out: { ...deps.out, info: (line: string) => { deps.out.debug(line); } } };
  try {
    const server = await startSnapshotServer(quiet, { store, project, listen: { host: base.hostname, port: Number(base.port === '' ? 80 : base.port) } });
    deps.out.debug(`serving the local snapshot store ${store} at ${baseUrl} for this command`);
    cleanup.push('stop the snapshot server', () => server.close());
  } catch (error) {
    // Lost a race with another server starting there: use it if it is one.
    if (await answersAsSnapshotServer(deps, baseUrl)) return;
    throw isAddressInUse(error) ? messages.basebox.snapshotPortBusy(baseUrl) : error;
  }
}

/**
 * For what runs while other builds may run too (a build's serial lookups, box
 * creation): the local store served by a server of this command's own, on a
 * free loopback port, never shared — a server another build started on the
 * project's port stops when that build ends, mid-lookup for this one. Returns
 * the project with its loopback base URLs pointing there; the cleanup stops it.
 * A project whose snapshots are not on loopback is returned as it is.
 */
export async function serveLocalSnapshotsPrivately(deps: LocalSnapshotsDeps, project: ProjectConfig, store: string, cleanup: CleanupStack): Promise<ProjectConfig> {
  const loopback = [project.snapshots.baseUrl, ...Object.values(project.snapshots.archives).map((a) => a.baseUrl)].some((u) => u !== undefined && isLoopbackUrl(u));
  if (!loopback) return project;
  const quiet = { ...deps, out: { ...deps.out, info: (line: string) => { deps.out.debug(line); } } };
  const server = await startSnapshotServer(quiet, { store, project, listen: { host: '127.0.0.1', port: 0 } });
  cleanup.push('stop the snapshot server', () => server.close());
  deps.out.debug(`serving the local snapshot store ${store} at ${server.url} for this command only`);
  return withLoopbackSnapshotsAt(project, server.url);
}

async function answersAsSnapshotServer(deps: LocalSnapshotsDeps, baseUrl: string): Promise<boolean> {
  try {
    // Our server answers 404 with a text body for unknown paths; anything that is not HTTP fails here.
    const response = await deps.http.get(new URL('tails-build-probe', baseUrl).toString(), { retries: 0, timeoutMs: 2000 });
    return response.status < 500;
  } catch {
    return false;
  }
}

function isAddressInUse(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, cause, message } = error as { code?: unknown; cause?: unknown; message?: unknown };
  return code === 'EADDRINUSE' || (typeof message === 'string' && message.includes('EADDRINUSE')) || (cause !== undefined && isAddressInUse(cause));
}
