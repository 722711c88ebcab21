/**
 * User-facing texts for the project, git, basebox and build-option concerns.
 * Each names the problem, the fact behind it and the next command.
 * The other domains have their own files beside this one (index.ts lists them).
 */
import { ExternalCommandError, UsageError, UserError } from '../errors.js';
import type { UnreachableHost } from '../unreachable-host.js';
import type { VagrantFailure } from '../vagrant-failure.js';

export const messages = {
  git: {
    notARepo: (dir: string, detail: string) =>
      new UserError('not-a-git-repo', `${dir} is not inside a git work tree (${firstLine(detail)}).`, {
        hint: 'Run tails-build from your project checkout, or pass --project DIR.',
      }),
    unreadableDir: (dir: string, error: unknown) =>
      new UserError('unreadable-checkout', `Cannot open ${dir}: ${error instanceof Error ? error.message : String(error)}.`, {
        hint: `Check that the directory exists and is readable (ls -ld ${dir}).`,
      }),
    noCommits: (root: string) =>
      new UserError('no-commits', `The repository at ${root} has no commits yet.`, {
        hint: 'Commit the project first: git add -A && git commit.',
      }),
  },

  basebox: {
    definitionDirMissing: (root: string, dir: string) =>
      new UserError('no-box-definition', `The box definition dir ${dir} does not exist in ${root}.`, {
        hint: `Create it, or set "boxDefinitionDir" in tails-build.json.`,
      }),
    noCommitTouching: (root: string, dir: string) =>
      new UserError('box-definition-uncommitted', `No commit touches the box definition dir ${dir} in ${root}, so the builder box has no name.`, {
        hint: `Commit it: git add ${dir} && git commit.`,
      }),
    builderSerialNotFrozen: (archive: string, dir: string) =>
      new UserError('builder-serial-not-frozen', `The builder serial of ${archive} in ${dir} is "latest"; the builder box is only ever built from frozen snapshots.`, {
        hint: 'Freeze it and commit: tails-build snapshots freeze --set builder && git commit -m "Freeze builder snapshots" -- ' + dir,
      }),
    noBuilderSerials: (dir: string) =>
      new UserError('no-builder-serials', `The builder serial dir ${dir} holds no <archive>/serial file, so there is nothing to build the box from.`, {
        hint: `Create ${dir}/debian/serial (a serial such as 2026112201), or run tails-build snapshots mirror && tails-build snapshots freeze --set builder.`,
      }),
    definitionIncomplete: (dir: string) =>
      new UserError('box-definition-incomplete', `The builder definition ${dir} has no "packages" file to build the box from.`, {
        hint: 'Add packages (one Debian package a line) and customize.sh to the box definition dir; see definitions/README.md.',
      }),
    tailsKeyringMissing: (path: string, rel: string, urls: string) =>
      new UserError(
        'tails-keyring-missing',
        `${path} is missing: the builder snapshots come from Tails' server (${urls}), which signs them with the key in that file, and mmdebstrap verifies every signature.`,
        {
          hint: `Restore it from your branch (git checkout HEAD -- ${rel}), or build from the local snapshot store, whose signatures are Debian's: set "snapshots.baseUrl" to "http://127.0.0.1:8470/" in tails-build.json, then tails-build snapshots mirror.`,
        },
      ),
    tailsKeyringInvalid: (path: string, rel: string, reason: string) =>
      new UserError('tails-keyring-invalid', `${path} holds no OpenPGP public key tails-build can read (${reason}), so Tails' snapshot signatures cannot be verified.`, {
        hint: `Restore Tails' key: git checkout HEAD -- ${rel} (an armored or binary public key file).`,
      }),
    snapshotRejected: (what: string, detail: string) =>
      new UserError(
        'snapshot-rejected',
        `apt refused the frozen snapshot: ${what} (${detail}). The snapshot's signed InRelease does not vouch for what the server sent, so the local store is corrupted or was tampered with.`,
        {
          kind: 'external',
          hint: 'Remove the named file from the snapshot store (default /var/cache/tails-build/snapshots) and run the command again: pool and index files are fetched and verified anew; an InRelease needs a new serial (tails-build snapshots mirror).',
        },
      ),
    snapshotMissingPackage: (url: string) =>
      new UserError('snapshot-missing-package', `The frozen snapshot cannot provide ${url}: the package is not in the snapshot's index or is gone upstream.`, {
        kind: 'external',
        hint: 'Take and freeze a new serial: tails-build snapshots mirror && tails-build snapshots freeze --set builder, then commit it.',
      }),
    notRoot: () =>
      new UserError('basebox-needs-root', 'Creating the builder box needs root: mmdebstrap runs in root mode and the root tree is extracted into a tmpfs.', {
        kind: 'prerequisite',
        hint: 'Run it as root (sudo tails-build basebox create), as Tails does for vmdb2; to build as yourself afterwards, have root write the box (sudo tails-build basebox create --no-import --output /tmp/builder.box) and import it into your vagrant: tails-build basebox import /tmp/builder.box',
      }),
    toolMissing: (tool: string, pkg: string) =>
      new UserError('basebox-tool-missing', `${tool} is not on PATH; creating the builder box needs it.`, {
        kind: 'prerequisite',
        hint: `apt-get install --no-install-recommends ${pkg} (or run bash provision/host/bootstrap.sh setup), then tails-build doctor.`,
      }),
    snapshotPortBusy: (url: string) =>
      new UserError('snapshot-port-busy', `Something other than a tails-build snapshot server listens at ${url}.`, {
        hint: 'Stop it, or point the project at another address ("snapshots.baseUrl" in tails-build.json).',
      }),
    dirtyDefinition: (dir: string, status: readonly string[]) =>
      new UserError(
        'box-definition-dirty',
        `The box definition dir ${dir} has uncommitted changes, so a box named after its last commit would not be what that commit says:\n${listStatus(status)}`,
        { hint: `Commit or stash them (git stash -u -- ${dir}), or pass --ignore-changes to name the box anyway.` },
      ),
  },

  iso: {
    dirtyTree: (root: string, status: readonly string[], artifactsRel = '') =>
      new UserError(
        'dirty-tree',
        `The checkout ${root} has uncommitted changes; the build VM builds the committed HEAD, so they would silently not be built:\n${listStatus(status)}`,
        {
          hint:
            'Commit or stash them (git stash -u), or pass --ignore-changes (TAILS_BUILD_OPTIONS=ignorechanges) to build HEAD anyway.' +
            (status.every((l) => l.startsWith('?? ')) && (artifactsRel === '' || artifactsRel.startsWith('..'))
              ? ' If they are files a CI job wrote (events.ndjson, doctor.json), write them into an artifacts dir inside the checkout, where untracked files are not counted: mkdir -p out && tails-build --json iso --artifacts out --junit out/iso.xml > out/events.ndjson (see contrib/).'
              : ''),
        },
      ),
    /** Info: untracked files under the artifacts (or verify output) dir were left out of the uncommitted-changes check. */
    outputNotSource: (dirs: readonly string[], files: readonly string[]) =>
      `not counting ${String(files.length)} untracked file(s) under ${dirs.join(', ')} (${files.slice(0, 3).join(', ')}${files.length > 3 ? ', …' : ''}) as uncommitted changes: ${dirs.length === 1 ? 'it is' : 'they are'} where this command writes its output, not source (the VM builds HEAD; commit source elsewhere, or git add -f it to have it checked).`,
    /** A Tails build's scripts find the apt-cacher-ng and website disks by position: it never runs without them. */
    tailsNoCacheDisk: (why: string) =>
      new UserError('tails-no-cache-disk', `A Tails build needs a cache disk of its own (its setup-tails-builder finds the apt-cacher-ng disk at /dev/vdb and the website cache after it), and none is free: ${why}.`, {
        hint: 'Destroy a kept VM (tails-build vm destroy, in its checkout), or raise TAILS_BUILD_CACHE_DISKS so that more builds run at once.',
      }),
    noBuildCommand: (root: string) =>
      new UserError('no-build-command', `${root} is a Tails checkout; building Tails itself in the VM (its build-tails flow) is not supported yet.`, {
        hint: 'Set "buildCommand" in tails-build.json to what the VM should run, or build the sample project: tails-build -C <this tool>/ iso',
      }),
    buildFailed: (exitCode: number, log: string, kept: boolean) =>
      new UserError('build-failed', `The build failed inside the VM (exit ${String(exitCode)}). Its whole log was copied to ${log}.`, {
        kind: 'external',
        hint: kept ? 'The VM was kept: look inside with tails-build vm ssh; remove it with tails-build vm destroy' : 'Rebuild with --rescue to keep the failed VM for inspection (tails-build vm ssh).',
      }),
    /** The in-VM build stopped at a host this machine cannot reach (findUnreachableHost read it out of the build's output). */
    /** `inStep`: which of the build's steps it was (a Tails checkout's setup-tails-builder, its build-tails). */
    hostUnreachable: (found: UnreachableHost, log: string, inStep?: string) =>
      new UserError(
        'build-host-unreachable',
        `The build in the VM stopped at ${found.host}, ${found.what}${inStep === undefined ? '' : `, in ${inStep}`}: ${found.tool} ${found.failure}${found.url === undefined ? '' : ` fetching ${found.url}`}.` +
          `${found.step === undefined ? '' : `\n  step: ${found.step}`}\n  output: ${found.line}`,
        { kind: 'external', hint: `This machine cannot reach ${found.host} (check: ${reachCheck(found)}). ${reachFix(found)} The build's whole log is ${log}.` },
      ),
    /** `command`: the QEMU command line of the first machine that failed, to boot it again by hand. */
    bootFailed: (failure: string, consoleLog: string, command?: string) =>
      new UserError('boot-test-failed', `The ISO was built but did not pass the boot test: ${failure}. An ISO that does not boot is a failed build.`, {
        kind: 'external',
        hint: `Read its serial console in ${consoleLog}; boot it by hand with: ${command ?? 'qemu-system-x86_64 -machine pc -m 512 -nic none -serial stdio -display none -cdrom <the .iso>'}`,
      }),
  },

  verify: {
    twoOutputDirs: (artifacts: string, output: string) =>
      new UsageError('two-output-dirs', `verify got --artifacts ${artifacts} and --output ${output}: they name the same thing (where build-1/ and build-2/ go), so only one can be meant.`, 'Pass one of them: --artifacts DIR (--output is its older name).'),
    outputNotADirectory: (dir: string) =>
      new UsageError('output-not-a-directory', `verify's --artifacts ${dir} is not a directory (a file is there), so build-1/ and build-2/ could not go in it; nothing was built.`, 'Pass a directory that does not exist yet or is one: tails-build verify --artifacts DIR'),
  },

  vagrant: {
    /**
     * vagrant failed: what vagrant said (its error message, or the exception
     * line of a Ruby backtrace) instead of the last lines of the backtrace.
     */
    failed: (args: { command: string; exitCode: number | undefined; failure: VagrantFailure | undefined; vagrantHome: string }) =>
      new ExternalCommandError({
        command: args.command,
        exitCode: args.exitCode,
        stderrTail:
          args.failure === undefined
            ? 'vagrant printed nothing'
            : args.failure.exception === undefined
              ? args.failure.message
              : `vagrant crashed: ${args.failure.message} (${args.failure.exception}${args.failure.raisedAt === undefined ? '' : `, raised at ${args.failure.raisedAt}`})`,
        hint:
          args.failure?.exception === undefined
            ? `Vagrant's message above says what to change; to see everything vagrant did, run the same command with VAGRANT_LOG=info (VAGRANT_HOME=${args.vagrantHome}).`
            : `Vagrant raised a Ruby exception instead of an error message. If another vagrant ran on VAGRANT_HOME=${args.vagrantHome} at the same time (fuser -v ${args.vagrantHome}/data/*.lock), retry once it is done; otherwise run the same command with VAGRANT_LOG=debug and report the exception.`,
      }),
  },

  options: {
    unknown: (option: string, source: string) =>
      new UsageError(
        'unknown-build-option',
        `Unknown build option "${option}" in ${source}.`,
        'Known options: keeprunning rescue forcecleanup ignorechanges offline cpus=N memory=N ram noram vmproxy extproxy vmproxy+extproxy noproxy dateoffset=±N cachewebsite[=yes|no] fastcomp gzipcomp defaultcomp machinetype=X cpumodel=X nomergebasebranch (see tails-build iso --help).',
      ),
    malformed: (option: string, source: string, expected: string) =>
      new UsageError('malformed-build-option', `Malformed build option "${option}" in ${source}: ${expected}.`, 'See tails-build iso --help for the accepted forms.'),
    extproxyDoesNotApply: (mode: string, source: string, httpProxy: string | undefined) =>
      new UsageError(
        'extproxy-does-not-apply',
        mode === 'noproxy'
          ? `The noproxy proxy mode (from ${source}) does not apply to this project: its build VM always fetches through apt-cacher-ng in the VM, from tails-build's own snapshot server (only a Tails checkout builds without a proxy).`
          : `The ${mode} proxy mode (from ${source}) does not apply to tails-build: the build VM fetches every package from tails-build's own snapshot server, at an address only the VM's network knows, so a proxy outside the VM${httpProxy === undefined || httpProxy === '' ? '' : ` (http_proxy=${httpProxy})`} cannot reach it.`,
        'Use vmproxy (the default: apt-cacher-ng in the VM, on the persistent cache disk): drop the option.',
      ),
    noHttpProxy: (mode: string, source: string) =>
      new UsageError('no-http-proxy', `The ${mode} proxy mode (from ${source}) forwards to the host's HTTP proxy, but http_proxy is not set.`, `Set it (http_proxy=http://proxy.example:3142 tails-build iso), or use vmproxy: drop the option.`),
    badHttpProxy: (mode: string, source: string, httpProxy: string) =>
      new UsageError('bad-http-proxy', `The ${mode} proxy mode (from ${source}) forwards to http_proxy=${httpProxy}, which is not a URL with a host.`, 'Set http_proxy to a URL such as http://proxy.example:3142.'),
    loopbackHttpProxy: (source: string, httpProxy: string) =>
      new UsageError(
        'loopback-http-proxy',
        `The extproxy proxy mode (from ${source}) hands the build VM http_proxy=${httpProxy}, which listens on the host's loopback: the VM's own loopback has no proxy, so every download would fail.`,
        "Give an address the VM reaches (the host's libvirt bridge address, or another machine), or use vmproxy+extproxy, whose apt-cacher-ng in the VM forwards to it.",
      ),
    offlineWithoutProxy: (source: string) =>
      new UsageError('offline-without-proxy', `offline builds from the caching proxy's packages, but the proxy mode is noproxy (from ${source}).`, 'Drop noproxy (vmproxy, the default, caches in the VM), or drop offline.'),
    noWebsite: (option: string, source: string) =>
      new UsageError(
        'cachewebsite-does-not-apply',
        `The build option "${option}" (from ${source}) does not apply: this project's recipe builds no website (only a Tails checkout has a website build cache).`,
        'Drop the option; the sample recipe has nothing to cache.',
      ),
  },
};

