/**
 * A temp project laid out like this repo, with its own snapshot taken from the
 * real Debian mirror into a persistent test store (so CI runs after the first
 * reuse the pool), its builder serials frozen against it and committed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAIN, runTailsBuild } from './cli.js';
import { createTempRepo, type TempRepo } from './git-repo.js';

export const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));
/** Outside any clone, kept between runs: the pool is fetched once. */
export const TEST_STORE = process.env.TAILS_BUILD_TEST_STORE ?? '/var/cache/tails-build/test/snapshots';
export const TEST_PORT = 8471;

export interface BuilderProject {
  readonly repo: TempRepo;
  readonly store: string;
  readonly serials: Record<string, string>;
}

export async function createBuilderProject(): Promise<BuilderProject> {
  const repo = createTempRepo();
  const def = join(repo.root, 'definitions/builder');
  mkdirSync(def, { recursive: true });
  for (const file of ['packages', 'customize.sh', 'vagrant-insecure.pub']) copyFileSync(join(REPO_ROOT, 'definitions/builder', file), join(def, file));
  chmodSync(join(def, 'customize.sh'), 0o755);
  // The embedded sample recipe, as this repository has it (its serials are set below).
  const iso = join(repo.root, 'definitions/iso');
  mkdirSync(iso, { recursive: true });
  for (const file of readdirSync(join(REPO_ROOT, 'definitions/iso'))) {
    const from = join(REPO_ROOT, 'definitions/iso', file);
    if (!statSync(from).isFile()) continue;
    copyFileSync(from, join(iso, file));
    chmodSync(join(iso, file), statSync(from).mode & 0o777);
  }
  repo.write({
    'definitions/builder/APT_snapshots.d/debian/serial': 'latest\n',
    'definitions/builder/APT_snapshots.d/debian-security/serial': 'latest\n',
    'definitions/iso/APT_snapshots.d/debian/serial': 'latest\n',
    'definitions/iso/APT_snapshots.d/debian-security/serial': 'latest\n',
    'tails-build.json': JSON.stringify({ snapshots: { baseUrl: `http://127.0.0.1:${TEST_PORT}/` } }, null, 2),
  });
  repo.commit('Builder definition', '2026-11-01T12:00:00Z');

  const mirrored = await runTailsBuild(['--json', 'snapshots', 'mirror', '--store', TEST_STORE, 'debian', 'debian-security'], { cwd: repo.root, timeoutMs: 600_000 });
  if (mirrored.code !== 0) throw new Error(`snapshots mirror failed:\n${mirrored.stderr}`);
  const server = await serve(repo.root, TEST_STORE);
  try {
    const frozen = await runTailsBuild(['snapshots', 'freeze', '--set', 'builder'], { cwd: repo.root });
    if (frozen.code !== 0) throw new Error(`snapshots freeze failed:\n${frozen.stderr}`);
  } finally {
    server.kill('SIGTERM');
    await once(server, 'exit');
  }
  repo.commit('Freeze builder snapshots', '2026-11-02T12:00:00Z');
  const serials: Record<string, string> = {};
  for (const archive of ['debian', 'debian-security']) serials[archive] = repo.git('show', `HEAD:definitions/builder/APT_snapshots.d/${archive}/serial`).trim();
  return { repo, store: TEST_STORE, serials };
}

/** `tails-build snapshots serve` on the test port; resolves once it prints its URL. */
export async function serve(cwd: string, store: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [MAIN, 'snapshots', 'serve', '--store', store, '--listen', `127.0.0.1:${TEST_PORT}`], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  await new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (d.includes('http://')) resolve();
    });
    child.on('exit', (code) => {
      reject(new Error(`snapshots serve exited with ${String(code)}:\n${stderr}`));
    });
  });
  return child;
}

/** The last JSON line of a --json run: the result event. */
export function resultOf(stdout: string): unknown {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1] ?? '{}');
}
