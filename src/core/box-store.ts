/**
 * Where an imported box lives: Vagrant's box list and libvirt's `default`
 * pool, which vagrant-libvirt fills from it. Pure: the names vagrant-libvirt
 * uses, the parsing of vagrant and virsh output, and the ports the adapters
 * implement.
 */

/** The pool vagrant-libvirt uses unless a Vagrantfile says otherwise, and where it keeps it. */
export const DEFAULT_POOL = 'default';
export const DEFAULT_POOL_PATH = '/var/lib/libvirt/images';

export interface VagrantBox {
  readonly name: string;
  readonly provider: string;
  /** "0" for a box added from a file without metadata (as Tails and we do). */
  readonly version: string;
}

/** The unpacked box.img vagrant keeps under VAGRANT_HOME. */
export interface VagrantBoxImage {
  readonly path: string;
  readonly sizeBytes: number;
  /** Seconds since the epoch, truncated like Ruby's `File.mtime(path).to_i`. */
  readonly mtimeSeconds: number;
  /** `virtual_size` of the box's metadata.json, in GiB, if present. */
  readonly virtualSizeGiB: number | undefined;
  /** The box's kernel, initrd and command line (members vmlinuz, initrd.img, cmdline), when it has all three. */
  readonly boot?: BoxBootFiles | undefined;
}

/** What a build VM boots directly: files on the host, and the kernel's command line. */
export interface BoxBootFiles {
  readonly kernel: string;
  readonly initrd: string;
  readonly cmdline: string;
}

export interface PoolVolume {
  readonly name: string;
  readonly path: string;
}

export interface PoolVolumeInfo extends PoolVolume {
  readonly capacityBytes: number;
  /** Bytes the volume takes on disk. */
  readonly allocationBytes: number;
}

/** A defined libvirt domain and the chain of files behind each of its disks. */
export interface DomainDisks {
  readonly domain: string;
  /** Every file a disk reads: its source and, recursively, the backing files. */
  readonly files: readonly string[];
}

/** What importing and cleaning boxes needs from Vagrant. */
export interface VagrantBoxes {
  listBoxes(): Promise<readonly VagrantBox[]>;
  /** Whether `file` exists and is a regular file (checked before anything is changed). */
  isBoxFile(file: string): Promise<boolean>;
  addBox(name: string, file: string, options: { force: boolean }): Promise<void>;
  /** Removes every version of the box for the libvirt provider. */
  removeBox(name: string): Promise<void>;
  /** The box.img vagrant unpacked for this box; undefined when it is not there. */
  readBoxImage(box: VagrantBox): Promise<VagrantBoxImage | undefined>;
  /** The vagrant-libvirt vagrant loads, and where that was read; version undefined when nothing says. */
  readPluginVersion(): Promise<PluginVersion>;
}

/** The installed vagrant-libvirt: its upstream version ("0.11.2"), undefined when unknown. */
export interface PluginVersion {
  readonly version: string | undefined;
  /** What said so ("vagrant plugin list", "dpkg-query"), or what was asked when nothing did. */
  readonly source: string;
}

/** What importing and cleaning boxes needs from libvirt's storage pool. */
export interface LibvirtPool {
  readonly name: string;
  /** Defines, builds, starts and autostarts the pool when missing or inactive; refreshes it. */
  ensurePool(): Promise<void>;
  /** Whether the pool is defined (without creating it). */
  hasPool(): Promise<boolean>;
  listVolumes(): Promise<readonly PoolVolume[]>;
  readVolumeInfo(name: string): Promise<PoolVolumeInfo>;
  deleteVolume(name: string): Promise<void>;
  /**
   * Creates the volume from a file, byte for byte (vol-create-as of an empty
   * volume, then vol-upload), and checks libvirt sees it in `format`; the
   * volume is deleted again if any of that fails.
   */
  uploadVolume(args: { name: string; file: string; format: 'qcow2' | 'raw' }): Promise<void>;
  /** An empty qcow2 volume (the build VMs' cache disk). */
  createVolume(args: { name: string; capacityGiB: number }): Promise<void>;
  /** Every defined domain (running or not) with the files behind its disks. */
  listDomainDisks(): Promise<readonly DomainDisks[]>;
  /** `virsh net-dumpxml NAME`, or undefined when no network has that name. */
  readNetworkXml(name: string): Promise<string | undefined>;
  /** Defines a network from its XML (net-define) and starts it. */
  defineNetwork(name: string, xml: string): Promise<void>;
}