/** The command that shows whether this machine reaches the host: its name for a DNS failure, a request otherwise. */
function reachCheck(found: UnreachableHost): string {
  return found.reason === 'dns' ? `getent hosts ${found.host}` : `curl -sSI ${found.url ?? `http://${found.host}/`}`;
}

/** What would let the build past the host: network access to it, and what else stands in for it. */
function reachFix(found: UnreachableHost): string {
  const access = `give this machine network access to ${found.host}`;
  switch (found.role) {
    case 'tails-snapshots':
      return `Either ${access}, or serve these snapshots from a local mirror (tails-build snapshots mirror; Tails re-signs its snapshots, so a build that checks Tails' key needs a mirror of Tails' own, not of Debian's); then build again.`;
    case 'tails-git':
      return `Either ${access}, or fetch the submodules where it is reachable (git submodule update --init), so the build finds them in .git/modules; then build again.`;
    case 'ntp':
      return 'Either let it reach an NTP server (UDP port 123), or build with TAILS_BUILD_OPTIONS=offline, which does not wait for the clock; then build again.';
    case 'tails-archive':
    case 'tails':
      return `Only Tails serves it, so no local mirror stands in for it: ${access}, then build again.`;
    case 'torproject':
      return `Only the Tor Project serves it, so no local mirror stands in for it: ${access}, then build again.`;
    case 'debian':
    case 'other':
      return `Either ${access} or point the build at a mirror it reaches; then build again.`;
  }
}

/** `git status --porcelain` lines, indented, at most ten. */
function listStatus(status: readonly string[]): string {
  const shown = status.slice(0, 10).map((line) => `  ${line}`);
  if (status.length > 10) shown.push(`  … and ${status.length - 10} more`);
  return shown.join('\n');
}

function firstLine(text: string): string {
  return text.split('\n').find((l) => l.trim() !== '')?.replace(/^fatal:\s*/, '') ?? text;
}
