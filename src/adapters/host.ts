import { readdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism, freemem } from 'node:os';
import { parseProcessStart } from '../core/vm-run.js';
import type { Host } from '../core/ports.js';

export const systemHost: Host = {
  cpuCount: () => availableParallelism(),
  availableMemoryMiB: () => parseMemAvailableMiB(readFileSync('/proc/meminfo', 'utf8')) ?? Math.floor(freemem() / 1048576),
  pid: () => process.pid,
  uid: () => process.getuid?.() ?? 0,
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
export function libvirtdNetns(pidFile = '/run/libvirtd.pid', netnsDir = '/run/netns', hintFile = VM_NETNS_HINT): string | undefined {
  try {
    const pid = readFileSync(pidFile, 'utf8').trim();
    if (!/^\d+$/.test(pid)) return undefined;
    try {
      return netnsOf(`/proc/${pid}/ns/net`, netnsDir);
    } catch {
      // Another user's process (root's libvirtd, seen by a member of the libvirt group):
      // its namespace is not ours to read; bootstrap.sh wrote down where it started it.
      const hinted = readFileSync(hintFile, 'utf8').trim();
      return /^[A-Za-z0-9_.-]+$/.test(hinted) ? hinted : undefined;
    }
  } catch {
    // no libvirtd, no namespaces: nothing to follow
  }
  return undefined;
}

/** Where bootstrap.sh writes the name of the namespace it started libvirtd in (world-readable). */
export const VM_NETNS_HINT = '/run/tails-build/vm-netns';

/** The named network namespace this process runs in, or undefined (the host's, or an unnamed one). */
export function ownNetns(netnsDir = '/run/netns'): string | undefined {
  try {
    return netnsOf('/proc/self/ns/net', netnsDir);
  } catch {
    return undefined;
  }
}

function netnsOf(nsPath: string, netnsDir: string): string | undefined {
  const own = statSync(nsPath);
  for (const name of readdirSync(netnsDir)) {
    const ns = statSync(`${netnsDir}/${name}`);
    if (ns.ino === own.ino && ns.dev === own.dev) return name;
  }
  return undefined;
}
