/** Ordering helpers that do not depend on the locale. */

/** Byte-wise comparison, so orders do not depend on the locale. */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
