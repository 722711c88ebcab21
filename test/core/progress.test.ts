/** Progress in CI mode: timestamped lines, "still running" for a silent step, no colour. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runSteps } from '../../src/ui/progress.js';

function capture(): NodeJS.WriteStream & { text: () => string } {
  let text = '';
  const stream = {
    isTTY: false,
    columns: 120,
    write: (chunk: string | Uint8Array) => {
      text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
      return true;
    },
    on: () => stream,
    once: () => stream,
    off: () => stream,
    removeListener: () => stream,
    text: () => text,
  };
  return stream as unknown as NodeJS.WriteStream & { text: () => string };
}

describe('runSteps in lines mode (CI)', () => {
  it('says a silent step is still running, with its title and the time it has taken, and writes no colour codes', async () => {
    const render = capture();
    const events: string[] = [];
    await runSteps(
      [{ id: 'squash', title: 'Squash the root filesystem', run: () => new Promise((resolve) => setTimeout(resolve, 350)) }],
      {},
      { mode: 'lines', events: { write: (c: string) => events.push(c) }, render, now: () => new Date(), heartbeatMs: 100, noColor: true },
    );
    assert.match(render.text(), /\[\d{2}:\d{2}:\d{2}\] still running: Squash the root filesystem, 0s/);
    assert.doesNotMatch(render.text(), new RegExp(String.fromCharCode(27)));
    assert.deepEqual(events, [], 'no JSON events in lines mode');
  });
  it('emits output lines as events only when asked (--json-output)', async () => {
    const run = async (outputLines: boolean): Promise<string[]> => {
      const events: string[] = [];
      await runSteps([{ id: 'build', title: 'Build', run: (_c, report) => { report('a line of the build'); return Promise.resolve(); } }], {}, { mode: 'json', events: { write: (c: string) => events.push(c) }, render: capture(), now: () => new Date(), outputLines });
      return events.map((e) => (JSON.parse(e) as { event: string }).event);
    };
    assert.deepEqual(await run(false), ['step', 'step']);
    assert.deepEqual(await run(true), ['step', 'output', 'step']);
  });
  it('a step that learns what it did while running says it in its done title (event and lines), not before', async () => {
    const events: string[] = [];
    const render = capture();
    const ctx = { disk: '' };
    const steps = [{ id: 'vm-up', title: 'Start the VM', doneTitle: (c: typeof ctx) => `Started the VM (cache disk ${c.disk})`, run: (c: typeof ctx) => { c.disk = 'acng-2.qcow2'; return Promise.resolve(); } }];
    await runSteps(steps, ctx, { mode: 'json', events: { write: (c: string) => events.push(c) }, render, now: () => new Date() });
    const titles = events.map((e) => JSON.parse(e) as { status: string; title: string }).map((e) => `${e.status}: ${e.title}`);
    assert.deepEqual(titles, ['started: Start the VM', 'done: Started the VM (cache disk acng-2.qcow2)']);
    const lines = capture();
    await runSteps(steps, { disk: '' }, { mode: 'lines', events: { write: () => true }, render: lines, now: () => new Date(), noColor: true });
    assert.match(lines.text(), /Started the VM \(cache disk acng-2\.qcow2\)/);
  });
});

describe('runStepList: after a failure', () => {
  it('skips the later steps, each saying which step failed, runs the "always" ones, and never reports a skipped step as done (events, records)', async () => {
    const { runStepList } = await import('../../src/ui/progress.js');
    const events: string[] = [];
    const records: { id: string; status: string; tail: readonly string[] }[] = [];
    const ran: string[] = [];
    const step = (id: string, extra: { fail?: boolean; always?: boolean; skip?: () => string | undefined } = {}) => ({
      id,
      title: `Step ${id}`,
      ...(extra.always === undefined ? {} : { always: extra.always }),
      ...(extra.skip === undefined ? {} : { skip: extra.skip }),
      run: async () => {
        ran.push(id);
        if (extra.fail === true) throw new Error(`${id} broke`);
      },
    });
    const outcome = await runStepList(
      [step('a'), step('build', { fail: true }), step('artifacts', { always: true }), step('boot-test'), step('picky', { always: true, skip: () => 'nothing to do' }), step('cleanup', { always: true })],
      {},
      { mode: 'json', events: { write: (c: string) => events.push(c) }, render: capture(), now: () => new Date(), onStep: (r) => records.push(r) },
    );
    assert.deepEqual(ran, ['a', 'build', 'artifacts', 'cleanup']);
    assert.deepEqual(outcome.failures.map((f) => f.id), ['build']);
    assert.deepEqual(outcome.timings.map((t) => `${t.id}:${t.status}`), ['a:done', 'build:failed', 'artifacts:done', 'boot-test:skipped', 'picky:skipped', 'cleanup:done']);
    const ended = events.map((e) => JSON.parse(e) as { id: string; status: string; reason?: string }).filter((e) => e.status !== 'started');
    assert.deepEqual(ended.map((e) => `${e.id}:${e.status}${e.reason === undefined ? '' : `(${e.reason})`}`), ['a:done', 'build:failed', 'artifacts:done', 'boot-test:skipped(build failed)', 'picky:skipped(nothing to do)', 'cleanup:done']);
    assert.deepEqual(records.find((r) => r.id === 'boot-test')?.status, 'skipped');
    // runSteps (basebox create, basebox test) still rejects with the failure, after the always steps ran.
    ran.length = 0;
    await assert.rejects(runSteps([step('x', { fail: true }), step('y'), step('z', { always: true })], {}, { mode: 'silent', events: { write: () => true }, render: capture(), now: () => new Date() }), /x broke/);
    assert.deepEqual(ran, ['x', 'z']);
  });
});
