/**
 * libvirt's storage pool through virsh (the Node bindings have no pool, volume
 * or stream API): the `default` dir pool vagrant-libvirt uses, its volumes,
 * and which defined domains read them. None of this needs a VM network.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { command, type Command } from '../core/command.js';
import {
  DEFAULT_POOL,
  DEFAULT_POOL_PATH,
  parseDomainDiskFiles,
  parseVolInfoBytes,
  parseVolList,
  parseVolumeFormat,
  parseVolumeBackingPath,
  type DomainDisks,
  type LibvirtPool,
} from '../core/box-store.js';
import { boxStoreMessages } from '../core/messages/index.js';
import { joinErrors } from '../core/errors.js';
import type { Runner } from '../core/ports.js';

export interface LibvirtPoolOptions {
  /** libvirt connection URI; vagrant-libvirt's default is qemu:///system. */
  readonly uri: string;
  readonly pool?: string;
  readonly poolPath?: string;
}

const QUERY_TIMEOUT_MS = 60_000;
/** vol-upload of a 750 MB box takes ~2.4 s here; allow for slow disks. */
const UPLOAD_TIMEOUT_MS = 15 * 60_000;
/** How deep a backing chain is followed (qcow2 over qcow2 over …). */
const MAX_BACKING_DEPTH = 8;

export function virsh(uri: string, args: readonly string[], extra: Partial<Omit<Command, 'file' | 'args'>> = {}): Command {
  return command('virsh', ['-c', uri, ...args], { timeoutMs: QUERY_TIMEOUT_MS, ...extra });
}

export function poolCommands(options: LibvirtPoolOptions) {
  const uri = options.uri;
  const pool = options.pool ?? DEFAULT_POOL;
  const write = { effect: 'write' } as const;
  const read = { effect: 'read' } as const;
  return {
    info: () => virsh(uri, ['pool-info', pool], read),
    define: () => virsh(uri, ['pool-define-as', pool, 'dir', '--target', options.poolPath ?? DEFAULT_POOL_PATH], write),
    build: () => virsh(uri, ['pool-build', pool], write),
    start: () => virsh(uri, ['pool-start', pool], write),
    autostart: () => virsh(uri, ['pool-autostart', pool], write),
    refresh: () => virsh(uri, ['pool-refresh', pool], read),
    volList: () => virsh(uri, ['vol-list', '--pool', pool], read),
    volInfo: (name: string) => virsh(uri, ['vol-info', '--bytes', '--pool', pool, name], read),
    volDelete: (name: string) => virsh(uri, ['vol-delete', '--pool', pool, name], write),
    /** An empty file: vol-upload then writes the image whole (into a pre-sized qcow2 it would leave the old tail). */
    volCreateEmpty: (name: string) => virsh(uri, ['vol-create-as', '--pool', pool, name, '0', '--format', 'raw'], write),
    volCreateQcow2: (name: string, capacityGiB: number) =>
      virsh(uri, ['vol-create-as', '--pool', pool, name, `${String(capacityGiB)}G`, '--format', 'qcow2', '--prealloc-metadata'], write),
    volUpload: (name: string, file: string) => virsh(uri, ['vol-upload', '--pool', pool, name, file], { ...write, timeoutMs: UPLOAD_TIMEOUT_MS }),
    /** By path: libvirt accepts a volume's path as its key. */
    volDumpXml: (name: string) => virsh(uri, ['vol-dumpxml', '--pool', pool, name], read),
    volDumpXmlByPath: (path: string) => virsh(uri, ['vol-dumpxml', path], read),
    listDomains: () => virsh(uri, ['list', '--all', '--name'], read),
    netDumpXml: (name: string) => virsh(uri, ['net-dumpxml', name], read),
    netDefine: (file: string) => virsh(uri, ['net-define', file], write),
    netStart: (name: string) => virsh(uri, ['net-start', name], write),
    domainXml: (domain: string) => virsh(uri, ['dumpxml', domain], read),
  };
}

/** "State: running", "Autostart: yes" of `virsh pool-info`. */
export function parsePoolInfo(output: string): { running: boolean; autostart: boolean } {
  const field = (label: string): string | undefined => new RegExp(`^${label}:\\s+(.*?)\\s*$`, 'm').exec(output)?.[1];
  return { running: field('State') === 'running', autostart: field('Autostart') === 'yes' };
}

