/**
 * What a binary OpenPGP keyring (a `.gpg` file such as Debian's archive
 * keyring) holds, read from its packets (RFC 4880 §4.2): how many primary keys
 * and their user IDs. Pure: the bytes come from the caller. It answers "does
 * this file hold keys, and whose?", not "are they valid": gpgv decides that.
 */

export type KeyringContents =
  | { readonly kind: 'keys'; readonly keys: number; readonly userIds: readonly string[] }
  /** Not a sequence of OpenPGP packets (an armored file, a text file, a truncated keyring). */
  | { readonly kind: 'not-a-keyring'; readonly reason: string };

const PUBLIC_KEY = 6;
const USER_ID = 13;

/** Reads the packets of a binary keyring; an empty file holds no keys. */
export function readKeyringContents(bytes: Uint8Array): KeyringContents {
  let keys = 0;
  const userIds: string[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const header = readPacketHeader(bytes, offset);
    if (typeof header === 'string') return { kind: 'not-a-keyring', reason: `${header} at byte ${String(offset)}` };
    const end = header.bodyStart + header.bodyLength;
    if (end > bytes.length) return { kind: 'not-a-keyring', reason: `packet at byte ${String(offset)} runs past the end of the file` };
    if (header.tag === PUBLIC_KEY) keys++;
    if (header.tag === USER_ID) userIds.push(new TextDecoder().decode(bytes.subarray(header.bodyStart, end)));
    offset = end;
  }
  return { kind: 'keys', keys, userIds };
}

/** Debian's archive and release keys: their user IDs name Debian and a debian.org address. */
export function isDebianUserId(userId: string): boolean {
  return /^Debian\b/.test(userId) && /@(lists\.)?debian\.org>$/.test(userId);
}

interface PacketHeader {
  readonly tag: number;
  readonly bodyStart: number;
  readonly bodyLength: number;
}

/** The header at `offset`, or why there is none. */
function readPacketHeader(bytes: Uint8Array, offset: number): PacketHeader | string {
  const first = bytes[offset] ?? 0;
  if ((first & 0x80) === 0) return 'no OpenPGP packet';
  const at = (i: number): number => bytes[offset + i] ?? 0;
  if ((first & 0x40) === 0) {
    // Old format: the tag in bits 5-2, the length type in bits 1-0.
    const tag = (first >> 2) & 0x0f;
    const lengthType = first & 0x03;
    if (lengthType === 0) return { tag, bodyStart: offset + 2, bodyLength: at(1) };
    if (lengthType === 1) return { tag, bodyStart: offset + 3, bodyLength: (at(1) << 8) | at(2) };
    if (lengthType === 2) return { tag, bodyStart: offset + 5, bodyLength: ((at(1) << 24) >>> 0) + (at(2) << 16) + (at(3) << 8) + at(4) };
    return 'an indeterminate-length packet (not used in keyrings)';
  }
  // New format: the tag in bits 5-0, then a one-, two- or five-octet length.
  const tag = first & 0x3f;
  const o1 = at(1);
  if (o1 < 192) return { tag, bodyStart: offset + 2, bodyLength: o1 };
  if (o1 < 224) return { tag, bodyStart: offset + 3, bodyLength: ((o1 - 192) << 8) + at(2) + 192 };
  if (o1 === 255) return { tag, bodyStart: offset + 6, bodyLength: ((at(2) << 24) >>> 0) + (at(3) << 16) + (at(4) << 8) + at(5) };
  return 'a partial-length packet (not used in keyrings)';
}
