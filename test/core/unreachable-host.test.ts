/** The host a failed in-VM build could not reach, read out of apt's, apt-cacher-ng's, wget's, curl's, git's and debootstrap's wording. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { messages } from '../../src/core/messages/index.js';
import { describeHost, findUnreachableHost, type HostRole, type UnreachableHost, type UnreachableReason, type UnreachableTool } from '../../src/core/unreachable-host.js';

const SNAP = 'time-based.snapshots.deb.tails.boum.org';
const SNAP_URL = `http://${SNAP}/debian/2024102903`;

interface Case {
  readonly name: string;
  readonly output: readonly string[];
  readonly host: string;
  readonly tool: UnreachableTool;
  readonly reason: UnreachableReason;
  readonly url?: string;
  /** The line reported; the last of `output` unless given. */
  readonly line?: string;
}

const cases: readonly Case[] = [
  {
    name: "apt (old wording): Failed to fetch … Could not resolve 'HOST'",
    output: ["W: Failed to fetch http://deb.tails.boum.org/dists/bookworm/InRelease  Could not resolve 'deb.tails.boum.org'"],
    host: 'deb.tails.boum.org', tool: 'apt', reason: 'dns', url: 'http://deb.tails.boum.org/dists/bookworm/InRelease',
  },
  {
    name: "apt: Err:N URL, then Temporary failure resolving 'HOST' on the indented line",
    output: [`Err:1 ${SNAP_URL} bookworm InRelease`, `  Temporary failure resolving '${SNAP}'`],
    host: SNAP, tool: 'apt', reason: 'dns', url: SNAP_URL,
  },
  {
    name: "apt: Temporary failure resolving 'HOST' in a W: Failed to fetch line",
    output: [`W: Failed to fetch ${SNAP_URL}/dists/bookworm/InRelease  Temporary failure resolving '${SNAP}'`],
    host: SNAP, tool: 'apt', reason: 'dns', url: `${SNAP_URL}/dists/bookworm/InRelease`,
  },
  {
    name: 'apt: Failed to fetch … Could not connect to HOST:80 (IP), connection timed out',
    output: ['E: Failed to fetch http://deb.tails.boum.org/pool/main/t/tails-foo_1.0_all.deb  Could not connect to deb.tails.boum.org:80 (204.13.164.63), connection timed out'],
    host: 'deb.tails.boum.org', tool: 'apt', reason: 'connect', url: 'http://deb.tails.boum.org/pool/main/t/tails-foo_1.0_all.deb',
  },
  {
    name: 'apt: Err:N URL, then Could not connect to HOST:80 (IP) - connect (111: Connection refused)',
    output: ['Err:3 http://deb.tails.boum.org bookworm InRelease', '  Could not connect to deb.tails.boum.org:80 (204.13.164.63). - connect (111: Connection refused)'],
    host: 'deb.tails.boum.org', tool: 'apt', reason: 'connect', url: 'http://deb.tails.boum.org',
  },
  {
    name: 'apt: Failed to fetch … Connection failed [IP: addr port] (the URL names the host)',
    output: ['E: Failed to fetch http://tagged.snapshots.deb.tails.boum.org/6.9/pool/main/f/foo.deb  Connection failed [IP: 204.13.164.63 80]'],
    host: 'tagged.snapshots.deb.tails.boum.org', tool: 'apt', reason: 'connect', url: 'http://tagged.snapshots.deb.tails.boum.org/6.9/pool/main/f/foo.deb',
  },
  {
    name: 'apt: Failed to fetch … Connection refused',
    output: ['W: Failed to fetch http://deb.torproject.org/torproject.org/dists/bookworm/InRelease  Connection refused'],
    host: 'deb.torproject.org', tool: 'apt', reason: 'connect', url: 'http://deb.torproject.org/torproject.org/dists/bookworm/InRelease',
  },
  {
    name: 'apt: Err:N URL, then Unable to connect to HOST:http:',
    output: ['Err:2 http://deb.tails.boum.org bookworm/main amd64 Packages', '  Unable to connect to deb.tails.boum.org:http:'],
    host: 'deb.tails.boum.org', tool: 'apt', reason: 'connect', url: 'http://deb.tails.boum.org',
  },
  {
    name: 'apt-cacher-ng: Err:1 URL … 503 DNS error for hostname HOST (one line)',
    output: [`Err:1 ${SNAP_URL} bookworm InRelease 503  DNS error for hostname ${SNAP}: Temporary failure in name resolution. If ${SNAP} refers to a configured cache repository, please check the corresponding configuration file.`],
    host: SNAP, tool: 'apt-cacher-ng', reason: 'dns', url: SNAP_URL,
  },
  {
    name: 'apt-cacher-ng: Err:1 URL, then 503 DNS error for hostname HOST on the indented line',
    output: ['Err:1 http://deb.tails.boum.org bookworm InRelease', '  503  DNS error for hostname deb.tails.boum.org: Name or service not known. [IP: 127.0.0.1 3142]'],
    host: 'deb.tails.boum.org', tool: 'apt-cacher-ng', reason: 'dns', url: 'http://deb.tails.boum.org',
  },
  {
    name: 'apt-cacher-ng: E: Failed to fetch URL 502 naming only the URL (its host is the one)',
    output: ['E: Failed to fetch http://dist.torproject.org/torbrowser/13.5.7/tor-browser-linux-x86_64-13.5.7.tar.xz  502  Connection closed [IP: 127.0.0.1 3142]'],
    host: 'dist.torproject.org', tool: 'apt-cacher-ng', reason: 'gateway', url: 'http://dist.torproject.org/torbrowser/13.5.7/tor-browser-linux-x86_64-13.5.7.tar.xz',
  },
  {
    name: "wget: unable to resolve host address 'HOST' (ASCII quotes)",
    output: ['--2026-12-03 14:12:01--  https://archive.torproject.org/tor-package-archive/torbrowser/13.5.7/tor-browser-linux-x86_64-13.5.7.tar.xz', "wget: unable to resolve host address 'archive.torproject.org'"],
    host: 'archive.torproject.org', tool: 'wget', reason: 'dns',
  },
  {
    name: 'wget: unable to resolve host address ‘HOST’ (typographic quotes)',
    output: ['wget: unable to resolve host address ‘dist.torproject.org’'],
    host: 'dist.torproject.org', tool: 'wget', reason: 'dns',
  },
  {
    name: 'wget: Resolving HOST (HOST)... failed',
    output: ['Resolving archive.torproject.org (archive.torproject.org)... failed: Temporary failure in name resolution.', "wget: unable to resolve host address 'archive.torproject.org'"],
    host: 'archive.torproject.org', tool: 'wget', reason: 'dns', line: 'Resolving archive.torproject.org (archive.torproject.org)... failed: Temporary failure in name resolution.',
  },
  {
    name: 'wget: Connecting to HOST (HOST)|IP|:80... failed',
    output: ['Connecting to dist.torproject.org (dist.torproject.org)|116.202.120.166|:80... failed: Connection refused.'],
    host: 'dist.torproject.org', tool: 'wget', reason: 'connect',
  },
  {
    name: 'curl: (6) Could not resolve host: HOST',
    output: ['curl: (6) Could not resolve host: gitlab.tails.boum.org'],
    host: 'gitlab.tails.boum.org', tool: 'curl', reason: 'dns',
  },
  {
    name: 'curl: (7) Failed to connect to HOST port 443',
    output: ['curl: (7) Failed to connect to time-based.snapshots.deb.tails.boum.org port 443 after 3 ms: Couldn\'t connect to server'],
    host: SNAP, tool: 'curl', reason: 'connect',
  },
  {
    name: "git: fatal: unable to access 'URL': Could not resolve host: HOST",
    output: ["Cloning into '/home/vagrant/amnesia/submodules/jenkins-tools'...", "fatal: unable to access 'https://gitlab.tails.boum.org/tails/jenkins-tools.git/': Could not resolve host: gitlab.tails.boum.org"],
    host: 'gitlab.tails.boum.org', tool: 'git', reason: 'dns', url: 'https://gitlab.tails.boum.org/tails/jenkins-tools.git/',
  },
  {
    name: "git: fatal: unable to access 'URL': Failed to connect to HOST port 443",
    output: ["fatal: unable to access 'https://gitlab.tails.boum.org/tails/chutney.git/': Failed to connect to gitlab.tails.boum.org port 443 after 129 ms: Couldn't connect to server"],
    host: 'gitlab.tails.boum.org', tool: 'git', reason: 'connect', url: 'https://gitlab.tails.boum.org/tails/chutney.git/',
  },
  {
    name: 'git over ssh: ssh: Could not resolve hostname HOST',
    output: ['ssh: Could not resolve hostname gitlab.tails.boum.org: Temporary failure in name resolution', 'fatal: Could not read from remote repository.'],
    host: 'gitlab.tails.boum.org', tool: 'git', reason: 'dns', line: 'ssh: Could not resolve hostname gitlab.tails.boum.org: Temporary failure in name resolution',
  },
  {
    name: 'debootstrap: E: Failed getting release file URL',
    output: ['I: Retrieving InRelease', 'I: Retrieving Release', `E: Failed getting release file ${SNAP_URL}/dists/bookworm/Release`],
    host: SNAP, tool: 'debootstrap', reason: 'fetch', url: `${SNAP_URL}/dists/bookworm/Release`,
  },
];

