/** `tails-build snapshots mirror|serve`: the local time-based snapshot store. */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { DEBIAN_KEYRING } from '../../core/basebox-build.js';
import { UserError } from '../../core/errors.js';
import type { ProjectConfig } from '../../core/project.js';
import { snapshotStoreMessages as msg } from '../../core/messages/index.js';
import { cacheRoot, depsFor, snapshotStoreDir, vmNetns, type CliContext } from '../context.js';

export function registerSnapshotStore(snapshots: Command, ctx: CliContext): void {
  const storeHelp = `snapshot store directory (default: <cache>/snapshots, i.e. $TAILS_BUILD_CACHE, /var/cache/tails-build for root, else $XDG_CACHE_HOME/tails-build)`;

  snapshots
    .command('mirror')
    .description("take a new serial of archives into the local snapshot store (upstream's signed InRelease and indices, verified, unmodified)")
    .argument('[archive...]', 'archives to mirror (default: every archive of both sets that has an upstream)')
    .option('--store <dir>', storeHelp)
    .option('--new', 'take a new serial even if upstream has not changed since the latest one')
    .option('--keyring <file>', 'keyring gpgv checks InRelease signatures against', DEBIAN_KEYRING)
    .addHelpText(
      'after',
      `
Each archive's upstream: "snapshots.archives.<name>.upstream" in tails-build.json,
else the mirror the host's apt uses for it, else deb.debian.org. The pool is not
mirrored: "snapshots serve" fetches each pool file once, on first request, and
verifies it against the serial's Packages index.

Examples:
  tails-build snapshots mirror                      every archive, prints "archive: serial"
  tails-build snapshots mirror debian-security
  tails-build snapshots mirror && tails-build snapshots freeze --set builder`,
    )
    .action(async (archives: string[], opts: { store?: string; new?: boolean; keyring: string }, cmd: Command) => {
      const [{ loadProject }, { mirrorSnapshots }] = await Promise.all([import('../../app/project.js'), import('../../app/snapshot-mirror.js')]);
      const { deps, globals } = depsFor(ctx, cmd);
      const project = await loadProject(deps, { projectDir: globals.project, cwd: ctx.cwd });
      const results = await mirrorSnapshots(deps, project, { store: snapshotStoreDir(ctx, opts.store), archives, forceNew: opts.new === true, keyring: resolve(ctx.cwd, opts.keyring) });
      if (globals.json) {
        deps.out.data(Object.fromEntries(results.map((r) => [r.archive, { serial: r.serial, reused: r.reused, upstream: r.upstream, suites: r.suites, inRelease: r.inReleaseSha256, files: r.files, bytes: r.bytes }])));
        return;
      }
      for (const r of results) deps.out.line(`${r.archive}: ${r.serial}`);
    });

  snapshots
    .command('serve')
    .description('serve the local snapshot store read-only over HTTP (Tails layout), fetching pool files on first use')
    .option('--store <dir>', storeHelp)
    .option('--listen <host:port>', "address to listen on (default: the project's snapshot base URL, 127.0.0.1:8470)")
    .option('--unix <path>', 'listen on a unix socket instead (for a relay into the VM network namespace)')
    .addHelpText(
      'after',
      `
Logs one line per request to stderr: status, method, path, bytes, and whether it
came from the store or was fetched. Stops cleanly on Ctrl-C or SIGTERM.

Examples:
  tails-build snapshots serve
  tails-build snapshots serve --listen 127.0.0.1:0          a random port (printed)
  tails-build snapshots serve --unix /run/tails-build/snapshots.sock`,
    )
    .option('--netns <name>', 'also serve build VMs whose network lives in this namespace, through a unix socket and a relay inside it (default: TAILS_BUILD_NETNS)')
    .option('--guest-listen <host:port>', 'also listen where build VMs reach the host directly (e.g. the libvirt bridge address on a laptop)')
    .action(async (opts: { store?: string; listen?: string; unix?: string; netns?: string; guestListen?: string }, cmd: Command) => {
      const [{ withCleanup }, { startSnapshotServer }, { serveSnapshotsToGuests }] = await Promise.all([import('../../app/cleanup.js'), import('../../app/snapshot-server.js'), import('../../app/guest-snapshots.js')]);
      const { deps, globals } = depsFor(ctx, cmd);
      const project = await optionalProject(ctx, cmd);
      const listen = parseListen(opts.listen ?? listenOfBaseUrl(project));
      const store = snapshotStoreDir(ctx, opts.store);
      const netns = opts.netns ?? vmNetns(ctx);
      const withProject = project === undefined ? {} : { project };
      await withCleanup(async (cleanup) => {
        const server = await startSnapshotServer(deps, { store, ...withProject, ...(opts.unix === undefined ? { listen } : { unixSocket: resolve(ctx.cwd, opts.unix) }) });
        cleanup.push('close the snapshot server', () => server.close());
        deps.out.info(`Serving ${store} at ${server.url} (Ctrl-C to stop).`);
        const guests: string[] = [];
        if (opts.guestListen !== undefined) {
          const guest = await startSnapshotServer(deps, { store, ...withProject, listen: parseListen(opts.guestListen) });
          cleanup.push('close the guest listener', () => guest.close());
          guests.push(guest.url);
        }
        if (netns !== undefined) {
          const bridged = await serveSnapshotsToGuests(deps, { project, store, netns, cacheRoot: cacheRoot(ctx), self: ctx.self });
          cleanup.push(`stop the relay in ${netns}`, () => bridged.close());
          guests.push(bridged.guestUrl);
        }
        for (const guest of guests) deps.out.info(`Build VMs reach it at ${guest}`);
        if (globals.json) deps.out.data({ url: server.url, store, guests });
        else deps.out.line(server.url);
        const signal = await untilAborted(ctx.signal);
        deps.out.info(`${signal}: closing the snapshot server.`);
      });
    });

  snapshots
    .command('relay', { hidden: true })
    .description('relay TCP connections to a unix socket (run by serve inside a network namespace)')
    .requiredOption('--listen <host:port>', 'where to listen')
    .requiredOption('--unix <path>', 'the unix socket to relay to')
    .action(async (opts: { listen: string; unix: string }, cmd: Command) => {
      const { deps } = depsFor(ctx, cmd);
      const listen = parseListen(opts.listen);
      const relay = await deps.relay.start(listen, opts.unix).catch((error: unknown) => {
        if ((error as { code?: unknown }).code !== 'EADDRINUSE') throw error;
        throw new UserError('relay-port-busy', `Port ${String(listen.port)} on ${listen.host} is already in use in this network namespace: another build VM's snapshot relay, or a running tails-build snapshots serve, serves the guests there.`, {
          kind: 'external',
          hint: 'Wait for that build to end, or stop that snapshots serve (its relay stops with it); builds on one host wait for each other.',
        });
      });
      deps.out.line(`relaying ${relay.address} -> ${opts.unix}`);
      // The build that started us holds our stdin open; when it dies (even by SIGKILL), stop.
      await Promise.race([untilAborted(ctx.signal), untilStdinEnds()]);
      await relay.close();
    });
}

