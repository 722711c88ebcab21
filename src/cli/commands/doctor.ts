/** `tails-build doctor`: are the host prerequisites here? */
import type { Command } from 'commander';
import { DEFAULT_LIBVIRT_URI, DEFAULT_NETNS, missingRequired, planDoctorChecks, type DoctorReport } from '../../core/doctor.js';
import { doctorMessages } from '../../core/messages/index.js';
import { DEBIAN_KEYRING } from '../../core/basebox-build.js';
import { resolve } from 'node:path';
import { cacheRoot, depsFor, snapshotStoreDir, type CliContext } from '../context.js';

const APT_LISTS = '/var/lib/apt/lists';

export function registerDoctor(program: Command, ctx: CliContext): void {
  program
    .command('doctor')
    .description('check host prerequisites: git, node, QEMU, libvirt, vagrant + vagrant-libvirt, mmdebstrap, …')
    .option('--libvirt-uri <uri>', `libvirt connection to probe (default: $LIBVIRT_DEFAULT_URI, else ${DEFAULT_LIBVIRT_URI})`)
    .option('--keyring <file>', 'keyring snapshot signatures are verified against', DEBIAN_KEYRING)
    .addHelpText(
      'after',
      `
Prints one line per check: "ok" or "missing", what was found, and for anything
missing the command that installs or starts it. Exits 5 when a required check
fails (optional ones: shellcheck, diffoscope, the network namespace, /dev/kvm). The network
namespace checked is $TAILS_BUILD_NETNS, default ${DEFAULT_NETNS}. Build VMs left by
builds that were killed are listed, with the command that removes them.

The keyring check reads the keyring (it must exist and hold keys) and runs
gpgv with it on a Debian-signed InRelease of this host: the snapshot store's
(<cache>/snapshots) first, else apt's (${APT_LISTS}). With neither, it only
checks the keyring holds a key with a Debian user ID, and says no signature
was verified.

Examples:
  tails-build doctor
  tails-build doctor --json
  tails-build doctor --libvirt-uri qemu:///system`,
    )
    .action(async (opts: { libvirtUri?: string; keyring: string }, cmd: Command) => {
      const [{ observeKeyring, runDoctor }, { findRuns }] = await Promise.all([import('../../app/doctor.js'), import('../../app/vm-prune.js')]);
      const { deps, globals } = depsFor(ctx, cmd);
      const keyring = await observeKeyring(deps, resolve(ctx.cwd, opts.keyring), { snapshotStore: snapshotStoreDir(ctx, undefined), aptLists: APT_LISTS });
      const checks = planDoctorChecks({
        libvirtUri: nonEmpty(opts.libvirtUri) ?? nonEmpty(ctx.env.LIBVIRT_DEFAULT_URI) ?? DEFAULT_LIBVIRT_URI,
        netns: nonEmpty(ctx.env.TAILS_BUILD_NETNS) ?? DEFAULT_NETNS,
        ...(ctx.uid === undefined || ctx.uid === 0 ? {} : { user: ctx.env.USER ?? ctx.env.LOGNAME ?? `uid ${String(ctx.uid)}` }),
        // The node running us is the one that matters; cli/ is where process facts are read.
        nodeVersion: process.versions.node,
        keyring,
      });
      const report = await runDoctor(deps, checks);
      // What killed runs left: informational, never a failure.
      const orphaned = (await findRuns(deps, cacheRoot(ctx))).filter((r) => r.run.verdict === 'orphaned').map((r) => r.run);
      const leftovers = { orphanedVms: orphaned.map((r) => ({ domain: r.domain, checkout: r.checkout, pid: r.pid, startedAt: r.startedAt })), hint: orphaned.length === 0 ? null : 'tails-build vm prune' };
      if (globals.json) deps.out.data({ ...report, leftovers });
      else {
        for (const line of formatDoctorReport(report)) deps.out.line(line);
        if (orphaned.length > 0) {
          deps.out.line(`${String(orphaned.length)} build VM(s) left by builds that were killed: ${orphaned.map((r) => `${r.domain} (pid ${String(r.pid)} gone, ${r.checkout})`).join(', ')}. Remove them with: tails-build vm prune`);
        }
      }
      const missing = missingRequired(report);
      if (missing.length > 0) throw doctorMessages.prerequisitesMissing(missing);
    });
}

/** The text table: status, check, detail; the fix on its own line under anything missing. */
export function formatDoctorReport(report: DoctorReport): string[] {
  const titles = report.checks.map((c) => titleOf(c));
  const width = Math.max(...titles.map((t) => t.length));
  const lines: string[] = [];
  report.checks.forEach((check, i) => {
    const status = check.ok ? 'ok' : 'missing';
    lines.push(`${status.padEnd(8)} ${(titles[i] ?? '').padEnd(width)}  ${check.detail}`);
    if (check.hint !== null) lines.push(`${' '.repeat(9 + width + 2)}fix: ${check.hint}`);
  });
  const missing = missingRequired(report);
  lines.push('', missing.length === 0 ? doctorMessages.summary.allOk : doctorMessages.summary.missing(missing));
  return lines;
}

function titleOf(check: { readonly title: string; readonly required: boolean }): string {
  return check.required ? check.title : `${check.title} (optional)`;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
