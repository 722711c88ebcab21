/** `tails-build basebox list|clean-old|clean-all|import`: the builder boxes vagrant and libvirt hold. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { BaseboxEntry, CleanRequest, CleanResult } from '../../app/basebox-manage.js';
import type { Deps } from '../../app/deps.js';
import { boxesToRemove, DEFAULT_MONTHS, REASON_TEXT } from '../../core/basebox-retention.js';
import { boxStoreMessages as msg } from '../../core/messages/index.js';
import { BOX_STORE_ENV, depsFor, type CliContext, type GlobalOptions } from '../context.js';

const DEFAULT_PREFIX = 'tails-builder';

const ENV_HELP = `
Environment:
  VAGRANT_HOME               where vagrant keeps boxes (default ~/.vagrant.d)
  LIBVIRT_DEFAULT_URI        libvirt connection (default qemu:///system)
  ${BOX_STORE_ENV.lockDir}       host-wide lock directory (default /run/lock/tails-build)
  ${BOX_STORE_ENV.lockTimeout}   seconds to wait for another build's lock (default 1800)`;

export function registerBaseboxManagement(basebox: Command, ctx: CliContext): void {
  basebox
    .command('list')
    .description('list the builder boxes (<prefix>-*) vagrant holds: date from the name, pool volume size, whether a libvirt domain uses it')
    .addHelpText(
      'after',
      `
"In use" means a defined libvirt domain (running or not) boots from the box's
pool volume, i.e. has it as a disk's backing file. The current box (the one
this checkout builds with) is marked with "*".
${ENV_HELP}

Examples:
  tails-build basebox list
  tails-build basebox list --json | jq -r '.boxes[] | select(.inUse | not) | .name'`,
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const { listBaseboxes } = await import('../../app/basebox-manage.js');
      const { deps, globals } = depsFor(ctx, cmd);
      const { prefix, current } = await readCurrentBox(ctx, deps, globals, { quiet: true });
      const entries = await listBaseboxes(deps, { prefix });
      if (globals.json) {
        deps.out.data({ prefix, current: current ?? null, boxes: entries.map((e) => entryJson(e, current)) });
        return;
      }
      if (entries.length === 0) {
        deps.out.line(`No ${prefix}-* box in vagrant (VAGRANT_HOME=${deps.vagrantHome}).`);
        return;
      }
      printTable(
        deps,
        ['NAME', 'DATE', 'SIZE', 'IN USE'],
        entries.map((e) => [
          `${e.name === current ? '* ' : '  '}${e.name}`,
          formatDate(e.date),
          e.sizeBytes === undefined ? '-' : formatBytes(e.sizeBytes),
          e.inUse ? `yes (${e.usedBy.join(', ')})` : 'no',
        ]),
      );
    });

  basebox
    .command('clean-old')
    .description(`remove builder boxes whose name date is older than N months (default ${DEFAULT_MONTHS}), with their pool volumes`)
    .option('--months <n>', `age limit in months (Tails: ${DEFAULT_MONTHS})`, String(DEFAULT_MONTHS))
    .option('-n, --dry-run', 'print what would be removed and why; remove nothing')
    .addHelpText(
      'after',
      `
Like Tails' "rake basebox:clean_old", but never removes the box the current
checkout builds with, a box a libvirt domain boots from, or the newest box.
Each removal is "vagrant box remove --force" plus the box's libvirt pool
volume(s), under the host-wide lock.
${ENV_HELP}

Examples:
  tails-build basebox clean-old --dry-run
  tails-build basebox clean-old --months 4
  tails-build basebox clean-old --json`,
    )
    .action(async (opts: { months: string; dryRun?: boolean }, cmd: Command) => {
      const months = /^\d+$/.test(opts.months) ? Number(opts.months) : NaN;
      if (!Number.isInteger(months) || months < 1) throw msg.badMonths(opts.months);
      const dryRun = opts.dryRun === true;
      const { cleanBaseboxes, verifyCleanSucceeded } = await import('../../app/basebox-manage.js');
      const { deps, globals } = depsFor(ctx, cmd, { dryRun });
      const { prefix, current } = await readCurrentBox(ctx, deps, globals, { quiet: false });
      const result = await cleanBaseboxes(deps, { mode: 'old', prefix, current, months, dryRun });
      report(deps, globals, { mode: 'old', prefix, current, months, dryRun }, result);
      verifyCleanSucceeded(result);
    });

  basebox
    .command('clean-all')
    .description('remove every builder box (<prefix>-*) except those a libvirt domain uses, with their pool volumes')
    .option('-y, --yes', 'really remove them (required unless --dry-run)')
    .option('-n, --dry-run', 'print what would be removed; remove nothing')
    .addHelpText(
      'after',
      `
Like Tails' "rake basebox:clean_all". The next build imports or creates its box
again. Boxes a libvirt domain boots from are kept.
${ENV_HELP}

Examples:
  tails-build basebox clean-all --dry-run
  tails-build basebox clean-all --yes
  tails-build basebox clean-all --yes --json`,
    )
    .action(async (opts: { yes?: boolean; dryRun?: boolean }, cmd: Command) => {
      const dryRun = opts.dryRun === true;
      const { cleanBaseboxes, verifyCleanSucceeded } = await import('../../app/basebox-manage.js');
      const { deps, globals } = depsFor(ctx, cmd, { dryRun });
      const { prefix, current } = await readCurrentBox(ctx, deps, globals, { quiet: true });
      if (!dryRun && opts.yes !== true) {
        const preview = await cleanBaseboxes(deps, { mode: 'all', prefix, current, dryRun: true });
        throw msg.cleanAllNeedsYes(boxesToRemove(preview.plan).length);
      }
      const result = await cleanBaseboxes(deps, { mode: 'all', prefix, current, dryRun });
      report(deps, globals, { mode: 'all', prefix, current, dryRun }, result);
      verifyCleanSucceeded(result);
    });

  basebox
    .command('import')
    .description('add a .box to vagrant under its name and pre-seed the libvirt pool volume vagrant-libvirt will use')
    .argument('<box-file>', 'the .box (metadata.json, Vagrantfile, box.img; from tails-build also cmdline, vmlinuz, initrd.img)')
    .option('--name <name>', "box name (default: this checkout's builder box name, see tails-build basebox name)")
    .addHelpText(
      'after',
      `
Under the host-wide lock: removes a stale pool volume of that name first
(vagrant-libvirt would silently reuse it), runs "vagrant box add --name NAME",
uploads box.img into the "default" pool under the exact volume name
vagrant-libvirt looks for (so the first "vagrant up" does not upload it again),
and checks that exactly one box and one image volume exist for the name. A box
tails-build made also carries its kernel and initrd: they are uploaded beside
the image (<volume>.vmlinuz, <volume>.initrd), so build VMs boot them directly
(no firmware disk boot, no GRUB), and are removed with the box.
${ENV_HELP}

Examples:
  tails-build basebox import tails-builder-amd64-bookworm-20240902-f5bd6a8.box
  tails-build basebox import ./builder.box --name tails-builder-amd64-bookworm-20240902-f5bd6a8 --json`,
    )
    .action(async (file: string, opts: { name?: string }, cmd: Command) => {
      const [{ loadProject }, { findBaseboxName }, { importBasebox }] = await Promise.all([import('../../app/project.js'), import('../../app/basebox-name.js'), import('../../app/basebox-import.js')]);
      const { deps, globals } = depsFor(ctx, cmd);
      const boxFile = resolve(ctx.cwd, file);
      let name = opts.name;
      if (name === undefined) {
        const project = await loadProject(deps, { projectDir: globals.project, cwd: ctx.cwd });
        name = (await findBaseboxName(deps, project, { ignoreChanges: false })).name;
      }
      const result = await importBasebox(deps, { name, boxFile });
      if (globals.json) deps.out.data(result);
      else deps.out.line(`Imported ${result.name}; pool volume ${result.volume}${result.bootVolumes.length > 0 ? ` (and its kernel and initrd for direct boot)` : ''} (${result.timingsMs.total} ms).`);
    });
}

/** The box name prefix and, when the project is readable, the box the current checkout builds with. */
async function readCurrentBox(
  ctx: CliContext,
  deps: Deps,
  globals: GlobalOptions,
  options: { quiet: boolean },
): Promise<{ prefix: string; current: string | undefined }> {
  let prefix = DEFAULT_PREFIX;
  const [{ loadProject }, { findBaseboxName }] = await Promise.all([import('../../app/project.js'), import('../../app/basebox-name.js')]);
  try {
    const project = await loadProject(deps, { projectDir: globals.project, cwd: ctx.cwd });
    prefix = project.boxNamePrefix;
    return { prefix, current: (await findBaseboxName(deps, project, { ignoreChanges: true })).name };
  } catch (error) {
    const why = error instanceof Error ? error.message.split('\n')[0] ?? '' : String(error);
    const text = `Cannot name the current builder box (${why}); boxes in use and the newest box are still kept.`;
    if (options.quiet) deps.out.debug(text);
    else deps.out.warn(text);
    return { prefix, current: undefined };
  }
}

