/**
 * Build VM domains through the libvirt bindings (@unraid/libvirt): lookup,
 * state, list, XML, destroy, undefine, and which domains use a file. Their
 * removal skips `vagrant destroy` (vagrant-libvirt #746 deletes allow_existing
 * disks, i.e. the apt-cacher-ng cache); only the domain's own root volume is
 * deleted, through virsh (the bindings have no pool or volume API).
 *
 * One connection per URI and process, opened on first use (the native module
 * is imported then too), closed when the event loop empties; it holds no
 * handle, so it never keeps the process alive.
 */
import type * as LibvirtModule from '@unraid/libvirt';
import type { Domain, Hypervisor } from '@unraid/libvirt';
import { parseDomainDiskFiles } from '../core/box-store.js';
import { UserError } from '../core/errors.js';
import type { Log, Runner } from '../core/ports.js';
import { virsh } from './libvirt-pool.js';

export type DomainState = 'running' | 'shut off' | 'paused' | 'other' | 'absent';

export interface LibvirtDomains {
  /** 'absent' only when libvirt says there is no such domain; any other failure throws. */
  state(domain: string): Promise<DomainState>;
  /** Names of all defined and running domains. */
  list(): Promise<readonly string[]>;
  /** The domain's XML (live when running); throws when it does not exist. */
  xml(domain: string): Promise<string>;
  /** Destroys (if running) and undefines the domain, then deletes `rootVolume` from `pool` if present. */
  remove(domain: string, rootVolume: string, pool: string): Promise<void>;
  /** Names of defined domains that have `volumePath` among their disks' files. */
  usersOfFile(volumePath: string): Promise<readonly string[]>;
}

export interface LibvirtDomainsOptions {
  readonly runner: Runner;
  /** libvirt connection URI, e.g. qemu:///system. */
  readonly uri: string;
  readonly log: Log;
  /** Writes (destroy, undefine) are only logged. */
  readonly dryRun: boolean;
}

/** libvirt's VIR_ERR_NO_DOMAIN. */
export const VIR_ERR_NO_DOMAIN = 42;
/** virDomainState: VIR_DOMAIN_RUNNING, VIR_DOMAIN_PAUSED, VIR_DOMAIN_SHUTOFF. */
const RUNNING = 1;
const PAUSED = 3;
const SHUT_OFF = 5;

/** What virsh allowed a query; destroy waits for QEMU to die, so writes get more. */
const QUERY_TIMEOUT_MS = 60_000;
const WRITE_TIMEOUT_MS = 120_000;

/** Removal runs in cleanups, also after Ctrl-C: nothing here is cancelled by the signal. */
const KEEP_GOING = { uninterruptible: true } as const;

export function domainStateOf(code: number): DomainState {
  if (code === RUNNING) return 'running';
  if (code === PAUSED) return 'paused';
  if (code === SHUT_OFF) return 'shut off';
  return 'other';
}

/** Whether a domain XML has `path` among its disks' files (`<disk><source file=…>`, backing files included). */
export function domainUsesFile(xml: string, path: string): boolean {
  return parseDomainDiskFiles(xml).includes(path);
}

/** libvirt's error code when the library passed it on, else undefined (2.2.1 passes -1: only the message). */
export function libvirtErrorCode(error: unknown): number | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'number' && code >= 0 ? code : undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

type Lib = typeof LibvirtModule;

let libPromise: Promise<Lib> | undefined;
const connections = new Map<string, Promise<Hypervisor>>();
let closeHookInstalled = false;

function loadLib(): Promise<Lib> {
  libPromise ??= import('@unraid/libvirt').catch((error: unknown) => {
    libPromise = undefined;
    throw new UserError('libvirt-bindings', `The libvirt bindings (@unraid/libvirt) could not be loaded: ${messageOf(error)}`, {
      kind: 'prerequisite',
      hint: 'Rebuild them: npm rebuild @unraid/libvirt (needs libvirt-dev and a C++ toolchain; bootstrap.sh installs them), then: tails-build doctor',
      cause: error,
    });
  });
  return libPromise;
}

