/**
 * What `basebox create` builds a box from, with strict fakes: a Tails-shaped
 * checkout's package list (Tails' vmdb2 spec + what a tails-build VM needs),
 * the fallbacks, and the keyring the builder snapshots are verified with. The
 * last test runs createBasebox up to mmdebstrap (faked: never run) and reads
 * the command it was given.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createBasebox } from '../../src/app/basebox-create.js';
import { BUILD_VM_PACKAGES, resolveBoxDefinition, resolveSnapshotKeyring, TAILS_GUEST_KEYRING, TAILS_KEYRING_FILE } from '../../src/app/box-definition.js';
import type { Deps } from '../../src/app/deps.js';
import { DEBIAN_KEYRING } from '../../src/core/basebox-build.js';
import type { Command } from '../../src/core/command.js';
import { UserError } from '../../src/core/errors.js';
import { resolveProjectConfig, type ProjectConfig } from '../../src/core/project.js';
import { memoryFiles, type MemoryFiles } from '../helpers/files.js';
import { armor } from '../helpers/openpgp-armor.js';
import { TAILS_LIKE_SCRIPT } from '../helpers/tails-builder-script.js';

const ROOT = '/checkout';
const TOOL = '/tool';
const SCRIPT = `${ROOT}/vagrant/definitions/tails-builder/generate-tails-builder-box.sh`;
/** Stands in for Tails' key: a real public key, armored as Tails ships its key file. */
const KEY_PACKETS = new Uint8Array(readFileSync('/usr/share/keyrings/debian-archive-bookworm-stable.gpg'));

/** What TAILS_LIKE_SCRIPT's apt install steps name (its variables left out). */
const TAILS_PACKAGES = ['apt-cacher-ng', 'ca-certificates', 'dbus', 'git', 'grub2', 'linux-image-amd64', 'libimage-magick-perl', 'po4a', 'udisks2', 'gir1.2-udisks-2.0'];

function tailsFiles(extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  return {
    [`${ROOT}/vagrant/lib/tails_build_settings.rb`]: "ARCHITECTURE = 'amd64'.freeze\nDISTRIBUTION = 'bookworm'.freeze\n",
    [SCRIPT]: TAILS_LIKE_SCRIPT,
    [`${ROOT}/vagrant/definitions/tails-builder/config/APT_snapshots.d/debian/serial`]: '2026110101\n',
    [`${ROOT}/vagrant/definitions/tails-builder/config/APT_snapshots.d/debian-security/serial`]: '2026110102\n',
    [`${ROOT}/${TAILS_KEYRING_FILE}`]: armor(KEY_PACKETS),
    [`${TOOL}/definitions/builder/packages`]: '# the tool\'s own list\nsudo\nxorriso\n',
    [`${TOOL}/definitions/builder/customize.sh`]: '#!/bin/sh\n',
    ...extra,
  };
}

function tailsProject(configText?: string): ProjectConfig {
  return resolveProjectConfig({ root: ROOT, hasTailsBoxDefinition: true, tailsSettings: "DISTRIBUTION = 'bookworm'\n", configText });
}

interface Said {
  readonly infos: string[];
  readonly warnings: string[];
}

/** The files port in memory, with the binary reads and writes basebox create makes (a file's bytes are its text's). */
function binaryFiles(initial: Record<string, string>): MemoryFiles & { readonly bytes: Map<string, Uint8Array> } {
  const files = memoryFiles(initial);
  const bytes = new Map<string, Uint8Array>();
  return {
    ...files,
    bytes,
    readBytes: async (path) => {
      const text = files.texts.get(path);
      if (text === undefined) throw new Error(`readBytes ${path}: no such file`);
      return new TextEncoder().encode(text);
    },
    createSparseFile: async (path, size) => {
      assert.equal(size, 0, `createSparseFile ${path}: only empty files are expected`);
      await files.writeText(path, '');
      bytes.set(path, new Uint8Array());
    },
    writeAt: async (path, offset, data) => {
      assert.equal(offset, 0);
      assert.ok(bytes.has(path), `writeAt ${path}: not created`);
      bytes.set(path, data);
    },
  };
}

function fakeDeps(files: MemoryFiles, said: Said = { infos: [], warnings: [] }): Pick<Deps, 'files' | 'disk' | 'out'> {
  const out = {
    info: (m: string) => {
      said.infos.push(m);
    },
    warn: (m: string) => {
      said.warnings.push(m);
    },
  } as unknown as Deps['out'];
  return { files, disk: files, out };
}

