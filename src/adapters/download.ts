/**
 * Binary HTTP downloads for the snapshot store: small files fetched whole as
 * bytes (InRelease), and large ones streamed to a temp file while hashing,
 * then renamed into place only when size and SHA-256 match what the index
 * says. Retries on 5xx and network errors; an idle timeout, not a total one,
 * so a slow large file still completes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Clock } from '../core/ports.js';
import type { DownloadOutcome, Expected, FetchedBytes } from '../core/snapshot-store.js';
import { snapshotStoreMessages as msg } from '../core/messages/index.js';
import { isRetryableStatus, RETRY_DEFAULTS, retryDelayMs, type RetryPolicy } from '../core/retry.js';

export interface DownloadOptions {
  readonly clock: Clock;
  /** Abort when no byte arrives for this long. Default 30 s. */
  readonly idleTimeoutMs?: number;
  /** Retries after the first attempt on 429, 5xx and network errors (core/retry.ts). Default 3. */
  readonly retries?: number;
  readonly backoffMs?: number;
  readonly maxDelayMs?: number;
}

export interface Downloader {
  fetchBytes(url: string): Promise<FetchedBytes>;
  /** Streams `url` to `dest` (absolute); `dest` appears only when size and SHA-256 match. */
  downloadVerified(url: string, dest: string, expected: Expected): Promise<DownloadOutcome>;
}

class Retryable extends Error {
  /** The server's Retry-After, when it said one. */
  retryAfter?: string;
}

export function createDownloader(options: DownloadOptions): Downloader {
  const idle = options.idleTimeoutMs ?? 30_000;
  const policy: RetryPolicy = {
    retries: options.retries ?? RETRY_DEFAULTS.retries,
    backoffMs: options.backoffMs ?? RETRY_DEFAULTS.backoffMs,
    maxDelayMs: options.maxDelayMs ?? RETRY_DEFAULTS.maxDelayMs,
  };

  async function withRetries<T>(url: string, attempt: () => Promise<T>): Promise<T> {
    for (let i = 1; ; i++) {
      try {
        return await attempt();
      } catch (error) {
        if (!(error instanceof Retryable) || i > policy.retries) throw error instanceof Retryable ? msg.downloadFailed(url, error.cause ?? error) : error;
        await options.clock.sleep(retryDelayMs(policy, i, error.retryAfter));
      }
    }
  }

  /** fetch with an idle timer the caller re-arms on each chunk. */
  async function open(url: string): Promise<{ res: Response; arm: () => void; done: () => void }> {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        controller.abort(new Error(`no data for ${idle / 1000} s`));
      }, idle);
    };
    const done = (): void => {
      clearTimeout(timer);
    };
    arm();
    try {
      const res = await fetch(url, { signal: controller.signal, redirect: 'follow' });
      if (isRetryableStatus(res.status)) {
        done();
        await res.body?.cancel();
        const retry = new Retryable(`HTTP ${String(res.status)}`);
        const after = res.headers.get('retry-after');
        if (after !== null) retry.retryAfter = after;
        throw retry;
      }
      return { res, arm, done };
    } catch (error) {
      done();
      if (error instanceof Retryable) throw error;
      throw new Retryable(error instanceof Error ? error.message : String(error), { cause: error });
    }
  }

  return {
    fetchBytes: (url) =>
      withRetries(url, async () => {
        const { res, arm, done } = await open(url);
        try {
          const chunks: Buffer[] = [];
          if (res.body !== null) {
            for await (const chunk of Readable.fromWeb(res.body as WebReadableStream<Uint8Array>)) {
              arm();
              chunks.push(chunk as Buffer);
            }
          }
          return { url: res.url === '' ? url : res.url, status: res.status, body: Buffer.concat(chunks) };
        } catch (error) {
          throw new Retryable(error instanceof Error ? error.message : String(error), { cause: error });
        } finally {
          done();
        }
      }),

    downloadVerified: (url, dest, expected) =>
      withRetries(url, async () => {
        const { res, arm, done } = await open(url);
        if (res.status !== 200) {
          done();
          await res.body?.cancel();
          return { kind: 'missing', status: res.status };
        }
        await mkdir(dirname(dest), { recursive: true });
        const temp = join(dirname(dest), `.part-${process.pid}-${randomBytes(6).toString('hex')}`);
        const hash = createHash('sha256');
        let size = 0;
        const meter = new Transform({
          transform(chunk: Buffer, _enc, cb) {
            arm();
            size += chunk.length;
            if (size > expected.size) {
              cb(new SizeExceeded());
              return;
            }
            hash.update(chunk);
            cb(null, chunk);
          },
        });
        try {
          if (res.body === null) throw new Retryable('empty body');
          await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), meter, createWriteStream(temp, { flags: 'wx' }));
        } catch (error) {
          done();
          await unlink(temp).catch(() => undefined);
          if (error instanceof SizeExceeded) throw msg.integrityMismatch(url, expected, { size, sha256: 'not computed (too long)' });
          throw new Retryable(error instanceof Error ? error.message : String(error), { cause: error });
        }
        done();
        const sha256 = hash.digest('hex');
        if (size !== expected.size || sha256 !== expected.sha256) {
          await unlink(temp).catch(() => undefined);
          throw msg.integrityMismatch(url, expected, { size, sha256 });
        }
        await rename(temp, dest);
        return { kind: 'stored', bytes: size };
      }),
  };
}

class SizeExceeded extends Error {}
