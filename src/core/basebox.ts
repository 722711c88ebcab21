/**
 * Basebox identity, Tails' formula kept compatible:
 *   <prefix>-<arch>-<codename>-<YYYYMMDD author date>-<%h>
 * of the last commit touching the box definition dir.
 */

export interface BaseboxIdentity {
  readonly name: string;
  readonly prefix: string;
  readonly arch: string;
  readonly codename: string;
  /** YYYYMMDD, the author date of the commit. */
  readonly date: string;
  readonly shortId: string;
}

export function computeBaseboxName(parts: Omit<BaseboxIdentity, 'name'>): BaseboxIdentity {
  return { ...parts, name: `${parts.prefix}-${parts.arch}-${parts.codename}-${parts.date}-${parts.shortId}` };
}

const NAME = /^(.+)-([^-]+)-([^-]+)-(\d{8})-([0-9a-f]{4,64})$/;

/** Parses a box name back into its parts; undefined when it does not follow the formula. */
export function parseBaseboxName(name: string, prefix: string): BaseboxIdentity | undefined {
  const [, namePrefix, arch, codename, date, shortId] = NAME.exec(name) ?? [];
  if (namePrefix !== prefix || arch === undefined || codename === undefined || date === undefined || shortId === undefined) return undefined;
  return { name, prefix, arch, codename, date, shortId };
}
