/**
 * Vagrantfiles tails-build writes, as pure text. Values are embedded as Ruby
 * string literals through `rubyString`, never interpolated raw.
 */
import type { Accelerator } from './accelerator.js';

export interface VmShape {
  readonly box: string;
  readonly accelerator: Accelerator;
  readonly cpus: number;
  readonly memoryMiB: number;
  /** Domain name prefix, so concurrent VMs never share a name. */
  readonly domainPrefix: string;
  /** Where the guest's serial console is logged on the host. */
  readonly serialLog: string;
  /** The box's kernel, initrd and command line to boot directly; undefined: boot from the disk. */
  readonly boot?: { readonly kernel: string; readonly initrd: string; readonly cmdline: string } | undefined;
}

export function rubyString(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

/**
 * A throwaway VM booting the box as is: no synced folder, no provisioning.
 * KVM: host CPU. TCG: qemu64, which a Debian kernel boots reliably in software.
 */
export function planSmokeVagrantfile(vm: VmShape): string {
  const cpu =
    vm.accelerator === 'kvm'
      ? ["    lv.driver = 'kvm'", "    lv.cpu_mode = 'host-passthrough'"]
      : ["    lv.driver = 'qemu'", "    lv.cpu_mode = 'custom'", "    lv.cpu_model = 'qemu64'"];
  return [
    '# Written by tails-build; a throwaway VM that boots the builder box.',
    "Vagrant.configure('2') do |config|",
    `  config.vm.box = ${rubyString(vm.box)}`,
    "  config.vm.box_url = 'http://127.0.0.1/dev/null' # never download a box",
    "  config.vm.synced_folder '.', '/vagrant', disabled: true",
    '  config.ssh.insert_key = false',
    '  config.vm.boot_timeout = 900',
    '  config.vm.provider :libvirt do |lv|',
    ...cpu,
    `    lv.cpus = ${vm.cpus}`,
    `    lv.memory = ${vm.memoryMiB}`,
    "    lv.graphics_type = 'none'",
    "    lv.video_type = 'none'",
    `    lv.default_prefix = ${rubyString(vm.domainPrefix)}`,
    `    lv.serial :type => 'file', :source => { :path => ${rubyString(vm.serialLog)} }`,
    // virtio-rng: the guest's crng is ready in seconds, not ~11 s under TCG (see vagrant/Vagrantfile).
    "    lv.random :model => 'random'",
    // `vagrant destroy` would otherwise remove the network (tails-build's, with dnsmasq no-ping) with the last VM.
    '    lv.management_network_keep = true',
    ...(vm.boot === undefined
      ? []
      : [`    lv.kernel = ${rubyString(vm.boot.kernel)}`, `    lv.initrd = ${rubyString(vm.boot.initrd)}`, `    lv.cmd_line = ${rubyString(vm.boot.cmdline)}`]),
    '  end',
    'end',
    '',
  ].join('\n');
}
