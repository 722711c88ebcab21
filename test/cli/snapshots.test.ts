/**
 * `tails-build snapshots …` end to end: the built binary, real git checkouts
 * (this project's layout and Tails'), a real HTTP snapshot server.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runTailsBuild, type CliResult } from '../helpers/cli.js';
import { createTempRepo, type TempRepo } from '../helpers/git-repo.js';
import {
  closedPort,
  inReleaseText,
  monthListingHtml,
  releaseText,
  serveTailsArchive,
  startSnapshotServer,
  type SnapshotServer,
} from '../helpers/snapshot-server.js';

const ISO = 'definitions/iso/APT_snapshots.d';
const BUILDER = 'definitions/builder/APT_snapshots.d';
const FAST = { TAILS_BUILD_HTTP_BACKOFF_MS: '1', TAILS_BUILD_HTTP_TIMEOUT_MS: '3000' };

/** RFC 2822 as Debian writes it, `days` from now. */
function rfc2822In(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toUTCString().replace('GMT', 'UTC');
}

function ourRepo(iso: Record<string, string> = { debian: '2024100101', 'debian-security': 'latest' }): TempRepo {
  const repo = createTempRepo();
  const files: Record<string, string> = { 'README.md': 'project\n', [`${BUILDER}/.placeholder`]: '', [`${ISO}/.placeholder`]: '' };
  for (const archive of ['debian', 'debian-security']) files[`${BUILDER}/${archive}/serial`] = '2024090201\n';
  for (const [archive, value] of Object.entries(iso)) files[`${ISO}/${archive}/serial`] = `${value}\n`;
  repo.write(files);
  repo.commit('init', '2024-10-01T12:00:00Z');
  return repo;
}

function tailsRepo(): TempRepo {
  const repo = createTempRepo();
  const builder = 'vagrant/definitions/tails-builder/config/APT_snapshots.d';
  repo.write({
    'vagrant/lib/tails_build_settings.rb': "# Tails build settings\nARCHITECTURE = 'amd64'.freeze\nDISTRIBUTION = 'bookworm'.freeze\n",
    'vagrant/definitions/tails-builder/generate-tails-builder-box.sh': '#!/bin/sh\n',
    [`${builder}/.placeholder`]: '',
    [`${builder}/debian/serial`]: '2024090201\n',
    [`${builder}/debian-security/serial`]: '2024090201\n',
    [`${builder}/tails/serial`]: '2024090201\n',
    'config/APT_snapshots.d/.placeholder': '',
    'config/APT_snapshots.d/debian/serial': '2024100101\n',
    'config/APT_snapshots.d/debian-security/serial': 'latest\n',
    'config/APT_snapshots.d/torproject/serial': '2024100101\n',
  });
  repo.commit('init', '2024-10-01T12:00:00Z');
  return repo;
}

/** Every file under the repo (outside .git) with its bytes, to prove nothing changed. */
function tree(repo: TempRepo): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(repo.root, { recursive: true, withFileTypes: true })) {
    const full = join(entry.parentPath, entry.name);
    const rel = full.slice(repo.root.length + 1);
    if (rel === '.git' || rel.startsWith('.git/')) continue;
    out[rel] = entry.isFile() ? readFileSync(full, 'latin1') : '<dir>';
  }
  return out;
}

/** The `error.code` of a `--json` error report. */
function errorCode(stdout: string): string {
  return (JSON.parse(stdout) as { error: { code: string } }).error.code;
}

function read(repo: TempRepo, path: string): string {
  return readFileSync(join(repo.root, path), 'utf8');
}

/** A Tails-style server with every snapshot the tests freeze to or pin. */
async function tailsServer(): Promise<SnapshotServer> {
  const server = await startSnapshotServer();
  const validUntil = rfc2822In(100);
  serveTailsArchive(server, 'debian', { latest: '2024101502', serials: ['2024090201', '2024100101', '2024101502'], suite: 'bookworm', validUntil });
  serveTailsArchive(server, 'debian-security', { latest: '2024101503', serials: ['2024090201', '2024101503'], suite: 'bookworm-security', validUntil });
  serveTailsArchive(server, 'torproject', { latest: '2024103001', serials: ['2024100101', '2024103001'], suite: 'bookworm', releaseOnly: true });
  serveTailsArchive(server, 'tails', { latest: '2024101001', serials: ['2024090201', '2024101001'], suite: 'bookworm', validUntil });
  return server;
}

function tb(repo: TempRepo, args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  return runTailsBuild(args, { cwd: repo.root, env: { ...FAST, ...env } });
}

