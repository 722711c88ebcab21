/**
 * The domain adapter on the libvirt bindings, against the real libvirt
 * (LIBVIRT_DEFAULT_URI, else qemu:///system): a tiny diskful domain of its own,
 * tb-bindings-test-<pid>, defined, started (TCG, boots nothing), found by its
 * disk, removed. Fails, never skips, when libvirt does not answer. Plus the
 * pure parts: disk files from domain XML, states, error codes.
 */
import assert from 'node:assert/strict';
import { tinyDomainXml } from '../helpers/box-store.js';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLibvirtDomains, domainStateOf, domainUsesFile, libvirtErrorCode, VIR_ERR_NO_DOMAIN, type LibvirtDomains } from '../../src/adapters/libvirt-domains.js';
import { createRunner } from '../../src/adapters/runner.js';
import { UserError } from '../../src/core/errors.js';
import type { Log } from '../../src/core/ports.js';
import { makeTempDir } from '../helpers/git-repo.js';

const URI = process.env.LIBVIRT_DEFAULT_URI !== undefined && process.env.LIBVIRT_DEFAULT_URI !== '' ? process.env.LIBVIRT_DEFAULT_URI : 'qemu:///system';
const UNREACHABLE = 'qemu+unix:///system?socket=/nonexistent/sock';
const NAME = `tb-bindings-test-${String(process.pid)}`;

