/**
 * The host a failed in-VM build could not reach, read out of the tail of its
 * output, and what the build was doing then. A Tails build fetches from hosts
 * only Tails (or the Tor Project) serves; a machine that reaches only Debian's
 * mirror stops at the first of them, and the 40-line tail of `lb build` buries
 * which one under apt's, wget's, curl's, git's or debootstrap's wording:
 *
 * - apt: `Could not resolve 'HOST'`, `Temporary failure resolving 'HOST'`,
 *   `Failed to fetch URL  Could not connect to HOST:80 (…)` (or `Connection
 *   failed`, `Connection refused`, `Unable to connect to HOST:http:`), on the
 *   `Err:N URL` line or on the indented line after it;
 * - apt-cacher-ng (vmproxy) answering apt with a 503 or 502: `Err:1 URL  503  DNS
 *   error for hostname HOST: …`, `E: Failed to fetch URL  502  …`;
 * - wget: `wget: unable to resolve host address 'HOST'` (or ‘HOST’), `Resolving
 *   HOST (HOST)... failed`, `Connecting to HOST (HOST)|IP|:80... failed`;
 * - curl: `curl: (6) Could not resolve host: HOST`, `curl: (7) Failed to connect
 *   to HOST port 443 …`;
 * - git: `fatal: unable to access 'URL': Could not resolve host: HOST` (or
 *   Failed to connect …), `ssh: Could not resolve hostname HOST`, `fatal: unable
 *   to look up HOST (port 9418)`;
 * - debootstrap: `E: Failed getting release file URL`.
 *
 * The loopback (apt-cacher-ng in the VM, 127.0.0.1:3142) is no host of the
 * outside world: a line naming it is passed over. The first host wins.
 *
 * Pure: the lines in, the finding out.
 */

/** What a host is to a Tails build. */
export type HostRole = 'tails-archive' | 'tails-snapshots' | 'tails-git' | 'tails' | 'torproject' | 'ntp' | 'debian' | 'other';

export interface HostKind {
  readonly role: HostRole;
  /** In words: "Tails' signed APT snapshots". */
  readonly what: string;
}

/** Who said it could not reach the host. */
export type UnreachableTool = 'apt' | 'apt-cacher-ng' | 'wget' | 'curl' | 'git' | 'debootstrap';

/** How the host could not be reached: its name did not resolve, no connection, the proxy's gateway error, or a fetch that failed without saying why. */
export type UnreachableReason = 'dns' | 'connect' | 'gateway' | 'fetch';

export interface UnreachableHost {
  /** The host, lower-cased, without a port. */
  readonly host: string;
  readonly role: HostRole;
  readonly what: string;
  readonly tool: UnreachableTool;
  readonly reason: UnreachableReason;
  /** What the tool said about it, in a few words after its name: "could not resolve its name", "answered 503 (DNS error …)". */
  readonly failure: string;
  /** The URL being fetched, when the output named one. */
  readonly url: string | undefined;
  /** The output line that said so, trimmed. */
  readonly line: string;
  /** What was running then: the last `+ command` (set -x), `lb <stage>` or live-build `P:` line before it. */
  readonly step: string | undefined;
}

interface KnownHost {
  readonly suffix: string;
  readonly kind: HostKind;
}

/** Most specific first: a host matches a suffix when it is that name or ends with "." and it. */
const KNOWN_HOSTS: readonly KnownHost[] = [
  { suffix: 'time-based.snapshots.deb.tails.boum.org', kind: { role: 'tails-snapshots', what: "Tails' signed APT snapshots (time-based: debian, debian-security, torproject)" } },
  { suffix: 'tagged.snapshots.deb.tails.boum.org', kind: { role: 'tails-snapshots', what: "Tails' signed APT snapshots (tagged: Tails' own packages at a release)" } },
  { suffix: 'snapshots.deb.tails.boum.org', kind: { role: 'tails-snapshots', what: "Tails' signed APT snapshots" } },
  { suffix: 'deb.tails.boum.org', kind: { role: 'tails-archive', what: "Tails' own package archive" } },
  { suffix: 'gitlab.tails.boum.org', kind: { role: 'tails-git', what: "Tails' git (GitLab: the Tails repository and its submodules)" } },
  { suffix: 'tails.boum.org', kind: { role: 'tails', what: 'a Tails server' } },
  { suffix: 'tails.net', kind: { role: 'tails', what: 'a Tails server' } },
  { suffix: 'dist.torproject.org', kind: { role: 'torproject', what: "the Tor Project's downloads (Tor Browser)" } },
  { suffix: 'archive.torproject.org', kind: { role: 'torproject', what: "the Tor Project's archive (Tor Browser)" } },
  { suffix: 'deb.torproject.org', kind: { role: 'torproject', what: "the Tor Project's Debian packages" } },
  { suffix: 'torproject.org', kind: { role: 'torproject', what: 'the Tor Project (Tor Browser)' } },
  { suffix: 'ntp.org', kind: { role: 'ntp', what: 'an NTP pool server (the build waits for the clock to be set from it)' } },
  { suffix: 'debian.org', kind: { role: 'debian', what: "Debian's archive" } },
];

