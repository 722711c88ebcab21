/**
 * The one owner of subprocesses (STYLE rule 3). Logs each command, enforces
 * timeouts, honours dry-run by effect (reads run, writes are only printed) and
 * wraps failures with the command, exit code and stderr tail.
 *
 * execa does the process work: `timeout`, `cancelSignal` (the interrupt),
 * `killSignal` then `forceKillAfterDelay` (SIGTERM, SIGKILL for what ignores it),
 * `input`, and splitting output into lines (`subprocess.iterable()`). What it
 * cannot do is kept here: process groups (see groupFollowsLeader).
 */
import type { execa as Execa, Subprocess } from 'execa';
import { access, constants } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatCommand, type Command } from '../core/command.js';
import { ExternalCommandError, InterruptedError } from '../core/errors.js';
import { TIMED_OUT, type Log, type RunOptions, type RunResult, type Runner } from '../core/ports.js';
import { killAllProcessGroups, killGroup, liveGroups } from './process-groups.js';

export interface RunnerOptions {
  readonly log: Log;
  readonly dryRun: boolean;
  /** PATH used by `which`; defaults to the PATH commands inherit. */
  readonly path: string;
  /** Environment every command starts from (the CLI passes process.env once). */
  readonly baseEnv: Readonly<Record<string, string | undefined>>;
  /** Aborted on SIGINT/SIGTERM: running commands are killed, new ones refused. */
  readonly signal?: AbortSignal;
  /** How long a stopped process gets between SIGTERM and SIGKILL (default 5 s). */
  readonly killGraceMs?: number;
}

const STDERR_TAIL_LINES = 20;
/** SIGTERM first; what is still alive this much later gets SIGKILL. */
const KILL_GRACE_MS = 5000;

export { TIMED_OUT };
export { killAllProcessGroups };

/** execa, loaded at the first command (not at start-up: `--help` runs none). */
let execaModule: Promise<typeof Execa> | undefined;
function loadExeca(): Promise<typeof Execa> {
  execaModule ??= import('execa').then((m) => m.execa);
  return execaModule;
}

/**
 * Every command runs in its own process group (`detached`), so that what it
 * starts (the ssh that `vagrant ssh` runs, a shell's children) can be stopped
 * with it: a grandchild left alive keeps our pipes open and the command never
 * settles. execa cannot do this part: its `timeout`, `cancelSignal` and
 * `forceKillAfterDelay` signal the pid it started, never the group (-pid). It
 * stops a command through `subprocess.kill()` (execa 9: lib/terminate/timeout.js
 * and cancel.js; the runner tests hang if that changes), so that is where we hook
 * in: the leader gets SIGTERM and the grace to stop its own children; once a
 * leader we stopped is gone (by that SIGTERM or execa's SIGKILL), whatever is
 * left of its group gets SIGKILL; if the leader had already exited on its own,
 * the rest gets SIGKILL at once. The group is also tracked for
 * killAllProcessGroups.
 */
function groupFollowsLeader(subprocess: Subprocess): void {
  const pid = subprocess.pid;
  if (pid === undefined) return;
  liveGroups.add(pid);
  let stopping = false;
  let leaderGone = false;
  const stopLeader = subprocess.kill.bind(subprocess) as (...args: unknown[]) => boolean;
  subprocess.kill = (...args: unknown[]) => {
    stopping = true;
    if (leaderGone) killGroup(pid, 'SIGKILL');
    return stopLeader(...args);
  };
  subprocess.once('exit', () => {
    leaderGone = true;
    if (stopping) killGroup(pid, 'SIGKILL');
  });
  // execa settles once the output pipes closed too, i.e. when no member of the group holds them.
  void (subprocess as unknown as Promise<unknown>).then(
    () => liveGroups.delete(pid),
    () => liveGroups.delete(pid),
  );
}

