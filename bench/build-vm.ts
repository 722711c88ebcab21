/**
 * Benchmark: the build VM's overhead around a build that does nothing, against
 * a baseline run in this same process:
 *   baseline — `tails-build basebox test`: vagrant up of the box, one
 *              `vagrant ssh -c true`, vagrant destroy (the bare VM lifecycle);
 *   cold     — `tails-build iso` in a fresh VM: up, provisioning (branch lock,
 *              cache disk, apt-cacher-ng, snapshot relay), fresh clone, build,
 *              artifacts, teardown through libvirt;
 *   warm     — `tails-build iso` in a VM kept by --keep-running (no boot).
 * Prints seconds and ratios to the baseline.
 *
 *   node dist/bench/build-vm.js [--project DIR] [--runs N]
 * Needs root, bootstrap.sh setup, and the project's builder box imported
 * (tails-build basebox create). The project is cloned to a temp dir with a
 * `buildCommand` of `true`; the project itself is not changed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : (process.argv[i + 1] ?? fallback);
}
const project = arg('project', ROOT);
const runs = Number(arg('runs', '1'));

function timed(label: string, args: string[], cwd: string): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const s = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.status !== 0) throw new Error(`${label}: tails-build ${args.join(' ')} failed (${String(r.status)}):\n${r.stderr.slice(-3000)}`);
  return s;
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

const work = mkdtempSync(join(tmpdir(), 'tb-bench-vm-'));
chmodSync(work, 0o755);
const clone = join(work, 'project');
const artifacts = join(work, 'artifacts');
try {
  execFileSync('git', ['clone', '-q', project, clone]);
  const configFile = join(clone, 'tails-build.json');
  let config: Record<string, unknown> = {};
  try {
    config = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
  } catch {
    // no config: the defaults
  }
  writeFileSync(configFile, `${JSON.stringify({ ...config, buildCommand: 'true' }, null, 2)}\n`);
  const git = (...a: string[]): void => {
    execFileSync('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@example.org', ...a], { cwd: clone });
  };
  git('add', 'tails-build.json');
  git('commit', '-q', '-m', 'bench: an empty build');

  const iso = ['iso', '--no-ram', '--memory', '1536', '--artifacts', artifacts];
  const rows: { name: string; s: number[] }[] = [
    { name: 'baseline (basebox test)', s: [] },
    { name: 'cold (iso, fresh VM)', s: [] },
    { name: 'warm (iso, kept VM)', s: [] },
  ];
  for (let i = 0; i < runs; i++) {
    rows[0]?.s.push(timed('baseline', ['basebox', 'test'], clone));
    rows[1]?.s.push(timed('cold', [...iso, '--keep-running'], clone));
    rows[2]?.s.push(timed('warm', iso, clone));
  }
  const base = median(rows[0]?.s ?? []);
  console.log(`build VM overhead, ${String(runs)} run(s) each, median seconds and ratio to the baseline:`);
  for (const row of rows) {
    const m = median(row.s);
    console.log(`  ${row.name.padEnd(26)} ${m.toFixed(1).padStart(7)} s  ${(m / base).toFixed(2)}x`);
  }
} finally {
  spawnSync(process.execPath, [MAIN, 'vm', 'destroy'], { cwd: clone, stdio: 'ignore' });
  rmSync(work, { recursive: true, force: true });
}