/** The project, when run inside one; serve also works from anywhere. */
async function optionalProject(ctx: CliContext, cmd: Command): Promise<ProjectConfig | undefined> {
  const { loadProject } = await import('../../app/project.js');
  const { deps, globals } = depsFor(ctx, cmd);
  try {
    return await loadProject(deps, { projectDir: globals.project, cwd: ctx.cwd });
  } catch (error) {
    if (globals.project === undefined && error instanceof UserError && error.code === 'not-a-git-repo') return undefined;
    throw error;
  }
}

function listenOfBaseUrl(project: ProjectConfig | undefined): string {
  const url = new URL(project?.snapshots.baseUrl ?? 'http://127.0.0.1:8470/');
  return `${url.hostname}:${url.port === '' ? '80' : url.port}`;
}

export function parseListen(value: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(value);
  const port = Number(m?.[2]);
  if (m?.[1] === undefined || port > 65535) throw msg.badListen(value);
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}

/** Resolves with the name of the first SIGINT or SIGTERM (cli/ owns process signals). */
/** Resolves with the signal's name once SIGINT/SIGTERM aborted the run (main.ts owns the handlers). */
function untilAborted(signal: AbortSignal): Promise<string> {
  return new Promise((resolve) => {
    const done = (): void => {
      resolve(String(signal.reason ?? 'a signal'));
    };
    if (signal.aborted) done();
    else signal.addEventListener('abort', done, { once: true });
  });
}

/** Resolves when stdin ends: the process that started us (and held the pipe) is gone. */
function untilStdinEnds(): Promise<void> {
  return new Promise((resolve) => {
    process.stdin.on('end', () => {
      resolve();
    });
    process.stdin.on('error', () => {
      resolve();
    });
    process.stdin.resume();
  });
}