export function createRunner(options: RunnerOptions): Runner {
  /** What every subprocess gets: its own group, only the env we pass, results instead of throws, the stop policy. */
  function spawnOptions(cmd: Command) {
    return {
      ...(cmd.cwd === undefined ? {} : { cwd: cmd.cwd }),
      env: { ...options.baseEnv, ...cmd.env },
      extendEnv: false,
      reject: false,
      detached: true,
      killSignal: 'SIGTERM',
      forceKillAfterDelay: options.killGraceMs ?? KILL_GRACE_MS,
    } as const;
  }

  async function exec(cmd: Command, runOptions: RunOptions = {}): Promise<RunResult> {
    const shown = formatCommand(cmd);
    const signal = runOptions.uninterruptible === true ? undefined : options.signal;
    if (signal?.aborted === true) throw new InterruptedError(String(signal.reason ?? 'a signal'));
    if (options.dryRun && cmd.effect === 'write') {
      options.log.info(`[dry-run] would run: ${shown}`);
      return { stdout: '', stderr: '', exitCode: 0 };
    }
    options.log.debug(`$ ${shown}`);
    try {
      const execa = await loadExeca();
      const subprocess = execa(cmd.file, [...cmd.args], {
        ...spawnOptions(cmd),
        ...(cmd.input === undefined ? { stdin: 'ignore' as const } : { input: cmd.input }),
        ...(cmd.timeoutMs === undefined ? {} : { timeout: cmd.timeoutMs }),
        ...(signal === undefined ? {} : { cancelSignal: signal }),
      });
      groupFollowsLeader(subprocess);
      const [result] = await Promise.all([subprocess, runOptions.onLine === undefined ? undefined : forwardLines(subprocess, runOptions.onLine)]);
      if (result.isCanceled) throw new InterruptedError(String(signal?.reason ?? 'a signal'));
      const stdout = asText(result.stdout);
      const stderr = asText(result.stderr);
      // Killed at its timeout: exit code 124, as coreutils' timeout(1) reports it.
      if (result.timedOut) return { stdout, stderr, exitCode: TIMED_OUT };
      // Killed by a signal (QEMU aborting, say): 128 + the signal number, as shells report it.
      if (result.exitCode === undefined && result.signal !== undefined) {
        return { stdout, stderr, exitCode: 128 + osConstants.signals[result.signal] };
      }
      if (result.failed && result.exitCode === undefined) {
        const reason = (result.cause as Error | undefined)?.message ?? result.shortMessage ?? 'could not start';
        throw new ExternalCommandError({ command: shown, exitCode: undefined, stderrTail: reason, cause: result.cause });
      }
      return { stdout, stderr, exitCode: result.exitCode ?? 0 };
    } catch (error) {
      if (error instanceof ExternalCommandError || error instanceof InterruptedError) throw error;
      throw new ExternalCommandError({ command: shown, exitCode: undefined, stderrTail: String(error), cause: error });
    }
  }

  return {
    async run(cmd, runOptions) {
      const result = await exec(cmd, runOptions);
      if (result.exitCode !== 0) {
        throw new ExternalCommandError({
          command: formatCommand(cmd),
          exitCode: result.exitCode,
          stderrTail: tail(result.stderr === '' ? result.stdout : result.stderr),
        });
      }
      return result;
    },
    tryRun: exec,
    async start(cmd, { ready, timeoutMs }) {
      const shown = formatCommand(cmd);
      options.log.debug(`$ ${shown} &`);
      const execa = await loadExeca();
      const subprocess = execa(cmd.file, [...cmd.args], {
        ...spawnOptions(cmd),
        // A pipe we never write to: when this process dies, even by SIGKILL, the
        // helper sees its stdin end and can exit (the relay does), leaving no orphan.
        stdin: 'pipe',
        // Its output is read line by line below until it is ready, then dropped:
        // a long-running helper must not fill memory (or hit execa's maxBuffer).
        buffer: false,
      });
      groupFollowsLeader(subprocess);
      const exited = subprocess.then((result) => result);
      const output: string[] = [];
      let isReady = false;
      let onReady = (): void => undefined;
      const readyLine = new Promise<void>((resolve) => (onReady = resolve));
      // Read to the end (breaking out of execa's iterable would close the helper's stdout).
      void forwardLines(subprocess, (line) => {
        if (isReady) return;
        output.push(line);
        if (ready.test(line)) {
          isReady = true;
          onReady();
        }
      }).catch(() => undefined);
      // A deadline for readiness, not for the helper's life: execa's `timeout` would kill it once ready too.
      const deadline = new AbortController();
      try {
        await Promise.race([
          readyLine,
          exited.then((result) => {
            throw new ExternalCommandError({ command: shown, exitCode: result.exitCode, stderrTail: tail(output.join('\n')) });
          }),
          sleep(timeoutMs, undefined, { signal: deadline.signal }).then(() => {
            subprocess.kill();
            throw new ExternalCommandError({ command: shown, exitCode: undefined, stderrTail: `not ready after ${String(timeoutMs)} ms\n${output.join('\n')}` });
          }),
        ]);
      } finally {
        deadline.abort();
      }
      return {
        pid: subprocess.pid,
        stop: async () => {
          // SIGTERM, then SIGKILL after the grace for what ignores it (execa's
          // forceKillAfterDelay), the rest of its group with it: stopping never hangs the cleanup.
          subprocess.kill();
          await exited;
        },
      };
    },
    async which(file) {
      if (file.includes('/')) return (await isExecutable(file)) ? file : undefined;
      for (const dir of options.path.split(delimiter)) {
        if (dir === '') continue;
        const candidate = join(dir, file);
        if (await isExecutable(candidate)) return candidate;
      }
      return undefined;
    },
  };
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function tail(text: string): string {
  return text.trimEnd().split('\n').slice(-STDERR_TAIL_LINES).join('\n');
}

/**
 * Calls onLine with each non-blank line of stdout and stderr as execa splits
 * them (a line cut across chunks arrives whole; a last line without a newline
 * arrives too). Settles when the command's output has ended.
 */
async function forwardLines(subprocess: Subprocess, onLine: (line: string) => void): Promise<void> {
  await Promise.all(
    (['stdout', 'stderr'] as const).map(async (from) => {
      for await (const line of subprocess.iterable({ from })) {
        const text = String(line);
        if (text.trim() !== '') onLine(text);
      }
    }),
  );
}

function asText(value: unknown): string {
  return typeof value === 'string' ? value : '';
}