const SLASH_IN_BOX_NAME = '-VAGRANTSLASH-';
const VOLUME_INFIX = '_vagrant_box_image_';

/** How vagrant escapes a box name in directory and volume names. */
export function escapeBoxName(name: string): string {
  return name.replaceAll('/', SLASH_IN_BOX_NAME);
}

/**
 * The pool volume vagrant-libvirt 0.10.0 to 0.12.2 (HandleBoxImage.get_volume_name)
 * looks for before it uploads box.img itself at the first `vagrant up`:
 *   <name, "/" → "-VAGRANTSLASH-">_vagrant_box_image_<version>_box.img
 * where a missing or "0" version becomes "0_<mtime of box.img in seconds>".
 * A box added from a file is version "0", so the name changes with every
 * `vagrant box add` (bsdtar -m stamps the extraction time): compute it from the
 * unpacked file, never from the archive. See poolVolumeName for the versions.
 */
export function computeBoxVolumeName(box: Pick<VagrantBox, 'name' | 'version'>, image: Pick<VagrantBoxImage, 'mtimeSeconds'>): string {
  const version = box.version === '' || box.version === '0' ? `0_${image.mtimeSeconds}` : box.version;
  return `${escapeBoxName(box.name)}${VOLUME_INFIX}${version}_box.img`;
}

/**
 * The vagrant-libvirt releases whose volume naming was read, in
 * lib/vagrant-libvirt/action/handle_box_image.rb at each tag, and found the same:
 *   0.11.2 (Debian 12), lines 132-147: get_volume_name(box, 'box', path, ui);
 *   0.12.2 (Debian 13), lines 134-149: the same body, word for word (0.12 only adds
 *     a qcow2 `compat` to the volume it would create, not to the name);
 *   0.10.0, lines 130-145: the same (commit 66e0fa7, "Ensure box version default of
 *     0 uses mtime", first in 0.10.0, added the `version == '0'` case).
 * Before 0.10.0 (0.6.3 to 0.9.x) a version "0" box was named `…_image_0_box.img`,
 * without the mtime; releases after 0.12.2 are not read. For both: unknown.
 */
export const VOLUME_NAMING_READ = { from: [0, 10, 0], to: [0, 12, 2] } as const;

/** The versions of VOLUME_NAMING_READ, for messages. */
export const VOLUME_NAMING_READ_TEXT = `${VOLUME_NAMING_READ.from.join('.')} to ${VOLUME_NAMING_READ.to.join('.')}`;

/**
 * The upstream version of a vagrant-libvirt version string, as vagrant
 * ("0.11.2") or dpkg ("0.11.2-1", "1:0.12.2+dfsg-4") prints it; undefined for
 * anything else (pre-releases such as "0.12.3.pre.1" or "0.12.2~rc1" included).
 */
