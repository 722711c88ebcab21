/**
 * Progress for long use cases (STYLE rule 10): listr2 with its default
 * renderer on a TTY, a timestamped line renderer without one (CI logs), and
 * one JSON event per line with --json. Step titles are stable; subprocess
 * output goes to the step's output line, never straight to the terminal.
 */
import type { ListrDefaultRendererLogLevels, ListrLogLevels } from 'listr2';
import type { Writable } from './output.js';
import { ANSI, type StepOutcome } from '../core/junit.js';
import { joinErrors } from '../core/errors.js';

export type ProgressMode = 'tty' | 'lines' | 'json' | 'silent';

export interface Step<C> {
  readonly id: string;
  readonly title: string;
  /** The title once the step is done, when what it did is known only then (e.g. which cache disk it took). */
  readonly doneTitle?: (ctx: C) => string;
  /**
   * Returns a reason to skip, or undefined to run. `failed` is the earlier step
   * that failed, if one did: a step that is not `always` is then skipped anyway.
   */
  readonly skip?: (ctx: C, failed: FailedStep | undefined) => string | undefined;
  /** Runs even after an earlier step failed (cleanup; bringing back what a failed build left). */
  readonly always?: boolean;
  readonly run: (ctx: C, report: (line: string) => void) => Promise<void>;
}

/** The first step that failed, and how. */
export interface FailedStep {
  readonly id: string;
  readonly error: unknown;
}

/** How a step list ended: every step's timing, and every failure in order (empty: all passed or skipped). */
export interface StepsOutcome {
  readonly timings: StepTiming[];
  readonly failures: readonly FailedStep[];
}

export interface StepTiming {
  readonly id: string;
  readonly status: 'done' | 'skipped' | 'failed';
  readonly ms: number;
}

/** A step as it ended, with the tail of what it printed (for JUnit reports). */
export type StepRecord = StepOutcome;

/** How many of a step's last lines a StepRecord keeps. */
export const STEP_TAIL_LINES = 40;

export interface ProgressOptions {
  readonly mode: ProgressMode;
  /** Called as each step ends (done, failed or skipped). */
  readonly onStep?: (record: StepRecord) => void;
  /** Where JSON events go (stdout). */
  readonly events: Writable;
  /** Where listr2 renders (the process's stderr, so stdout stays for results). */
  readonly render: NodeJS.WriteStream;
  readonly now: () => Date;
  /** JSON mode: steps' output lines as events too (--json-output). */
  readonly outputLines?: boolean;
  /** Lines mode: a "still running" line this often during a long step (0: never). */
  readonly heartbeatMs?: number;
  /** Lines mode: strip colours (CI logs). */
  readonly noColor?: boolean;
}

/** What the CLI decided about progress, beyond the mode (see cli/context.ts#progressExtras). */
export interface ProgressExtras {
  readonly outputLines: boolean;
  readonly heartbeatMs: number;
  readonly noColor: boolean;
}

/** Progress options for a use case: JSON events go through `line` (stdout), rendering to `render`. */
export function progressOptions(mode: ProgressMode, line: (text: string) => void, render: NodeJS.WriteStream, now: () => Date, extras?: ProgressExtras): ProgressOptions {
  return {
    ...extras,
    mode,
    events: {
      write: (chunk: string) => {
        line(chunk.replace(/\n$/, ''));
      },
    },
    render,
    now,
  };
}

/** Runs the steps in order; resolves with their timings, rejects with the first failure (after the `always` steps ran). */
export async function runSteps<C>(steps: readonly Step<C>[], ctx: C, options: ProgressOptions): Promise<StepTiming[]> {
  const outcome = await runStepList(steps, ctx, options);
  const [first, ...rest] = outcome.failures;
  if (first === undefined) return outcome.timings;
  throw rest.reduce<unknown>((error, later) => joinErrors(error, later.error), first.error);
}

/**
 * Runs the steps in order and says how each ended. After a failure the steps
 * that are not `always` are skipped, each saying which step failed; `always`
 * steps (cleanup) still run. Never rejects for a step's failure: the caller
 * decides what the failures mean once every step has had its say.
 */
