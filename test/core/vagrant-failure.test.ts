/** What vagrant said when it failed, read out of realistic vagrant 2.3 outputs. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readVagrantFailure } from '../../src/core/vagrant-failure.js';

const G = '/usr/share/rubygems-integration/all/gems/vagrant-2.3.4';
/** The outer frames every `vagrant up` backtrace ends with: what a 20-line tail showed instead of the error. */
const OUTER_FRAMES = [
  `\tfrom ${G}/lib/vagrant/action/warden.rb:48:in \`call'`,
  `\tfrom ${G}/lib/vagrant/action/builtin/box_check_outdated.rb:93:in \`call'`,
  `\tfrom ${G}/lib/vagrant/action/warden.rb:48:in \`call'`,
  `\tfrom ${G}/lib/vagrant/action/builtin/config_validate.rb:25:in \`call'`,
  `\tfrom ${G}/lib/vagrant/action/warden.rb:127:in \`block in finalize_action'`,
  `\tfrom ${G}/lib/vagrant/action/runner.rb:89:in \`block in run'`,
  `\tfrom ${G}/lib/vagrant/util/busy.rb:19:in \`busy'`,
  `\tfrom ${G}/lib/vagrant/action/runner.rb:89:in \`run'`,
  `\tfrom ${G}/lib/vagrant/machine.rb:246:in \`action_raw'`,
  `\tfrom ${G}/lib/vagrant/machine.rb:215:in \`block in action'`,
  `\tfrom ${G}/lib/vagrant/environment.rb:631:in \`lock'`,
  `\tfrom ${G}/lib/vagrant/machine.rb:201:in \`call'`,
  `\tfrom ${G}/lib/vagrant/machine.rb:201:in \`action'`,
  `\tfrom ${G}/plugins/commands/up/command.rb:95:in \`block (2 levels) in execute'`,
  `\tfrom ${G}/lib/vagrant/environment.rb:290:in \`block (2 levels) in batch'`,
  `\tfrom ${G}/lib/vagrant/cli.rb:67:in \`execute'`,
  `\tfrom ${G}/lib/vagrant/environment.rb:301:in \`cli'`,
  `\tfrom /usr/bin/vagrant:231:in \`<main>'`,
];

const cases: { name: string; stdout?: string; stderr: string; message: RegExp; exception?: string; raisedAt?: RegExp; absent?: RegExp }[] = [
  {
    name: 'a backtrace ending in EnvironmentLockedError (multi-line message, class after its first line)',
    stdout: "Bringing machine 'default' up with 'libvirt' provider...\n==> default: Checking if box 'tails-builder-amd64-bookworm-20261129-2d45673' version '0' is up to date...\n",
    stderr: [
      `${G}/lib/vagrant/environment.rb:617:in \`lock': Vagrant attempted to acquire a lock named 'dotlock', but this (Vagrant::Errors::EnvironmentLockedError)`,
      'lock is being held by another instance of Vagrant already. Please',
      'wait and try again.',
      `\tfrom ${G}/lib/vagrant/environment.rb:606:in \`lock'`,
      ...OUTER_FRAMES,
    ].join('\n'),
    message: /^Vagrant attempted to acquire a lock named 'dotlock', but this\nlock is being held by another instance of Vagrant already\. Please\nwait and try again\.$/,
    exception: 'Vagrant::Errors::EnvironmentLockedError',
    raisedAt: /environment\.rb:617:in `lock'$/,
    absent: /box_check_outdated|\tfrom/,
  },
  {
    name: 'a libvirt exception vagrant did not rescue (one line)',
    stderr: [
      `/usr/lib/ruby/vendor_ruby/fog/libvirt/requests/compute/volume_action.rb:6:in \`delete': Call to virStorageVolDelete failed: Storage volume not found: no storage vol with matching path (Libvirt::Error)`,
      `\tfrom /usr/lib/ruby/vendor_ruby/fog/libvirt/models/compute/volume.rb:60:in \`destroy'`,
      ...OUTER_FRAMES,
    ].join('\n'),
    message: /^Call to virStorageVolDelete failed: Storage volume not found: no storage vol with matching path$/,
    exception: 'Libvirt::Error',
  },
  {
    name: "a VagrantError vagrant rescued: its message and hint, without the progress lines",
    stdout: "Bringing machine 'default' up with 'libvirt' provider...\n==> default: Box 'tails-builder-x' could not be found. Attempting to find and install...\n    default: Box Provider: libvirt\n",
    stderr: [
      "The box 'tails-builder-x' could not be found or",
      'could not be accessed in the remote catalog. If this is a private',
      'box on HashiCorp\'s Vagrant Cloud, please verify you\'re logged in via',
      '`vagrant login`. Also, please double-check the name.',
    ].join('\n'),
    message: /^The box 'tails-builder-x' could not be found or\ncould not be accessed in the remote catalog\..*\n.*\n`vagrant login`\. Also, please double-check the name\.$/,
    absent: /Bringing machine|==>/,
  },
  {
    name: 'a VagrantError printed on stdout only (stderr empty)',
    stdout: "==> default: Creating shared folders metadata...\nAn action 'up' was attempted on the machine 'default',\nbut another process is already executing an action on the machine.\n",
    stderr: '',
    message: /^An action 'up' was attempted on the machine 'default',\nbut another process is already executing an action on the machine\.$/,
  },
];

describe('readVagrantFailure', () => {
  for (const c of cases) {
    it(c.name, () => {
      const failure = readVagrantFailure(c.stderr, c.stdout ?? '');
      assert.ok(failure !== undefined);
      assert.match(failure.message, c.message);
      assert.equal(failure.exception, c.exception);
      if (c.raisedAt !== undefined) assert.match(failure.raisedAt ?? '', c.raisedAt);
      if (c.absent !== undefined) assert.doesNotMatch(failure.message, c.absent);
    });
  }

  it('nothing printed: undefined (the caller says so)', () => {
    assert.equal(readVagrantFailure('', ''), undefined);
    assert.equal(readVagrantFailure('\n', "==> default: Waiting for domain to get an IP address...\n"), undefined);
  });
});
