/**
 * JUnit XML for Jenkins' `junit` step (and GitLab's reports): one testsuite
 * per command, one testcase per step — plus what is not a step (the boot
 * test's verdict, verify's comparison) — a failure with the error's message
 * and hint, and the tail of the step's output as system-out.
 */
import { UserError } from './errors.js';

export interface JUnitCase {
  readonly name: string;
  /** Seconds. */
  readonly time: number;
  readonly status: 'passed' | 'failed' | 'skipped';
  /** For a failure: what failed, and the next command. */
  readonly message?: string;
  readonly type?: string;
  readonly detail?: string;
  readonly output?: readonly string[];
}

export interface JUnitSuite {
  /** e.g. "tails-build iso". */
  readonly name: string;
  readonly timestamp: string;
  readonly properties: Readonly<Record<string, string>>;
  readonly cases: readonly JUnitCase[];
}

/** XML 1.0 text: escaped, and without the control characters XML cannot hold (ANSI colours, say). */
/** ANSI colour and cursor codes (stripped from CI logs and XML). */
export const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*[A-Za-z]`, 'g');

export function xmlText(text: string): string {
  return text
    .replace(ANSI, '')
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/** One failure's message, type and detail from whatever was thrown. */
export function describeFailure(error: unknown): Pick<JUnitCase, 'message' | 'type' | 'detail'> {
  if (error instanceof UserError) return { message: error.message, type: error.code, detail: [error.message, ...(error.hint === undefined ? [] : [`hint: ${error.hint}`])].join('\n') };
  if (error instanceof Error) return { message: error.message, type: error.name, detail: error.stack ?? error.message };
  return { message: String(error), type: 'error', detail: String(error) };
}

export function renderJUnit(suites: readonly JUnitSuite[]): string {
  const count = (s: JUnitSuite, status: JUnitCase['status']): number => s.cases.filter((c) => c.status === status).length;
  const seconds = (s: JUnitSuite): number => s.cases.reduce((t, c) => t + c.time, 0);
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const total = (f: (s: JUnitSuite) => number): string => String(suites.reduce((t, s) => t + f(s), 0));
  lines.push(`<testsuites name="tails-build" tests="${total((s) => s.cases.length)}" failures="${total((s) => count(s, 'failed'))}" errors="0" skipped="${total((s) => count(s, 'skipped'))}" time="${seconds3(suites.reduce((t, s) => t + seconds(s), 0))}">`);
  for (const suite of suites) {
    const classname = suite.name.replace(/\s+/g, '.');
    lines.push(`  <testsuite name="${xmlText(suite.name)}" tests="${String(suite.cases.length)}" failures="${String(count(suite, 'failed'))}" errors="0" skipped="${String(count(suite, 'skipped'))}" time="${seconds3(seconds(suite))}" timestamp="${xmlText(suite.timestamp)}">`);
    const props = Object.entries(suite.properties);
    if (props.length > 0) {
      lines.push('    <properties>');
      for (const [name, value] of props) lines.push(`      <property name="${xmlText(name)}" value="${xmlText(value)}"/>`);
      lines.push('    </properties>');
    }
    for (const c of suite.cases) {
      const open = `    <testcase classname="${xmlText(classname)}" name="${xmlText(c.name)}" time="${seconds3(c.time)}"`;
      const body: string[] = [];
      if (c.status === 'failed') body.push(`      <failure message="${xmlText(oneLine(c.message ?? 'failed'))}" type="${xmlText(c.type ?? 'failure')}">${xmlText(c.detail ?? c.message ?? '')}</failure>`);
      if (c.status === 'skipped') body.push(`      <skipped message="${xmlText(oneLine(c.message ?? 'skipped'))}"/>`);
      if (c.output !== undefined && c.output.length > 0) body.push(`      <system-out>${xmlText(c.output.join('\n'))}</system-out>`);
      lines.push(body.length === 0 ? `${open}/>` : `${open}>`, ...body, ...(body.length === 0 ? [] : ['    </testcase>']));
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>', '');
  return lines.join('\n');
}

function seconds3(s: number): string {
  return s.toFixed(3);
}

function oneLine(text: string): string {
  return text.split('\n')[0] ?? '';
}

/** Which step an outcome belongs to when no step failed by throwing (a recipe's exit code, a failed boot). */
const OUTCOME_STEP: Readonly<Record<string, string>> = { 'build-failed': 'build', 'boot-test-failed': 'boot-test', 'not-reproducible': 'compare' };

/** A step as it ended (ui/progress.ts's StepRecord). */
export interface StepOutcome {
  readonly id: string;
  readonly title: string;
  readonly status: 'done' | 'skipped' | 'failed';
  readonly ms: number;
  /** The failure, for a failed step. */
  readonly error?: unknown;
  /** The last lines the step printed. */
  readonly tail: readonly string[];
}

/**
 * A suite from the steps a command ran and how it ended: a step that threw is
 * a failure; an outcome no step threw (the recipe's exit code, a boot that did
 * not pass, a refusal before any step) fails the step it belongs to, or a
 * testcase of its own.
 */
export function suiteFromSteps(name: string, timestamp: string, steps: readonly StepOutcome[], outcome: unknown, properties: Readonly<Record<string, string>>, prefix = ''): JUnitSuite {
  const cases: JUnitCase[] = steps.map((s) => ({
    name: `${prefix}${s.id}: ${s.title}`,
    time: s.ms / 1000,
    status: s.status === 'done' ? 'passed' : s.status === 'skipped' ? 'skipped' : 'failed',
    ...(s.status === 'failed' ? describeFailure(s.error) : s.status === 'skipped' ? { message: s.tail[0] ?? 'skipped' } : {}),
    output: s.tail,
  }));
  if (outcome !== undefined && !steps.some((s) => s.status === 'failed')) {
    const code = outcome instanceof UserError ? outcome.code : undefined;
    const owner = code === undefined ? undefined : OUTCOME_STEP[code];
    const index = owner === undefined ? -1 : steps.findIndex((s) => s.id === owner);
    const failed = { status: 'failed' as const, ...describeFailure(outcome) };
    const at = cases[index];
    if (at !== undefined) cases[index] = { ...at, ...failed };
    else cases.push({ name: `${prefix}${steps.length === 0 ? 'preflight: checks before any step' : 'result'}`, time: 0, ...failed });
  }
  return { name, timestamp, properties, cases };
}
