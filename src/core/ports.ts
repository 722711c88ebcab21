/**
 * Ports: what the use cases need from the world. Adapters implement them;
 * tests pass strict fakes that throw on anything unexpected.
 */
import type { Command } from './command.js';
import type { SerialSet } from './serials.js';


/** The exit code of a command killed at its timeoutMs, as timeout(1) reports it. */
export const TIMED_OUT = 124;

export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
  /** 124 when the command was killed at its timeoutMs (as timeout(1) says). */
  readonly exitCode: number;
}

export interface RunOptions {
  /** Called with each line the command prints (stdout and stderr), for progress. */
  readonly onLine?: (line: string) => void;
  /** A cleanup command: it runs (and is not killed) even after SIGINT/SIGTERM. */
  readonly uninterruptible?: boolean;
}

export interface Runner {
  /** Runs the command; throws ExternalCommandError when it cannot start or exits non-zero, InterruptedError when cancelled. */
  run(cmd: Command, options?: RunOptions): Promise<RunResult>;
  /** Runs the command and returns its result whatever the exit code; throws only when it cannot start or is cancelled. */
  tryRun(cmd: Command, options?: RunOptions): Promise<RunResult>;
  /** The absolute path of an executable on PATH, or undefined. */
  which(file: string): Promise<string | undefined>;
  /**
   * Starts a long-running command (a relay, a server) and resolves once it
   * printed a line matching `ready`; rejects if it exits first.
   */
  start(cmd: Command, options: { readonly ready: RegExp; readonly timeoutMs: number }): Promise<BackgroundProcess>;
}

export interface BackgroundProcess {
  readonly pid: number | undefined;
  /** Sends SIGTERM and waits for the process to exit. */
  stop(): Promise<void>;
}

