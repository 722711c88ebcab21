#!/usr/bin/env node
/** Entry point: the only place that reads process.* wholesale and the only exit. */
import { runCli } from './cli/run.js';

const code = await runCli(process.argv.slice(2), {
  env: process.env,
  cwd: process.cwd(),
  stdout: process.stdout,
  stderr: process.stderr,
  stdoutIsTTY: process.stdout.isTTY,
  uid: process.getuid?.(),
});
// Let stdout drain before exiting (piped output is asynchronous).
process.stdout.write('', () => process.exit(code));
