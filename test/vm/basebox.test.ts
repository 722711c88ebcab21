/**
 * The builder box for real: a snapshot taken from the Debian mirror, two
 * `basebox create` runs giving the same sha256, import into vagrant and the
 * libvirt pool, and a boot by vagrant-libvirt (TCG here) answering
 * `vagrant ssh -c true`. Fails — never skips — when a prerequisite is missing.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createBoxSandbox, volumesOf, type BoxSandbox } from '../helpers/box-store.js';
import { createBuilderProject, resultOf, type BuilderProject } from '../helpers/builder-project.js';
import { MAIN, runTailsBuild } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/git-repo.js';
import { describeBuildVm, TEST_CACHE_VOLUME } from './build-vm.js';
import { describeSampleIso } from './sample-iso.js';
import { describeVerifyMismatch } from './verify-mismatch.js';
import { describeNormalUser } from './normal-user.js';
import { describeContribCi } from './contrib-ci.js';
import { describeTailsBuild } from './tails-build.js';
import { SyntaxValidator } from 'fast-xml-validator';
import { assertEventStream } from '../helpers/events.js';
import { libvirtdNetns } from '../../src/adapters/host.js';

// As the tool does: the namespace libvirtd runs in, unless told. Never reach a VM network from the host namespace.
const NETNS = process.env.TAILS_BUILD_NETNS ?? libvirtdNetns();
const CREATE_TIMEOUT = 15 * 60_000;

interface CreateResult {
  event: string;
  name: string;
  boxFile: string;
  sha256: string;
  source: string;
  imported: boolean;
}

let project: BuilderProject;
let sandbox: BoxSandbox;
let cache: string;
let env: Record<string, string>;
let boxName: string | undefined;

before(async () => {
  project = await createBuilderProject();
  sandbox = createBoxSandbox();
  cache = makeTempDir('tb-cache-');
  env = { ...sandbox.env, TAILS_BUILD_CACHE: cache, TAILS_BUILD_CACHE_VOLUME: TEST_CACHE_VOLUME };
  const named = await runTailsBuild(['basebox', 'name'], { cwd: project.repo.root });
  assert.equal(named.code, 0, named.stderr);
  boxName = sandbox.track(named.stdout.trim());
});

after(() => {
  if (boxName !== undefined) spawnSync('vagrant', ['box', 'remove', '--force', boxName], { env: { ...process.env, ...sandbox.env } });
  sandbox.cleanup();
  project.repo.remove();
  rmSync(cache, { recursive: true, force: true });
});

async function create(args: string[], extraEnv: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runTailsBuild(['--json', 'basebox', 'create', '--store', project.store, ...args], { cwd: project.repo.root, env: { ...env, ...extraEnv }, timeoutMs: CREATE_TIMEOUT });
}

describe('basebox create (real mmdebstrap, real snapshot)', () => {
  it('builds the same box sha256 twice from the same commit and serials', { timeout: 2 * CREATE_TIMEOUT }, async () => {
    const first = await create(['--no-import', '--output', join(cache, 'first.box'), '--junit', join(cache, 'create.xml')]);
    assert.equal(first.code, 0, first.stderr);
    // The event stream and the JUnit report a CI job reads.
    assertEventStream(first.stdout, 0);
    const junit = readFileSync(join(cache, 'create.xml'), 'utf8');
    SyntaxValidator.validate(junit);
    assert.match(junit, /<testsuite name="tails-build basebox create" tests="\d+" failures="0"/);
    assert.match(junit, /<testcase classname="tails-build.basebox.create" name="tree: /);
    const a = resultOf(first.stdout) as CreateResult;
    assert.equal(a.event, 'result');
    assert.equal(a.name, boxName);
    assert.match(a.sha256, /^[0-9a-f]{64}$/);
    assert.equal(a.source, 'built');

    const second = await create(['--no-import', '--force']);
    assert.equal(second.code, 0, second.stderr);
    const b = resultOf(second.stdout) as CreateResult;
    assert.equal(b.sha256, a.sha256, 'two builds of the same commit and serials must be bit-for-bit identical');

    // --output got the same bytes; the box is a plain tar with fixed members.
    assert.equal(statSync(join(cache, 'first.box')).size, statSync(b.boxFile).size);
    const listing = execFileSync('tar', ['--list', '--verbose', '--numeric-owner', '--file', b.boxFile], { encoding: 'utf8' }).trim().split('\n');
    assert.deepEqual(listing.map((l) => l.split(/\s+/).pop()), ['metadata.json', 'Vagrantfile', 'cmdline', 'vmlinuz', 'initrd.img', 'box.img']);
    // The kernel command line for direct boot is the disk's GRUB entry's.
    const cmdline = execFileSync('tar', ['--extract', '--to-stdout', '--file', b.boxFile, 'cmdline'], { encoding: 'utf8' });
    assert.match(cmdline, /^root=UUID=[0-9a-f-]{36} ro .* quiet\n$/);
    for (const line of listing) assert.match(line, /^-rw-r--r-- 0\/0 /);
    const metadata = JSON.parse(execFileSync('tar', ['--extract', '--to-stdout', '--file', b.boxFile, 'metadata.json'], { encoding: 'utf8' })) as Record<string, unknown>;
    assert.deepEqual(metadata, { provider: 'libvirt', format: 'qcow2', virtual_size: 20 });
  });

  it('imports it once into vagrant and the libvirt pool, and vagrant-libvirt boots it', { timeout: CREATE_TIMEOUT }, async () => {
    const imported = await create([]);
    assert.equal(imported.code, 0, imported.stderr);
    const r = resultOf(imported.stdout) as CreateResult;
    assert.equal(r.source, 'cached');
    assert.equal(r.imported, true);
    assert.deepEqual(sandbox.vagrantBoxes().filter((b) => b === boxName), [boxName]);
    assert.equal(volumesOf(String(boxName)).length, 3, `the image, its kernel and initrd: ${volumesOf(String(boxName)).join(', ')}`);

    // Importing again replaces rather than duplicates.
    const again = await runTailsBuild(['basebox', 'import', r.boxFile, '--name', String(boxName)], { cwd: project.repo.root, env, timeoutMs: CREATE_TIMEOUT });
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(sandbox.vagrantBoxes().filter((b) => b === boxName), [boxName]);
    assert.equal(volumesOf(String(boxName)).length, 3);

    const vm = join(sandbox.dir, 'vm');
    mkdirSync(vm);
    writeFileSync(join(vm, 'Vagrantfile'), testVagrantfile(String(boxName)));
    const vagrant = (...args: string[]): ReturnType<typeof spawnSync> => {
      const [file, argv] = NETNS === undefined ? ['vagrant', args] : ['ip', ['netns', 'exec', NETNS, 'vagrant', ...args]];
      return spawnSync(file, argv, { cwd: vm, env: { ...process.env, ...sandbox.env }, encoding: 'utf8', timeout: 10 * 60_000 });
    };
    try {
      const up = vagrant('up', '--provider=libvirt');
      assert.equal(up.status, 0, `vagrant up failed:\n${String(up.stdout)}\n${String(up.stderr)}`);
      const ssh = vagrant('ssh', '-c', 'true && cat /etc/hostname && findmnt -no FSTYPE /');
      assert.equal(ssh.status, 0, String(ssh.stderr));
      assert.match(String(ssh.stdout), /tails-builder\s+ext4/);
    } finally {
      vagrant('destroy', '--force');
    }
  });
});

describe('basebox create interrupted', () => {
  it('Ctrl-C during the disk image: exit 130, tmpfs unmounted, work dir removed, cached box untouched', { timeout: CREATE_TIMEOUT }, async () => {
    const cached = join(cache, 'boxes', `${String(boxName)}.box`);
    const before = statSync(cached);
    const child = spawn(process.execPath, [MAIN, '--json', 'basebox', 'create', '--no-import', '--force', '--store', project.store], {
      cwd: project.repo.root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    let sent = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (!sent && d.includes('"id":"image","title"') && d.includes('"status":"started"')) {
        sent = true;
        setTimeout(() => child.kill('SIGINT'), 1500);
      }
    });
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.ok(sent, `the image step never started:\n${stderr}`);
    assert.equal(code, 130, stderr);
    assert.match(stderr, /SIGINT: stopping and cleaning up/);
    const mounts = readFileSync('/proc/self/mounts', 'utf8');
    assert.ok(!mounts.includes(join(cache, 'work')), `a tmpfs is still mounted under ${join(cache, 'work')}`);
    assert.deepEqual(existsSync(join(cache, 'work')) ? readdirSync(join(cache, 'work')) : [], []);
    const after = statSync(cached);
    assert.equal(after.mtimeMs, before.mtimeMs, 'the cached box was touched');
    assert.equal(after.size, before.size);
  });
});

describe('basebox create refuses what it cannot verify', () => {
  it('a tampered pool file: apt rejects it and the message names the file', { timeout: CREATE_TIMEOUT }, async () => {
    const store = tamperedStoreCopy((root) => {
      // Flip one byte of a package every build needs, keeping its size.
      const base = findFile(join(root, 'debian/pool/main/b/base-files'), /^base-files_.*_amd64\.deb$/);
      const data = readFileSync(base);
      rmSync(base); // the copy is a hard link: never write through it
      data[data.length - 100] = (data[data.length - 100] ?? 0) ^ 0xff;
      writeFileSync(base, data);
    });
    try {
      const res = await runTailsBuild(['basebox', 'create', '--no-import', '--force', '--store', store], { cwd: project.repo.root, env, timeoutMs: CREATE_TIMEOUT });
      assert.equal(res.code, 4, res.stderr);
      assert.match(res.stderr, /apt refused the frozen snapshot: \S+base-files_\S+\.deb \(its hash or size does not match the signed index\)/);
      assert.match(res.stderr, /hint: Remove the named file from the snapshot store/);
    } finally {
      rmSync(store, { recursive: true, force: true });
    }
  });

  it('a serial missing from the store whose upstream has moved on', async () => {
    const r = project.repo;
    r.write({
      'definitions/builder/APT_snapshots.d/debian/serial': '2020010101\n',
      'definitions/builder/APT_snapshots.d/debian/SHA256SUMS': `${'0'.repeat(64)}  dists/bookworm/InRelease\n${'1'.repeat(64)}  dists/bookworm-updates/InRelease\n`,
    });
    try {
      const res = await runTailsBuild(['basebox', 'create', '--no-import', '--ignore-changes', '--store', project.store], { cwd: r.root, env });
      assert.notEqual(res.code, 0);
      assert.match(res.stderr, /2020010101/);
      assert.match(res.stderr, /snapshots mirror/);
    } finally {
      r.git('checkout', '--', 'definitions/builder/APT_snapshots.d');
    }
  });

  it('an unreachable upstream for a serial missing from the store', async () => {
    const r = project.repo;
    const config = { snapshots: { baseUrl: 'http://127.0.0.1:8471/', archives: { debian: { upstream: 'http://127.0.0.1:9/debian/' } } } };
    r.write({ 'definitions/builder/APT_snapshots.d/debian/serial': '2020010101\n', 'tails-build.json': JSON.stringify(config) });
    try {
      const res = await runTailsBuild(['basebox', 'create', '--no-import', '--ignore-changes', '--store', project.store], {
        cwd: r.root,
        env: { ...env, TAILS_BUILD_HTTP_RETRIES: '0', TAILS_BUILD_HTTP_TIMEOUT_MS: '3000' },
      });
      assert.equal(res.code, 4, res.stderr);
      assert.match(res.stderr, /127\.0\.0\.1:9/);
    } finally {
      r.git('checkout', '--', '.');
    }
  });

  it('a builder serial that is "latest"', async () => {
    const r = project.repo;
    r.write({ 'definitions/builder/APT_snapshots.d/debian/serial': 'latest\n' });
    try {
      const res = await runTailsBuild(['basebox', 'create', '--no-import', '--ignore-changes', '--store', project.store], { cwd: r.root, env });
      assert.equal(res.code, 3);
      assert.match(res.stderr, /builder serial of debian .* is "latest"/);
      assert.match(res.stderr, /hint: Freeze it and commit: tails-build snapshots freeze --set builder/);
    } finally {
      r.git('checkout', '--', '.');
    }
  });
});

/** A copy of the test store whose pool is hard-linked (instant) and dists copied. */
function tamperedStoreCopy(tamper: (root: string) => void): string {
  const root = makeTempDir('tb-tampered-store-');
  for (const archive of readdirSync(project.store)) {
    const from = join(project.store, archive);
    const to = join(root, archive);
    mkdirSync(to);
    for (const entry of readdirSync(from)) {
      if (entry === 'pool') execFileSync('cp', ['-al', join(from, entry), join(to, entry)]);
      else cpSync(join(from, entry), join(to, entry), { recursive: true });
    }
  }
  tamper(root);
  return root;
}

