/**
 * Commands are values: built by pure functions, tested as arrays, run only by
 * the Runner adapter. `effect` says whether running it changes the world, so a
 * dry run can run reads and print writes.
 */
export interface Command {
  readonly file: string;
  readonly args: readonly string[];
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly effect: 'read' | 'write';
  /** Kill the process after this many milliseconds. */
  readonly timeoutMs?: number;
  /** Text fed to the command's stdin. */
  readonly input?: string;
}

/**
 * A command value. Its effect defaults to 'write' — the safe default: under
 * --dry-run only what says 'read' runs, so a command that forgets to declare
 * itself is printed, not run.
 */
export function command(file: string, args: readonly string[], extra: Partial<Omit<Command, 'file' | 'args'>> = {}): Command {
  return { file, args, effect: 'write', ...extra };
}

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quote one word for display in a POSIX shell. Never used to build what runs. */
export function shellQuote(word: string): string {
  if (word !== '' && SAFE.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Human-readable form of a command, for logs and error messages. */
export function formatCommand(cmd: Pick<Command, 'file' | 'args'>): string {
  return [cmd.file, ...cmd.args].map(shellQuote).join(' ');
}

/**
 * Runs a command inside a network namespace (`ip netns exec NS …`), for what
 * must reach VM networks living there; unchanged when `netns` is undefined.
 */
export function inNetns(netns: string | undefined, cmd: Command): Command {
  if (netns === undefined) return cmd;
  return { ...cmd, file: 'ip', args: ['netns', 'exec', netns, cmd.file, ...cmd.args] };
}