export function parsePluginVersion(text: string | undefined): readonly [number, number, number] | undefined {
  const match = /^(?:\d+:)?(\d+)\.(\d+)\.(\d+)(?:\+[A-Za-z0-9.]+)?(?:-[A-Za-z0-9.+~]+)?$/.exec(text?.trim() ?? '');
  if (match?.[1] === undefined || match[2] === undefined || match[3] === undefined) return undefined;
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

function compareVersions(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The name of the pool volume the installed vagrant-libvirt will look for (and,
 * when it is missing, upload box.img as) for box `box` of `boxVersion` whose
 * unpacked box.img has mtime `mtime` (seconds), disk index 0 of a v1 box; undefined
 * when the naming of that vagrant-libvirt version was not read (VOLUME_NAMING_READ)
 * or the version is unknown: then nothing may be pre-seeded under a guessed name.
 */
export function poolVolumeName(box: string, facts: { pluginVersion: string | undefined; boxVersion: string; mtime: number }): string | undefined {
  const version = parsePluginVersion(facts.pluginVersion);
  if (version === undefined) return undefined;
  if (compareVersions(version, VOLUME_NAMING_READ.from) < 0 || compareVersions(version, VOLUME_NAMING_READ.to) > 0) return undefined;
  return computeBoxVolumeName({ name: box, version: facts.boxVersion }, { mtimeSeconds: facts.mtime });
}

/** The vagrant-libvirt version in `vagrant plugin list --machine-readable` ("0.11.2, system" → "0.11.2"). */
export function parsePluginListVersion(output: string, plugin = 'vagrant-libvirt'): string | undefined {
  for (const line of output.split('\n')) {
    const [, target, type, ...rest] = line.split(',');
    if (target === plugin && type === 'plugin-version') {
      const version = unescapeMachineReadable(rest.join(',')).split(',')[0]?.trim();
      return version === '' ? undefined : version;
    }
  }
  return undefined;
}

/** The version in `dpkg-query -W -f '${Status}\t${Version}'` output, only for an installed package. */
export function parseDpkgStatusVersion(output: string): string | undefined {
  const [status, version] = output.trim().split('\t');
  return status === 'install ok installed' && version !== undefined && version !== '' ? version : undefined;
}

/**
 * Whether a pool volume holds a box image of this box, under any naming
 * vagrant-libvirt has used (0.11: `…_vagrant_box_image_0_<mtime>_box.img`;
 * older, as in Tails' Rakefile: `…_vagrant_box_image_0.img`). Domain disks
 * (`<box>_default.img`) never match.
 */
export function isBoxVolumeOf(volume: string, boxName: string): boolean {
  return volume.startsWith(`${escapeBoxName(boxName)}${VOLUME_INFIX}`) && volume.endsWith('.img');
}

/**
 * The pool volumes tails-build uploads the box's kernel and initrd as, beside
 * its image volume (QEMU, not root, opens them: VAGRANT_HOME is often not
 * readable to it). Named after the image volume, so a box added again (a new
 * image volume name) gets new ones, and removed with the box.
 */
export function computeBootVolumeNames(imageVolume: string): { readonly kernel: string; readonly initrd: string } {
  return { kernel: `${imageVolume}.vmlinuz`, initrd: `${imageVolume}.initrd` };
}

/** Whether a pool volume is the kernel or initrd of a box image volume of this box (computeBootVolumeNames). */
export function isBoxBootVolumeOf(volume: string, boxName: string): boolean {
  return volume.startsWith(`${escapeBoxName(boxName)}${VOLUME_INFIX}`) && (volume.endsWith('.img.vmlinuz') || volume.endsWith('.img.initrd'));
}

/** Every pool volume that belongs to this box: its image and, when uploaded, its kernel and initrd. */
export function isBoxPoolVolumeOf(volume: string, boxName: string): boolean {
  return isBoxVolumeOf(volume, boxName) || isBoxBootVolumeOf(volume, boxName);
}

/**
 * How a build VM of this box boots: directly from the box's kernel and initrd
 * when the pool holds them beside the image volume; otherwise from its disk
 * (firmware, then GRUB), with the reason.
 */
export function planBoxBoot(
  boxName: string,
  files: BoxBootFiles | undefined,
  volumes: readonly PoolVolume[],
): { readonly direct: { readonly kernel: string; readonly initrd: string; readonly cmdline: string } } | { readonly direct: null; readonly why: string } {
  if (files === undefined) return { direct: null, why: 'the box carries no kernel (made before tails-build 0.1 boxes did)' };
  for (const image of volumes.filter((v) => isBoxVolumeOf(v.name, boxName))) {
    const names = computeBootVolumeNames(image.name);
    const kernel = volumes.find((v) => v.name === names.kernel);
    const initrd = volumes.find((v) => v.name === names.initrd);
    if (kernel !== undefined && initrd !== undefined) return { direct: { kernel: kernel.path, initrd: initrd.path, cmdline: files.cmdline } };
  }
  return { direct: null, why: 'its kernel and initrd are not in the pool (imported by vagrant, not by tails-build basebox import)' };
}

/** Parses `vagrant box list --machine-readable` (name, provider, version triples). */
export function parseVagrantBoxList(output: string): readonly VagrantBox[] {
  const boxes: VagrantBox[] = [];
  let current: { name?: string; provider?: string } = {};
  for (const line of output.split('\n')) {
    const [, , type, ...rest] = line.split(',');
    const value = unescapeMachineReadable(rest.join(','));
    if (type === 'box-name') current = { name: value };
    else if (type === 'box-provider') current = { ...current, provider: value };
    else if (type === 'box-version' && current.name !== undefined) {
      boxes.push({ name: current.name, provider: current.provider ?? '', version: value });
      current = {};
    }
  }
  return boxes;
}

function unescapeMachineReadable(value: string): string {
  return value.replaceAll('%!(VAGRANT_COMMA)', ',').replaceAll('\\n', '\n').replaceAll('\\r', '\r').trimEnd();
}

/** Parses `virsh vol-list --pool P` (a header, a rule, then "name  path" rows). */
export function parseVolList(output: string): readonly PoolVolume[] {
  const volumes: PoolVolume[] = [];
  const lines = output.split('\n');
  const rule = lines.findIndex((l) => /^-{4,}\s*$/.test(l.trim()));
  for (const line of lines.slice(rule + 1)) {
    const match = /^\s*(\S+)\s+(\/.*?)\s*$/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) volumes.push({ name: match[1], path: match[2] });
  }
  return volumes;
}

/** Parses `virsh vol-info --bytes` ("Capacity: N bytes", "Allocation: N bytes"). */
export function parseVolInfoBytes(output: string): { capacityBytes: number; allocationBytes: number } {
  const field = (label: string): number => {
    const match = new RegExp(`^${label}:\\s+(\\d+)\\s+bytes\\s*$`, 'm').exec(output);
    if (match?.[1] === undefined) throw new RangeError(`virsh vol-info printed no "${label}: N bytes" line`);
    return Number(match[1]);
  };
  return { capacityBytes: field('Capacity'), allocationBytes: field('Allocation') };
}

/** The files behind a domain's disks, from `virsh dumpxml`: `<source file=…>` and any `<backingStore>` sources. */
export function parseDomainDiskFiles(xml: string): readonly string[] {
  const files: string[] = [];
  for (const disk of xml.matchAll(/<disk\b[\s\S]*?<\/disk>/g)) {
    for (const source of disk[0].matchAll(/<source\b[^>]*?\bfile=(['"])(.*?)\1/g)) {
      if (source[2] !== undefined) files.push(unescapeXml(source[2]));
    }
  }
  return files;
}

/** The backing file of a volume, from `virsh vol-dumpxml`; undefined when it has none. */
export function parseVolumeBackingPath(xml: string): string | undefined {
  const store = /<backingStore>([\s\S]*?)<\/backingStore>/.exec(xml)?.[1];
  const path = store === undefined ? undefined : /<path>([\s\S]*?)<\/path>/.exec(store)?.[1];
  return path === undefined ? undefined : unescapeXml(path.trim());
}

/** The format libvirt gives a volume (`<target><format type=…>` of `virsh vol-dumpxml`). */
export function parseVolumeFormat(xml: string): string | undefined {
  const target = /<target>([\s\S]*?)<\/target>/.exec(xml)?.[1];
  return target === undefined ? undefined : /<format\s+type=(['"])(.*?)\1/.exec(target)?.[2];
}

function unescapeXml(text: string): string {
  return text
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&apos;', "'")
    .replaceAll('&amp;', '&');
}

/** The domains whose disks read one of these volume paths (directly or as a backing file). */
export function findDomainsUsing(paths: readonly string[], domains: readonly DomainDisks[]): readonly string[] {
  const wanted = new Set(paths);
  return domains.filter((d) => d.files.some((f) => wanted.has(f))).map((d) => d.domain);
}
