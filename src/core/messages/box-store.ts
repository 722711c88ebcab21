/**
 * User-facing texts for importing, listing and removing builder boxes. Each
 * names the problem, the fact behind it and the next command.
 */
import { UsageError, UserError } from '../errors.js';

export const boxStoreMessages = {
  inUse: (name: string, domains: readonly string[]) =>
    new UserError(
      'basebox-in-use',
      `The box ${name} is in use: the libvirt domain(s) ${domains.join(', ')} boot from its pool volume, so it cannot be replaced now.`,
      { hint: `Destroy the builder VM first (virsh destroy ${domains[0] ?? 'DOMAIN'}; virsh undefine ${domains[0] ?? 'DOMAIN'}), then import again.` },
    ),
  notUnpacked: (name: string, path: string) =>
    new UserError('basebox-not-unpacked', `vagrant box add reported success for ${name}, but its image ${path} is not there.`, {
      kind: 'external',
      hint: `Check VAGRANT_HOME and disk space, then import again (vagrant box list shows what vagrant has).`,
    }),
  uploadedFormat: (volume: string, file: string, expected: string, seen: string | undefined) =>
    new UserError('volume-format', `After uploading ${file} as the pool volume ${volume}, libvirt sees it as ${seen ?? 'no known format'}, not ${expected}.`, {
      kind: 'external',
      hint: `Check the image (qemu-img info ${file}); the box must hold a ${expected} box.img.`,
    }),
  notListed: (name: string, vagrantHome: string) =>
    new UserError('basebox-not-listed', `vagrant box add reported success, but vagrant box list (VAGRANT_HOME=${vagrantHome}) shows no libvirt box ${name}.`, {
      kind: 'external',
      hint: 'Run vagrant box list to see what vagrant has, then import again.',
    }),
  verifyFailed: (name: string, boxes: number, volumes: readonly string[], expected: string) =>
    new UserError(
      'basebox-import-unverified',
      `After importing ${name}, vagrant lists ${boxes} box(es) and the pool holds ${volumes.length} volume(s) for it (${volumes.join(', ') || 'none'}); expected exactly one box and the volume ${expected}.`,
      { kind: 'external', hint: `Remove it (tails-build basebox clean-all --yes, or vagrant box remove --force ${name}) and import again.` },
    ),
  cleanAllNeedsYes: (count: number) =>
    new UsageError(
      'clean-all-needs-yes',
      `basebox clean-all would remove ${count} box(es) with their pool volumes, and was not confirmed.`,
      'Look first with tails-build basebox clean-all --dry-run, then run tails-build basebox clean-all --yes.',
    ),
  badMonths: (value: string) =>
    new UsageError('bad-months', `--months must be a whole number of months (1 or more), got "${value}".`, 'For example: tails-build basebox clean-old --months 6'),
  boxFileMissing: (file: string) =>
    new UserError('box-file-missing', `The box file ${file} does not exist.`, {
      kind: 'usage',
      hint: 'Give the path of a .box written by tails-build basebox create --output FILE.',
    }),
  removeFailed: (failures: readonly { name: string; error: unknown }[]) =>
    new UserError(
      'basebox-remove-failed',
      `Could not remove ${failures.length} box(es):\n${failures.map((f) => `  ${f.name}: ${f.error instanceof Error ? f.error.message.split('\n')[0] ?? '' : String(f.error)}`).join('\n')}`,
      { kind: 'external', hint: 'Run again with --verbose to see each command; boxes listed by tails-build basebox list are still there.' },
    ),
};