const OTHER: HostKind = { role: 'other', what: 'a host the build fetches from' };

/** What `host` is to a Tails build (Tails' archive, its snapshots, its git, the Tor Project, the NTP pool …). */
export function describeHost(host: string): HostKind {
  const name = normaliseHost(host);
  if (/^ntp\d*\./.test(name)) return KNOWN_HOSTS.find((k) => k.suffix === 'ntp.org')?.kind ?? OTHER;
  return KNOWN_HOSTS.find((k) => name === k.suffix || name.endsWith(`.${k.suffix}`))?.kind ?? OTHER;
}

/** A host token: a name or an IPv4 address (a bracketed IPv6 address too). */
const HOST = String.raw`\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*`;
const OPEN = `['‘"]`;
const CLOSE = `['’"]`;

/** An apt fetch line: `Err:N URL …`, `Ign:N URL …`, `[EW]: Failed to fetch URL  …`. */
const APT_FETCH = /^(?:(?:Err|Ign):\d+\s+|(?:[EW]: )?Failed to fetch\s+)([a-z][a-z0-9+.-]*:\/\/\S+)(.*)$/;
/** apt-cacher-ng's answer, after the URL on one line or alone on the indented line after `Err:N URL`. */
const GATEWAY = /(?:^|\s)(50[23])\s+(.+)$/;
const ACNG_HOSTNAME = new RegExp(String.raw`hostname (${HOST})`);
const APT_RESOLVE = new RegExp(String.raw`(?:Could not resolve|Temporary failure resolving) ${OPEN}(${HOST})(?::\d+)?${CLOSE}`);
const APT_CONNECT_TO = new RegExp(String.raw`(?:Could not connect to|Unable to connect to) (${HOST})`);
const APT_CONNECT = /Could not connect|Connection failed|Connection refused|Unable to connect|Connection timed out|connection timed out/;
const APT_IP = /\[IP: (\S+) \d+\]/;
const WGET_RESOLVE = new RegExp(String.raw`unable to resolve host address ${OPEN}(${HOST})${CLOSE}`);
const WGET_RESOLVING = new RegExp(String.raw`^Resolving (${HOST})(?: \([^)]*\))?\.\.\. failed`);
const WGET_CONNECT = new RegExp(String.raw`Connecting to (${HOST})(?::\d+)?(?: \([^)]*\))?(?:\|[^|]*\|)?(?::\d+)?\.\.\. failed`);
const CURL_RESOLVE = new RegExp(String.raw`^curl: \(6\) Could not resolve host: (${HOST})`);
const CURL_CONNECT = new RegExp(String.raw`^curl: \(7\) Failed to connect to (${HOST})`);
const GIT_ACCESS = /fatal: unable to access '([^']+)': (.*)$/;
const GIT_UNREACHABLE = new RegExp(String.raw`Could not resolve host: (${HOST})|Failed to connect to (${HOST})|Couldn't connect to server|Connection timed out|Connection refused|Network is unreachable|Resolving timed out`);
const GIT_SSH = new RegExp(String.raw`^ssh: Could not resolve hostname (${HOST})`);
const GIT_LOOKUP = new RegExp(String.raw`^fatal: unable to look up (${HOST}) \(port`);
const DEBOOTSTRAP = /^E: Failed getting release (?:signature )?file (\S+)/;
/** What was running: set -x's `+ command`, live-build's `[date] lb stage …` and `P: …`. */
const STEP = [/^\++ \S/, /^(?:\[[^\]]*\] )?lb [a-z_]+/, /^P: \S/];

type Found = Omit<UnreachableHost, 'role' | 'what' | 'line' | 'step'>;

/**
 * The first host the build output says it could not reach, with what was being
 * done; undefined when no line says so (or only the VM's own loopback proxy failed).
 */
export function findUnreachableHost(output: string | readonly string[]): UnreachableHost | undefined {
  const lines = typeof output === 'string' ? output.split('\n') : output.flatMap((l) => l.split('\n'));
  let step: string | undefined;
  /** The URL of the `Err:N URL` line just before, for the indented line that says why. */
  let pendingUrl: string | undefined;
  for (const raw of lines) {
    const line = raw.replace(/\r/g, '').trimEnd();
    const trimmed = line.trim();
    if (trimmed === '') continue;
    const indented = /^\s/.test(line);
    // A command set -x traces is what runs, not what failed (its arguments may quote anything).
    if (!indented && STEP.some((s) => s.test(trimmed))) {
      step = trimmed;
      pendingUrl = undefined;
      continue;
    }
    const found = readLine(trimmed, indented ? pendingUrl : undefined);
    if (found !== undefined && !isLoopback(found.host)) {
      const kind = describeHost(found.host);
      return { ...found, role: kind.role, what: kind.what, line: trimmed, step };
    }
    if (!indented) pendingUrl = /^Err:\d+\s/.test(trimmed) ? APT_FETCH.exec(trimmed)?.[1] : undefined;
  }
  return undefined;
}

