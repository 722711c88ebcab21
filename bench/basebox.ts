/**
 * Benchmark: builder box generation, split by phase, against two baselines run
 * in this same process on the same snapshot and package set:
 *   floor     — bare mmdebstrap of the package set into a tarball (no hook);
 *   debootstrap — debootstrap --variant=minbase + apt-get install of the set in
 *               the chroot (what Tails' vmdb2 does inside; vmdb2 itself cannot
 *               run here: its kpartx step needs device-mapper);
 *   warm      — `tails-build basebox create --no-import --force` with the pool
 *               already in the store;
 *   cold      — the same with an empty pool (every .deb fetched from upstream
 *               and verified through the snapshot server).
 * Prints seconds and ratios to the floor. Target: warm whole box ≤ 1.25× floor.
 *
 *   node dist/bench/basebox.js [--project DIR] [--store DIR] [--skip cold,debootstrap]
 * Needs root, the host packages of provision/host/bootstrap.sh, and the
 * project's builder serials in the store (tails-build basebox create once).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PORT = 8472;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : (process.argv[i + 1] ?? fallback);
}
const project = arg('project', ROOT);
const store = arg('store', '/var/cache/tails-build/snapshots');
const skip = new Set(arg('skip', '').split(',').filter((s) => s !== ''));

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function sh(file: string, args: string[], env: Record<string, string> = {}): void {
  const r = spawnSync(file, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} failed (${String(r.status)}):\n${r.stderr.slice(-2000)}`);
}

async function serve(storeDir: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [MAIN, '-C', project, 'snapshots', 'serve', '--store', storeDir, '--listen', `127.0.0.1:${PORT}`], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', () => {
      resolve();
    });
    child.on('exit', (c) => {
      reject(new Error(`serve exited ${String(c)}`));
    });
  });
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  child.kill('SIGTERM');
  await once(child, 'exit');
}

const serials: Record<string, string> = {};
const serialDir = join(project, 'definitions/builder/APT_snapshots.d');
for (const archive of readdirSync(serialDir)) serials[archive] = readFileSync(join(serialDir, archive, 'serial'), 'utf8').trim();
const packages = readFileSync(join(project, 'definitions/builder/packages'), 'utf8')
  .split('\n')
  .map((l) => l.replace(/#.*/, '').trim())
  .filter((l) => l !== '');
const base = `http://127.0.0.1:${PORT}`;
const keyring = '/usr/share/keyrings/debian-archive-keyring.gpg';
const debian = `${base}/debian/${serials.debian ?? ''}/`;
const security = `${base}/debian-security/${serials['debian-security'] ?? ''}/`;
const mirrors = [`deb [signed-by=${keyring}] ${debian} bookworm main`, `deb [signed-by=${keyring}] ${debian} bookworm-updates main`, `deb [signed-by=${keyring}] ${security} bookworm-security main`];
const epoch = execFileSync('git', ['-C', project, 'log', '-1', '--format=%at', '--', 'definitions/builder'], { encoding: 'utf8' }).trim();
const work = mkdtempSync(join(tmpdir(), 'tb-bench-'));
const results: { name: string; total: number; phases: Record<string, number> }[] = [];

async function createBox(name: string, storeDir: string): Promise<void> {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [MAIN, '-C', project, '--json', 'basebox', 'create', '--no-import', '--force', '--store', storeDir], {
    encoding: 'utf8',
    env: { ...process.env, TAILS_BUILD_CACHE: join(work, `cache-${name}`) },
    maxBuffer: 64 * 1024 * 1024,
  });
  const total = seconds(start);
  if (r.status !== 0) throw new Error(`basebox create (${name}) failed:\n${r.stderr.slice(-3000)}`);
  const phases: Record<string, number> = {};
  for (const line of r.stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const e = JSON.parse(line) as { event: string; id?: string; status?: string; ms?: number };
    if (e.event === 'step' && e.status === 'done' && e.id !== undefined && e.ms !== undefined) phases[e.id] = e.ms / 1000;
  }
  results.push({ name, total, phases });
  rmSync(join(work, `cache-${name}`), { recursive: true, force: true });
}

