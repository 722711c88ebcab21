/**
 * Build VM domains through virsh: their state, and their removal without
 * `vagrant destroy` (vagrant-libvirt #746 deletes allow_existing disks, i.e.
 * the apt-cacher-ng cache). Only the domain's own root volume is deleted.
 */
import type { Runner } from '../core/ports.js';
import { virsh } from './libvirt-pool.js';

export type DomainState = 'running' | 'shut off' | 'paused' | 'other' | 'absent';

export interface LibvirtDomains {
  state(domain: string): Promise<DomainState>;
  /** Destroys (if running) and undefines the domain, then deletes `rootVolume` from `pool` if present. */
  remove(domain: string, rootVolume: string, pool: string): Promise<void>;
  /** Names of defined domains that have `volumePath` among their disks' files. */
  usersOfFile(volumePath: string): Promise<readonly string[]>;
}

export function parseDomState(stdout: string): DomainState {
  const s = stdout.trim();
  if (s === 'running' || s === 'shut off' || s === 'paused') return s;
  return 'other';
}

/** Removal runs in cleanups, also after Ctrl-C: nothing here is cancelled by the signal. */
const KEEP_GOING = { uninterruptible: true } as const;

export function createLibvirtDomains(runner: Runner, uri: string): LibvirtDomains {
  return {
    async state(domain) {
      const result = await runner.tryRun(virsh(uri, ['domstate', domain]), KEEP_GOING);
      if (result.exitCode !== 0) return 'absent';
      return parseDomState(result.stdout);
    },
    async remove(domain, rootVolume, pool) {
      const state = await this.state(domain);
      if (state !== 'absent') {
        if (state !== 'shut off') await runner.tryRun(virsh(uri, ['destroy', domain], { effect: 'write' }), KEEP_GOING);
        await runner.run(virsh(uri, ['undefine', domain, '--nvram'], { effect: 'write' }), KEEP_GOING);
      }
      const vol = await runner.tryRun(virsh(uri, ['vol-info', '--pool', pool, rootVolume]), KEEP_GOING);
      if (vol.exitCode === 0) await runner.run(virsh(uri, ['vol-delete', '--pool', pool, rootVolume], { effect: 'write' }), KEEP_GOING);
    },
    async usersOfFile(volumePath) {
      const names = (await runner.run(virsh(uri, ['list', '--all', '--name']))).stdout
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '');
      const users: string[] = [];
      for (const name of names) {
        const xml = await runner.tryRun(virsh(uri, ['domblklist', name, '--details']));
        if (xml.exitCode === 0 && xml.stdout.split('\n').some((l) => l.trim().endsWith(volumePath))) users.push(name);
      }
      return users;
    },
  };
}