function findFile(dir: string, pattern: RegExp): string {
  const name = readdirSync(dir).find((n) => pattern.test(n));
  if (name === undefined) throw new Error(`no ${String(pattern)} in ${dir}`);
  return join(dir, name);
}

/** A minimal Vagrantfile for booting the box under test (TCG-safe CPU model, no synced folder). */
function testVagrantfile(box: string): string {
  return `Vagrant.configure("2") do |config|
  config.vm.box = "${box}"
  config.vm.box_url = "http://127.0.0.1/dev/null"
  config.vm.synced_folder ".", "/vagrant", disabled: true
  config.ssh.insert_key = false
  config.vm.boot_timeout = 600
  config.vm.provider :libvirt do |lv|
    lv.driver = "qemu"
    lv.cpu_mode = "custom"
    lv.cpu_model = "qemu64"
    lv.cpus = 2
    lv.memory = 1024
    lv.graphics_type = "none"
    lv.video_type = "none"
    lv.default_prefix = "tb-test-"
    lv.management_network_keep = true
  end
end
`;
}


// The build VM boots the box these tests built and imported (no second create).
describeBuildVm(() => ({ repo: project.repo, store: project.store, env }));
describeSampleIso(() => ({ repo: project.repo, store: project.store, env }));
describeContribCi(() => ({ repo: project.repo, store: project.store, env }));
describeVerifyMismatch(() => ({ repo: project.repo, store: project.store, env }));
describeTailsBuild(() => ({ store: project.store, env, boxFile: join(cache, 'boxes', `${String(boxName)}.box`), serials: project.serials, track: (name) => sandbox.track(name) }));
// Last: a real account builds as itself, from the box file these tests made.
describeNormalUser(() => ({ repo: project.repo, store: project.store, boxFile: join(cache, 'boxes', `${String(boxName)}.box`), boxName: String(boxName), netns: NETNS }));