/** One trimmed line; `detailOf`: the URL of the `Err:N URL` line this indented line explains. */
function readLine(line: string, detailOf: string | undefined): Found | undefined {
  const fetch = APT_FETCH.exec(line);
  const url = fetch?.[1] ?? detailOf;
  const rest = fetch?.[2] ?? (detailOf === undefined ? line : ` ${line}`);
  if (url !== undefined) {
    const gateway = GATEWAY.exec(rest);
    if (gateway !== null) {
      const said = (gateway[2] ?? '').replace(/\s*\[IP: [^\]]*\]\s*$/, '').trim();
      const named = ACNG_HOSTNAME.exec(said)?.[1];
      const host = named ?? urlHost(url);
      if (host !== undefined) {
        const reason: UnreachableReason = /DNS error/i.test(said) ? 'dns' : 'gateway';
        return { host: normaliseHost(host), tool: 'apt-cacher-ng', reason, failure: `answered ${gateway[1] ?? ''} (${said})`, url };
      }
    }
  }
  const resolve = APT_RESOLVE.exec(line);
  if (resolve?.[1] !== undefined) return { host: normaliseHost(resolve[1]), tool: 'apt', reason: 'dns', failure: 'could not resolve its name', url };
  const connectTo = APT_CONNECT_TO.exec(line);
  if (connectTo?.[1] !== undefined) return { host: normaliseHost(connectTo[1]), tool: 'apt', reason: 'connect', failure: 'could not connect to it', url };
  if (url !== undefined && APT_CONNECT.test(rest)) {
    // "Connection failed [IP: 127.0.0.1 3142]" is the connection to the VM's proxy, not to the URL's host.
    const ip = APT_IP.exec(rest)?.[1];
    const host = ip !== undefined && isLoopback(ip) ? ip : urlHost(url);
    if (host !== undefined) return { host: normaliseHost(host), tool: 'apt', reason: 'connect', failure: 'could not connect to it', url };
  }
  const wget = WGET_RESOLVE.exec(line) ?? WGET_RESOLVING.exec(line);
  if (wget?.[1] !== undefined) return { host: normaliseHost(wget[1]), tool: 'wget', reason: 'dns', failure: 'could not resolve its name', url: undefined };
  const wgetConnect = WGET_CONNECT.exec(line);
  if (wgetConnect?.[1] !== undefined) return { host: normaliseHost(wgetConnect[1]), tool: 'wget', reason: 'connect', failure: 'could not connect to it', url: undefined };
  const git = GIT_ACCESS.exec(line);
  if (git !== null) {
    const why = GIT_UNREACHABLE.exec(git[2] ?? '');
    const host = why?.[1] ?? why?.[2] ?? (why === null ? undefined : urlHost(git[1] ?? ''));
    if (host !== undefined) {
      const dns = /resolv/i.test(why?.[0] ?? '');
      return { host: normaliseHost(host), tool: 'git', reason: dns ? 'dns' : 'connect', failure: dns ? 'could not resolve its name' : 'could not connect to it', url: git[1] };
    }
  }
  const ssh = GIT_SSH.exec(line) ?? GIT_LOOKUP.exec(line);
  if (ssh?.[1] !== undefined) return { host: normaliseHost(ssh[1]), tool: 'git', reason: 'dns', failure: 'could not resolve its name', url: undefined };
  const curl = CURL_RESOLVE.exec(line);
  if (curl?.[1] !== undefined) return { host: normaliseHost(curl[1]), tool: 'curl', reason: 'dns', failure: 'could not resolve its name', url: undefined };
  const curlConnect = CURL_CONNECT.exec(line);
  if (curlConnect?.[1] !== undefined) return { host: normaliseHost(curlConnect[1]), tool: 'curl', reason: 'connect', failure: 'could not connect to it', url: undefined };
  const debootstrap = DEBOOTSTRAP.exec(line);
  if (debootstrap?.[1] !== undefined) {
    const host = urlHost(debootstrap[1]);
    if (host !== undefined) return { host: normaliseHost(host), tool: 'debootstrap', reason: 'fetch', failure: 'could not get the release file', url: debootstrap[1] };
  }
  return undefined;
}

function urlHost(url: string): string | undefined {
  return /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/\s]*@)?(\[[^\]]+\]|[^:/\s]+)/i.exec(url)?.[1];
}

function normaliseHost(host: string): string {
  return host.toLowerCase().replace(/\.$/, '');
}

function isLoopback(host: string): boolean {
  const h = normaliseHost(host).replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}
