/**
 * A fake upstream Debian mirror on 127.0.0.1 for the snapshot store tests:
 * real clearsigned InRelease files (a throwaway gpg key made for the test,
 * never a real archive key), gzip'd Packages indices, by-hash copies, pool
 * files; and programmable damage (a missing pool file, wrong bytes).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

export interface TestKey {
  /** A binary keyring gpgv accepts (`gpgv --keyring FILE`). */
  readonly keyring: string;
  clearsign(text: string): Buffer;
  remove(): void;
}

/** A throwaway signing key in a temp GNUPGHOME (tests only). */
export function createTestKey(): TestKey {
  const home = mkdtempSync(join(tmpdir(), 'tb-gpg-'));
  const env = { ...process.env, GNUPGHOME: home };
  const gpg = (args: string[], input?: string | Buffer): Buffer =>
    execFileSync('gpg', ['--batch', '--quiet', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], { env, input: input ?? '', stdio: ['pipe', 'pipe', 'pipe'] });
  gpg(['--quick-gen-key', 'tails-build test archive <test@tails-build.invalid>', 'ed25519', 'sign', 'never']);
  const keyring = join(home, 'test-archive.gpg');
  writeFileSync(keyring, gpg(['--export']));
  return {
    keyring,
    clearsign: (text) => gpg(['--clearsign', '--digest-algo', 'SHA256'], text),
    remove() {
      execFileSync('gpgconf', ['--kill', 'all'], { env, stdio: 'ignore' });
      rmSync(home, { recursive: true, force: true });
    },
  };
}

export interface FakePackage {
  readonly name: string;
  readonly version: string;
  readonly content: Buffer;
}

export function poolPath(pkg: FakePackage): string {
  return `pool/main/${pkg.name.slice(0, 1)}/${pkg.name}/${pkg.name}_${pkg.version}_amd64.deb`;
}

/** The files of one suite (paths relative to the archive root). */
export function buildSuite(key: TestKey, suite: string, packages: readonly FakePackage[], date = 'Sat, 21 Nov 2026 00:00:00 UTC'): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const stanzas = packages.map(
    (p) =>
      `Package: ${p.name}\nVersion: ${p.version}\nArchitecture: amd64\nFilename: ${poolPath(p)}\nSize: ${p.content.length}\nSHA256: ${sha256(p.content)}\nDescription: test package\n`,
  );
  const packagesText = Buffer.from(stanzas.join('\n'));
  const indices = new Map<string, Buffer>([
    ['main/binary-amd64/Packages', packagesText],
    ['main/binary-amd64/Packages.gz', gzipSync(packagesText)],
  ]);
  const sums = [...indices].map(([path, data]) => ` ${sha256(data)} ${String(data.length).padStart(8)} ${path}`).join('\n');
  const release = `Origin: Test\nLabel: Test\nSuite: ${suite}\nCodename: ${suite}\nDate: ${date}\nAcquire-By-Hash: yes\nArchitectures: amd64\nComponents: main\nSHA256:\n${sums}\n`;
  files.set(`dists/${suite}/InRelease`, key.clearsign(release));
  for (const [path, data] of indices) {
    files.set(`dists/${suite}/${path}`, data);
    files.set(`dists/${suite}/${path.slice(0, path.lastIndexOf('/'))}/by-hash/SHA256/${sha256(data)}`, data);
  }
  for (const p of packages) files.set(poolPath(p), p.content);
  return files;
}

export interface FakeMirror {
  /** The archive's upstream URL, e.g. http://127.0.0.1:PORT/debian/ */
  readonly url: string;
  readonly files: Map<string, Buffer>;
  /** Paths requested (relative to the archive root). */
  readonly requests: string[];
  close(): Promise<void>;
}

/** Serves `files` under `/<archive>/`; anything else is 404. */
export async function startFakeMirror(archive: string, files: Map<string, Buffer>): Promise<FakeMirror> {
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const prefix = `/${archive}/`;
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(req.url ?? '/');
    const rel = path.startsWith(prefix) ? path.slice(prefix.length) : '';
    requests.push(rel);
    const data = files.get(rel);
    if (data === undefined) {
      res.writeHead(404).end('Not Found\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': data.length }).end(data);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}${prefix}`,
    files,
    requests,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
