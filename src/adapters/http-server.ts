/**
 * A read-only HTTP server over node:http: the handler (app/) decides what a
 * path is; this adapter writes the answer, streaming files, with HEAD and a
 * single `Range: bytes=a-b` supported. Listens on HOST:PORT or a unix socket;
 * `close()` ends open connections too.
 */
import { createReadStream } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { pipeline } from 'node:stream/promises';
import type { HttpListenTarget, ListeningServer, ServedRequest, ServedResponse } from '../core/snapshot-store.js';
import { snapshotStoreMessages as msg } from '../core/messages/index.js';

export async function listenHttp(
  target: HttpListenTarget,
  handle: (req: ServedRequest) => Promise<ServedResponse>,
  onServed: (req: ServedRequest, res: ServedResponse, bytes: number) => void,
): Promise<ListeningServer> {
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    void respond(req, res, handle, onServed);
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const where = target.unixSocket ?? `${target.host ?? '127.0.0.1'}:${target.port ?? 0}`;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => {
      reject(msg.listenFailed(where, error));
    });
    if (target.unixSocket !== undefined) server.listen(target.unixSocket, resolve);
    else server.listen(target.port ?? 0, target.host ?? '127.0.0.1', resolve);
  });
  const address = server.address();
  const url =
    typeof address === 'string' || address === null
      ? `http+unix://${encodeURIComponent(target.unixSocket ?? '')}/`
      : `http://${hostForUrl(address.address)}:${address.port}/`;
  return {
    url,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => {
          if (error === undefined) resolve();
          else reject(error);
        });
        for (const socket of sockets) socket.destroy();
      }),
  };
}

async function respond(
  req: IncomingMessage,
  res: ServerResponse,
  handle: (req: ServedRequest) => Promise<ServedResponse>,
  onServed: (req: ServedRequest, res: ServedResponse, bytes: number) => void,
): Promise<void> {
  const request: ServedRequest = { method: req.method ?? 'GET', path: req.url ?? '/' };
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('Method not allowed\n');
    return;
  }
  let answer: ServedResponse;
  try {
    answer = await handle(request);
  } catch (error) {
    answer = { status: 500, contentType: 'text/plain; charset=utf-8', body: { kind: 'text', text: `${error instanceof Error ? error.message : String(error)}\n` } };
  }
  const head = request.method === 'HEAD';
  let bytes = 0;
  let status = answer.status;
  try {
    if (answer.body.kind === 'text') {
      const data = Buffer.from(answer.body.text);
      res.writeHead(answer.status, { 'content-type': answer.contentType, 'content-length': data.length });
      if (head) res.end();
      else {
        res.end(data);
        bytes = data.length;
      }
    } else {
      const size = answer.body.size;
      const range = answer.status === 200 ? parseRange(req.headers.range, size) : undefined;
      if (range === 'unsatisfiable') {
        res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
        onServed(request, { ...answer, status: 416 }, 0);
        return;
      }
      const [start, end] = range ?? [0, size - 1];
      const length = size === 0 ? 0 : end - start + 1;
      status = range === undefined ? answer.status : 206;
      res.writeHead(status, {
        'content-type': answer.contentType,
        'content-length': length,
        'accept-ranges': 'bytes',
        ...(range === undefined ? {} : { 'content-range': `bytes ${start}-${end}/${size}` }),
      });
      if (head || length === 0) res.end();
      else {
        await pipeline(createReadStream(answer.body.path, { start, end }), res);
        bytes = length;
      }
    }
  } catch {
    res.destroy();
  }
  onServed(request, status === answer.status ? answer : { ...answer, status }, bytes);
}

/** `bytes=a-b`, `bytes=a-`, `bytes=-n`; multiple ranges are ignored (full answer). */
function parseRange(header: string | undefined, size: number): [number, number] | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (m === null || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return [start, end];
}

function hostForUrl(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}