describe('resolveBoxDefinition', () => {
  it("a Tails checkout without packages + customize.sh: Tails' list from generate-tails-builder-box.sh, plus what a tails-build VM needs, with tails-build's hook", async () => {
    const said: Said = { infos: [], warnings: [] };
    const definition = await resolveBoxDefinition(fakeDeps(binaryFiles(tailsFiles()), said), tailsProject(), TOOL);
    const added = Object.keys(BUILD_VM_PACKAGES).filter((p) => !TAILS_PACKAGES.includes(p)).sort();
    assert.deepEqual(definition, {
      dir: `${TOOL}/definitions/builder`,
      packages: [...TAILS_PACKAGES, ...added].sort(),
      hook: `${TOOL}/definitions/builder/customize.sh`,
      source: 'tails',
      packagesFrom: SCRIPT,
      added,
    });
    // Tails' packages are all there, and the tool's own list (xorriso) is not taken.
    assert.ok(TAILS_PACKAGES.every((p) => definition.packages.includes(p)));
    assert.ok(!definition.packages.includes('xorriso'));
    assert.ok(added.includes('systemd-sysv') && added.includes('grub-pc-bin') && !added.includes('git'), added.join(' '));
    assert.deepEqual(said.infos, [
      `the box's packages: the 10 of vagrant/definitions/tails-builder/generate-tails-builder-box.sh (its vmdb2 spec's 2 apt install steps), plus ${String(added.length)} a tails-build VM needs (${added.join(', ')}): ${String(definition.packages.length)} in all; customize hook: tails-build's own (/tool/definitions/builder/customize.sh).`,
    ]);
    assert.equal(said.warnings.length, 2);
    assert.match(said.warnings[0] ?? '', /^vagrant\/definitions\/tails-builder\/generate-tails-builder-box\.sh:\d+: "\$\{EXTRA\}" in an apt install step is not a package name \(the shell fills it in, tails-build cannot\); it is not installed\.$/);
  });

  it("a Tails checkout whose script has no apt install step (or none at all): tails-build's default definition, saying why", async () => {
    for (const [files, why] of [
      [tailsFiles({ [SCRIPT]: '#!/bin/sh\n' }), 'has no vmdb2 apt install step naming a package'],
      [Object.fromEntries(Object.entries(tailsFiles()).filter(([path]) => path !== SCRIPT)), 'is missing'],
    ] as const) {
      const said: Said = { infos: [], warnings: [] };
      const definition = await resolveBoxDefinition(fakeDeps(binaryFiles(files), said), tailsProject(), TOOL);
      assert.deepEqual(definition.packages, ['sudo', 'xorriso']);
      assert.equal(definition.source, 'tool');
      assert.deepEqual(said.infos, [
        `vagrant/definitions/tails-builder/generate-tails-builder-box.sh ${why}, and vagrant/definitions/tails-builder has no packages + customize.sh; using tails-build's default builder definition (/tool/definitions/builder).`,
      ]);
    }
  });

  it("a Tails checkout with its own packages + customize.sh keeps them; this tool's projects are as before", async () => {
    const own = tailsFiles({ [`${ROOT}/vagrant/definitions/tails-builder/packages`]: 'vim\n', [`${ROOT}/vagrant/definitions/tails-builder/customize.sh`]: '#!/bin/sh\n' });
    const said: Said = { infos: [], warnings: [] };
    const definition = await resolveBoxDefinition(fakeDeps(binaryFiles(own), said), tailsProject(), TOOL);
    assert.deepEqual([definition.source, definition.packages, definition.hook], ['own', ['vim'], `${ROOT}/vagrant/definitions/tails-builder/customize.sh`]);
    assert.deepEqual(said.infos, []);

    const ours = resolveProjectConfig({ root: ROOT, hasTailsBoxDefinition: false, tailsSettings: undefined, configText: undefined });
    const fallback = await resolveBoxDefinition(fakeDeps(binaryFiles(tailsFiles()), said), ours, TOOL);
    assert.deepEqual([fallback.source, fallback.packages], ['tool', ['sudo', 'xorriso']]);
    assert.deepEqual(said.infos, ["definitions/builder has no packages + customize.sh; using tails-build's default builder definition (/tool/definitions/builder)."]);
  });
});