/** Closes every open connection once nothing else is left to run (a process.exit() drops them with the socket). */
function installCloseHook(): void {
  if (closeHookInstalled) return;
  closeHookInstalled = true;
  process.once('beforeExit', () => {
    const open = [...connections.values()];
    connections.clear();
    for (const hv of open) {
      void hv.then((h) => h.connectClose()).catch(() => undefined);
    }
  });
}

function connection(uri: string): { hv: Promise<Hypervisor>; reused: boolean } {
  const existing = connections.get(uri);
  if (existing !== undefined) return { hv: existing, reused: true };
  installCloseHook();
  const hv = (async () => {
    const lib = await loadLib();
    const h = new lib.Hypervisor({ uri });
    await h.connectOpen();
    return h;
  })();
  connections.set(uri, hv);
  hv.catch(() => {
    if (connections.get(uri) === hv) connections.delete(uri);
  });
  return { hv, reused: false };
}

/** Forgets a connection that failed or hung: the next call opens a new one (libvirtd may have restarted). */
function dropConnection(uri: string, hv: Promise<Hypervisor>): void {
  if (connections.get(uri) !== hv) return;
  connections.delete(uri);
  void hv.then((h) => h.connectClose()).catch(() => undefined);
}

/** Internal: the looked-up domain does not exist (never leaves this module). */
class DomainGone extends Error {}

class LibvirtTimeout extends Error {
  constructor(ms: number) {
    super(`no answer within ${String(ms / 1000)} s`);
  }
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new LibvirtTimeout(ms));
    }, ms);
  });
  work.catch(() => undefined); // a late failure after the timeout is not unhandled
  return Promise.race([work, timeout]).finally(() => {
    clearTimeout(timer);
  });
}

