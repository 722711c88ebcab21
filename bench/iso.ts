/**
 * Benchmark: the sample ISO, end to end, against a baseline run in this same
 * process:
 *   baseline — `tails-build basebox test`: the bare VM lifecycle (vagrant up,
 *              one ssh command, destroy) with no build at all;
 *   cold     — `tails-build iso --boot-test` with an empty apt-cacher-ng disk
 *              (the bench's own volume, emptied first);
 *   warm     — the same again: every package from the cache disk;
 *   verify   — `tails-build verify` (two fresh VMs), against two single builds.
 * For each build: the phases (VM up, provision, each recipe stage, artifacts,
 * boot test, teardown), the bytes the VM fetched from the snapshot server, and
 * the orchestration overhead = (total - the recipe's own time) / total. VM up
 * is broken down by the times of vagrant's own lines (the --json-output
 * events): domain created, started, IP address, ssh ready. Last, a build kept
 * running is asked how its guest booted (systemd-analyze, blame, critical
 * chain; the journal's times, from the kernel's start, of the crng's
 * initialisation, the DHCP lease and sshd) and destroyed.
 *
 *   node dist/bench/iso.js [--project DIR]
 * Needs root, bootstrap.sh setup, and the project's builder box imported
 * (tails-build basebox create). The project is cloned to a temp dir; the
 * project itself, and the user's cache volume, are not touched.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CACHE_VOLUME = 'tails-build-bench-apt-cacher-ng.qcow2';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : (process.argv[i + 1] ?? fallback);
}
const project = arg('project', ROOT);
const env = { ...process.env, TAILS_BUILD_CACHE_VOLUME: CACHE_VOLUME };

/** The --json output events of the last timed run. */
let lastEvents: { event: string; id?: string; line?: string; time?: string }[] = [];

function timed(label: string, args: string[], cwd: string): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [MAIN, '--json', '--json-output', ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const s = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.status !== 0) throw new Error(`${label}: tails-build ${args.join(' ')} failed (${String(r.status)}):\n${r.stderr.slice(-3000)}`);
  lastEvents = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as (typeof lastEvents)[number]);
  return s;
}

/** Vagrant's milestones while the VM comes up, the first output line matching each. */
const VM_UP_MILESTONES: readonly (readonly [string, RegExp])[] = [
  ['domain defined', /Creating (shared folders metadata|domain with the following settings)/],
  ['domain started', /Starting domain/],
  ['IP address', /Waiting for machine to boot/],
  ['ssh ready', /Machine booted and ready/],
];

/** Seconds from the vm-up step's first event to each milestone, and to the step's end. */
function vmUpBreakdown(events: typeof lastEvents): string {
  const up = events.filter((e) => e.id === 'vm-up' && e.time !== undefined);
  const t0 = Date.parse(up[0]?.time ?? '');
  if (Number.isNaN(t0)) return 'no vm-up events';
  const at = (e: (typeof up)[number] | undefined): string => (e === undefined ? '?' : ((Date.parse(e.time ?? '') - t0) / 1000).toFixed(1));
  const parts = VM_UP_MILESTONES.map(([name, re]) => `${name} +${at(up.find((e) => e.event === 'output' && re.test(e.line ?? '')))}`);
  return `${parts.join(', ')}, done +${at(up[up.length - 1])}`;
}

interface Phases {
  readonly total: number;
  readonly vmUp: string;
  readonly steps: Record<string, number>;
  readonly recipe: Record<string, number>;
  readonly recipeTotal: number;
  readonly snapshotBytes: number;
}

/** The step timings of build-report.json, the recipe's stage lines and the snapshot server's lines of build.log. */
function phases(dir: string, total: number): Phases {
  const report = JSON.parse(readFileSync(join(dir, 'build-report.json'), 'utf8')) as { timings: { id: string; ms: number }[] };
  const log = readFileSync(join(dir, 'build.log'), 'utf8');
  const steps = Object.fromEntries(report.timings.map((t) => [t.id, t.ms / 1000]));
  const recipe: Record<string, number> = {};
  for (const m of log.matchAll(/^\[recipe\] ([a-z-]+): done in ([0-9.]+)s/gm)) recipe[m[1] ?? ''] = Number(m[2]);
  const recipeTotal = Number(/^\[recipe\] built \S+ in ([0-9.]+)s/m.exec(log)?.[1] ?? NaN);
  let snapshotBytes = 0;
  for (const m of log.matchAll(/^\[snapshots\] \d{3} [A-Z]+ \S+ (\d+) /gm)) snapshotBytes += Number(m[1]);
  return { total, vmUp: vmUpBreakdown(lastEvents), steps, recipe, recipeTotal, snapshotBytes };
}

