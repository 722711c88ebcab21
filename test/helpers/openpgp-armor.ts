import { crc24 } from '../../src/core/openpgp-keyring.js';

/** An ASCII-armored public key block of `packets` (RFC 4880 §6.2), as gpg --export --armor writes one. */
export function armor(packets: Uint8Array, headers: readonly string[] = []): string {
  const base64 = Buffer.from(packets).toString('base64');
  const crc = crc24(packets);
  const sum = Buffer.from([crc >> 16, (crc >> 8) & 0xff, crc & 0xff]).toString('base64');
  return ['-----BEGIN PGP PUBLIC KEY BLOCK-----', ...headers, '', ...(base64.match(/.{1,64}/g) ?? []), `=${sum}`, '-----END PGP PUBLIC KEY BLOCK-----', ''].join('\n');
}