/** Prints what a clean did (or would do); the caller then fails on what it could not remove (verifyCleanSucceeded). */
function report(deps: Deps, globals: GlobalOptions, request: CleanRequest, result: CleanResult): void {
  const { plan } = result;
  if (globals.json) {
    deps.out.data({
      mode: request.mode,
      dryRun: request.dryRun,
      prefix: plan.prefix,
      current: plan.current ?? null,
      months: request.mode === 'old' ? request.months : null,
      cutoff: plan.cutoff ?? null,
      decisions: plan.decisions.map((d) => ({ ...d, date: d.date ?? null })),
      removed: result.removed,
      failed: result.failures.map((f) => f.name),
    });
  } else {
    const scope =
      request.mode === 'old'
        ? `${plan.prefix}-* boxes dated before ${formatDate(plan.cutoff)} (${request.months} months)`
        : `every ${plan.prefix}-* box not in use`;
    if (plan.decisions.length === 0) {
      deps.out.line(`No ${plan.prefix}-* box in vagrant (VAGRANT_HOME=${deps.vagrantHome}); nothing to do.`);
    } else {
      deps.out.line(`Removing ${scope}:`);
      printTable(
        deps,
        ['ACTION', 'NAME', 'DATE', 'WHY'],
        plan.decisions.map((d) => [d.action, d.name, formatDate(d.date), REASON_TEXT[d.reason]]),
      );
      const count = boxesToRemove(plan).length;
      if (request.dryRun) deps.out.line(`Dry run: would remove ${count} box(es). Run again without --dry-run${request.mode === 'all' ? ' (and with --yes)' : ''} to remove them.`);
      else deps.out.line(`Removed ${result.removed.length} box(es) and ${result.removed.reduce((n, r) => n + r.volumes.length, 0)} pool volume(s).`);
    }
  }
}

function entryJson(e: BaseboxEntry, current: string | undefined) {
  return {
    name: e.name,
    date: e.date ?? null,
    version: e.version,
    current: e.name === current,
    sizeBytes: e.sizeBytes ?? null,
    volumes: e.volumes,
    inUse: e.inUse,
    usedBy: e.usedBy,
  };
}

function printTable(deps: Deps, header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  deps.out.line(line(header));
  for (const row of rows) deps.out.line(line(row));
}

function formatDate(yyyymmdd: string | undefined): string {
  return yyyymmdd === undefined ? '-' : `${yyyymmdd.slice(0, 4)}-${yyyymmdd.slice(4, 6)}-${yyyymmdd.slice(6, 8)}`;
}

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit] ?? ''}`;
}