describe('resolveSnapshotKeyring', () => {
  const archives = ['debian', 'debian-security'];

  it("Tails' server: Tails' key from config/chroot_sources/tails.chroot.gpg, dearmored, for every builder archive", async () => {
    const said: Said = { infos: [], warnings: [] };
    const keyring = await resolveSnapshotKeyring(fakeDeps(binaryFiles(tailsFiles()), said), tailsProject(), archives, '/work/box');
    assert.deepEqual(keyring, { tailsArchives: archives, file: { bytes: KEY_PACKETS, hostPath: '/work/box/tails-archive-keyring.gpg', guestPath: TAILS_GUEST_KEYRING } });
    assert.deepEqual(said.infos, [
      "builder snapshots of debian, debian-security (http://time-based.snapshots.deb.tails.boum.org/) come from Tails' server: mmdebstrap and the box's apt verify them with Tails' key from config/chroot_sources/tails.chroot.gpg (armored, dearmored; 1 key: \"Debian Stable Release Key (12/bookworm) <debian-release@lists.debian.org>\"), in the box as /usr/share/keyrings/tails-archive-keyring.gpg.",
    ]);
  });

  it("a local store (loopback base URL): Debian's keyring, and the key file is not needed", async () => {
    const said: Said = { infos: [], warnings: [] };
    const files = Object.fromEntries(Object.entries(tailsFiles()).filter(([path]) => !path.endsWith('tails.chroot.gpg')));
    const keyring = await resolveSnapshotKeyring(fakeDeps(binaryFiles(files), said), tailsProject('{"snapshots":{"baseUrl":"http://127.0.0.1:8470/"}}'), archives, '/work/box');
    assert.deepEqual(keyring, { tailsArchives: [], file: undefined });
    assert.deepEqual(said.infos, [
      `builder snapshots of debian, debian-security (http://127.0.0.1:8470/) come from the local store, whose signatures are Debian's own (snapshots mirror keeps Debian's InRelease): verified with ${DEBIAN_KEYRING}, not Tails' key.`,
    ]);
  });

  it("one archive local, one on Tails' server: Tails' key for that one only", async () => {
    const project = tailsProject('{"snapshots":{"archives":{"debian-security":{"baseUrl":"http://127.0.0.1:8470/"}}}}');
    const said: Said = { infos: [], warnings: [] };
    const keyring = await resolveSnapshotKeyring(fakeDeps(binaryFiles(tailsFiles()), said), project, archives, '/work/box');
    assert.deepEqual(keyring.tailsArchives, ['debian']);
    assert.equal(said.infos.length, 2);
  });

  it('the key file missing or unreadable when needed: a UserError naming it and the fix', async () => {
    const missing = Object.fromEntries(Object.entries(tailsFiles()).filter(([path]) => !path.endsWith('tails.chroot.gpg')));
    await assert.rejects(resolveSnapshotKeyring(fakeDeps(binaryFiles(missing)), tailsProject(), archives, '/w'), (error: unknown) => {
      assert.ok(error instanceof UserError);
      assert.equal(error.code, 'tails-keyring-missing');
      assert.match(error.message, /^\/checkout\/config\/chroot_sources\/tails\.chroot\.gpg is missing: the builder snapshots come from Tails' server \(http:\/\/time-based\.snapshots\.deb\.tails\.boum\.org\/\)/);
      assert.match(error.hint ?? '', /git checkout HEAD -- config\/chroot_sources\/tails\.chroot\.gpg/);
      assert.match(error.hint ?? '', /snapshots\.baseUrl/);
      return true;
    });
    const garbled = tailsFiles({ [`${ROOT}/${TAILS_KEYRING_FILE}`]: 'not a key\n' });
    await assert.rejects(resolveSnapshotKeyring(fakeDeps(binaryFiles(garbled)), tailsProject(), archives, '/w'), (error: unknown) => {
      assert.ok(error instanceof UserError);
      assert.equal(error.code, 'tails-keyring-invalid');
      assert.match(error.message, /no OpenPGP packet at byte 0/);
      return true;
    });
  });

  it("this tool's own projects: nothing changes (Debian's keyring, nothing said)", async () => {
    const said: Said = { infos: [], warnings: [] };
    const ours = resolveProjectConfig({ root: ROOT, hasTailsBoxDefinition: false, tailsSettings: undefined, configText: '{"snapshots":{"baseUrl":"http://snapshots.example.org/"}}' });
    assert.deepEqual(await resolveSnapshotKeyring(fakeDeps(binaryFiles({}), said), ours, archives, '/w'), { tailsArchives: [], file: undefined });
    assert.deepEqual(said.infos, []);
  });
});

describe('basebox create in a Tails-shaped checkout (mmdebstrap faked)', () => {
  it("mmdebstrap gets Tails' list + the VM's needs, the tool's hook, Tails' key for host and box; the box keeps its name", async () => {
    const files = binaryFiles(tailsFiles());
    const commands: Command[] = [];
    const said: Said = { infos: [], warnings: [] };
    const unexpected = (what: string) => (): Promise<never> => Promise.reject(new Error(`${what}: not expected`));
    const stop = new Error('stop before mmdebstrap');
    const deps = {
      ...fakeDeps(files, said),
      git: {
        readHead: async () => ({ commit: 'f'.repeat(40), branch: 'feature/x', tagsAtHead: [] }),
        readStatus: async () => [],
        findLastCommitTouching: async (_root: string, path: string) => {
          assert.equal(path, 'vagrant/definitions/tails-builder');
          return { shortId: 'f5bd6a877e9', authorDate: '20240902', authorTime: 1725264000 };
        },
        findTopLevel: unexpected('findTopLevel'),
        readCommit: unexpected('readCommit'),
        findMergeBase: unexpected('findMergeBase'),
      },
      runner: {
        which: async (tool: string) => `/usr/bin/${tool}`,
        run: async (cmd: Command) => {
          commands.push(cmd);
          if (cmd.file === 'mmdebstrap') throw stop;
          throw new Error(`run ${cmd.file}: not expected`);
        },
        tryRun: unexpected('tryRun'),
        start: unexpected('start'),
      },
      vagrant: { listBoxes: unexpected('listBoxes') },
      clock: { now: () => new Date('2026-12-03T10:00:00Z') },
    } as unknown as Deps;
    (deps.out as unknown as { progress: object }).progress = { outputLines: false, heartbeatMs: 0, noColor: false };
    (deps.out as unknown as { line: () => void }).line = () => undefined;

    await assert.rejects(
      createBasebox(deps, tailsProject(), {
        ignoreChanges: false,
        force: false,
        import: false,
        output: undefined,
        cacheRoot: '/cache',
        store: '/cache/snapshots',
        toolRoot: TOOL,
        keepWork: true,
        isRoot: true,
        progress: 'silent',
        renderStream: process.stderr,
      }),
      (error: unknown) => error === stop,
    );

    const [mmdebstrap] = commands;
    assert.ok(mmdebstrap !== undefined && commands.length === 1);
    const workDir = `/cache/work/tails-builder-amd64-bookworm-20240902-f5bd6a877e9-${String(process.pid)}`;
    const include = mmdebstrap.args.find((a) => a.startsWith('--include='))?.slice('--include='.length).split(',');
    const added = Object.keys(BUILD_VM_PACKAGES).filter((p) => !TAILS_PACKAGES.includes(p));
    assert.deepEqual(include, [...TAILS_PACKAGES, ...added].sort());
    const hostKeyring = join(workDir, 'tails-archive-keyring.gpg');
    assert.deepEqual(
      mmdebstrap.args.filter((a) => a.startsWith('--customize-hook=')),
      [`--customize-hook=upload ${hostKeyring} ${TAILS_GUEST_KEYRING}`, `--customize-hook=${TOOL}/definitions/builder/customize.sh "$1"`],
    );
    assert.deepEqual(
      mmdebstrap.args.filter((a) => a.startsWith('deb ')),
      [
        `deb [signed-by=${hostKeyring} check-valid-until=no] http://time-based.snapshots.deb.tails.boum.org/debian/2026110101/ bookworm main`,
        `deb [signed-by=${hostKeyring} check-valid-until=no] http://time-based.snapshots.deb.tails.boum.org/debian/2026110101/ bookworm-updates main`,
        `deb [signed-by=${hostKeyring} check-valid-until=no] http://time-based.snapshots.deb.tails.boum.org/debian-security/2026110102/ bookworm-security main`,
      ],
    );
    assert.equal(mmdebstrap.env?.TB_DEFINITION_DIR, `${TOOL}/definitions/builder`);
    // Tails' key, dearmored, where mmdebstrap reads it; the box's apt sources name it in the box.
    assert.deepEqual(files.bytes.get(hostKeyring), KEY_PACKETS);
    const guestSources = files.texts.get(join(workDir, 'snapshots.sources')) ?? '';
    assert.equal(guestSources.match(new RegExp(`^Signed-By: ${TAILS_GUEST_KEYRING}$`, 'gm'))?.length, 2, guestSources);
    assert.ok(said.infos.some((m) => m.startsWith("the box's packages: the 10 of vagrant/definitions/tails-builder/generate-tails-builder-box.sh")), said.infos.join('\n'));
    assert.ok(said.infos.some((m) => m.includes("come from Tails' server")), said.infos.join('\n'));
  });
});
