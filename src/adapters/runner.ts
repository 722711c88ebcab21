/**
 * The one owner of subprocesses (STYLE rule 3). Logs each command, enforces
 * timeouts, honours dry-run by effect (reads run, writes are only printed) and
 * wraps failures with the command, exit code and stderr tail.
 */
import type { execa as Execa } from 'execa';
import { access, constants } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { delimiter, join } from 'node:path';
import { formatCommand, type Command } from '../core/command.js';
import { ExternalCommandError, InterruptedError } from '../core/errors.js';
import { TIMED_OUT, type Log, type RunOptions, type RunResult, type Runner } from '../core/ports.js';

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

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone already
  }
}
export { TIMED_OUT };

/** execa, loaded at the first command (not at start-up: `--help` runs none). */
let execaModule: Promise<typeof Execa> | undefined;
function loadExeca(): Promise<typeof Execa> {
  execaModule ??= import('execa').then((m) => m.execa);
  return execaModule;
}

/** Every process group a runner of this process started and that has not exited yet. */
const liveGroups = new Set<number>();

/**
 * Kills every process group still running (a second Ctrl-C exits at once, but
 * must not leave orphans: vagrant, ssh, QEMU for the boot test, the relay).
 */
export function killAllProcessGroups(signal: NodeJS.Signals = 'SIGKILL'): number {
  for (const pid of liveGroups) killGroup(pid, signal);
  return liveGroups.size;
}

function track(pid: number | undefined, exited: Promise<unknown>): void {
  if (pid === undefined) return;
  liveGroups.add(pid);
  void exited.finally(() => liveGroups.delete(pid));
}

export function createRunner(options: RunnerOptions): Runner {
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
      // Its own process group, killed whole on cancel or timeout: a grandchild (the
      // ssh that `vagrant ssh` starts, say) would otherwise keep our pipes open forever.
      const execa = await loadExeca();
      const subprocess = execa(cmd.file, [...cmd.args], {
        ...(cmd.cwd === undefined ? {} : { cwd: cmd.cwd }),
        env: { ...options.baseEnv, ...cmd.env },
        extendEnv: false,
        reject: false,
        detached: true,
        ...(cmd.input === undefined ? { stdin: 'ignore' as const } : { input: cmd.input }),
      });
      track(subprocess.pid, subprocess.catch(() => undefined));
      let stopped: 'canceled' | 'timed-out' | undefined;
      const stop = (why: 'canceled' | 'timed-out'): void => {
        stopped ??= why;
        killGroup(subprocess.pid, 'SIGTERM');
        setTimeout(() => {
          killGroup(subprocess.pid, 'SIGKILL');
        }, options.killGraceMs ?? KILL_GRACE_MS).unref();
      };
      const onAbort = (): void => {
        stop('canceled');
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const timer = cmd.timeoutMs === undefined ? undefined : setTimeout(() => {
        stop('timed-out');
      }, cmd.timeoutMs);
      if (runOptions.onLine !== undefined) forwardLines(subprocess, runOptions.onLine);
      let result;
      try {
        result = await subprocess;
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      }
      if (stopped === 'canceled') throw new InterruptedError(String(signal?.reason ?? 'a signal'));
      // Killed at its timeout: exit code 124, as coreutils' timeout(1) reports it.
      if (stopped === 'timed-out') return { stdout: asText(result.stdout), stderr: asText(result.stderr), exitCode: TIMED_OUT };
      // Killed by a signal (QEMU aborting, say): 128 + the signal number, as shells report it.
      if (result.exitCode === undefined && result.signal !== undefined) {
        const number = osConstants.signals[result.signal];
        return { stdout: asText(result.stdout), stderr: asText(result.stderr), exitCode: 128 + number };
      }
      if (result.failed && result.exitCode === undefined) {
        const reason = (result.cause as Error | undefined)?.message ?? result.shortMessage ?? 'could not start';
        throw new ExternalCommandError({ command: shown, exitCode: undefined, stderrTail: reason, cause: result.cause });
      }
      return { stdout: asText(result.stdout), stderr: asText(result.stderr), exitCode: result.exitCode ?? 0 };
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
      // Its own process group too: stopped (or killed by a second Ctrl-C) whole.
      const execa = await loadExeca();
      const subprocess = execa(cmd.file, [...cmd.args], {
        ...(cmd.cwd === undefined ? {} : { cwd: cmd.cwd }),
        env: { ...options.baseEnv, ...cmd.env },
        extendEnv: false,
        reject: false,
        detached: true,
        // A pipe we never write to: when this process dies, even by SIGKILL, the
        // helper sees its stdin end and can exit (the relay does), leaving no orphan.
        stdin: 'pipe',
      });
      const output: string[] = [];
      const exited = subprocess.then((result) => result);
      track(subprocess.pid, exited);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          killGroup(subprocess.pid, 'SIGTERM');
          reject(new ExternalCommandError({ command: shown, exitCode: undefined, stderrTail: `not ready after ${String(timeoutMs)} ms\n${output.join('\n')}` }));
        }, timeoutMs);
        forwardLines(subprocess, (line) => {
          output.push(line);
          if (ready.test(line)) {
            clearTimeout(timer);
            resolve();
          }
        });
        void exited.then((result) => {
          clearTimeout(timer);
          reject(new ExternalCommandError({ command: shown, exitCode: result.exitCode, stderrTail: tail(output.join('\n')) }));
        });
      });
      return {
        pid: subprocess.pid,
        stop: async () => {
          // SIGTERM, then SIGKILL for what ignores it: stopping must never hang the cleanup.
          killGroup(subprocess.pid, 'SIGTERM');
          const escalate = setTimeout(() => {
            killGroup(subprocess.pid, 'SIGKILL');
          }, options.killGraceMs ?? KILL_GRACE_MS);
          try {
            await exited;
          } finally {
            clearTimeout(escalate);
          }
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

function forwardLines(subprocess: { stdout: NodeJS.ReadableStream | null; stderr: NodeJS.ReadableStream | null }, onLine: (line: string) => void): void {
  for (const stream of [subprocess.stdout, subprocess.stderr]) {
    let pending = '';
    stream?.on('data', (chunk: Buffer | string) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') onLine(line);
    });
  }
}

function asText(value: unknown): string {
  return typeof value === 'string' ? value : '';
}
