/**
 * `tails-build snapshots …`: show, look up, freeze, thaw and resolve APT
 * snapshot serials (Tails' apt-snapshots-serials and apt-snapshots-expiry).
 */
import { Option, type Command } from 'commander';
import { resolve } from 'node:path';
import type { SerialUpdate } from '../../app/freeze-thaw.js';
import type { ProjectConfig, SerialSetName } from '../../core/project.js';
import { snapshotMessages as msg } from '../../core/messages/index.js';
import type { Output } from '../../ui/output.js';
import { registerSnapshotStore } from './snapshots-store.js';
import type { Deps } from '../../app/deps.js';
import { depsFor, HTTP_ENV, snapshotStoreDir, type CliContext, type GlobalOptions } from '../context.js';

const SERIALS_ENV = 'APT_SNAPSHOTS_SERIALS';

type SetChoice = SerialSetName | 'all';

interface Session {
  readonly deps: Deps;
  readonly project: ProjectConfig;
  readonly globals: GlobalOptions;
}

export function registerSnapshots(program: Command, ctx: CliContext): void {
  const snapshots = program
    .command('snapshots')
    .description('show, look up, freeze, thaw and resolve the APT snapshot serials of the builder and ISO sets')
    .addHelpText(
      'after',
      `
Each set is a directory of <archive>/serial files holding a serial or "latest":
the builder set (always numeric: it names the builder box) and the ISO set.

Examples:
  tails-build snapshots cat                        both sets, labelled
  tails-build snapshots get-latest debian          latest serial on the server
  tails-build snapshots freeze                     pin the ISO set (debian-security stays latest)
  tails-build snapshots freeze --set builder       bump the builder set (a new box name)
  tails-build snapshots thaw                       ISO set back to latest
  tails-build snapshots check-expiry --days 30     fail if a pinned snapshot expires soon

Environment:
  ${SERIALS_ENV}           JSON of serials for prepare-build (as recorded by a build)
  ${HTTP_ENV.backoffMs}   first retry delay in ms (default 500; doubles each retry)
  ${HTTP_ENV.timeoutMs}   timeout per HTTP attempt in ms (default 20000)
  ${HTTP_ENV.retries}      retries on 429, 5xx and network errors (default 3)`,
    );

  // ---- cat -------------------------------------------------------------
  snapshots
    .command('cat', { isDefault: true })
    .description('print the serials of the builder and ISO sets ("archive: serial")')
    .argument('[archive...]', 'only these archives')
    .addOption(setOption(['builder', 'iso', 'all'], 'all'))
    .option('--print-serials-only', 'print only the serials, one a line')
    .addHelpText(
      'after',
      `
Examples:
  tails-build snapshots cat
  tails-build snapshots cat --set iso debian
  tails-build snapshots cat --set iso --print-serials-only debian
  tails-build --json snapshots cat                 {"builder": {...}, "iso": {...}}`,
    )
    .action(async (archives: string[], opts: { set: SetChoice; printSerialsOnly?: boolean }, cmd: Command) => {
      const { catSerials } = await import('../../app/serial-sets.js');
      const { deps, project, globals } = await session(ctx, cmd);
      const sets = setsOf(opts.set);
      const result = await catSerials(deps, project, { sets, archives });
      if (globals.json) {
        deps.out.data(result);
        return;
      }
      const labelled = sets.length > 1 && opts.printSerialsOnly !== true;
      sets.forEach((set, i) => {
        if (labelled) deps.out.line(`${i > 0 ? '\n' : ''}${set} set (${project.serialDirs[set]}):`);
        for (const [archive, serial] of Object.entries(result[set] ?? {})) {
          const text = opts.printSerialsOnly === true ? serial : `${archive}: ${serial}`;
          deps.out.line(labelled ? `  ${text}` : text);
        }
      });
    });

  // ---- cat-json --------------------------------------------------------
  snapshots
    .command('cat-json')
    .description('print the serials of DIR/<archive>/serial as a JSON object (default DIR: the ISO set)')
    .argument('[dir]', 'a serial directory, e.g. tmp/APT_snapshots.d')
    .addHelpText(
      'after',
      `
Examples:
  tails-build snapshots cat-json                               the ISO set
  tails-build snapshots cat-json tmp/APT_snapshots.d           what prepare-build resolved`,
    )
    .action(async (dir: string | undefined, _opts: unknown, cmd: Command) => {
      const { catSerialDir } = await import('../../app/serial-sets.js');
      const { deps, project } = await session(ctx, cmd);
      const target = dir === undefined ? resolve(project.root, project.serialDirs.iso) : resolve(ctx.cwd, dir);
      deps.out.data(await catSerialDir(deps, project, target));
    });

  // ---- get-latest ------------------------------------------------------
  snapshots
    .command('get-latest')
    .description('look up the latest serial of each archive on its snapshot server (default: every archive of both sets)')
    .argument('[archive...]', 'archives to look up')
    .addOption(baseUrlOption())
    .addHelpText(
      'after',
      `
Examples:
  tails-build snapshots get-latest
  tails-build snapshots get-latest debian debian-security
  tails-build snapshots get-latest --base-url http://127.0.0.1:8470/ debian`,
    )
    .action(async (archives: string[], opts: { baseUrl?: string }, cmd: Command) => {
      const { getLatest } = await import('../../app/snapshot-queries.js');
      const { deps, project, globals } = await session(ctx, cmd);
      const latest = await withLocalSnapshots(ctx, deps, project, baseUrlOf(opts), () => getLatest(deps, project, { archives, baseUrl: baseUrlOf(opts) }));
      if (globals.json) deps.out.data(latest);
      else for (const [archive, serial] of Object.entries(latest)) deps.out.line(`${archive}: ${serial}`);
    });

  // ---- freeze ----------------------------------------------------------
  snapshots
    .command('freeze')
    .description('pin archives to their latest serial, after checking each snapshot exists; all files change or none')
    .argument('[archive...]', 'only these archives (default: every archive of the set)')
    .addOption(setOption(['iso', 'builder', 'all'], 'iso'))
    .option('--freeze-debian-security', 'pin debian-security too (the builder set always does)')
    .addOption(baseUrlOption())
    .addHelpText(
      'after',
      `
In the ISO set debian-security stays (or becomes) "latest" unless
--freeze-debian-security is given; the builder set's serials are always numeric.

Examples:
  tails-build snapshots freeze                               the ISO set
  tails-build snapshots freeze --freeze-debian-security      the ISO set, debian-security too
  tails-build snapshots freeze --set builder                 bump the builder box's snapshots
  tails-build snapshots freeze --set all debian              debian in both sets`,
    )
    .action(async (archives: string[], opts: { set: SetChoice; freezeDebianSecurity?: boolean; baseUrl?: string }, cmd: Command) => {
      const { freeze } = await import('../../app/freeze-thaw.js');
      const { deps, project, globals } = await session(ctx, cmd);
      const update = await withLocalSnapshots(ctx, deps, project, baseUrlOf(opts), () => freeze(deps, project, {
        sets: setsOf(opts.set),
        archives,
        freezeDebianSecurity: opts.freezeDebianSecurity === true,
        baseUrl: baseUrlOf(opts),
      }));
      printUpdate(deps.out, project, globals, update, 'Freeze');
    });

  // ---- thaw ------------------------------------------------------------
  snapshots
    .command('thaw')
    .description('set archives of the ISO set back to "latest" (the builder set is never thawed)')
    .argument('[archive...]', 'only these archives (default: every archive of the set)')
    .addOption(setOption(['iso', 'builder'], 'iso'))
    .addHelpText(
      'after',
      `
Examples:
  tails-build snapshots thaw                   every ISO archive to latest
  tails-build snapshots thaw torproject        one archive`,
    )
    .action(async (archives: string[], opts: { set: SerialSetName }, cmd: Command) => {
      const { thaw } = await import('../../app/freeze-thaw.js');
      const { deps, project, globals } = await session(ctx, cmd);
      const update = await thaw(deps, project, { set: opts.set, archives });
      printUpdate(deps.out, project, globals, update, 'Thaw');
    });

  // ---- prepare-build ---------------------------------------------------
  snapshots
    .command('prepare-build')
    .description('resolve every "latest" of a set to a serial and write the resolved set to a directory')
    .option('--serials <json>', `serials to use for "latest" archives, as JSON (default: $${SERIALS_ENV}, else the server's latest)`)
    .addOption(setOption(['iso', 'builder'], 'iso'))
    .option('--output <dir>', 'where to write <archive>/serial files (default: <project>/tmp/APT_snapshots.d; replaced)')
    .addOption(baseUrlOption())
    .addHelpText(
      'after',
      `
Prints the resolved serials as JSON (what a build records as ${SERIALS_ENV}).

Examples:
  tails-build snapshots prepare-build
  tails-build snapshots prepare-build --serials '{"debian":"2024101502","debian-security":"2024101503","torproject":"2024103001"}'
  ${SERIALS_ENV}='{"debian-security":"2024101503"}' tails-build snapshots prepare-build --output /tmp/serials`,
    )
    .action(async (opts: { serials?: string; set: SerialSetName; output?: string; baseUrl?: string }, cmd: Command) => {
      const { prepareBuild } = await import('../../app/prepare-build.js');
      const { deps, project } = await session(ctx, cmd);
      const envJson = ctx.env[SERIALS_ENV];
      const provided =
        opts.serials !== undefined
          ? { json: opts.serials, source: '--serials' }
          : envJson !== undefined && envJson.trim() !== ''
            ? { json: envJson, source: SERIALS_ENV }
            : undefined;
      const outputDir = opts.output === undefined ? resolve(project.root, 'tmp', 'APT_snapshots.d') : resolve(ctx.cwd, opts.output);
      const prepared = await withLocalSnapshots(ctx, deps, project, baseUrlOf(opts), () => prepareBuild(deps, project, { set: opts.set, provided, outputDir, baseUrl: baseUrlOf(opts) }));
      for (const note of prepared.notes) deps.out.warn(note);
      deps.out.info(`Wrote the resolved ${prepared.set} serials to ${prepared.outputDir}.`);
      deps.out.data(prepared.serials);
    });

  // ---- check-expiry ----------------------------------------------------
  snapshots
    .command('check-expiry')
    .description('fail (exit 3) when a pinned snapshot\'s Release file expires (Valid-Until) in less than N days')
    .option('--days <n>', 'minimum number of days each pinned snapshot must stay valid', '30')
    .addOption(setOption(['builder', 'iso', 'all'], 'all'))
    .addOption(baseUrlOption())
    .addHelpText(
      'after',
      `
Archives on "latest" are skipped; a warning names each one other than the ISO
set's debian-security (which is meant to stay "latest").

Examples:
  tails-build snapshots check-expiry
  tails-build snapshots check-expiry --days 7 --set builder`,
    )
    .action(async (opts: { days: string; set: SetChoice; baseUrl?: string }, cmd: Command) => {
      if (!/^\d+$/.test(opts.days)) throw msg.badDays(opts.days);
      const { checkExpiry, verifyNoneExpiring } = await import('../../app/snapshot-expiry.js');
      const { deps, project, globals } = await session(ctx, cmd);
      const report = await withLocalSnapshots(ctx, deps, project, baseUrlOf(opts), () => checkExpiry(deps, project, { sets: setsOf(opts.set), days: Number(opts.days), baseUrl: baseUrlOf(opts) }));
      for (const warning of report.warnings) deps.out.warn(warning);
      const failing = report.checked.some((e) => !e.ok);
      if (globals.json) {
        if (!failing) deps.out.data(report);
      } else {
        for (const e of report.checked) {
          const until = e.validUntilText === null ? 'no Valid-Until' : `valid until ${e.validUntilText} (${e.daysLeft ?? 0} days left)`;
          deps.out.line(`${e.ok ? 'ok     ' : 'EXPIRES'} ${e.set} ${e.archive} ${e.serial}: ${until}`);
        }
        for (const s of report.skipped) deps.out.line(`skip    ${s.set} ${s.archive}: latest`);
      }
      verifyNoneExpiring(report);
    });
  registerSnapshotStore(snapshots, ctx);
}