export function createLibvirtPool(runner: Runner, options: LibvirtPoolOptions): LibvirtPool {
  const cmd = poolCommands(options);

  async function backingChain(file: string): Promise<string[]> {
    const chain = [file];
    let current = file;
    for (let depth = 0; depth < MAX_BACKING_DEPTH; depth++) {
      const result = await runner.tryRun(cmd.volDumpXmlByPath(current));
      if (result.exitCode !== 0) break; // not a libvirt volume: nothing more we can see
      const backing = parseVolumeBackingPath(result.stdout);
      if (backing === undefined || chain.includes(backing)) break;
      chain.push(backing);
      current = backing;
    }
    return chain;
  }

  return {
    name: options.pool ?? DEFAULT_POOL,
    async hasPool() {
      return (await runner.tryRun(cmd.info())).exitCode === 0;
    },
    async ensurePool() {
      const info = await runner.tryRun(cmd.info());
      if (info.exitCode !== 0) {
        await runner.run(cmd.define());
        await runner.run(cmd.build());
        await runner.run(cmd.start());
        await runner.run(cmd.autostart());
      } else {
        const state = parsePoolInfo(info.stdout);
        if (!state.running) {
          await runner.run(cmd.build()); // creates the directory if it went away; harmless otherwise
          await runner.run(cmd.start());
        }
        if (!state.autostart) await runner.run(cmd.autostart());
      }
      await runner.run(cmd.refresh());
    },
    async listVolumes() {
      return parseVolList((await runner.run(cmd.volList())).stdout);
    },
    async readVolumeInfo(name) {
      const volumes = parseVolList((await runner.run(cmd.volList())).stdout);
      const path = volumes.find((v) => v.name === name)?.path ?? '';
      return { name, path, ...parseVolInfoBytes((await runner.run(cmd.volInfo(name))).stdout) };
    },
    async deleteVolume(name) {
      await runner.run(cmd.volDelete(name));
    },
    async createVolume({ name, capacityGiB }) {
      await runner.run(cmd.volCreateQcow2(name, capacityGiB));
    },
    async uploadVolume({ name, file, format }) {
      await runner.run(cmd.volCreateEmpty(name));
      try {
        await runner.run(cmd.volUpload(name, file));
        // libvirt probes the format of a dir pool's files: it must now see the image's.
        const seen = parseVolumeFormat((await runner.run(cmd.volDumpXml(name))).stdout);
        if (seen !== format) throw boxStoreMessages.uploadedFormat(name, file, format, seen);
      } catch (error) {
        // A half-uploaded volume would be reused silently by vagrant-libvirt: never leave one.
        let cleanup: unknown;
        try {
          await runner.run(cmd.volDelete(name));
        } catch (e) {
          cleanup = e;
        }
        throw joinErrors(error, cleanup);
      }
    },
    async readNetworkXml(name) {
      const shown = await runner.tryRun(cmd.netDumpXml(name));
      return shown.exitCode === 0 ? shown.stdout : undefined;
    },
    async defineNetwork(name, xml) {
      // virsh reads a definition from a file, not from a pipe.
      const dir = await mkdtemp(join(tmpdir(), 'tails-build-network-'));
      try {
        const file = join(dir, `${name}.xml`);
        await writeFile(file, xml);
        await runner.run(cmd.netDefine(file));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      await runner.run(cmd.netStart(name));
    },
    async listDomainDisks(): Promise<readonly DomainDisks[]> {
      const names = (await runner.run(cmd.listDomains())).stdout
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '');
      const result: DomainDisks[] = [];
      for (const domain of names) {
        const xml = await runner.tryRun(cmd.domainXml(domain));
        if (xml.exitCode !== 0) continue; // undefined between list and dumpxml
        const files = new Set<string>();
        for (const source of parseDomainDiskFiles(xml.stdout)) {
          for (const f of await backingChain(source)) files.add(f);
        }
        result.push({ domain, files: [...files] });
      }
      return result;
    },
  };
}