describe('findUnreachableHost: each line shape', () => {
  for (const c of cases) {
    it(c.name, () => {
      const found = findUnreachableHost(c.output);
      assert.ok(found !== undefined, 'no host found');
      assert.equal(found.host, c.host);
      assert.equal(found.tool, c.tool);
      assert.equal(found.reason, c.reason);
      assert.equal(found.url, c.url);
      assert.equal(found.line, c.line ?? c.output.at(-1)?.trim());
      assert.equal(found.what, describeHost(c.host).what);
    });
  }

  it('reads one string of output the same as its lines (CRLF too)', () => {
    const c = cases[1]!;
    assert.deepEqual(findUnreachableHost(c.output.join('\r\n')), findUnreachableHost(c.output));
  });
});

describe('findUnreachableHost: what it passes over', () => {
  const none: [string, string[]][] = [
    ['a build that failed for another reason', ['+ lb build noauto', 'E: Unable to locate package tails-foo', 'E: An unexpected failure occurred, exiting...']],
    ['apt fetching fine', [`Get:1 ${SNAP_URL} bookworm InRelease [151 kB]`, 'Fetched 151 kB in 1s (151 kB/s)', 'Reading package lists...']],
    ['a 404 (the host answered: the file is not there)', ['E: Failed to fetch http://deb.tails.boum.org/pool/main/t/tails-foo_1.0_all.deb  404  Not Found [IP: 204.13.164.63 80]']],
    ['a hash mismatch', ['E: Failed to fetch http://deb.tails.boum.org/dists/bookworm/main/binary-amd64/Packages.xz  Hash Sum mismatch']],
    ['git refused (the host answered)', ["fatal: unable to access 'https://gitlab.tails.boum.org/tails/x.git/': The requested URL returned error: 403"]],
    ['the VM\'s own apt-cacher-ng not answering (loopback)', ['Err:1 http://deb.tails.boum.org bookworm InRelease', '  Could not connect to 127.0.0.1:3142 (127.0.0.1). - connect (111: Connection refused)', 'E: Failed to fetch http://deb.tails.boum.org/dists/bookworm/InRelease  Connection failed [IP: 127.0.0.1 3142]', 'Connecting to 127.0.0.1:3142... failed: Connection refused.']],
    ['a traced command that quotes the words', ["+ echo \"Temporary failure resolving 'deb.tails.boum.org'\""]],
    ['nothing', []],
  ];
  for (const [what, output] of none) {
    it(`${what}: undefined`, () => {
      assert.equal(findUnreachableHost(output), undefined);
    });
  }
});

