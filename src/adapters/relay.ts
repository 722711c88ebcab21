/**
 * A TCP → unix-socket relay. Build VMs on hosts whose VM networks live in a
 * network namespace cannot reach the host's loopback; the filesystem is
 * shared, so the snapshot server also listens on a unix socket and this relay,
 * run inside the namespace, exposes it there (DESIGN: "cross between
 * namespaces through unix sockets").
 */
import { connect, createServer, type Socket } from 'node:net';

export interface Relay {
  /** host:port actually listened on. */
  readonly address: string;
  close(): Promise<void>;
}

export async function startRelay(listen: { readonly host: string; readonly port: number }, unixSocket: string): Promise<Relay> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(unixSocket);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  server.listen(listen.port, listen.host);
  // One settled promise: a listener left on 'error' after 'listening' won used to
  // turn any later server error into an unhandled rejection.
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => {
      server.off('listening', onListening);
      reject(error);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
  });
  // Later errors (a failed accept) end that connection, never the process.
  server.on('error', () => undefined);
  const address = server.address();
  const shown = typeof address === 'object' && address !== null ? `${address.address}:${String(address.port)}` : String(address);
  return {
    address: shown,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}