/**
 * Runs a lookup against the project's snapshots; when the project's own base
 * URL is on loopback with no server behind it, the local store is served
 * there for the duration. An explicit --base-url is used as given.
 */
async function withLocalSnapshots<T>(ctx: CliContext, deps: Deps, project: ProjectConfig, baseUrl: string | undefined, fn: () => Promise<T>): Promise<T> {
  if (baseUrl !== undefined) return fn();
  const [{ withCleanup }, { serveLocalSnapshotsIfNeeded }] = await Promise.all([import('../../app/cleanup.js'), import('../../app/local-snapshots.js')]);
  return withCleanup(async (cleanup) => {
    await serveLocalSnapshotsIfNeeded(deps, project, snapshotStoreDir(ctx, undefined), cleanup);
    return fn();
  });
}

async function session(ctx: CliContext, cmd: Command): Promise<Session> {
  const { loadProject } = await import('../../app/project.js');
  const { deps, globals } = depsFor(ctx, cmd);
  const project = await loadProject(deps, { projectDir: globals.project, cwd: ctx.cwd });
  return { deps, project, globals };
}

function setOption(choices: readonly SetChoice[], fallback: SetChoice): Option {
  return new Option('--set <set>', 'which serial set').choices(choices).default(fallback);
}

function baseUrlOption(): Option {
  return new Option('--base-url <url>', "snapshot server base URL for every archive, this run only (overrides the project's)");
}

