import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judgeKvmProbe, planKvmProbe } from '../../src/core/accelerator.js';
import { planSmokeVagrantfile, rubyString } from '../../src/core/vagrantfile.js';

describe('judgeKvmProbe', () => {
  const ok = { exists: true, writable: true };
  it('KVM when QEMU is still running at the probe timeout', () => {
    assert.equal(judgeKvmProbe(ok, { exitCode: 124, stdout: '', stderr: '' }).accelerator, 'kvm');
  });
  it('TCG, with QEMU’s reason, when it aborts at once (paravirtual KVM)', () => {
    const choice = judgeKvmProbe(ok, {
      exitCode: 134,
      stdout: '',
      stderr: '\nqemu-system-x86_64: error: failed to set MSR 0x10a to 0x69\nAborted\n',
    });
    assert.equal(choice.accelerator, 'tcg');
    assert.match(choice.reason, /unusable \(qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69\)/);
  });
  it('TCG without /dev/kvm or without access to it', () => {
    assert.match(judgeKvmProbe({ exists: false, writable: false }, undefined).reason, /does not exist/);
    assert.match(judgeKvmProbe({ exists: true, writable: false }, undefined).reason, /kvm group/);
  });
  it('probes with the host CPU, paused, with a timeout', () => {
    const cmd = planKvmProbe();
    assert.ok(cmd.args.includes('-S'));
    assert.deepEqual(cmd.args.slice(0, 4), ['-machine', 'q35,accel=kvm', '-cpu', 'host']);
    assert.equal(cmd.timeoutMs, 3000);
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
  it('rubyString escapes backslashes and quotes', () => {
    assert.equal(rubyString(`a\\b'c`), `'a\\\\b\\'c'`);
  });
});
