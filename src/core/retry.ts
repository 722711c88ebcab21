/**
 * The one retry policy of tails-build's HTTP: retry on 429, 5xx and network
 * errors, with exponential backoff from `backoffMs`, honouring a `Retry-After`
 * in seconds, every wait capped at `maxDelayMs`. Used by the text client
 * (adapters/http.ts) and the verified downloads (adapters/download.ts).
 */
export interface RetryPolicy {
  /** Retries after the first attempt. */
  readonly retries: number;
  /** First backoff delay; doubles each retry. */
  readonly backoffMs: number;
  /** Upper bound for any single wait, including `Retry-After`. */
  readonly maxDelayMs: number;
}

export const RETRY_DEFAULTS: RetryPolicy = { retries: 3, backoffMs: 500, maxDelayMs: 30_000 };

export function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/** `Retry-After` in whole seconds, as milliseconds; HTTP dates and garbage are ignored. */
export function retryAfterMs(header: string | undefined): number | undefined {
  if (header === undefined || !/^\s*\d+\s*$/.test(header)) return undefined;
  return Number(header.trim()) * 1000;
}

/** How long to wait before attempt `attempt + 1` (attempt counts from 1). */
export function retryDelayMs(policy: RetryPolicy, attempt: number, retryAfter: string | undefined): number {
  const exponential = Math.min(policy.backoffMs * 2 ** (attempt - 1), policy.maxDelayMs);
  const asked = retryAfterMs(retryAfter);
  return asked === undefined ? exponential : Math.min(asked, policy.maxDelayMs);
}