function baseUrlOf(opts: { baseUrl?: string }): string | undefined {
  if (opts.baseUrl === undefined) return undefined;
  if (!/^https?:\/\/[^/]+/.test(opts.baseUrl)) throw msg.badBaseUrl(opts.baseUrl);
  return opts.baseUrl;
}

function setsOf(choice: SetChoice): readonly SerialSetName[] {
  return choice === 'all' ? ['builder', 'iso'] : [choice];
}

function printUpdate(out: Output, project: ProjectConfig, globals: GlobalOptions, update: SerialUpdate, verb: 'Freeze' | 'Thaw'): void {
  for (const note of update.notes) out.info(note);
  if (globals.json) {
    out.data({
      sets: Object.fromEntries(
        update.plans.map((p) => [p.set, Object.fromEntries(p.entries.map((e) => [e.archive, { from: e.from, to: e.to, changed: e.from !== e.to }]))]),
      ),
      notes: update.notes,
    });
    return;
  }
  for (const e of update.plans.flatMap((p) => p.entries)) {
    out.line(e.from === e.to ? `${e.set} ${e.archive}: ${e.to} (unchanged)` : `${e.set} ${e.archive}: ${e.from} -> ${e.to}`);
  }
  if (update.changed.length === 0 && update.identityFiles.length === 0) {
    out.info('No serial file changed.');
    return;
  }
  const files = [...update.changed.map((c) => `${project.serialDirs[c.set]}/${c.archive}/serial`), ...update.identityFiles];
  out.info(`Commit the change: git commit -m "${verb} APT snapshots." ${files.join(' ')}`);
}
