/**
 * Who runs a build VM: each build records its process next to the VM's state
 * (`<cache>/vms/<id>/run.json`), so that a VM whose build process is gone
 * (SIGKILL, a crashed Jenkins agent, a deleted workspace) can be told from a
 * running build's and from one kept on purpose (keeprunning, rescue).
 */
export const RUN_RECORD = 'run.json';

export interface RunRecord {
  readonly pid: number;
  /** The process's start time (/proc/<pid>/stat field 22): a reused PID is not the same process. */
  readonly processStart: string | undefined;
  readonly startedAt: string;
  readonly domain: string;
  readonly rootVolume: string;
  readonly checkout: string;
  /** Set when the build ended and kept its VM (keeprunning, rescue): never pruned. */
  readonly kept: boolean;
}

export type RunVerdict = 'running' | 'kept' | 'orphaned';

/** A run is orphaned when its process is gone (or the PID now belongs to another process) and it did not keep its VM. */
export function judgeRun(record: RunRecord, currentStart: string | undefined): RunVerdict {
  if (record.kept) return 'kept';
  const alive = currentStart !== undefined && (record.processStart === undefined || record.processStart === currentStart);
  return alive ? 'running' : 'orphaned';
}

export function parseRunRecord(text: string): RunRecord | undefined {
  try {
    const r = JSON.parse(text) as Partial<RunRecord>;
    if (typeof r.pid !== 'number' || typeof r.domain !== 'string' || typeof r.rootVolume !== 'string') return undefined;
    return {
      pid: r.pid,
      processStart: typeof r.processStart === 'string' ? r.processStart : undefined,
      startedAt: typeof r.startedAt === 'string' ? r.startedAt : '',
      domain: r.domain,
      rootVolume: r.rootVolume,
      checkout: typeof r.checkout === 'string' ? r.checkout : '',
      kept: r.kept === true,
    };
  } catch {
    return undefined;
  }
}

/** Field 22 (starttime) of /proc/<pid>/stat; the command name (field 2) may hold spaces and parentheses. */
export function parseProcessStart(stat: string): string | undefined {
  const close = stat.lastIndexOf(')');
  if (close === -1) return undefined;
  const fields = stat.slice(close + 2).split(' ');
  // fields[0] is field 3 (state): starttime is field 22, so index 19.
  return fields[19];
}
