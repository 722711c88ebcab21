/**
 * Vagrant's box store: `vagrant box add/remove/list` as Command values, run by
 * the Runner, and the unpacked box files under VAGRANT_HOME. Box commands need
 * no network; commands that do (`vagrant up`, `ssh`) are wrapped with
 * `inNetns` by their callers when VM networks live in a namespace.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { command, type Command } from '../core/command.js';
import { InterruptedError } from '../core/errors.js';
import {
  type BoxBootFiles,
  escapeBoxName,
  parseDpkgStatusVersion,
  parsePluginListVersion,
  parseVagrantBoxList,
  type PluginVersion,
  type VagrantBox,
  type VagrantBoxes,
  type VagrantBoxImage,
} from '../core/box-store.js';
import type { Runner } from '../core/ports.js';

export const LIBVIRT_PROVIDER = 'libvirt';

export interface VagrantOptions {
  /** VAGRANT_HOME as the CLI resolved it (env VAGRANT_HOME, else ~/.vagrant.d). */
  readonly vagrantHome: string;
}

/** Unpacking a ~750 MB box takes seconds; allow for slow disks. */
const BOX_ADD_TIMEOUT_MS = 15 * 60_000;
const BOX_QUERY_TIMEOUT_MS = 2 * 60_000;

function vagrantEnv(options: VagrantOptions): Record<string, string> {
  // Vagrant Cloud is unreachable on build hosts: never let vagrant ask it for updates.
  return { VAGRANT_HOME: options.vagrantHome, VAGRANT_CHECKPOINT_DISABLE: '1', VAGRANT_NO_COLOR: '1' };
}

export function boxListCommand(options: VagrantOptions): Command {
  return command('vagrant', ['box', 'list', '--machine-readable'], { effect: 'read', env: vagrantEnv(options), timeoutMs: BOX_QUERY_TIMEOUT_MS });
}

export function boxAddCommand(options: VagrantOptions, name: string, file: string, flags: { force: boolean }): Command {
  return command('vagrant', ['box', 'add', '--name', name, ...(flags.force ? ['--force'] : []), '--provider', LIBVIRT_PROVIDER, file], {
    env: vagrantEnv(options),
    effect: 'write',
    timeoutMs: BOX_ADD_TIMEOUT_MS,
  });
}

export function boxRemoveCommand(options: VagrantOptions, name: string): Command {
  return command('vagrant', ['box', 'remove', '--force', '--all', '--provider', LIBVIRT_PROVIDER, name], {
    env: vagrantEnv(options),
    effect: 'write',
    timeoutMs: BOX_QUERY_TIMEOUT_MS,
  });
}

/** The plugins vagrant loads (Debian's system plugins and any in VAGRANT_HOME), with their versions. */
export function pluginListCommand(options: VagrantOptions): Command {
  return command('vagrant', ['plugin', 'list', '--machine-readable'], { effect: 'read', env: vagrantEnv(options), timeoutMs: BOX_QUERY_TIMEOUT_MS });
}

/** Debian's vagrant-libvirt package: its status and version ("install ok installed\t0.11.2-1"). */
export function dpkgPluginVersionCommand(): Command {
  return command('dpkg-query', ['-W', '-f', '${Status}\t${Version}', 'vagrant-libvirt'], { effect: 'read', timeoutMs: 30_000 });
}

/**
 * The vagrant-libvirt version vagrant loads: `vagrant plugin list` first (what
 * vagrant itself sees, a plugin in VAGRANT_HOME included), else Debian's package
 * (`dpkg-query`); version undefined when neither names one. Throws only when
 * interrupted.
 */
export async function readPluginVersion(runner: Runner, options: VagrantOptions): Promise<PluginVersion> {
  const ask = async (cmd: Command, parse: (stdout: string) => string | undefined): Promise<string | undefined> => {
    try {
      const result = await runner.tryRun(cmd);
      return result.exitCode === 0 ? parse(result.stdout) : undefined;
    } catch (error) {
      if (error instanceof InterruptedError) throw error;
      return undefined;
    }
  };
  const listed = await ask(pluginListCommand(options), (out) => parsePluginListVersion(out));
  if (listed !== undefined) return { version: listed, source: 'vagrant plugin list' };
  const packaged = await ask(dpkgPluginVersionCommand(), parseDpkgStatusVersion);
  if (packaged !== undefined) return { version: packaged, source: 'dpkg-query -W vagrant-libvirt' };
  return { version: undefined, source: 'neither vagrant plugin list nor dpkg-query -W vagrant-libvirt' };
}

/** The directory vagrant unpacks a box into: VAGRANT_HOME/boxes/<escaped name>/<version>/<provider>. */
export function boxDirectory(options: VagrantOptions, box: VagrantBox): string {
  return join(options.vagrantHome, 'boxes', escapeBoxName(box.name), box.version, box.provider);
}

export function createVagrant(runner: Runner, options: VagrantOptions): VagrantBoxes {
  return {
    async listBoxes() {
      const { stdout } = await runner.run(boxListCommand(options));
      return parseVagrantBoxList(stdout);
    },
    async addBox(name, file, flags) {
      await runner.run(boxAddCommand(options, name, file, flags));
    },
    async isBoxFile(file) {
      return stat(file).then(
        (s) => s.isFile(),
        () => false,
      );
    },
    async removeBox(name) {
      await runner.run(boxRemoveCommand(options, name));
    },
    readPluginVersion() {
      return readPluginVersion(runner, options);
    },
    async readBoxImage(box): Promise<VagrantBoxImage | undefined> {
      const dir = boxDirectory(options, box);
      const path = join(dir, 'box.img');
      let info;
      try {
        info = await stat(path);
      } catch {
        return undefined;
      }
      return {
        path,
        sizeBytes: info.size,
        mtimeSeconds: Math.floor(info.mtimeMs / 1000),
        virtualSizeGiB: await readVirtualSizeGiB(join(dir, 'metadata.json')),
        boot: await readBootFiles(dir),
      };
    },
  };
}

async function readVirtualSizeGiB(path: string): Promise<number | undefined> {
  try {
    const metadata = JSON.parse(await readFile(path, 'utf8')) as { virtual_size?: unknown };
    return typeof metadata.virtual_size === 'number' ? metadata.virtual_size : undefined;
  } catch {
    return undefined;
  }
}

/** The box's vmlinuz, initrd.img and cmdline members, when it has all three (boxes tails-build made). */
async function readBootFiles(dir: string): Promise<BoxBootFiles | undefined> {
  const kernel = join(dir, 'vmlinuz');
  const initrd = join(dir, 'initrd.img');
  try {
    const [cmdline] = await Promise.all([readFile(join(dir, 'cmdline'), 'utf8'), stat(kernel), stat(initrd)]);
    const line = cmdline.trim();
    return line === '' ? undefined : { kernel, initrd, cmdline: line };
  } catch {
    return undefined;
  }
}
