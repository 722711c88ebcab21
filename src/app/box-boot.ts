/**
 * How a build VM boots its box: the box's kernel and initrd straight from the
 * pool (libvirt <kernel>/<initrd>/<cmdline>: no firmware disk boot, no GRUB),
 * or from its disk when the box or the pool lacks them. Read-only.
 */
import { planBoxBoot } from '../core/box-store.js';
import type { Deps } from './deps.js';

export type BoxBoot = ReturnType<typeof planBoxBoot>;

export async function findBoxBoot(deps: Pick<Deps, 'vagrant' | 'pool'>, boxName: string): Promise<BoxBoot> {
  const box = (await deps.vagrant.listBoxes()).find((b) => b.name === boxName && b.provider === 'libvirt');
  const image = box === undefined ? undefined : await deps.vagrant.readBoxImage(box);
  return planBoxBoot(boxName, image?.boot, await deps.pool.listVolumes());
}

/** The progress line that says which boot a VM got. */
export function describeBoxBoot(boot: BoxBoot): string {
  return boot.direct === null ? `boot: from the box's disk (firmware, then GRUB): ${boot.why}` : "boot: the box's kernel and initrd directly (no firmware disk boot, no GRUB)";
}
