/** The boot test saves the serial console through the files port and judges it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bootTestIso } from '../../src/app/boot-test.js';
import { bootMarker } from '../../src/core/boot-test.js';
import { formatCommand, type Command } from '../../src/core/command.js';
import type { Clock, RunOptions, RunResult, Runner } from '../../src/core/ports.js';
import { memoryFiles } from '../helpers/files.js';

/** QEMU, played: prints `lines` and exits with `exitCode`; any other command throws. */
function qemu(lines: readonly string[], exitCode: number): Runner {
  return {
    run: () => Promise.reject(new Error('run: not expected')),
    tryRun: (cmd: Command, options?: RunOptions): Promise<RunResult> => {
      const shown = formatCommand(cmd);
      if (!shown.startsWith('qemu-system-x86_64 ') || !shown.includes('file=/out/tails.iso,media=cdrom')) throw new Error(`unexpected command: ${shown}`);
      for (const line of lines) options?.onLine?.(line);
      return Promise.resolve({ exitCode, stdout: lines.join('\n'), stderr: '' });
    },
    which: () => Promise.reject(new Error('which: not expected')),
    start: () => Promise.reject(new Error('start: not expected')),
  };
}

function ticking(): Clock {
  let ms = Date.parse('2026-11-29T08:00:00Z');
  return { now: () => new Date((ms += 1500)), sleep: () => Promise.reject(new Error('sleep: not expected')) };
}

const request = { iso: '/out/tails.iso', commit: 'abc123', accelerator: 'tcg' as const, log: '/out/boot-console.log', timeoutMs: 1000 };

describe('bootTestIso', () => {
  it('passes on the marker for this commit and a power-off, and saves the console', async () => {
    const disk = memoryFiles();
    await disk.mkdirp('/out');
    const seen: string[] = [];
    const result = await bootTestIso({ runner: qemu(['SeaBIOS', bootMarker('abc123'), 'reboot: Power down'], 0), clock: ticking(), disk }, { ...request, onLine: (l) => seen.push(l) });
    assert.equal(result.ok, true);
    assert.equal(result.seconds, 1.5);
    assert.deepEqual(seen, ['SeaBIOS', bootMarker('abc123'), 'reboot: Power down']);
    assert.equal(disk.texts.get('/out/boot-console.log'), `SeaBIOS\n${bootMarker('abc123')}\nreboot: Power down\n`);
  });

  it('fails, saying why, when the image names another commit; the console is saved all the same', async () => {
    const disk = memoryFiles();
    await disk.mkdirp('/out');
    const result = await bootTestIso({ runner: qemu([bootMarker('def456')], 0), clock: ticking(), disk }, { ...request, onLine: () => undefined });
    assert.equal(result.ok, false);
    assert.match(result.failure ?? '', /names commit def456, not abc123/);
    assert.equal(disk.texts.get('/out/boot-console.log'), `${bootMarker('def456')}\n`);
  });
});
