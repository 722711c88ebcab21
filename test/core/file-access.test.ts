/** The kernel's read check for another user (QEMU's libvirt-qemu), as a table: mode bits, groups, ACLs. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstDenied, parseGetfacl, pathChain, permsFor, type PathEntry, type Principal } from '../../src/core/file-access.js';

const qemu: Principal = { name: 'libvirt-qemu', uid: 64055, gids: [64055, 994] };
const dir = (path: string, mode: number, extra: Partial<PathEntry> = {}): PathEntry => ({ path, mode, uid: 1000, gid: 1000, ...extra });

describe('permsFor', () => {
  const cases: [string, PathEntry, number][] = [
    ['others bits for a stranger', dir('/home/u', 0o751), 1],
    ['a home dir of 0700 gives nothing', dir('/home/u', 0o700), 0],
    ['the group bits for a member of the owning group', dir('/srv', 0o750, { gid: 994 }), 5],
    ['the owner bits for the owner', dir('/q', 0o500, { uid: 64055 }), 5],
    ['a named user ACL entry, limited by the mask', dir('/home/u', 0o700, { acl: { users: new Map([[64055, 5]]), groups: new Map(), mask: 1 } }), 1],
    ['a named user ACL entry with a full mask', dir('/home/u', 0o700, { acl: { users: new Map([[64055, 5]]), groups: new Map(), mask: 7 } }), 5],
    ['a named group ACL entry', dir('/home/u', 0o700, { acl: { users: new Map(), groups: new Map([[994, 5]]), mask: 5 } }), 5],
    ['an ACL naming others falls back to the others bits', dir('/home/u', 0o705, { acl: { users: new Map([[1, 7]]), groups: new Map(), mask: 7 } }), 5],
  ];
  for (const [name, entry, want] of cases) {
    it(name, () => {
      assert.equal(permsFor(qemu, entry), want);
    });
  }
  it('root may do anything', () => {
    assert.equal(permsFor({ name: 'root', uid: 0, gids: [0] }, dir('/x', 0)), 7);
  });
});

describe('firstDenied', () => {
  it('names the first directory it may not enter, or the file it may not read', () => {
    const chain = [dir('/', 0o755, { uid: 0, gid: 0 }), dir('/home', 0o755, { uid: 0, gid: 0 }), dir('/home/u', 0o700), dir('/home/u/c/.git/HEAD', 0o644)];
    assert.deepEqual(firstDenied(qemu, chain), { path: '/home/u', needs: 'search' });
    assert.equal(firstDenied(qemu, chain.map((e) => (e.path === '/home/u' ? { ...e, mode: 0o711 } : e))), undefined);
    assert.deepEqual(firstDenied(qemu, [dir('/', 0o755), dir('/f', 0o600)]), { path: '/f', needs: 'read' });
  });
  it('walks every directory from / down', () => {
    assert.deepEqual(pathChain('/home/u/c/.git/HEAD'), ['/', '/home', '/home/u', '/home/u/c', '/home/u/c/.git', '/home/u/c/.git/HEAD']);
  });
});

describe('parseGetfacl', () => {
  it('reads named entries and the mask; a minimal ACL counts as none', () => {
    const text = `# file: /home/u
# owner: 1000
# group: 1000
user::rwx
user:64055:r-x
group::---
mask::r-x
other::---

# file: /home/u/c
# owner: 1000
# group: 1000
user::rwx
group::r-x
other::r-x

`;
    const acls = parseGetfacl(text);
    assert.deepEqual([...acls.keys()], ['/home/u']);
    assert.equal(acls.get('/home/u')?.users.get(64055), 5);
    assert.equal(acls.get('/home/u')?.mask, 5);
    assert.equal(acls.get('/home/u')?.group, 0);
  });
});
