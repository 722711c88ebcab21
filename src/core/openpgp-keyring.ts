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

/** A key file as apt's signed-by and gpgv take it: binary packets, whatever form it came in. */
export type BinaryKeyring =
  | {
      /** binary: the file was packets already; armored: the packets of its ASCII-armored blocks (RFC 4880 §6.2), concatenated. */
      readonly form: 'binary' | 'armored';
      readonly bytes: Uint8Array;
      readonly keys: number;
      readonly userIds: readonly string[];
    }
  | { readonly form: 'invalid'; readonly reason: string };

const ARMOR_BLOCK = /-----BEGIN PGP PUBLIC KEY BLOCK-----\r?\n([\s\S]*?)-----END PGP PUBLIC KEY BLOCK-----/g;

/**
 * The binary keyring in `bytes`: a binary keyring as it is, or the armored
 * public key blocks of a `.asc`-style file (such as Tails'
 * config/chroot_sources/tails.chroot.gpg) dearmored, each block's CRC-24
 * checked. A file that yields no public key is `invalid`.
 */
export function toBinaryKeyring(bytes: Uint8Array): BinaryKeyring {
  const text = new TextDecoder().decode(bytes.subarray(0, 4096));
  const armored = /-----BEGIN PGP /.test(text);
  let packets = bytes;
  if (armored) {
    const dearmored = dearmorPublicKeys(new TextDecoder().decode(bytes));
    if (typeof dearmored === 'string') return { form: 'invalid', reason: dearmored };
    packets = dearmored;
  }
  const contents = readKeyringContents(packets);
  if (contents.kind === 'not-a-keyring') return { form: 'invalid', reason: contents.reason };
  if (contents.keys === 0) return { form: 'invalid', reason: 'it holds no public key' };
  return { form: armored ? 'armored' : 'binary', bytes: packets, keys: contents.keys, userIds: contents.userIds };
}

/** The packets of every public key block in `text`, or why they cannot be read. */
function dearmorPublicKeys(text: string): Uint8Array | string {
  const parts: Uint8Array[] = [];
  for (const [index, match] of [...text.matchAll(ARMOR_BLOCK)].entries()) {
    const block = dearmorBlock(match[1] ?? '');
    if (typeof block === 'string') return `armored block ${String(index + 1)}: ${block}`;
    parts.push(block);
  }
  if (parts.length === 0) return 'no "BEGIN PGP PUBLIC KEY BLOCK" armor in it';
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** One block's body: armor headers, a blank line, base64 lines, the "=XXXX" checksum. */
function dearmorBlock(body: string): Uint8Array | string {
  const lines = body.split(/\r?\n/).map((l) => l.trim());
  let i = 0;
  while (i < lines.length && /^[A-Za-z][A-Za-z0-9-]*: /.test(lines[i] ?? '')) i++;
  while (i < lines.length && lines[i] === '') i++;
  let base64 = '';
  let checksum: string | undefined;
  for (; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line === '') continue;
    if (/^=[A-Za-z0-9+/]{4}$/.test(line)) {
      checksum = line.slice(1);
      break;
    }
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(line)) return `line "${line.slice(0, 40)}" is not base64`;
    base64 += line;
  }
  if (base64 === '' || base64.length % 4 !== 0) return 'its base64 body is empty or truncated';
  const data = new Uint8Array(Buffer.from(base64, 'base64'));
  if (checksum !== undefined) {
    const crc = crc24(data);
    const expected = Buffer.from(checksum, 'base64');
    const actual = ((expected[0] ?? 0) << 16) | ((expected[1] ?? 0) << 8) | (expected[2] ?? 0);
    if (crc !== actual) return 'its CRC-24 checksum does not match (a damaged file)';
  }
  return data;
}

/** RFC 4880 §6.1. */
export function crc24(data: Uint8Array): number {
  let crc = 0xb704ce;
  for (const byte of data) {
    crc ^= byte << 16;
    for (let bit = 0; bit < 8; bit++) {
      crc <<= 1;
      if (crc & 0x1000000) crc ^= 0x1864cfb;
    }
  }
  return crc & 0xffffff;
}
