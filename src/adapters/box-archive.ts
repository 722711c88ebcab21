/**
 * Writes the vagrant-libvirt .box with tar-stream: fixed member order, owners,
 * mode and mtime, ustar, uncompressed; the files (box.img, the kernel and
 * initrd) are streamed, never buffered, and
 * the archive is hashed while it is written. Written to a temp file next to
 * the output and renamed into place, so a failed write leaves no partial box.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import type tar from 'tar-stream';
import { BOX_MEMBER_MODE, planBoxMembers, type BoxArchiveInput, type BoxArchiveResult, type BoxMember } from '../core/box-archive.js';

export type { BoxArchiveInput, BoxArchiveResult };

const READ_CHUNK = 1024 * 1024;

export async function writeBoxArchive(input: BoxArchiveInput): Promise<BoxArchiveResult> {
  if (!Number.isSafeInteger(input.mtime) || input.mtime < 0) throw new RangeError(`mtime must be whole seconds since the epoch, got ${String(input.mtime)}`);
  const members = planBoxMembers(input);
  const temp = `${input.output}.partial-${process.pid}`;
  // tar-stream is loaded when a box is packed, not at start-up.
  const { default: tarStream } = await import('tar-stream');
  const pack = tarStream.pack();
  const hash = createHash('sha256');
  let sizeBytes = 0;

  const consumed = pipeline(
    async function* hashing() {
      for await (const chunk of pack as AsyncIterable<Buffer>) {
        hash.update(chunk);
        sizeBytes += chunk.length;
        yield chunk;
      }
    },
    createWriteStream(temp),
  );
  try {
    const produced = (async () => {
      for (const member of members) await writeMember(pack, member, input.mtime);
      pack.finalize();
    })().catch((error: unknown) => {
      pack.destroy(error instanceof Error ? error : new Error(String(error)));
      throw error;
    });
    await Promise.all([produced, consumed]);
    await rename(temp, input.output);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  return { path: input.output, sha256: hash.digest('hex'), sizeBytes };
}

async function writeMember(pack: tar.Pack, member: BoxMember, mtime: number): Promise<void> {
  const header = {
    name: member.name,
    type: 'file' as const,
    mode: BOX_MEMBER_MODE,
    uid: 0,
    gid: 0,
    uname: '',
    gname: '',
    mtime: new Date(mtime * 1000),
  };
  if (member.content.kind === 'text') {
    const body = Buffer.from(member.content.text, 'utf8');
    await new Promise<void>((resolve, reject) => {
      pack.entry({ ...header, size: body.length }, body, (error) => {
        if (error) reject(error);
        else resolve();
      });
    });
    return;
  }
  let done: (error?: Error | null) => void = () => undefined;
  const finished = new Promise<void>((resolve, reject) => {
    done = (error) => {
      if (error) reject(error);
      else resolve();
    };
  });
  const path = member.content.path;
  const entry = pack.entry({ ...header, size: (await stat(path)).size }, (error) => {
    done(error);
  });
  for await (const chunk of createReadStream(path, { highWaterMark: READ_CHUNK }) as AsyncIterable<Buffer>) {
    if (!entry.write(chunk)) await once(entry, 'drain');
  }
  entry.end(null); // streamx: null ends without writing
  await finished; // tar-stream reports a size mismatch (the image changed while read) here
}
