/**
 * A real HTTP snapshot server on 127.0.0.1 (random port) for tests: Tails-style
 * trace files and (In)Release files, snapshot.debian.org-style month listings,
 * and programmable failures (404, 429 then 200, 500, a response that hangs).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface Reply {
  readonly status?: number;
  readonly body?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Never answer (the client must time out). */
  readonly hang?: boolean;
}

/** A route answers with each reply in turn, then repeats the last one. */
export type Route = Reply | readonly Reply[];

export interface SnapshotServer {
  /** Base URL, ending in "/". */
  readonly url: string;
  readonly port: number;
  /** Request paths (with query), in order. */
  readonly requests: string[];
  route(path: string, route: Route): void;
  close(): Promise<void>;
}

export async function startSnapshotServer(): Promise<SnapshotServer> {
  const routes = new Map<string, { replies: readonly Reply[]; next: number }>();
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? '/';
    requests.push(path);
    const entry = routes.get(path);
    if (entry === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found\n');
      return;
    }
    const reply = entry.replies[Math.min(entry.next, entry.replies.length - 1)] ?? {};
    entry.next++;
    if (reply.hang === true) return;
    res.writeHead(reply.status ?? 200, { 'content-type': 'text/plain', ...reply.headers }).end(reply.body ?? '');
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    requests,
    route(path, route) {
      routes.set(path, { replies: Array.isArray(route) ? (route as readonly Reply[]) : [route as Reply], next: 0 });
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => { resolve(); }));
    },
  };
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A Tails time-based snapshot trace file. */
export function traceText(serial: string): string {
  return `Date: Sat, 12 Oct 2024 08:00:01 +0000
Date-Started: Sat, 12 Oct 2024 07:54:02 +0000
Archive serial: ${serial}
Running on host: reprepro-time-based-snapshots
Maintainer: Tails developers <tails-dev@boum.org>
Suite: time-based
`;
}

/** An InRelease file shaped like Debian's (clearsigned; the signature is not real). */
export function inReleaseText(args: { suite: string; codename: string; date: string; validUntil?: string }): string {
  return `-----BEGIN PGP SIGNED MESSAGE-----
Hash: SHA512

${releaseText(args)}-----BEGIN PGP SIGNATURE-----

iQJHBAEBCgAxFiEEtFTgGqFyeF0rJQUUdFnl6aBqyLIFAmcKLgUTHGZ0cG1hc3Rl
ckBkZWJpYW4ub3JnAAoJEHRZ5emgasiy1dEP/0y5XHUQkOaU7Jz1bC9Eg1fH3zDd
6kCjGk3Z8QlrJbUh0tqTzGVxQ0kC2v0yKsXyO7a9+Lk0dXqXwYp1qk3yWw4Xh2wM
=x3Ke
-----END PGP SIGNATURE-----
`;
}

/** A Release file shaped like Debian's. */
export function releaseText(args: { suite: string; codename: string; date: string; validUntil?: string }): string {
  return `Origin: Debian
Label: Debian
Suite: ${args.suite}
Version: 12.7
Codename: ${args.codename}
Changelogs: https://metadata.ftp-master.debian.org/changelogs/@CHANGEPATH@_changelog
Date: ${args.date}
${args.validUntil === undefined ? '' : `Valid-Until: ${args.validUntil}\n`}Acquire-By-Hash: yes
No-Support-for-Architecture-all: Packages
Architectures: all amd64 arm64 armel armhf i386 mips64el mipsel ppc64el s390x
Components: main contrib non-free-firmware non-free
Description: Debian 12.7 Released 31 August 2024
MD5Sum:
 0ed6d4c8891eb86358b94bb35d9e4da4  1484322 contrib/Contents-all
 d0a0325a97c42fd5f66a8c3e29bcea64    98581 contrib/Contents-all.gz
SHA256:
 3957f28db16e3f28c7b34ae84f1c929c567de6970f3f1b95dac9b498dd80fe63  1484322 contrib/Contents-all
 3e9a121d599b56c08bc8f144e4830807c77c29d7114316d6984ba54695d3db7b    98581 contrib/Contents-all.gz
`;
}

/** A snapshot.debian.org month listing linking `timestamps`. */
export function monthListingHtml(archive: string, timestamps: readonly string[]): string {
  const links = timestamps.map((ts) => `<a href="${ts}/">${ts.slice(0, 4)}-${ts.slice(4, 6)}-${ts.slice(6, 8)} ${ts.slice(9, 11)}:${ts.slice(11, 13)}:${ts.slice(13, 15)}</a><br />`);
  return `<!DOCTYPE html>
<html><head><title>snapshot.debian.org -- ${archive}</title></head>
<body><h1>snapshot.debian.org -- ${archive}</h1>
<p>${links.join('\n')}</p>
</body></html>
`;
}

/** Serves a Tails-layout archive: its trace (latest serial) and an InRelease per serial. */
export function serveTailsArchive(
  server: SnapshotServer,
  archive: string,
  args: { latest: string; serials: readonly string[]; suite: string; validUntil?: string; releaseOnly?: boolean },
): void {
  server.route(`/${archive}/project/trace/${archive}`, { body: traceText(args.latest) });
  for (const serial of args.serials) {
    const release = { suite: args.suite, codename: args.suite.split('-')[0] ?? args.suite, date: 'Sat, 12 Oct 2024 08:00:00 UTC', ...(args.validUntil === undefined ? {} : { validUntil: args.validUntil }) };
    const dists = `/${archive}/${serial}/dists/${args.suite}/`;
    if (args.releaseOnly === true) server.route(`${dists}Release`, { body: releaseText(release) });
    else server.route(`${dists}InRelease`, { body: inReleaseText(release) });
  }
}
