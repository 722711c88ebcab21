#!/usr/bin/env node
/** Entry point: the only place that reads process.* wholesale and the only exit. */
import { setMaxListeners } from 'node:events';
import { fileURLToPath } from 'node:url';
// Not the runner: it (and what it imports) loads when a command runs.
import { killAllProcessGroups } from './adapters/process-groups.js';
import { runCli } from './cli/run.js';

// SIGINT/SIGTERM/SIGHUP (a closed terminal, an aborted Jenkins job) abort the
// run: commands are killed, cleanup stacks run, exit 130. A second signal
// exits at once, after killing every process group still running (no orphans).
const interrupt = new AbortController();
// Every running command listens for it (execa's cancelSignal, git, HTTP): doctor alone runs a dozen at once.
setMaxListeners(0, interrupt.signal);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (interrupt.signal.aborted) {
      const killed = killAllProcessGroups('SIGKILL');
      process.stderr.write(`\n${signal} again: exiting now${killed > 0 ? ` (killed ${String(killed)} running command(s))` : ''}; a VM may be left: tails-build vm status\n`);
      process.exit(130);
    }
    process.stderr.write(`\n${signal}: stopping and cleaning up (send it again to exit at once)…\n`);
    interrupt.abort(signal);
  });
}

const code = await runCli(process.argv.slice(2), {
  env: process.env,
  cwd: process.cwd(),
  stdout: process.stdout,
  stderr: process.stderr,
  stdoutIsTTY: process.stdout.isTTY,
  stdinIsTTY: process.stdin.isTTY,
  stderrStream: process.stderr,
  uid: process.getuid?.(),
  signal: interrupt.signal,
  toolRoot: fileURLToPath(new URL('../..', import.meta.url)),
  self: { node: process.execPath, script: fileURLToPath(import.meta.url) },
});
// Let stdout drain before exiting (piped output is asynchronous).
process.stdout.write('', () => process.exit(code));