describe('tails-build snapshots (this project\'s layout)', () => {
  let server: SnapshotServer;
  let base: string[];
  before(async () => {
    server = await tailsServer();
    base = ['--base-url', server.url];
  });
  after(async () => {
    await server.close();
  });

  it('cat prints both sets, labelled; --json prints them as objects', async () => {
    const repo = ourRepo();
    const text = await tb(repo, ['snapshots', 'cat']);
    assert.equal(text.code, 0, text.stderr);
    assert.equal(
      text.stdout,
      `builder set (${BUILDER}):\n  debian: 2024090201\n  debian-security: 2024090201\n\niso set (${ISO}):\n  debian: 2024100101\n  debian-security: latest\n`,
    );
    const json = await tb(repo, ['--json', 'snapshots', 'cat']);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), {
      builder: { debian: '2024090201', 'debian-security': '2024090201' },
      iso: { debian: '2024100101', 'debian-security': 'latest' },
    });
    const only = await tb(repo, ['snapshots', 'cat', '--set', 'iso', '--print-serials-only', 'debian']);
    assert.equal(only.stdout, '2024100101\n');
    const plain = await tb(repo, ['snapshots']);
    assert.match(plain.stdout, /^builder set/);
  });

  it('cat refuses an unknown archive (usage, exit 2) and a bad --set', async () => {
    const repo = ourRepo();
    const unknown = await tb(repo, ['snapshots', 'cat', 'torproject']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /There is no archive "torproject" in the selected sets \(known: debian, debian-security\)/);
    const badSet = await tb(repo, ['snapshots', 'cat', '--set', 'both']);
    assert.equal(badSet.code, 2);
  });

  it('cat-json prints the JSON map of a serial dir', async () => {
    const repo = ourRepo();
    const res = await tb(repo, ['snapshots', 'cat-json', BUILDER]);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(JSON.parse(res.stdout), { debian: '2024090201', 'debian-security': '2024090201' });
  });

  it('get-latest reads the trace files', async () => {
    const repo = ourRepo();
    const res = await tb(repo, ['snapshots', 'get-latest', ...base]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, 'debian: 2024101502\ndebian-security: 2024101503\n');
    const json = await tb(repo, ['--json', 'snapshots', 'get-latest', ...base, 'torproject']);
    assert.deepEqual(JSON.parse(json.stdout), { torproject: '2024103001' });
  });

  it('freeze pins the ISO set, leaves debian-security latest, after checking the snapshots exist', async () => {
    const repo = ourRepo({ debian: '2024100101', 'debian-security': 'latest' });
    const first = server.requests.length;
    const res = await tb(repo, ['snapshots', 'freeze', ...base]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, 'iso debian: 2024100101 -> 2024101502\niso debian-security: latest (unchanged)\n');
    assert.match(res.stderr, new RegExp(`git commit -m "Freeze APT snapshots\\." ${ISO}/debian/serial`));
    assert.equal(read(repo, `${ISO}/debian/serial`), '2024101502\n');
    assert.equal(read(repo, `${ISO}/debian-security/serial`), 'latest\n');
    assert.equal(read(repo, `${BUILDER}/debian/serial`), '2024090201\n');
    assert.ok(server.requests.slice(first).includes('/debian/2024101502/dists/bookworm/InRelease'));
  });

  it('freeze --freeze-debian-security --json pins debian-security too', async () => {
    const repo = ourRepo();
    const res = await tb(repo, ['--json', 'snapshots', 'freeze', '--freeze-debian-security', ...base]);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(JSON.parse(res.stdout), {
      sets: {
        iso: {
          debian: { from: '2024100101', to: '2024101502', changed: true },
          'debian-security': { from: 'latest', to: '2024101503', changed: true },
        },
      },
      notes: [],
    });
    assert.equal(read(repo, `${ISO}/debian-security/serial`), '2024101503\n');
  });

  it('freeze --set builder freezes debian-security too, and says so', async () => {
    const repo = ourRepo();
    const res = await tb(repo, ['snapshots', 'freeze', '--set', 'builder', ...base]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /builder set: debian-security is frozen too/);
    assert.equal(read(repo, `${BUILDER}/debian/serial`), '2024101502\n');
    assert.equal(read(repo, `${BUILDER}/debian-security/serial`), '2024101503\n');
    assert.equal(read(repo, `${ISO}/debian/serial`), '2024100101\n');
  });

  it('freeze changes no file when a snapshot to write is missing (404)', async () => {
    const repo = ourRepo();
    const lonely = await startSnapshotServer();
    try {
      serveTailsArchive(lonely, 'debian', { latest: '2024101601', serials: [], suite: 'bookworm' });
      const before = tree(repo);
      const res = await tb(repo, ['snapshots', 'freeze', '--base-url', lonely.url]);
      assert.equal(res.code, 4);
      assert.match(
        res.stderr,
        new RegExp(`The iso snapshot debian 2024101601 does not exist on the server: ${lonely.url}debian/2024101601/dists/bookworm/InRelease and .*/Release answered HTTP 404\\. No serial file was changed\\.`),
      );
      assert.match(res.stderr, /hint: .*--base-url/);
      assert.deepEqual(tree(repo), before);
      assert.equal(repo.git('status', '--porcelain'), '');
    } finally {
      await lonely.close();
    }
  });

  it('freeze --set all changes no file when the network is down', async () => {
    const repo = ourRepo();
    const before = tree(repo);
    const port = await closedPort();
    const res = await tb(repo, ['snapshots', 'freeze', '--set', 'all', '--base-url', `http://127.0.0.1:${port}/`]);
    assert.equal(res.code, 4);
    assert.match(res.stderr, new RegExp(`error: GET http://127\\.0\\.0\\.1:${port}/debian/project/trace/debian failed: .*ECONNREFUSED.*\\(4 attempts\\)`));
    assert.deepEqual(tree(repo), before);
  });

  it('freeze succeeds through a 429 then 200', async () => {
    const repo = ourRepo();
    const busy = await tailsServer();
    try {
      busy.route('/debian/project/trace/debian', [{ status: 429, headers: { 'retry-after': '0' } }, { status: 503 }, { body: 'Archive serial: 2024101502\n' }]);
      const res = await tb(repo, ['snapshots', 'freeze', '--base-url', busy.url]);
      assert.equal(res.code, 0, res.stderr);
      assert.equal(read(repo, `${ISO}/debian/serial`), '2024101502\n');
      assert.equal(busy.requests.filter((r) => r === '/debian/project/trace/debian').length, 3);
    } finally {
      await busy.close();
    }
  });

  it('thaw sets the ISO set to latest; the builder set is refused', async () => {
    const repo = ourRepo({ debian: '2024100101', 'debian-security': '2024090201' });
    const res = await tb(repo, ['snapshots', 'thaw', 'debian']);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(read(repo, `${ISO}/debian/serial`), 'latest\n');
    assert.equal(read(repo, `${ISO}/debian-security/serial`), '2024090201\n');

    const before = tree(repo);
    const builder = await tb(repo, ['snapshots', 'thaw', '--set', 'builder']);
    assert.equal(builder.code, 3);
    assert.match(builder.stderr, /The builder set cannot be thawed: the builder box must come from frozen \(numeric\) serials/);
    assert.deepEqual(tree(repo), before);
  });

  it('a malformed serial file fails reads with the fix; thawing it repairs it', async () => {
    const repo = ourRepo({ debian: '2024-10-01', 'debian-security': 'latest' });
    const before = tree(repo);
    const cat = await tb(repo, ['snapshots', 'cat']);
    assert.equal(cat.code, 3);
    assert.equal(
      cat.stderr,
      `error: The serial file ${ISO}/debian/serial holds "2024-10-01", which is not a serial (YYYYMMDDNN) nor "latest".\nhint: Fix the file, or run "tails-build snapshots thaw debian".\n`,
    );
    const check = await tb(repo, ['snapshots', 'check-expiry', ...base]);
    assert.equal(check.code, 3);
    const json = await tb(repo, ['--json', 'snapshots', 'cat']);
    assert.equal(errorCode(json.stdout), 'serial-file-malformed');
    assert.deepEqual(tree(repo), before);

    const thaw = await tb(repo, ['snapshots', 'thaw', 'debian']);
    assert.equal(thaw.code, 0, thaw.stderr);
    assert.match(thaw.stdout, /iso debian: "2024-10-01" -> latest/);
    assert.equal(read(repo, `${ISO}/debian/serial`), 'latest\n');
  });

  it('prepare-build resolves every latest from the server into tmp/APT_snapshots.d', async () => {
    const repo = ourRepo({ debian: '2024100101', 'debian-security': 'latest' });
    const res = await tb(repo, ['snapshots', 'prepare-build', ...base]);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(JSON.parse(res.stdout), { debian: '2024100101', 'debian-security': '2024101503' });
    assert.equal(read(repo, 'tmp/APT_snapshots.d/debian-security/serial'), '2024101503\n');
    assert.equal(read(repo, `${ISO}/debian-security/serial`), 'latest\n');
    const again = await tb(repo, ['snapshots', 'cat-json', 'tmp/APT_snapshots.d']);
    assert.deepEqual(JSON.parse(again.stdout), { debian: '2024100101', 'debian-security': '2024101503' });
  });

  it('prepare-build takes --serials, else APT_SNAPSHOTS_SERIALS, over the server', async () => {
    const repo = ourRepo({ debian: 'latest', 'debian-security': 'latest' });
    const port = await closedPort();
    const offline = ['--base-url', `http://127.0.0.1:${port}/`];
    const flag = await tb(repo, ['snapshots', 'prepare-build', ...offline, '--output', 'out', '--serials', '{"debian":"2024090201","debian-security":"2024090202"}']);
    assert.equal(flag.code, 0, flag.stderr);
    assert.deepEqual(JSON.parse(flag.stdout), { debian: '2024090201', 'debian-security': '2024090202' });
    assert.equal(read(repo, 'out/debian/serial'), '2024090201\n');

    const env = await tb(repo, ['snapshots', 'prepare-build', ...offline], { APT_SNAPSHOTS_SERIALS: '{"debian":"2024090203","debian-security":"2024090204"}' });
    assert.equal(env.code, 0, env.stderr);
    assert.deepEqual(JSON.parse(env.stdout), { debian: '2024090203', 'debian-security': '2024090204' });
  });

  it('prepare-build refuses malformed JSON (usage, exit 2) and writes nothing', async () => {
    const repo = ourRepo();
    const cases: [string, RegExp][] = [
      ['{"debian":', /--serials cannot be used: it is not valid JSON/],
      ['{"debian-security":"latest"}', /"debian-security" is "latest"/],
      ['{"debian-security":2024101503}', /"debian-security" must be a string/],
      ['{"torproject":"2024103001"}', /"torproject" is not an archive of this set/],
    ];
    for (const [json, pattern] of cases) {
      const res = await tb(repo, ['snapshots', 'prepare-build', ...base, '--serials', json]);
      assert.equal(res.code, 2, `${json}: ${res.stderr}`);
      assert.match(res.stderr, pattern);
    }
    assert.equal(existsSync(join(repo.root, 'tmp')), false);
  });

  it('check-expiry passes when every pinned snapshot stays valid, warning about latest', async () => {
    const repo = ourRepo({ debian: '2024100101', 'debian-security': 'latest' });
    const res = await tb(repo, ['snapshots', 'check-expiry', ...base]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^ok {6}builder debian 2024090201: valid until .* \(99 days left\)$/m);
    assert.match(res.stdout, /^skip {4}iso debian-security: latest$/m);
    assert.doesNotMatch(res.stderr, /warning: iso debian-security/);
    const thawed = ourRepo({ debian: 'latest', 'debian-security': 'latest' });
    const warn = await tb(thawed, ['snapshots', 'check-expiry', '--set', 'iso', ...base]);
    assert.equal(warn.code, 0, warn.stderr);
    assert.match(warn.stderr, /warning: iso debian is "latest", not frozen/);
  });

  it('check-expiry fails (exit 3) on an expired Valid-Until, listing it with its date', async () => {
    const repo = ourRepo();
    const stale = await tailsServer();
    try {
      const expired = rfc2822In(-5);
      stale.route(
        '/debian/2024100101/dists/bookworm/InRelease',
        { body: inReleaseText({ suite: 'bookworm', codename: 'bookworm', date: rfc2822In(-15), validUntil: expired }) },
      );
      const res = await tb(repo, ['snapshots', 'check-expiry', '--base-url', stale.url]);
      assert.equal(res.code, 3);
      assert.match(res.stdout, /^EXPIRES iso debian 2024100101/m);
      assert.match(res.stderr, /error: 1 pinned snapshot expires in less than 30 days:\n {2}iso debian 2024100101: Valid-Until .* \(expired [56] days ago\)/);
      assert.ok(res.stderr.includes(expired));
      const json = await tb(repo, ['--json', 'snapshots', 'check-expiry', '--base-url', stale.url]);
      assert.equal(json.code, 3);
      assert.equal(errorCode(json.stdout), 'snapshots-expiring');
      const lenient = await tb(repo, ['snapshots', 'check-expiry', '--days', '0', '--set', 'builder', '--base-url', stale.url]);
      assert.equal(lenient.code, 0, lenient.stderr);
      const badDays = await tb(repo, ['snapshots', 'check-expiry', '--days', 'soon']);
      assert.equal(badDays.code, 2);
    } finally {
      await stale.close();
    }
  });

  it('every subcommand has help with examples', async () => {
    const repo = ourRepo();
    for (const sub of ['cat', 'cat-json', 'get-latest', 'freeze', 'thaw', 'prepare-build', 'check-expiry']) {
      const res = await tb(repo, ['snapshots', sub, '--help']);
      assert.equal(res.code, 0);
      assert.match(res.stdout, /Examples:\n {2}tails-build snapshots/, sub);
    }
  });
});