try {
  const server = await serve(store);
  try {
    // Warm the pool (and the page cache) once, untimed, so the order of runs does not favour one.
    console.error('warming: bare mmdebstrap once (untimed)…');
    sh('mmdebstrap', ['--mode=root', '--variant=minbase', `--include=${packages.join(',')}`, '--aptopt=Acquire::Check-Valid-Until "false"', 'bookworm', join(work, 'warm.tar'), ...mirrors], { SOURCE_DATE_EPOCH: epoch });
    rmSync(join(work, 'warm.tar'));

    console.error('floor: bare mmdebstrap…');
    let start = process.hrtime.bigint();
    sh('mmdebstrap', ['--mode=root', '--variant=minbase', `--include=${packages.join(',')}`, '--aptopt=Acquire::Check-Valid-Until "false"', 'bookworm', join(work, 'floor.tar'), ...mirrors], { SOURCE_DATE_EPOCH: epoch });
    results.push({ name: 'floor: mmdebstrap tarball', total: seconds(start), phases: {} });
    rmSync(join(work, 'floor.tar'));

    if (!skip.has('debootstrap')) {
      console.error('baseline: debootstrap + apt…');
      const target = join(work, 'debootstrap');
      start = process.hrtime.bigint();
      sh('debootstrap', ['--variant=minbase', `--keyring=${keyring}`, 'bookworm', target, debian]);
      writeFileSync(join(target, 'etc/apt/sources.list'), `${mirrors.join('\n')}\n`);
      writeFileSync(join(target, 'etc/apt/apt.conf.d/99bench'), 'Acquire::Check-Valid-Until "false";\nAPT::Install-Recommends "false";\n');
      sh('chroot', [target, 'apt-get', 'update', '-q']);
      sh('chroot', [target, 'apt-get', 'install', '-y', '-q', ...packages], { DEBIAN_FRONTEND: 'noninteractive' });
      results.push({ name: 'baseline: debootstrap + apt', total: seconds(start), phases: {} });
      rmSync(target, { recursive: true, force: true });
    }
  } finally {
    await stop(server);
  }

  console.error('ours, warm: basebox create --no-import --force…');
  await createBox('tails-build basebox create (warm)', store);

  if (!skip.has('cold')) {
    // Same indices, empty pool: every package is fetched from upstream and verified.
    const cold = join(work, 'cold-store');
    mkdirSync(cold);
    for (const archive of readdirSync(store)) {
      mkdirSync(join(cold, archive));
      for (const entry of readdirSync(join(store, archive))) {
        if (entry !== 'pool') sh('cp', ['-a', join(store, archive, entry), join(cold, archive, entry)]);
      }
    }
    console.error('ours, cold: empty pool…');
    await createBox('tails-build basebox create (cold pool)', cold);
  }

  const floor = results.find((r) => r.name.startsWith('floor'))?.total ?? Number.NaN;
  const phaseNames = ['tree', 'image', 'bootloader', 'qcow2', 'package'];
  console.log(`\nbuilder box generation, ${packages.length} packages, serials ${JSON.stringify(serials)}`);
  console.log(`${'run'.padEnd(42)} ${'total s'.padStart(8)} ${'× floor'.padStart(8)}   ${phaseNames.map((p) => p.padStart(8)).join(' ')}`);
  for (const r of results) {
    console.log(
      `${r.name.padEnd(42)} ${r.total.toFixed(1).padStart(8)} ${(r.total / floor).toFixed(2).padStart(8)}   ${phaseNames.map((p) => (r.phases[p] === undefined ? '-' : r.phases[p].toFixed(1)).padStart(8)).join(' ')}`,
    );
  }
  const warm = results.find((r) => r.name.includes('(warm)'));
  if (warm !== undefined) console.log(`\nwarm whole box / floor = ${(warm.total / floor).toFixed(2)} (target ≤ 1.25)`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
