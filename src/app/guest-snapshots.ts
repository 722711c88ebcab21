/**
 * The snapshot server as build VMs reach it at `guestBaseUrl`. With a network
 * namespace (CI hosts), the server listens on a unix socket and a relay inside
 * the namespace exposes it on the guest port: the namespace cannot reach the
 * host's loopback, and the host namespace must get no private address. Without
 * one (a laptop), it listens on vagrant-libvirt's management gateway.
 */
import { mkdir } from 'node:fs/promises';
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

export async function serveSnapshotsToGuests(deps: Pick<Deps, 'out' | 'snapshotIo' | 'runner'>, request: GuestSnapshotsRequest): Promise<GuestSnapshots> {
  const withProject = request.project === undefined ? {} : { project: request.project };
  const port = guestPort(request.project);
  if (request.netns === undefined) {
    const server = await startSnapshotServer(deps, { store: request.store, ...withProject, listen: { host: MANAGEMENT_GATEWAY, port } });
    return { guestUrl: server.url, close: () => server.close() };
  }
  const socket = join(request.cacheRoot, 'run', `snapshots-${String(process.pid)}-${String(Date.now())}.sock`);
  await mkdir(dirname(socket), { recursive: true });
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
