/** Verified downloads follow the same retry policy as the text client (core/retry.ts). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createDownloader } from '../../src/adapters/download.js';
import { recordingClock } from '../helpers/clock.js';
import { startSnapshotServer, type SnapshotServer } from '../helpers/snapshot-server.js';

describe('createDownloader: one retry policy', () => {
  let server: SnapshotServer;
  before(async () => {
    server = await startSnapshotServer();
  });
  after(async () => {
    await server.close();
  });

  it('honours Retry-After on a 429 (it used to ignore it), then gets the file', async () => {
    server.route('/busy', [{ status: 429, headers: { 'Retry-After': '7' } }, { body: 'InRelease' }]);
    const clock = recordingClock();
    const got = await createDownloader({ clock }).fetchBytes(`${server.url}busy`);
    assert.equal(got.body.toString(), 'InRelease');
    assert.deepEqual(clock.slept, [7000]);
  });
  it('backs off exponentially on 5xx and gives up after the same number of retries as the text client', async () => {
    server.route('/down', { status: 503 });
    const clock = recordingClock();
    await assert.rejects(createDownloader({ clock, backoffMs: 100 }).fetchBytes(`${server.url}down`));
    assert.deepEqual(clock.slept, [100, 200, 400]);
  });
});
