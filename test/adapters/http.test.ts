import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createHttp } from '../../src/adapters/http.js';
import { InterruptedError, NetworkError } from '../../src/core/errors.js';
import type { Clock, Log } from '../../src/core/ports.js';
import { recordingClock } from '../helpers/clock.js';
import { closedPort, startSnapshotServer, type SnapshotServer } from '../helpers/snapshot-server.js';

const quietLog: Log = { info: () => undefined, warn: () => undefined, debug: () => undefined };

describe('createHttp against a real server', () => {
  let server: SnapshotServer;
  before(async () => {
    server = await startSnapshotServer();
  });
  after(async () => {
    await server.close();
  });

  it('returns a 200 with its body and lower-case headers', async () => {
    server.route('/ok', { body: 'hello', headers: { 'X-Thing': 'yes' } });
    const res = await createHttp({ clock: recordingClock(), log: quietLog }).get(`${server.url}ok`);
    assert.equal(res.status, 200);
    assert.equal(res.body, 'hello');
    assert.equal(res.headers['x-thing'], 'yes');
  });

  it('returns a 404 as a response, without retrying', async () => {
    const clock = recordingClock();
    const before = server.requests.length;
    const res = await createHttp({ clock, log: quietLog }).get(`${server.url}missing`);
    assert.equal(res.status, 404);
    assert.equal(server.requests.length - before, 1);
    assert.deepEqual(clock.slept, []);
  });

  it('follows redirects', async () => {
    server.route('/old', { status: 302, headers: { location: '/new' } });
    server.route('/new', { body: 'moved' });
    const res = await createHttp({ clock: recordingClock(), log: quietLog }).get(`${server.url}old`);
    assert.equal(res.status, 200);
    assert.equal(res.body, 'moved');
    assert.equal(res.url, `${server.url}new`);
  });

  it('retries a 429 honouring Retry-After, then succeeds', async () => {
    server.route('/busy', [{ status: 429, headers: { 'retry-after': '2' } }, { status: 429 }, { body: 'at last' }]);
    const clock = recordingClock();
    const res = await createHttp({ clock, log: quietLog, backoffMs: 100 }).get(`${server.url}busy`);
    assert.equal(res.body, 'at last');
    assert.deepEqual(clock.slept, [2000, 200]);
  });

  it('caps Retry-After', async () => {
    server.route('/slow-down', [{ status: 503, headers: { 'retry-after': '3600' } }, { body: 'ok' }]);
    const clock = recordingClock();
    await createHttp({ clock, log: quietLog, maxDelayMs: 5000 }).get(`${server.url}slow-down`);
    assert.deepEqual(clock.slept, [5000]);
  });

  it('throws NetworkError after exhausted 5xx retries, with exponential backoff', async () => {
    server.route('/broken', { status: 500, body: 'oops' });
    const clock = recordingClock();
    const before = server.requests.length;
    await assert.rejects(
      createHttp({ clock, log: quietLog, backoffMs: 10, retries: 3 }).get(`${server.url}broken`),
      (e: unknown) =>
        e instanceof NetworkError &&
        e.status === 500 &&
        e.kind === 'external' &&
        e.message === `GET ${server.url}broken failed: HTTP 500 after 4 attempts.` &&
        /--base-url/.test(e.hint ?? ''),
    );
    assert.equal(server.requests.length - before, 4);
    assert.deepEqual(clock.slept, [10, 20, 40]);
  });

  it('an interrupt (Ctrl-C) ends a request in flight at once, as an interruption (it used to wait for the timeout)', async () => {
    server.route('/hang-interrupt', { hang: true });
    const interrupt = new AbortController();
    const pending = createHttp({ clock: recordingClock(), log: quietLog, timeoutMs: 600_000, retries: 3, signal: interrupt.signal }).get(`${server.url}hang-interrupt`);
    setTimeout(() => {
      interrupt.abort('SIGINT');
    }, 100);
    await assert.rejects(pending, (e: unknown) => e instanceof InterruptedError && /SIGINT/.test(e.message));
  });

  it('an interrupt ends a backoff wait too, and no retry follows', async () => {
    server.route('/busy', { status: 503 });
    const interrupt = new AbortController();
    const before = server.requests.length;
    const clock: Clock = { now: () => new Date(), sleep: () => new Promise<void>(() => undefined) };
    const pending = createHttp({ clock, log: quietLog, retries: 3, signal: interrupt.signal }).get(`${server.url}busy`);
    setTimeout(() => {
      interrupt.abort('SIGTERM');
    }, 100);
    await assert.rejects(pending, InterruptedError);
    assert.equal(server.requests.length - before, 1);
  });

  it('times out a hanging answer, per attempt', async () => {
    server.route('/hang', { hang: true });
    const before = server.requests.filter((r) => r === '/hang').length;
    await assert.rejects(
      createHttp({ clock: recordingClock(), log: quietLog, timeoutMs: 150, retries: 1 }).get(`${server.url}hang`),
      (e: unknown) => e instanceof NetworkError && e.status === undefined && /no complete answer within 0\.15 s, 2 attempts/.test(e.message),
    );
    // The outcome, not the time it took: each attempt reached the server, and each timed out.
    assert.equal(server.requests.filter((r) => r === '/hang').length - before, 2);
  });

  it('per-call options override the defaults', async () => {
    server.route('/broken-once', { status: 502 });
    const clock = recordingClock();
    await assert.rejects(createHttp({ clock, log: quietLog }).get(`${server.url}broken-once`, { retries: 0 }), /HTTP 502 after 1 attempt\./);
    assert.deepEqual(clock.slept, []);
  });
});

describe('createHttp without a server', () => {
  it('retries a refused connection, then names the URL and the cause', async () => {
    const port = await closedPort();
    const clock = recordingClock();
    const url = `http://127.0.0.1:${port}/debian/project/trace/debian`;
    await assert.rejects(
      createHttp({ clock, log: quietLog, backoffMs: 1, retries: 2 }).get(url),
      (e: unknown) => e instanceof NetworkError && e.url === url && e.message.startsWith(`GET ${url} failed: `) && /ECONNREFUSED/.test(e.message) && /3 attempts/.test(e.message),
    );
    assert.deepEqual(clock.slept, [1, 2]);
  });
});
