// Placeholder: replaced by the snapshots work (fetch with timeouts and bounded retries).
import type { Clock, Http, Log } from '../core/ports.js';

export function createHttp(_options: { clock: Clock; log: Log }): Http {
  return {
    get: async (url) => {
      const res = await fetch(url);
      return { url, status: res.status, headers: Object.fromEntries(res.headers), body: await res.text() };
    },
  };
}