describe('findUnreachableHost: the first host, and what was being done', () => {
  it('the first unreachable host wins, even when a later one is Tails-only too', () => {
    const found = findUnreachableHost([
      'Err:1 http://deb.debian.org/debian bookworm InRelease',
      "  Temporary failure resolving 'deb.debian.org'",
      "W: Failed to fetch http://deb.tails.boum.org/dists/bookworm/InRelease  Could not resolve 'deb.tails.boum.org'",
    ]);
    assert.equal(found?.host, 'deb.debian.org');
    assert.equal(found.role, 'debian');
  });

  it('a loopback line is passed over, and the outside host after it is found', () => {
    const found = findUnreachableHost(['Connecting to 127.0.0.1:3142... failed: Connection refused.', 'wget: unable to resolve host address ‘dist.torproject.org’']);
    assert.equal(found?.host, 'dist.torproject.org');
  });

  it('the step is the last traced command, lb stage or P: line before it', () => {
    const found = findUnreachableHost([
      '+ lb build noauto',
      '[2026-12-03 14:12:05] lb bootstrap_debootstrap',
      'P: Begin bootstrapping system...',
      '+ debootstrap --include=gnupg --arch=amd64 --components=main bookworm chroot http://time-based.snapshots.deb.tails.boum.org/debian/2024102903',
      'I: Retrieving Release',
      `E: Failed getting release file ${SNAP_URL}/dists/bookworm/Release`,
    ]);
    assert.equal(found?.step, '+ debootstrap --include=gnupg --arch=amd64 --components=main bookworm chroot http://time-based.snapshots.deb.tails.boum.org/debian/2024102903');
    const staged = findUnreachableHost(['[2026-12-03 14:20:00] lb chroot_archives chroot install', 'P: Configuring file /etc/apt/sources.list', 'Err:1 http://deb.tails.boum.org bookworm InRelease', "  Temporary failure resolving 'deb.tails.boum.org'"]);
    assert.equal(staged?.step, 'P: Configuring file /etc/apt/sources.list');
  });

  it('no step before it: step undefined', () => {
    assert.equal(findUnreachableHost(['curl: (6) Could not resolve host: dist.torproject.org'])?.step, undefined);
  });

  it("apt-cacher-ng's answer is quoted without the [IP: 127.0.0.1 3142] of the proxy itself", () => {
    const found = findUnreachableHost(['Err:1 http://deb.tails.boum.org bookworm InRelease', '  503  DNS error for hostname deb.tails.boum.org: Name or service not known. [IP: 127.0.0.1 3142]']);
    assert.equal(found?.failure, 'answered 503 (DNS error for hostname deb.tails.boum.org: Name or service not known.)');
  });

  it('hosts are reported lower-case, without a port or a trailing dot', () => {
    assert.equal(findUnreachableHost(["W: Failed to fetch http://Deb.Tails.Boum.Org./x  Could not resolve 'Deb.Tails.Boum.Org.:80'"])?.host, 'deb.tails.boum.org');
  });
});

