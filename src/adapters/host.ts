import { readdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism, freemem } from 'node:os';
import { parseProcessStart } from '../core/vm-run.js';
import type { Host } from '../core/ports.js';

export const systemHost: Host = {
  cpuCount: () => availableParallelism(),
  availableMemoryMiB: () => parseMemAvailableMiB(readFileSync('/proc/meminfo', 'utf8')) ?? Math.floor(freemem() / 1048576),
  pid: () => process.pid,
  processStart: (pid) => {
    try {
      return parseProcessStart(readFileSync(`/proc/${String(pid)}/stat`, 'utf8'));
    } catch {
      return undefined;
    }
  },
};

export function parseMemAvailableMiB(meminfo: string): number | undefined {
  const kib = /^MemAvailable:\s+(\d+) kB$/m.exec(meminfo)?.[1];
  return kib === undefined ? undefined : Math.floor(Number(kib) / 1024);
}

/**
 * The named network namespace (`ip netns add`) the running libvirtd lives in,
 * or undefined (not running, or in the host namespace). VM networks are where
 * libvirtd is: vagrant and ssh must run there too, never reach them from the host.
 */
export function libvirtdNetns(pidFile = '/run/libvirtd.pid', netnsDir = '/run/netns'): string | undefined {
  try {
    const pid = readFileSync(pidFile, 'utf8').trim();
    if (!/^\d+$/.test(pid)) return undefined;
    const own = statSync(`/proc/${pid}/ns/net`);
    for (const name of readdirSync(netnsDir)) {
      const ns = statSync(`${netnsDir}/${name}`);
      if (ns.ino === own.ino && ns.dev === own.dev) return name;
    }
  } catch {
    // no libvirtd, no namespaces, or not ours to read: nothing to follow
  }
  return undefined;
}