export interface HttpResponse {
  readonly url: string;
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface HttpGetOptions {
  /** Per-attempt timeout. */
  readonly timeoutMs?: number;
  /** Retries after the first attempt, on 429, 5xx and network errors. */
  readonly retries?: number;
}

export interface Http {
  /**
   * GET a URL. Returns any HTTP answer that is not retried (2xx, 3xx, 4xx other
   * than 429) as a response; throws NetworkError when retries are exhausted or
   * the server cannot be reached.
   */
  get(url: string, options?: HttpGetOptions): Promise<HttpResponse>;
}

export interface Clock {
  now(): Date;
  sleep(ms: number): Promise<void>;
}

export interface Log {
  info(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
}

/** Facts about the HEAD of a git repository. */
export interface GitHead {
  readonly commit: string;
  /** The branch checked out, or undefined when HEAD is detached. */
  readonly branch: string | undefined;
  /** Tags pointing exactly at HEAD, sorted. */
  readonly tagsAtHead: readonly string[];
}

export interface LastCommit {
  /** `%h`: abbreviated commit id, length as git decides (core.abbrev, object count). */
  readonly shortId: string;
  /** `%ad` with `--date=format:%Y%m%d`: author date, YYYYMMDD. */
  readonly authorDate: string;
  /** `%at`: author time, seconds since the epoch (the box's SOURCE_DATE_EPOCH). */
  readonly authorTime: number;
}

export interface Git {
  /** The toplevel of the work tree containing `dir`; throws UserError when `dir` is not in a git work tree. */
  findTopLevel(dir: string): Promise<string>;
  /** The last commit touching `path` (relative to `root`), or undefined when none does. */
  findLastCommitTouching(root: string, path: string): Promise<LastCommit | undefined>;
  /** `git status --porcelain` lines for `path` (tracked changes and untracked files; ignored files excluded). */
  readStatus(root: string, path?: string): Promise<readonly string[]>;
  readHead(root: string): Promise<GitHead>;
  /** The commit `rev` names (a ref such as refs/remotes/origin/stable), or undefined when it names none. */
  readCommit(root: string, rev: string): Promise<string | undefined>;
  /** The best common ancestor of two commits (`git merge-base`), or undefined when they share no history. */
  findMergeBase(root: string, a: string, b: string): Promise<string | undefined>;
}

/**
 * Reads project files: the read-only part of the files port (DiskFiles), which
 * is what `deps.files` is given. Serials are written by the serial store.
 */
export interface ProjectFiles {
  /** Text of a file, or undefined when it does not exist. */
  readText(path: string): Promise<string | undefined>;
  isDirectory(path: string): Promise<boolean>;
  listDirectories(path: string): Promise<readonly string[]>;
}

/** What is at a path (symlinks followed). */
export interface FileInfo {
  readonly kind: 'file' | 'directory' | 'other';
  readonly bytes: number;
  /** Permission bits (mode & 0o7777), owner and group: who else may read it (see core/file-access.ts). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

/**
 * The files port (adapters/disk-file.ts, `deps.disk`): every file app/ and cli/
 * read or write goes through it — text files, trees, disk images, hashes.
 * Its read-only part, ProjectFiles, is `deps.files`.
 */
/** A file written piece by piece as a build runs (the build log): a write never throws, the first error is kept. */
export interface LogFile {
  write(text: string): void;
  /** Flushes and closes; resolves even after an error. */
  close(): Promise<void>;
  /** The first write error (a full or vanished filesystem), if any. */
  error(): Error | undefined;
}

export interface DiskFiles extends ProjectFiles {
  /** Creates (or empties) `path` for writing piece by piece. */
  openLog(path: string): LogFile;
  /** Writes `text` to `path`, replacing what was there. */
  writeText(path: string, text: string): Promise<void>;
  /** Appends `text` to `path`, creating the file when it does not exist. */
  appendText(path: string, text: string): Promise<void>;
  /** Creates the directory `path` and its parents; nothing when it exists. */
  mkdirp(path: string): Promise<void>;
  /** Creates a new, empty directory `<parent>/<prefix>XXXXXX` (mkdtemp; `parent` made if missing) and returns its path. */
  makeTempDir(parent: string, prefix: string): Promise<string>;
  /** What is at `path`, or undefined when nothing is. */
  stat(path: string): Promise<FileInfo | undefined>;
  /** Removes the file or the whole tree at `path`; nothing when there is none. */
  remove(path: string): Promise<void>;
  /** Renames `from` to `to`, replacing `to` (atomic on one filesystem). */
  rename(from: string, to: string): Promise<void>;
  /** Copies the file `from` to `to`, replacing `to`. */
  copyFile(from: string, to: string): Promise<void>;
  createSparseFile(path: string, bytes: number): Promise<void>;
  readSector(path: string, sector: number): Promise<Uint8Array>;
  writeAt(path: string, offset: number, data: Uint8Array): Promise<void>;
  readBytes(path: string): Promise<Uint8Array>;
  /** Every path under `root`, relative, sorted. */
  listTree(root: string): Promise<string[]>;
  sha256File(path: string): Promise<string>;
}

/**
 * Writes serial files. Implemented by adapters/serial-store.ts. (Reading goes
 * through the ProjectFiles port, so readers need nothing more than Deps.)
 */
export interface SerialStore {
  /** Writes every change or none (dirs absolute). */
  write(changes: readonly SerialWrite[]): Promise<void>;
  /**
   * Replaces `dir` with a fresh tree holding exactly `serials` (all or nothing),
   * plus `<archive>/SHA256SUMS` for the archives `sha256sums` names.
   */
  replaceSet(dir: string, serials: SerialSet, sha256sums?: Readonly<Record<string, string>>): Promise<void>;
}

export interface SerialWrite {
  /** Absolute serial dir (`…/APT_snapshots.d`). */
  readonly dir: string;
  readonly archive: string;
  readonly value: string;
  /**
   * The snapshot's identity next to the serial (`<archive>/SHA256SUMS`, the
   * sha256 of each suite's InRelease): text to write, null to remove a stale
   * one, undefined to leave it alone.
   */
  readonly sha256sums?: string | null;
}

/** A TCP -> unix socket relay (adapters/relay.ts). */
export interface RelayHandle {
  readonly address: string;
  close(): Promise<void>;
}

/** Facts about the host machine. */
export interface Host {
  cpuCount(): number;
  /** MemAvailable of /proc/meminfo, in MiB (what a new VM can get without swapping). */
  availableMemoryMiB(): number;
  /** This process's id. */
  pid(): number;
  /** The user this process runs as (0: root). */
  uid(): number;
  /** When process `pid` started (an opaque token), or undefined when there is no such process. */
  processStart(pid: number): string | undefined;
}

export interface LockWaitInfo {
  readonly pid: number;
  readonly command: string;
  readonly startedAt: string;
  readonly lockPath: string;
}

/** Host-wide exclusive locks (adapters/lock.ts): one holder at a time across processes and users. */
export interface HostLocks {
  /** Runs `fn` holding the lock `name`; waits for another holder (calling `onWait`), fails after the configured timeout, and rejects at once with InterruptedError on SIGINT/SIGTERM. */
  withLock<T>(name: string, fn: () => Promise<T>, options?: { onWait?: (holder: LockWaitInfo) => void }): Promise<T>;
  /** Takes the lock `name` for longer than one call (waiting as withLock does); returns its release. */
  acquire(name: string, options?: { onWait?: (holder: LockWaitInfo) => void }): Promise<() => Promise<void>>;
  /** Takes the lock `name` only if it is free now; otherwise says who holds it (undefined: unreadable). */
  tryAcquire(name: string): Promise<{ readonly release: () => Promise<void> } | { readonly heldBy: LockWaitInfo | undefined }>;
  /** Removes the lock files nobody holds (what killed runs left; a held lock is never touched); returns their paths. */
  pruneStale(): Promise<string[]>;
}
