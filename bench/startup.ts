/**
 * Benchmark: CLI start-up, `tails-build --help`, against a bare `node -e 0`
 * run in the same process, in pairs (so that machine load hits both alike).
 * Targets: a median of at most 200 ms and at most 2.5x the bare node's.
 * Prints pass or fail per target; it asserts nothing and exits 0 (a loaded
 * machine slows both; the ratio is the figure that load cancels out of).
 *
 *   node dist/bench/startup.js [--runs N]
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
const TARGET_MS = 200;
const TARGET_RATIO = 2.5;
const i = process.argv.indexOf('--runs');
const runs = i === -1 ? 10 : Number(process.argv[i + 1] ?? '10');

function timed(args: string[]): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited with ${String(r.status)}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

function verdict(ok: boolean): string {
  return ok ? 'pass' : 'FAIL';
}

const loadBefore = loadavg()[0] ?? NaN;
const bare: number[] = [];
const help: number[] = [];
timed(['-e', '0']);
timed([MAIN, '--help']);
for (let n = 0; n < runs; n++) {
  bare.push(timed(['-e', '0']));
  help.push(timed([MAIN, '--help']));
}
const loadAfter = loadavg()[0] ?? NaN;
const b = median(bare);
const h = median(help);
const ratio = h / b;
console.log(`start-up, ${String(runs)} paired runs, median (node ${process.versions.node}; load ${loadBefore.toFixed(1)} -> ${loadAfter.toFixed(1)} on ${String(availableParallelism())} cores):`);
console.log(`  node -e 0                 ${b.toFixed(0).padStart(5)} ms  1.00x (baseline)`);
console.log(`  tails-build --help        ${h.toFixed(0).padStart(5)} ms  ${ratio.toFixed(2)}x`);
console.log(`targets:`);
console.log(`  median <= ${String(TARGET_MS)} ms           ${verdict(h <= TARGET_MS)}  (${h.toFixed(0)} ms)`);
console.log(`  <= ${TARGET_RATIO.toFixed(1)}x node -e 0         ${verdict(ratio <= TARGET_RATIO)}  (${ratio.toFixed(2)}x)`);