describe('describeHost', () => {
  const table: [string, HostRole, RegExp][] = [
    ['deb.tails.boum.org', 'tails-archive', /^Tails' own package archive$/],
    ['time-based.snapshots.deb.tails.boum.org', 'tails-snapshots', /^Tails' signed APT snapshots/],
    ['tagged.snapshots.deb.tails.boum.org', 'tails-snapshots', /^Tails' signed APT snapshots/],
    ['gitlab.tails.boum.org', 'tails-git', /^Tails' git .*submodules/],
    ['dist.torproject.org', 'torproject', /Tor Browser/],
    ['archive.torproject.org', 'torproject', /Tor Browser/],
    ['people.torproject.org', 'torproject', /Tor Project/],
    ['0.debian.pool.ntp.org', 'ntp', /NTP pool .*clock/],
    ['pool.ntp.org', 'ntp', /NTP/],
    ['deb.debian.org', 'debian', /Debian/],
    ['example.org', 'other', /a host the build fetches from/],
    ['notdeb.tails.boum.org.example', 'other', /a host/],
    ['eviltorproject.org', 'other', /a host/],
  ];
  for (const [host, role, what] of table) {
    it(`${host}: ${role}`, () => {
      const kind = describeHost(host);
      assert.equal(kind.role, role);
      assert.match(kind.what, what);
    });
  }
});

describe('messages.iso.hostUnreachable', () => {
  const LOG = '/home/u/tails/tails-build-artifacts/build.log';
  const found = (output: string[]): UnreachableHost => {
    const f = findUnreachableHost(output);
    assert.ok(f !== undefined);
    return f;
  };

  it('names the host, what it is, the step and the line; the hint: this machine cannot reach it, a local mirror for snapshots, the log', () => {
    const error = messages.iso.hostUnreachable(found(['+ lb build noauto', `E: Failed getting release file ${SNAP_URL}/dists/bookworm/Release`]), LOG);
    assert.equal(error.code, 'build-host-unreachable');
    assert.equal(error.kind, 'external');
    assert.equal(
      error.message,
      `The build in the VM stopped at ${SNAP}, Tails' signed APT snapshots (time-based: debian, debian-security, torproject): debootstrap could not get the release file fetching ${SNAP_URL}/dists/bookworm/Release.\n  step: + lb build noauto\n  output: E: Failed getting release file ${SNAP_URL}/dists/bookworm/Release`,
    );
    assert.match(error.hint ?? '', new RegExp(`^This machine cannot reach ${SNAP.replace(/\./g, '\\.')} \\(check: curl -sSI ${SNAP_URL.replace(/\./g, '\\.')}/dists/bookworm/Release\\)\\.`));
    assert.match(error.hint ?? '', /network access to time-based\.snapshots\.deb\.tails\.boum\.org, or serve these snapshots from a local mirror \(tails-build snapshots mirror; Tails re-signs its snapshots/);
    assert.match(error.hint ?? '', new RegExp(`The build's whole log is ${LOG.replace(/\./g, '\\.')}\\.$`));
  });

  it("Tails' own archive: only Tails serves it, so network access is the way; a DNS failure is checked with getent", () => {
    const error = messages.iso.hostUnreachable(found(["W: Failed to fetch http://deb.tails.boum.org/dists/bookworm/InRelease  Could not resolve 'deb.tails.boum.org'"]), LOG);
    assert.doesNotMatch(error.message, /step:/);
    assert.match(error.message, /^The build in the VM stopped at deb\.tails\.boum\.org, Tails' own package archive: apt could not resolve its name fetching http:\/\/deb\.tails\.boum\.org\/dists\/bookworm\/InRelease\./);
    assert.match(error.hint ?? '', /\(check: getent hosts deb\.tails\.boum\.org\)\. Only Tails serves it, so no local mirror stands in for it: give this machine network access to deb\.tails\.boum\.org/);
    assert.doesNotMatch(error.hint ?? '', /snapshots mirror/);
  });

  const hints: [string, string[], RegExp][] = [
    ["Tails' git: the submodules from where it is reachable", ["fatal: unable to access 'https://gitlab.tails.boum.org/tails/chutney.git/': Could not resolve host: gitlab.tails.boum.org"], /git submodule update --init/],
    ['the Tor Project: only it serves Tor Browser', ['wget: unable to resolve host address ‘dist.torproject.org’'], /Only the Tor Project serves it/],
    ['the NTP pool: UDP 123, or offline', ["Temporary failure resolving '2.debian.pool.ntp.org'"], /NTP server \(UDP port 123\), or build with TAILS_BUILD_OPTIONS=offline/],
    ['another host: network access or a mirror it reaches', ['curl: (7) Failed to connect to example.org port 443 after 3 ms'], /curl -sSI http:\/\/example\.org\/\)\. Either give this machine network access to example\.org or point the build at a mirror/],
  ];
  for (const [what, output, hint] of hints) {
    it(what, () => {
      const error = messages.iso.hostUnreachable(found(output), LOG);
      assert.match(error.hint ?? '', hint);
      assert.match(error.hint ?? '', /^This machine cannot reach /);
      assert.match(error.hint ?? '', /The build's whole log is \/home\/u\/tails\/tails-build-artifacts\/build\.log\.$/);
    });
  }
});
