/** Real snapshot-store deps for tests: real runner, files, downloads and HTTP; a fixed clock; captured output. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { projectFiles } from '../../src/adapters/project-files.js';
import { createRunner } from '../../src/adapters/runner.js';
import { createSnapshotIo } from '../../src/adapters/snapshot-store.js';
import type { MirrorDeps } from '../../src/app/snapshot-mirror.js';
import type { Clock } from '../../src/core/ports.js';
import { resolveProjectConfig, type ProjectConfig } from '../../src/core/project.js';
import { createOutput, type Output } from '../../src/ui/output.js';
import { makeTempDir } from './git-repo.js';

export interface TestDeps extends MirrorDeps {
  readonly out: Output;
  /** Lines written to stderr (info, warnings, the request log). */
  readonly log: string[];
}

export function fixedClock(iso = '2026-11-21T10:00:00Z'): Clock {
  return { now: () => new Date(iso), sleep: () => Promise.resolve() };
}

export function testDeps(clock: Clock = fixedClock()): TestDeps {
  const log: string[] = [];
  const out = createOutput({ stdout: { write: () => true }, stderr: { write: (s: string) => log.push(...s.trimEnd().split('\n')) }, json: false, verbose: false });
  const runner = createRunner({ log: out, dryRun: false, path: process.env.PATH ?? '/usr/bin:/bin', baseEnv: process.env });
  // An empty /etc/apt: the host's sources must not leak into tests.
  const etcApt = makeTempDir('tb-etc-apt-');
  mkdirSync(join(etcApt, 'sources.list.d'));
  return { runner, clock, out, log, files: projectFiles, snapshotIo: createSnapshotIo({ runner, clock, files: projectFiles, etcApt }) };
}

/** A project at `root` whose archive `archive` is mirrored from `upstream`, suites as given. */
export function projectWith(root: string, archives: Record<string, { upstream: string; suites: string[] }>): ProjectConfig {
  return resolveProjectConfig({
    root,
    hasTailsBoxDefinition: false,
    tailsSettings: undefined,
    configText: JSON.stringify({ snapshots: { archives } }),
  });
}
