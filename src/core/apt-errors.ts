/**
 * apt's verification failures, recognised in mmdebstrap's output and turned
 * into messages that say what failed and what to do (rather than a 20-line
 * stderr tail).
 */
import { messages } from './messages/index.js';
import type { UserError } from './errors.js';

const HASH_MISMATCH = /Failed to fetch (\S+)\s+Hash Sum mismatch/;
const SIZE_MISMATCH = /Failed to fetch (\S+)\s+File has unexpected size/;
const BAD_SIGNATURE = /(The following signatures were invalid[^\n]*|BADSIG \S+|NO_PUBKEY \S+|is not signed)/;
const NOT_FOUND = /Failed to fetch (\S+)\s+404/;

/** A UserError for apt's verdict in `output`, or undefined when it is not a verification failure. */
export function classifyAptFailure(output: string): UserError | undefined {
  const hash = HASH_MISMATCH.exec(output) ?? SIZE_MISMATCH.exec(output);
  if (hash !== null) return messages.basebox.snapshotRejected(hash[1] ?? 'a file', 'its hash or size does not match the signed index');
  const signature = BAD_SIGNATURE.exec(output);
  if (signature !== null) return messages.basebox.snapshotRejected('the InRelease signature', signature[1] ?? 'bad signature');
  const missing = NOT_FOUND.exec(output);
  if (missing !== null) return messages.basebox.snapshotMissingPackage(missing[1] ?? 'a package');
  return undefined;
}
