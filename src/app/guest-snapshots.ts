/**
 * The snapshot server as build VMs reach it at `guestBaseUrl`. With a network
 * namespace (CI hosts), the server listens on a unix socket and a relay inside
 * the namespace exposes it on the guest port: the namespace cannot reach the
 * host's loopback, and the host namespace must get no private address. Without
 * one (a laptop), it listens on vagrant-libvirt's management gateway.
 */
import { dirname, join } from 'node:path';
import { command, inNetns } from '../core/command.js';
import { GUEST_SNAPSHOT_BASE_URL, type ProjectConfig } from '../core/project.js';
import type { Deps } from './deps.js';
import { startSnapshotServer } from './snapshot-server.js';

/** vagrant-libvirt's default management network is 192.168.121.0/24; the host is .1. */
export const MANAGEMENT_GATEWAY = '192.168.121.1';

export interface GuestSnapshotsRequest {
  readonly project: ProjectConfig | undefined;
  readonly store: string;
  readonly netns: string | undefined;
  readonly cacheRoot: string;
  /** How to run this tool again (the relay runs as `tails-build snapshots relay` in the namespace). */
  readonly self: { readonly node: string; readonly script: string };
}

export interface GuestSnapshots {
  /** Where guests reach it, for messages. */
  readonly guestUrl: string;
  close(): Promise<void>;
}

export function guestPort(project: ProjectConfig | undefined): number {
  const url = new URL(project?.snapshots.guestBaseUrl ?? GUEST_SNAPSHOT_BASE_URL);
  return Number(url.port === '' ? 80 : url.port);
}

/** Snapshot-server sockets live here; each name starts with its server's pid. */
export function snapshotSocketDir(cacheRoot: string): string {
  return join(cacheRoot, 'run');
}

const SOCKET_NAME = /^snapshots-([1-9][0-9]*)-[0-9]+\.sock$/;

function newSocketPath(deps: Pick<Deps, 'host' | 'clock'>, cacheRoot: string): string {
  return join(snapshotSocketDir(cacheRoot), `snapshots-${String(deps.host.pid())}-${String(deps.clock.now().getTime())}.sock`);
}

/**
 * The snapshot-server sockets whose server process is gone (a SIGKILL'd
 * build cannot unlink its own), removed unless `dryRun`; returns their paths.
 * A socket whose pid is alive is left, even when that pid was reused: a stale
 * socket costs a directory entry, a removed live one a build.
 */
export async function pruneStaleSnapshotSockets(deps: Pick<Deps, 'host' | 'disk'>, cacheRoot: string, options: { readonly dryRun?: boolean } = {}): Promise<string[]> {
  const dir = snapshotSocketDir(cacheRoot);
  if (!(await deps.disk.isDirectory(dir))) return [];
  const stale: string[] = [];
  for (const name of await deps.disk.listTree(dir)) {
    const pid = SOCKET_NAME.exec(name)?.[1];
    if (pid === undefined || deps.host.processStart(Number(pid)) !== undefined) continue;
    const path = join(dir, name);
    if (!options.dryRun) await deps.disk.remove(path);
    stale.push(path);
  }
  return stale;
}

/** The snapshot server of one build: on a unix socket that ssh forwards into its VM (see guestSsh). */
export interface SnapshotForward {
  /** The VM's loopback port ssh listens on (the guest base URL's port). */
  readonly port: number;
  /** The server's unix socket on the host. */
  readonly socket: string;
  close(): Promise<void>;
}

/**
 * Serves the store to one build VM: the server listens on a unix socket of
 * its own and every ssh session into the VM carries a remote forward from the
 * VM's 127.0.0.1:<guest port> to it. Each VM has its own loopback, so builds
 * running at once never compete for a port, no relay process runs, and the
 * guest URL stays the same for every build (it ends up in the artifacts).
 */
export async function serveSnapshotsOverSsh(deps: Pick<Deps, 'out' | 'snapshotIo' | 'disk' | 'host' | 'clock'>, request: Omit<GuestSnapshotsRequest, 'netns' | 'self'>): Promise<SnapshotForward> {
  const withProject = request.project === undefined ? {} : { project: request.project };
  await pruneStaleSnapshotSockets(deps, request.cacheRoot);
  const socket = newSocketPath(deps, request.cacheRoot);
  await deps.disk.mkdirp(dirname(socket));
  const server = await startSnapshotServer(deps, { store: request.store, ...withProject, unixSocket: socket });
  return { port: guestPort(request.project), socket, close: () => server.close() };
}

/** For `tails-build snapshots serve`: guests of a whole network reach the server on the guest port. */
export async function serveSnapshotsToGuests(deps: Pick<Deps, 'out' | 'snapshotIo' | 'runner' | 'disk' | 'host' | 'clock'>, request: GuestSnapshotsRequest): Promise<GuestSnapshots> {
  const withProject = request.project === undefined ? {} : { project: request.project };
  const port = guestPort(request.project);
  if (request.netns === undefined) {
    const server = await startSnapshotServer(deps, { store: request.store, ...withProject, listen: { host: MANAGEMENT_GATEWAY, port } });
    return { guestUrl: server.url, close: () => server.close() };
  }
  await pruneStaleSnapshotSockets(deps, request.cacheRoot);
  const socket = newSocketPath(deps, request.cacheRoot);
  await deps.disk.mkdirp(dirname(socket));
  const server = await startSnapshotServer(deps, { store: request.store, ...withProject, unixSocket: socket });
  try {
    const relay = await deps.runner.start(
      inNetns(request.netns, command(request.self.node, [request.self.script, 'snapshots', 'relay', '--listen', `0.0.0.0:${String(port)}`, '--unix', socket])),
      { ready: /^relaying /, timeoutMs: 15_000 },
    );
    return {
      guestUrl: `http://<any address in netns ${request.netns}>:${String(port)}/`,
      close: async () => {
        await relay.stop();
        await server.close();
      },
    };
  } catch (error) {
    await server.close();
    throw error;
  }
}