export function createLibvirtDomains(options: LibvirtDomainsOptions): LibvirtDomains {
  const { runner, uri, log } = options;

  function failure(what: string, error: unknown): UserError {
    if (error instanceof UserError) return error;
    return new UserError('libvirt', `libvirt at ${uri} could not ${what}: ${messageOf(error)}`, {
      kind: 'external',
      hint: `Check that libvirt answers: virsh -c '${uri}' uri; then: tails-build doctor`,
      cause: error,
    });
  }

  /**
   * Runs `work` on the process's connection. A call that fails on a connection
   * opened earlier is retried once on a new one (libvirtd may have restarted
   * since; destroy and undefine are safe to repeat: remove() re-checks the
   * state); a timeout is not retried. Errors name `what` and the URI.
   */
  async function call<T>(what: string, kind: 'read' | 'write', work: (hv: Hypervisor) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const { hv, reused } = connection(uri);
      try {
        const h = await withTimeout(hv, QUERY_TIMEOUT_MS);
        return await withTimeout(work(h), kind === 'read' ? QUERY_TIMEOUT_MS : WRITE_TIMEOUT_MS);
      } catch (error) {
        if (error instanceof DomainGone) throw error;
        dropConnection(uri, hv);
        if (reused && attempt === 0 && !(error instanceof LibvirtTimeout)) {
          log.debug(`libvirt: ${what} failed on the open connection (${messageOf(error)}); reconnecting to ${uri}`);
          continue;
        }
        throw failure(what, error);
      }
    }
  }

  async function names(hv: Hypervisor): Promise<string[]> {
    const domains = await hv.connectListAllDomains();
    return Promise.all(domains.map((d) => hv.domainGetName(d)));
  }

  /**
   * Whether a failed call on `domain` means it does not exist: libvirt's
   * VIR_ERR_NO_DOMAIN when the library passes codes on; with 2.2.1 (code -1
   * always) only when a fresh listing, which must itself succeed, lacks it.
   */
  async function isNoDomain(hv: Hypervisor, domain: string, error: unknown): Promise<boolean> {
    const code = libvirtErrorCode(error);
    if (code !== undefined) return code === VIR_ERR_NO_DOMAIN;
    return !(await names(hv)).includes(domain);
  }

  /** Runs `work` on the domain; resolves `undefined` when there is no such domain. */
  async function onDomain<T>(domain: string, what: string, kind: 'read' | 'write', work: (hv: Hypervisor, d: Domain) => Promise<T>): Promise<T | undefined> {
    try {
      return await call(`${what} the domain ${domain}`, kind, async (hv) => {
        try {
          return await work(hv, await hv.domainLookupByName(domain));
        } catch (error) {
          if (await isNoDomain(hv, domain, error)) throw new DomainGone();
          throw error;
        }
      });
    } catch (error) {
      if (error instanceof DomainGone) return undefined;
      throw error;
    }
  }

  async function state(domain: string): Promise<DomainState> {
    const info = await onDomain(domain, 'get the state of', 'read', (hv, d) => hv.domainGetInfo(d));
    return info === undefined ? 'absent' : domainStateOf(info.state);
  }

  async function write(domain: string, what: string, work: (hv: Hypervisor, d: Domain) => Promise<void>): Promise<boolean> {
    if (options.dryRun) {
      log.info(`[dry-run] would ${what} the libvirt domain ${domain} (${uri})`);
      return true;
    }
    log.debug(`libvirt: ${what} ${domain} (${uri})`);
    return (await onDomain(domain, what, 'write', async (hv, d) => {
      await work(hv, d);
      return true;
    })) === true;
  }

  return {
    state,
    list: () => call('list its domains', 'read', names),
    async xml(domain) {
      const xml = await onDomain(domain, 'read the XML of', 'read', (hv, d) => hv.domainGetXMLDesc(d));
      if (xml === undefined) throw failure(`read the XML of the domain ${domain}`, new Error(`no domain named ${domain}`));
      return xml;
    },
    async remove(domain, rootVolume, pool) {
      const before = await state(domain);
      if (before !== 'absent') {
        if (before !== 'shut off') {
          try {
            await write(domain, 'destroy', (hv, d) => hv.domainDestroy(d));
          } catch (error) {
            // It may have stopped on its own meanwhile: only a domain still up is a failure.
            const now = await state(domain);
            if (now !== 'shut off' && now !== 'absent') throw error;
          }
        }
        // The bindings' undefine takes no flags: a domain with NVRAM (UEFI) needs virsh's --nvram.
        const persistent = await onDomain(domain, 'read the XML of', 'read', async (hv, d) => hv.domainGetXMLDesc(d, (await loadLib()).DomainGetXMLDescFlags.INACTIVE));
        if (persistent !== undefined && /<nvram\b/.test(persistent)) {
          await runner.run(virsh(uri, ['undefine', domain, '--nvram'], { effect: 'write' }), KEEP_GOING);
        } else if (persistent !== undefined) {
          await write(domain, 'undefine', (hv, d) => hv.domainUndefine(d));
        }
      }
      const vol = await runner.tryRun(virsh(uri, ['vol-info', '--pool', pool, rootVolume], { effect: 'read' }), KEEP_GOING);
      if (vol.exitCode === 0) await runner.run(virsh(uri, ['vol-delete', '--pool', pool, rootVolume], { effect: 'write' }), KEEP_GOING);
    },
    usersOfFile(volumePath) {
      return call(`list the domains using ${volumePath}`, 'read', async (hv) => {
        const users: string[] = [];
        for (const d of await hv.connectListAllDomains()) {
          const name = await hv.domainGetName(d);
          let xml: string;
          try {
            xml = await hv.domainGetXMLDesc(d);
          } catch (error) {
            if (await isNoDomain(hv, name, error)) continue; // undefined since the listing
            throw error;
          }
          if (domainUsesFile(xml, volumePath)) users.push(name);
        }
        return users;
      });
    },
  };
}