export async function runStepList<C>(steps: readonly Step<C>[], ctx: C, options: ProgressOptions): Promise<StepsOutcome> {
  const timings: StepTiming[] = [];
  const failures: FailedStep[] = [];
  const emit = (event: Record<string, unknown>): void => {
    if (options.mode === 'json') options.events.write(`${JSON.stringify({ ...event, time: options.now().toISOString() })}\n`);
  };
  // Render on stderr: stdout carries results and JSON events only.
  const render = options.noColor === true ? withoutColour(options.render) : options.render;
  // listr2 is loaded when a long command runs its steps, not at start-up.
  const { Listr, ListrLogger, PRESET_TIMER, PRESET_TIMESTAMP, ProcessOutput } = await import('listr2');
  const processOutput = new ProcessOutput(render, render);
  const logger = new ListrLogger<ListrLogLevels>({ processOutput });
  const ttyLogger = new ListrLogger<ListrDefaultRendererLogLevels>({ processOutput });
  const tasks = steps.map((step) => ({
      title: step.title,
      skip: (): string | false => {
        const failed = failures[0];
        const reason = step.skip?.(ctx, failed) ?? (failed !== undefined && step.always !== true ? `${failed.id} failed` : undefined);
        if (reason === undefined) return false;
        timings.push({ id: step.id, status: 'skipped', ms: 0 });
        options.onStep?.({ id: step.id, title: step.title, status: 'skipped', ms: 0, tail: [`skipped: ${reason}`] });
        emit({ event: 'step', id: step.id, title: step.title, status: 'skipped', reason });
        return `${step.title} (skipped: ${reason})`;
      },
      task: async (_: unknown, task: { output: string; title: string }): Promise<void> => {
        const started = options.now().getTime();
        const tail: string[] = [];
        emit({ event: 'step', id: step.id, title: step.title, status: 'started' });
        // A silent step (mksquashfs, a VM booting) must not look hung in a CI log.
        const heartbeat = options.mode === 'lines' && (options.heartbeatMs ?? 0) > 0
          ? setInterval(() => {
              render.write(`[${clock(options.now())}] still running: ${step.title}, ${elapsed(options.now().getTime() - started)}\n`);
            }, options.heartbeatMs)
          : undefined;
        try {
          await step.run(ctx, (line) => {
            task.output = line;
            tail.push(line);
            if (tail.length > STEP_TAIL_LINES) tail.shift();
            if (options.outputLines === true) emit({ event: 'output', id: step.id, stream: 'combined', line });
          });
        } catch (error) {
          clearInterval(heartbeat);
          const ms = options.now().getTime() - started;
          timings.push({ id: step.id, status: 'failed', ms });
          options.onStep?.({ id: step.id, title: step.title, status: 'failed', ms, error, tail });
          emit({ event: 'step', id: step.id, title: step.title, status: 'failed', ms, message: error instanceof Error ? error.message : String(error) });
          failures.push({ id: step.id, error });
          throw error;
        }
        clearInterval(heartbeat);
        const ms = options.now().getTime() - started;
        const title = step.doneTitle?.(ctx) ?? step.title;
        if (title !== step.title) task.title = title;
        timings.push({ id: step.id, status: 'done', ms });
        options.onStep?.({ id: step.id, title, status: 'done', ms, tail });
        emit({ event: 'step', id: step.id, title, status: 'done', ms });
      },
    }));
  // exitOnError false: after a failure listr2 goes on, and each later task's skip() decides (above).
  const common = { concurrent: false, exitOnError: false, registerSignalListeners: false };
  const lines = { timer: PRESET_TIMER, timestamp: PRESET_TIMESTAMP, logger };
  const listr =
    options.mode === 'tty'
      ? new Listr(tasks, { ...common, renderer: 'default', rendererOptions: { timer: PRESET_TIMER, logger: ttyLogger }, fallbackRenderer: 'simple', fallbackRendererOptions: lines })
      : options.mode === 'lines'
        ? new Listr(tasks, { ...common, renderer: 'simple', rendererOptions: lines })
        : new Listr(tasks, { ...common, renderer: 'silent' });
  await listr.run();
  return { timings, failures };
}

function clock(date: Date): string {
  return date.toTimeString().slice(0, 8);
}

function elapsed(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${String(s)}s` : `${String(Math.floor(s / 60))}m${String(s % 60).padStart(2, '0')}s`;
}


/** The render stream with colour codes removed (CI logs); only write() is used by listr2's ProcessOutput. */
function withoutColour(stream: NodeJS.WriteStream): NodeJS.WriteStream {
  return new Proxy(stream, {
    get(target, prop, receiver) {
      if (prop === 'write') return (chunk: unknown, ...rest: unknown[]) => (target.write as (...a: unknown[]) => boolean).call(target, typeof chunk === 'string' ? chunk.replace(ANSI, '') : chunk, ...rest);
      if (prop === 'isTTY' || prop === 'hasColors') return prop === 'isTTY' ? false : () => false;
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
}
