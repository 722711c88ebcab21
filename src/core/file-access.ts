/**
 * Whether another user may reach a file: the kernel's permission check
 * (POSIX mode bits and access ACLs), computed from what stat and getfacl say.
 * The build needs it for QEMU (libvirt-qemu) reading the checkout shared over
 * 9p; root asks the kernel directly (runuser), any other user cannot, so it
 * computes the same answer from the path's chain.
 */

export interface Principal {
  readonly name: string;
  readonly uid: number;
  readonly gids: readonly number[];
}

/** An access ACL's extra entries (getfacl --numeric): named users and groups, the owning group, the mask. */
export interface AccessAcl {
  readonly users: ReadonlyMap<number, number>;
  readonly groups: ReadonlyMap<number, number>;
  /** The owning group's entry (with an ACL, the mode's group bits are the mask). */
  readonly group?: number;
  readonly mask?: number;
}

export interface PathEntry {
  readonly path: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly acl?: AccessAcl;
}

const R = 4;
const X = 1;

/** The rwx bits `who` gets on one entry (0–7), as the kernel computes them. */
export function permsFor(who: Principal, entry: PathEntry): number {
  if (who.uid === 0) return 7;
  if (who.uid === entry.uid) return (entry.mode >> 6) & 7;
  const acl = entry.acl;
  if (acl === undefined) {
    if (who.gids.includes(entry.gid)) return (entry.mode >> 3) & 7;
    return entry.mode & 7;
  }
  const mask = acl.mask ?? 7;
  const named = acl.users.get(who.uid);
  if (named !== undefined) return named & mask;
  let matched = false;
  let union = 0;
  if (who.gids.includes(entry.gid)) {
    matched = true;
    union |= acl.group ?? (entry.mode >> 3) & 7;
  }
  for (const [gid, perms] of acl.groups) {
    if (who.gids.includes(gid)) {
      matched = true;
      union |= perms;
    }
  }
  if (matched) return union & mask;
  return entry.mode & 7;
}

/** The first entry of the chain (every directory from / down, then the file) that stops `who` reading the file; undefined when none does. */
export function firstDenied(who: Principal, chain: readonly PathEntry[]): { readonly path: string; readonly needs: 'search' | 'read' } | undefined {
  for (const [i, entry] of chain.entries()) {
    const last = i === chain.length - 1;
    const need = last ? R : X;
    if ((permsFor(who, entry) & need) === 0) return { path: entry.path, needs: last ? 'read' : 'search' };
  }
  return undefined;
}

/** Every directory from / down to `path`'s parent, then `path`. */
export function pathChain(path: string): string[] {
  const parts = path.split('/').filter((p) => p !== '');
  return ['/', ...parts.map((_, i) => `/${parts.slice(0, i + 1).join('/')}`)];
}

/** Parses `getfacl --absolute-names --numeric` output of several files (blank-line separated, "# file:" headers). */
export function parseGetfacl(text: string): Map<string, AccessAcl> {
  const result = new Map<string, AccessAcl>();
  for (const block of text.split(/\n\s*\n/)) {
    const file = /^# file: (.*)$/m.exec(block)?.[1];
    if (file === undefined) continue;
    const users = new Map<number, number>();
    const groups = new Map<number, number>();
    let group: number | undefined;
    let mask: number | undefined;
    for (const line of block.split('\n')) {
      const m = /^(user|group|mask|other):(\d*):([r-])([w-])([x-])/.exec(line.trim());
      if (m === null) continue;
      const perms = (m[3] === 'r' ? 4 : 0) | (m[4] === 'w' ? 2 : 0) | (m[5] === 'x' ? 1 : 0);
      const id = m[2] ?? '';
      if (m[1] === 'user' && id !== '') users.set(Number(id), perms);
      else if (m[1] === 'group' && id !== '') groups.set(Number(id), perms);
      else if (m[1] === 'group') group = perms;
      else if (m[1] === 'mask') mask = perms;
    }
    // Only an extended ACL changes the answer; a minimal one is the mode bits.
    if (users.size > 0 || groups.size > 0 || mask !== undefined) result.set(unescapeOctal(file), { users, groups, ...(group === undefined ? {} : { group }), ...(mask === undefined ? {} : { mask }) });
  }
  return result;
}

function unescapeOctal(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}
