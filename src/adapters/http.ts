/**
 * HTTP GET over Node's fetch: a timeout per attempt, bounded retries with
 * exponential backoff on 429, 5xx and network errors (honouring a capped
 * `Retry-After` in seconds), redirects followed. Backoff sleeps go through the
 * injected clock, so tests run fast.
 */
import type { Clock, Http, HttpGetOptions, HttpResponse, Log } from '../core/ports.js';
import { snapshotMessages as msg } from '../core/messages/index.js';
import { InterruptedError } from '../core/errors.js';
import { isRetryableStatus, RETRY_DEFAULTS, retryAfterMs, retryDelayMs } from '../core/retry.js';

export interface HttpOptions {
  readonly clock: Clock;
  readonly log: Log;
  /** Per-attempt timeout (connect + headers + body). Default 20 s. */
  readonly timeoutMs?: number;
  /** Retries after the first attempt. Default 3. */
  readonly retries?: number;
  /** First backoff delay; doubles each retry. Default 500 ms. */
  readonly backoffMs?: number;
  /** Upper bound for any single wait, including `Retry-After`. Default 30 s. */
  readonly maxDelayMs?: number;
  /** Aborted by SIGINT/SIGTERM/SIGHUP: the request in flight and any backoff end at once. */
  readonly signal?: AbortSignal;
}

export const HTTP_DEFAULTS = { timeoutMs: 20_000, ...RETRY_DEFAULTS } as const;

type Attempt =
  | { readonly kind: 'response'; readonly response: HttpResponse }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'error'; readonly error: unknown };

export function createHttp(options: HttpOptions): Http {
  const backoffMs = options.backoffMs ?? HTTP_DEFAULTS.backoffMs;
  const maxDelayMs = options.maxDelayMs ?? HTTP_DEFAULTS.maxDelayMs;

  return {
    async get(url: string, perCall: HttpGetOptions = {}): Promise<HttpResponse> {
      const timeoutMs = perCall.timeoutMs ?? options.timeoutMs ?? HTTP_DEFAULTS.timeoutMs;
      const retries = perCall.retries ?? options.retries ?? HTTP_DEFAULTS.retries;
      const attempts = retries + 1;
      for (let attempt = 1; ; attempt++) {
        interrupted(options.signal);
        options.log.debug(`GET ${url}${attempt > 1 ? ` (attempt ${attempt}/${attempts})` : ''}`);
        const result = await attemptGet(url, timeoutMs, options.signal);
        interrupted(options.signal);
        if (result.kind === 'response' && !isRetryableStatus(result.response.status)) return result.response;
        if (attempt >= attempts) throw failure(url, result, timeoutMs, attempts);
        const wait = retryDelayMs({ retries, backoffMs, maxDelayMs }, attempt, result.kind === 'response' ? result.response.headers['retry-after'] : undefined);
        options.log.debug(`GET ${url}: ${describe(result)}; retrying in ${wait} ms`);
        await Promise.race([options.clock.sleep(wait), aborted(options.signal)]);
      }
    },
  };
}

/** Throws InterruptedError once the run was interrupted. */
function interrupted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new InterruptedError(String(signal.reason ?? 'a signal'));
}

/** Settles when the run is interrupted (never, without a signal). */
function aborted(signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return new Promise<void>(() => undefined);
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => { signal.addEventListener('abort', () => {
    resolve();
  }, { once: true }); });
}

async function attemptGet(url: string, timeoutMs: number, interrupt: AbortSignal | undefined): Promise<Attempt> {
  // A ref'd timer, not AbortSignal.timeout (unref'd): a request that hangs
  // must end as a timeout, not let the process exit with its await unsettled.
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort();
  }, timeoutMs);
  const onInterrupt = (): void => {
    controller.abort();
  };
  interrupt?.addEventListener('abort', onInterrupt, { once: true });
  const { signal } = controller;
  try {
    const res = await fetch(url, { signal, redirect: 'follow' });
    const body = await res.text();
    const headers: Record<string, string> = {};
    res.headers.forEach((value, key) => {
      headers[key.toLowerCase()] = value;
    });
    return { kind: 'response', response: { url: res.url === '' ? url : res.url, status: res.status, headers, body } };
  } catch (error) {
    if (signal.aborted) return { kind: 'timeout' };
    return { kind: 'error', error };
  } finally {
    clearTimeout(timer);
    interrupt?.removeEventListener('abort', onInterrupt);
  }
}

export { isRetryableStatus, retryAfterMs };

function failure(url: string, result: Attempt, timeoutMs: number, attempts: number): Error {
  switch (result.kind) {
    case 'response':
      return msg.httpStatus(url, result.response.status, attempts);
    case 'timeout':
      return msg.httpTimeout(url, timeoutMs, attempts);
    case 'error':
      return msg.httpUnreachable(url, result.error, attempts);
  }
}

function describe(result: Attempt): string {
  switch (result.kind) {
    case 'response':
      return `HTTP ${result.response.status}`;
    case 'timeout':
      return 'timed out';
    case 'error':
      return result.error instanceof Error ? result.error.message : String(result.error);
  }
}