describe('tails-build snapshots (a Tails checkout)', () => {
  let server: SnapshotServer;
  before(async () => {
    server = await tailsServer();
  });
  after(async () => {
    await server.close();
  });

  it('cat finds both of Tails\' serial dirs', async () => {
    const repo = tailsRepo();
    const res = await tb(repo, ['--json', 'snapshots', 'cat']);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(JSON.parse(res.stdout), {
      builder: { debian: '2024090201', 'debian-security': '2024090201', tails: '2024090201' },
      iso: { debian: '2024100101', 'debian-security': 'latest', torproject: '2024100101' },
    });
  });

  it('freeze --set all bumps both sets at once (torproject via its Release file)', async () => {
    const repo = tailsRepo();
    const res = await tb(repo, ['snapshots', 'freeze', '--set', 'all', '--base-url', server.url]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(
      res.stdout,
      [
        'builder debian: 2024090201 -> 2024101502',
        'builder debian-security: 2024090201 -> 2024101503',
        'builder tails: 2024090201 -> 2024101001',
        'iso debian: 2024100101 -> 2024101502',
        'iso debian-security: latest (unchanged)',
        'iso torproject: 2024100101 -> 2024103001',
        '',
      ].join('\n'),
    );
    assert.equal(read(repo, 'vagrant/definitions/tails-builder/config/APT_snapshots.d/tails/serial'), '2024101001\n');
    assert.equal(read(repo, 'config/APT_snapshots.d/torproject/serial'), '2024103001\n');
    assert.ok(server.requests.includes('/torproject/2024103001/dists/bookworm/Release'));
  });
});

describe('tails-build snapshots (snapshot.debian.org layout)', () => {
  it('get-latest and freeze use month listings, falling back to the previous month', async () => {
    const server = await startSnapshotServer();
    const repo = createTempRepo();
    try {
      repo.write({
        'tails-build.json': JSON.stringify({ snapshots: { layout: 'debian' } }),
        [`${BUILDER}/debian/serial`]: '20240901T000000Z\n',
        [`${ISO}/debian/serial`]: 'latest\n',
      });
      repo.commit('init', '2024-10-01T12:00:00Z');
      const now = new Date();
      const prev = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
      const ym = (d: Date): string => `year=${d.getUTCFullYear()}&month=${d.getUTCMonth() + 1}`;
      const y = prev.getUTCFullYear();
      const m = String(prev.getUTCMonth() + 1).padStart(2, '0');
      const stamps = [`${y}${m}01T022531Z`, `${y}${m}28T204612Z`, `${y}${m}15T084512Z`];
      server.route(`/archive/debian/?${ym(now)}`, { body: monthListingHtml('debian', []) });
      server.route(`/archive/debian/?${ym(prev)}`, { body: monthListingHtml('debian', stamps) });
      server.route(`/archive/debian/${y}${m}28T204612Z/dists/bookworm/InRelease`, {
        body: inReleaseText({ suite: 'bookworm', codename: 'bookworm', date: rfc2822In(-1) }),
      });
      server.route('/archive/debian/20240901T000000Z/dists/bookworm/Release', {
        body: releaseText({ suite: 'bookworm', codename: 'bookworm', date: rfc2822In(-30) }),
      });

      const latest = await tb(repo, ['snapshots', 'get-latest', '--base-url', server.url, 'debian']);
      assert.equal(latest.code, 0, latest.stderr);
      assert.equal(latest.stdout, `debian: ${y}${m}28T204612Z\n`);

      const res = await tb(repo, ['snapshots', 'freeze', '--base-url', server.url]);
      assert.equal(res.code, 0, res.stderr);
      assert.equal(read(repo, `${ISO}/debian/serial`), `${y}${m}28T204612Z\n`);

      const check = await tb(repo, ['snapshots', 'check-expiry', '--base-url', server.url]);
      assert.equal(check.code, 0, check.stderr);
      assert.match(check.stderr, /the Release file has no Valid-Until; it does not expire/);
    } finally {
      await server.close();
      repo.remove();
    }
  });
});
