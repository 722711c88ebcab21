/**
 * `tails-build vm status`: this checkout's build VM as libvirt and the tool's
 * state dir know it, and the ref it was created for. The ref is the VM's
 * branch lock (core/build-vm.ts#BRANCH_LOCK_FILE), which provisioning writes
 * inside the VM: it is read over ssh when the VM runs, and said unknown otherwise.
 */
import { BRANCH_LOCK_FILE, type VmIdentity } from '../core/build-vm.js';
import { ExternalCommandError } from '../core/errors.js';
import { vmMessages as m } from '../core/messages/index.js';
import { guestSsh, readRunningSettings, type VmAccess } from './build-vm-access.js';
import type { Deps } from './deps.js';

export interface VmStatus {
  readonly domain: string;
  readonly state: string;
  readonly box: string | null;
  /** The ref the VM's branch lock names; null when it could not be read (refNote says why). */
  readonly ref: string | null;
  readonly refNote: string | null;
  readonly stateDir: string;
}

const READ_TIMEOUT = 60_000;

export async function readVmStatus(deps: Pick<Deps, 'domains' | 'disk' | 'runner' | 'vagrantHome'>, access: VmAccess, id: VmIdentity): Promise<VmStatus> {
  const state = await deps.domains.state(id.domain);
  const settings = await readRunningSettings(deps, id);
  const lock = state === 'running' ? await readBranchLock(deps, access, id) : { ref: null, refNote: m.refUnknown.notRunning(state, BRANCH_LOCK_FILE) };
  return { domain: id.domain, state, box: settings?.box ?? null, ...lock, stateDir: id.stateDir };
}

async function readBranchLock(deps: Pick<Deps, 'disk' | 'runner' | 'vagrantHome'>, access: VmAccess, id: VmIdentity): Promise<{ ref: string | null; refNote: string | null }> {
  try {
    const ssh = await guestSsh(deps, access, id);
    const result = await deps.runner.tryRun({ ...ssh(`cat ${BRANCH_LOCK_FILE}`, 'read'), timeoutMs: READ_TIMEOUT });
    const ref = result.stdout.split('\n')[0]?.trim() ?? '';
    if (result.exitCode === 0 && ref !== '') return { ref, refNote: null };
    // A VM never provisioned has no lock: not a failure.
    if (result.stderr.includes('No such file or directory')) return { ref: null, refNote: m.refUnknown.noLock(BRANCH_LOCK_FILE) };
    return { ref: null, refNote: m.refUnknown.unreadable(BRANCH_LOCK_FILE, `exit ${String(result.exitCode)}${result.stderr.trim() === '' ? '' : `: ${result.stderr.trim().split('\n').at(-1) ?? ''}`}`) };
  } catch (error) {
    if (error instanceof ExternalCommandError) return { ref: null, refNote: m.refUnknown.unreadable(BRANCH_LOCK_FILE, error.message) };
    throw error;
  }
}