function print(name: string, p: Phases, base: number): void {
  const steps = Object.entries(p.steps).map(([id, s]) => `${id} ${s.toFixed(1)}`).join(', ');
  const recipe = Object.entries(p.recipe).map(([id, s]) => `${id} ${s.toFixed(1)}`).join(', ');
  const accounted = Object.values(p.steps).reduce((a, b) => a + b, 0);
  console.log(`  ${name.padEnd(8)} ${p.total.toFixed(1).padStart(6)} s  ${(p.total / base).toFixed(2)}x the baseline`);
  console.log(`           steps: ${steps}; teardown and the rest ${(p.total - accounted).toFixed(1)}`);
  console.log(`           vm-up, seconds into the step: ${p.vmUp}`);
  console.log(`           recipe in the VM ${p.recipeTotal.toFixed(1)} s: ${recipe}`);
  console.log(`           orchestration overhead ${(((p.total - p.recipeTotal) / p.total) * 100).toFixed(0)} %; from the snapshot server: ${String(p.snapshotBytes)} bytes`);
}

const work = mkdtempSync(join(tmpdir(), 'tb-bench-iso-'));
chmodSync(work, 0o755);
const clone = join(work, 'project');
try {
  execFileSync('git', ['clone', '-q', project, clone]);
  const out = (name: string): string => join(work, name);
  spawnSync(process.execPath, [MAIN, 'vm', 'clear-cache'], { cwd: clone, env, stdio: 'ignore' });
  const baseline = timed('baseline', ['basebox', 'test'], clone);
  const cold = phases(out('cold'), timed('cold', ['iso', '--boot-test', '--artifacts', out('cold')], clone));
  const warm = phases(out('warm'), timed('warm', ['iso', '--boot-test', '--artifacts', out('warm')], clone));
  const verifyS = timed('verify', ['verify', '--output', out('verify')], clone);
  console.log(`the sample ISO, one run each, seconds and ratio to the baseline (basebox test: ${baseline.toFixed(1)} s):`);
  print('cold', cold, baseline);
  print('warm', warm, baseline);
  const single = warm.total - (warm.steps['boot-test'] ?? 0);
  console.log(`  verify   ${verifyS.toFixed(1).padStart(6)} s  ${(verifyS / (2 * single)).toFixed(2)}x two single warm builds (${(2 * single).toFixed(1)} s)`);
  // How the guest itself booted: a build kept running, asked before it is destroyed.
  timed('kept', ['iso', '--keep-running', '--artifacts', out('kept')], clone);
  const milestones = "sudo journalctl -b -o short-monotonic --no-pager | grep -E 'Run /init|crng init done|Gained carrier|DHCPv4 address|Started ssh.service' | grep -v sudo";
  const asked = spawnSync(process.execPath, [MAIN, 'vm', 'ssh', '-c', `systemd-analyze; systemd-analyze blame --no-pager | head -n 12; systemd-analyze critical-chain --no-pager; ${milestones}`], { cwd: clone, env, encoding: 'utf8' });
  const accelerator = lastEvents.find((e) => e.id === 'accelerator' && e.event === 'output')?.line?.split(':')[0] ?? 'its accelerator';
  console.log(`the guest's boot under ${accelerator} (systemd-analyze in the kept VM):`);
  for (const line of `${asked.stdout}${asked.stderr}`.trim().split('\n')) console.log(`  ${line}`);
} finally {
  spawnSync(process.execPath, [MAIN, 'vm', 'destroy'], { cwd: clone, env, stdio: 'ignore' });
  rmSync(work, { recursive: true, force: true });
}
