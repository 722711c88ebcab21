import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judgeKvmProbe, planPostProbe } from '../../src/core/accelerator.js';
import { planSmokeVagrantfile, rubyString } from '../../src/core/vagrantfile.js';

describe('judgeKvmProbe', () => {
  const ok = { exists: true, writable: true };
  const run = (exitCode: number, seconds: number, stderr = ''): { result: { exitCode: number; stdout: string; stderr: string }; seconds: number } => ({ result: { exitCode, stdout: '', stderr }, seconds });
  it('KVM when the firmware self test runs under it about as fast as under TCG', () => {
    assert.equal(judgeKvmProbe(ok, run(0, 0.12), run(0, 0.09)).accelerator, 'kvm');
    assert.equal(judgeKvmProbe(ok, run(0, 0.3), run(0, 0.05)).accelerator, 'kvm', 'KVM start-up costs a little');
  });
  it('TCG when KVM only emulates (paravirtual KVM that crawls), with both times', () => {
    const choice = judgeKvmProbe(ok, run(0, 1.32), run(0, 0.08));
    assert.equal(choice.accelerator, 'tcg');
    assert.match(choice.reason, /emulated, not accelerated \(the firmware self test took 1\.32 s under KVM, 0\.08 s under TCG\)/);
  });
  it('TCG, with QEMU’s reason, when it aborts at once (paravirtual KVM)', () => {
    const choice = judgeKvmProbe(ok, run(134, 0.1, '\nqemu-system-x86_64: error: failed to set MSR 0x10a to 0x69\nAborted\n'));
    assert.equal(choice.accelerator, 'tcg');
    assert.match(choice.reason, /unusable \(qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69\)/);
  });
  it('TCG when the self test does not finish in time', () => {
    assert.match(judgeKvmProbe(ok, run(124, 10)).reason, /did not finish its self test/);
  });
  it('TCG without /dev/kvm or without access to it', () => {
    assert.match(judgeKvmProbe({ exists: false, writable: false }, undefined).reason, /does not exist/);
    assert.match(judgeKvmProbe({ exists: true, writable: false }, undefined).reason, /kvm group/);
  });
  it('probes the firmware with no boot device, exiting by itself, with a timeout', () => {
    const cmd = planPostProbe('kvm');
    assert.deepEqual(cmd.args.slice(0, 4), ['-machine', 'pc,accel=kvm', '-cpu', 'host']);
    assert.ok(cmd.args.includes('-no-reboot') && cmd.args.includes('reboot-timeout=0'));
    assert.equal(cmd.timeoutMs, 10_000);
    assert.deepEqual(planPostProbe('tcg').args.slice(0, 2), ['-machine', 'pc,accel=tcg']);
  });
});

describe('planSmokeVagrantfile', () => {
  const base = { box: 'tails-builder-amd64-bookworm-20261122-abc1234', cpus: 2, memoryMiB: 1024, domainPrefix: 'tb-smoke-1-', serialLog: '/w/serial.log' };
  it('uses qemu64 under TCG and the host CPU under KVM', () => {
    assert.match(planSmokeVagrantfile({ ...base, accelerator: 'tcg' }), /lv\.driver = 'qemu'\n {4}lv\.cpu_mode = 'custom'\n {4}lv\.cpu_model = 'qemu64'/);
    assert.match(planSmokeVagrantfile({ ...base, accelerator: 'kvm' }), /lv\.driver = 'kvm'\n {4}lv\.cpu_mode = 'host-passthrough'/);
  });
  it('never downloads a box and quotes values as Ruby strings', () => {
    const text = planSmokeVagrantfile({ ...base, accelerator: 'tcg', serialLog: "/w/it's.log" });
    assert.match(text, /config\.vm\.box_url = 'http:\/\/127\.0\.0\.1\/dev\/null'/);
    assert.match(text, /:path => '\/w\/it\\'s\.log'/);
  });
  it('boots the box kernel directly when given one, and from the disk otherwise', () => {
    const text = planSmokeVagrantfile({ ...base, accelerator: 'tcg', boot: { kernel: '/pool/k', initrd: '/pool/i', cmdline: "root=UUID=u ro quiet" } });
    assert.match(text, /lv\.kernel = '\/pool\/k'\n {4}lv\.initrd = '\/pool\/i'\n {4}lv\.cmd_line = 'root=UUID=u ro quiet'/);
    assert.doesNotMatch(planSmokeVagrantfile({ ...base, accelerator: 'tcg' }), /lv\.kernel/);
  });
  it('rubyString escapes backslashes and quotes', () => {
    assert.equal(rubyString(`a\\b'c`), `'a\\\\b\\'c'`);
  });
});