const logged: string[] = [];
const log: Log = { info: (m) => logged.push(m), warn: (m) => logged.push(m), debug: () => undefined };
const runner = createRunner({ log, dryRun: false, path: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', baseEnv: process.env });
function domains(options: { uri?: string; dryRun?: boolean } = {}): LibvirtDomains {
  return createLibvirtDomains({ runner, uri: options.uri ?? URI, log, dryRun: options.dryRun ?? false });
}

function virsh(...args: string[]): string {
  return execFileSync('virsh', ['-c', URI, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}


function assertLibvirtAnswers(): void {
  const probe = spawnSync('virsh', ['-c', URI, 'uri'], { encoding: 'utf8' });
  assert.equal(probe.status, 0, `libvirt does not answer at ${URI}: ${probe.stderr.trim()}`);
}

it(`libvirt answers at ${URI}`, () => {
  assertLibvirtAnswers();
});

describe('libvirt domains through the bindings (real libvirt)', () => {
  const dir = makeTempDir('tb-bindings-test-');
  chmodSync(dir, 0o755); // QEMU runs as libvirt-qemu: it must reach the disk
  const disk = join(dir, 'disk.qcow2');

  before(() => {
    // No skip: a libvirt that does not answer fails the suite here (and the test above).
    assertLibvirtAnswers();
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', disk, '16M']);
    chmodSync(disk, 0o644);
    const xmlFile = join(dir, 'domain.xml');
    writeFileSync(xmlFile, tinyDomainXml(NAME, disk));
    virsh('define', xmlFile);
  });

  after(() => {
    // Only our own domain; its disk is in our temp dir, not in a pool.
    spawnSync('virsh', ['-c', URI, 'destroy', NAME], { stdio: 'ignore' });
    spawnSync('virsh', ['-c', URI, 'undefine', NAME], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  });

  it('sees a defined domain as shut off, listed, with its XML', async () => {
    const d = domains();
    assert.equal(await d.state(NAME), 'shut off');
    assert.ok((await d.list()).includes(NAME));
    assert.match(await d.xml(NAME), new RegExp(`<name>${NAME}</name>`));
  });

  it('sees it running once started', async () => {
    virsh('start', NAME);
    assert.equal(await domains().state(NAME), 'running');
  });

  it('finds it among the users of its disk file, and not of another file', async () => {
    const d = domains();
    assert.ok((await d.usersOfFile(disk)).includes(NAME));
    assert.ok(!(await d.usersOfFile(join(dir, 'other.qcow2'))).includes(NAME));
    assert.ok(!(await d.usersOfFile(`/elsewhere${disk}`)).includes(NAME));
  });

  it('only says what it would do in dry-run', async () => {
    await domains({ dryRun: true }).remove(NAME, `${NAME}-no-such-volume.img`, 'default');
    assert.equal(await domains().state(NAME), 'running');
    assert.ok(logged.some((l) => l.includes(`would destroy the libvirt domain ${NAME}`)));
  });

  it('removes it (destroy, undefine), after which it is absent', async () => {
    const d = domains();
    await d.remove(NAME, `${NAME}-no-such-volume.img`, 'default');
    assert.equal(await d.state(NAME), 'absent');
    assert.ok(!(await d.list()).includes(NAME));
    assert.notEqual(spawnSync('virsh', ['-c', URI, 'domstate', NAME], { stdio: 'ignore' }).status, 0);
    await d.remove(NAME, `${NAME}-no-such-volume.img`, 'default'); // nothing left to do: no error
  });

  it('says absent for a domain that never existed, and refuses its XML', async () => {
    const d = domains();
    assert.equal(await d.state(`${NAME}-never`), 'absent');
    await assert.rejects(d.xml(`${NAME}-never`), /no domain named/);
  });

  it('throws, naming the URI, when libvirt cannot be reached (never "absent")', async () => {
    const d = domains({ uri: UNREACHABLE });
    await assert.rejects(d.state(NAME), (error: unknown) => {
      assert.ok(error instanceof UserError);
      assert.equal(error.kind, 'external');
      assert.ok(error.message.includes(UNREACHABLE), error.message);
      assert.ok(error.message.includes(NAME), error.message);
      assert.match(error.message, /nonexistent\/sock/); // what libvirt said
      assert.match(error.hint ?? '', /virsh -c .* uri.*tails-build doctor/);
      return true;
    });
    await assert.rejects(d.usersOfFile(disk), /nonexistent/);
  });
});

describe('domain XML and states (pure)', () => {
  const xml = `<domain type='kvm' id='3'>
  <name>builder</name>
  <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type><loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.fd</loader></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/libvirt/images/builder.img' index='2'/>
      <backingStore type='file' index='3'>
        <format type='qcow2'/>
        <source file="/var/lib/libvirt/images/box_0.img"/>
        <backingStore/>
      </backingStore>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='disk'>
      <source file='/var/lib/libvirt/images/a&amp;b &apos;cache&apos;.qcow2'/>
      <target dev='vdb' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'>
      <target dev='sda' bus='sata'/>
    </disk>
    <disk type='volume' device='disk'>
      <source pool='default' volume='vol.img'/>
      <target dev='vdc' bus='virtio'/>
    </disk>
    <serial type='file'><source path='/tmp/serial.log'/></serial>
    <filesystem type='mount'><source dir='/srv/share'/><target dir='share'/></filesystem>
  </devices>
</domain>`;

  it('finds disk files, their backing files, with XML escapes undone', () => {
    assert.ok(domainUsesFile(xml, '/var/lib/libvirt/images/builder.img'));
    assert.ok(domainUsesFile(xml, '/var/lib/libvirt/images/box_0.img'));
    assert.ok(domainUsesFile(xml, "/var/lib/libvirt/images/a&b 'cache'.qcow2"));
  });

  it('matches whole paths only, and only disks', () => {
    assert.ok(!domainUsesFile(xml, 'builder.img'));
    assert.ok(!domainUsesFile(xml, '/lib/libvirt/images/builder.img'));
    assert.ok(!domainUsesFile(xml, '/var/lib/libvirt/images/builder.img.bak'));
    assert.ok(!domainUsesFile(xml, '/tmp/serial.log'));
    assert.ok(!domainUsesFile(xml, '/srv/share'));
    assert.ok(!domainUsesFile(xml, '/usr/share/OVMF/OVMF_CODE.fd'));
    assert.ok(!domainUsesFile(xml, 'vol.img'));
    assert.ok(!domainUsesFile('<domain><name>x</name></domain>', '/x.img'));
  });

  it("maps libvirt's domain states", () => {
    assert.equal(domainStateOf(1), 'running');
    assert.equal(domainStateOf(3), 'paused');
    assert.equal(domainStateOf(5), 'shut off');
    for (const other of [0, 2, 4, 6, 7]) assert.equal(domainStateOf(other), 'other');
  });

  it("reads libvirt's error code only when the library passed one on", () => {
    assert.equal(libvirtErrorCode(Object.assign(new Error('Domain not found'), { code: VIR_ERR_NO_DOMAIN })), 42);
    assert.equal(libvirtErrorCode(Object.assign(new Error('Domain not found'), { code: -1 })), undefined); // @unraid/libvirt 2.2.1
    assert.equal(libvirtErrorCode('Domain not found'), undefined);
    assert.equal(libvirtErrorCode(Object.assign(new Error('x'), { code: 'ENOENT' })), undefined);
  });
});
