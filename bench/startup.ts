/**
 * Benchmark: CLI start-up, `tails-build --help`, against a bare `node -e 0`
 * run in the same process, in pairs (so that machine load hits both alike).
 * Target: at most 200 ms and 2.5x the bare node.
 *
 *   node dist/bench/startup.js [--runs N]
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
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

const bare: number[] = [];
const help: number[] = [];
timed(['-e', '0']);
timed([MAIN, '--help']);
for (let n = 0; n < runs; n++) {
  bare.push(timed(['-e', '0']));
  help.push(timed([MAIN, '--help']));
}
const b = median(bare);
const h = median(help);
console.log(`start-up, ${String(runs)} paired runs, median:`);
console.log(`  node -e 0                 ${b.toFixed(0).padStart(5)} ms  1.00x (baseline)`);
console.log(`  tails-build --help        ${h.toFixed(0).padStart(5)} ms  ${(h / b).toFixed(2)}x   (target <= 200 ms, <= 2.5x)`);
