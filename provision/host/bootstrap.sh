#!/bin/bash
# Prepares a Debian 12 (bookworm) or 13 (trixie) host for tails-build and runs the
# README's commands; any other release is refused.
#
#   bash provision/host/bootstrap.sh setup   # packages, node deps, build, libvirt daemons
#   bash provision/host/bootstrap.sh test    # setup, test-only packages, then type check + lint + tests
#   bash provision/host/bootstrap.sh demo    # setup, then build, boot-test and verify the sample ISO
#
# Idempotent; run as root. No systemd is assumed: virtlogd, virtlockd and
# libvirtd are started by hand, inside the network namespace $TAILS_BUILD_NETNS
# (default tbns), so libvirt's private VM networks never touch the host namespace.
set -euo pipefail

# Everything the host needs, in one place: these names are the same in Debian 12
# (bookworm) and Debian 13 (trixie).
HOST_PACKAGES="git ca-certificates curl qemu-system-x86 qemu-utils libvirt-daemon-system
  libvirt-clients libvirt-dev mmdebstrap debootstrap vagrant vagrant-libvirt xorriso
  squashfs-tools dnsmasq-base iptables fdisk e2fsprogs shellcheck socat iproute2 acl
  debian-archive-keyring gpgv gnupg xz-utils openssh-client python3 make g++"
# Debian 13's libvirt (11.3) is split further than Debian 12's (9.0), where all of
# this is in libvirt-daemon: virtlogd, virtlockd and the QEMU, network and storage
# drivers are packages of their own, and libvirt-daemon only recommends the QEMU
# driver (skipped by --no-install-recommends). Named on trixie only: most of these
# names do not exist in bookworm.
# Only the tests need these, so only the `test` action installs them (`setup` and
# `demo` do not): diffoscope-minimal is the diffoscope the verify mismatch test
# (test/vm/verify-mismatch.ts) reads a report of per differing file.
TEST_PACKAGES="diffoscope-minimal"
TRIXIE_PACKAGES="libvirt-daemon-driver-qemu libvirt-daemon-driver-network
  libvirt-daemon-driver-storage libvirt-daemon-log libvirt-daemon-lock"
DEBIAN_RELEASE="" # bookworm or trixie, set by detect_release
NODE_MIN="20.5.0"
APT_MAX_AGE_MINUTES=360
NETNS="${TAILS_BUILD_NETNS:-tbns}"
LIBVIRT_URI="qemu:///system"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

export DEBIAN_FRONTEND=noninteractive
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin${PATH:+:$PATH}"

say() { printf '[bootstrap] %s\n' "$*" >&2; }
die() { printf '[bootstrap] error: %s\n' "$*" >&2; exit 1; }
run() { say "+ $*"; "$@"; }

usage() {
  cat >&2 <<EOF
usage: bash provision/host/bootstrap.sh setup|test|demo
  setup  install host packages, start libvirt in the '$NETNS' netns, npm ci, build
  test   setup, the test-only packages ($TEST_PACKAGES), then npm run check and npm test (what .ci/run does)
  demo   setup, then create the builder box, build the sample ISO, boot it, verify it
EOF
}

# --- release ----------------------------------------------------------------

# Sets DEBIAN_RELEASE from /etc/os-release (read, not sourced); refuses anything but
# Debian 12 (bookworm) and 13 (trixie).
detect_release() {
  local id="" codename="" pretty=""
  if [ -r /etc/os-release ]; then
    id="$(sed -n 's/^ID=//p' /etc/os-release | tr -d "\"'")"
    codename="$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release | tr -d "\"'")"
    pretty="$(sed -n 's/^PRETTY_NAME=//p' /etc/os-release | tr -d "\"'")"
  fi
  case "$id:$codename" in
    debian:bookworm | debian:trixie) DEBIAN_RELEASE="$codename" ;;
    *) die "tails-build supports Debian 12 (bookworm) and Debian 13 (trixie); this is ${pretty:-an unknown system} (ID=${id:-?}, VERSION_CODENAME=${codename:-?} in /etc/os-release). Use one of those two releases." ;;
  esac
  say "host release: Debian $DEBIAN_RELEASE"
}

# --- packages ---------------------------------------------------------------

# missing_packages LIST: the packages of LIST (space-separated) not installed.
missing_packages() {
  local pkg
  for pkg in $1; do
    if [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)" != "install ok installed" ]; then
      printf '%s\n' "$pkg"
    fi
  done
}

apt_lists_fresh() {
  local stamp
  for stamp in /var/lib/apt/periodic/update-success-stamp /var/cache/apt/pkgcache.bin; do
    if [ -n "$(find "$stamp" -maxdepth 0 -mmin "-$APT_MAX_AGE_MINUTES" 2>/dev/null)" ]; then
      return 0
    fi
  done
  return 1
}

# install_packages WHAT LIST: installs what LIST (space-separated) lacks.
install_packages() {
  local what="$1" missing
  missing="$(missing_packages "$2" | tr '\n' ' ')"
  if [ -z "${missing// /}" ]; then
    say "$what: all installed"
    return
  fi
  [ "$(id -u)" -eq 0 ] || die "packages missing ($missing) and not running as root; rerun as root"
  if apt_lists_fresh; then
    say "apt lists are fresher than $((APT_MAX_AGE_MINUTES / 60)) h: skipping apt-get update"
  else
    run apt-get update
    mkdir -p /var/lib/apt/periodic && touch /var/lib/apt/periodic/update-success-stamp
  fi
  # shellcheck disable=SC2086 # word splitting of the package list is intended
  run apt-get install -y --no-install-recommends $missing
}

# --- node ---------------------------------------------------------------------

node_version_ok() {
  command -v node >/dev/null && command -v npm >/dev/null || return 1
  node -e '
    const want = process.argv[1].split(".").map(Number);
    const have = process.versions.node.split(".").map(Number);
    for (let i = 0; i < 3; i++) { if (have[i] !== want[i]) process.exit(have[i] > want[i] ? 0 : 1); }
  ' "$NODE_MIN"
}

# Debian 13's nodejs is 20.19, so on trixie a missing node is installed from Debian;
# Debian 12's is 18, too old, so on bookworm node >= 20.5 must come from elsewhere.
ensure_node() {
  if ! node_version_ok && ! command -v node >/dev/null && [ "$DEBIAN_RELEASE" = trixie ]; then
    say "node is missing: installing Debian 13's nodejs and npm (node 20.19)"
    apt_lists_fresh || run apt-get update
    run apt-get install -y --no-install-recommends nodejs npm
  fi
  if ! node_version_ok; then
    local have="none" where
    command -v node >/dev/null && have="$(node --version)"
    command -v npm >/dev/null || have="$have (npm missing)"
    if [ "$DEBIAN_RELEASE" = bookworm ]; then
      where="Debian 12's own nodejs is 18, too old: install Node.js 20 LTS (>= 20.5, with npm) from NodeSource's Debian packages or from nodejs.org, or use Debian 13, whose nodejs is 20.19"
    else
      where="Debian 13's nodejs is 20.19: apt-get install nodejs npm, and make sure no older node comes first on PATH"
    fi
    die "tails-build needs node >= $NODE_MIN and npm; found node $have. $where; then rerun."
  fi
  say "node $(node --version), npm $(npm --version)"
}

# --- libvirt inside the network namespace ------------------------------------------

ensure_netns() {
  if ip netns list | awk '{print $1}' | grep -qx "$NETNS"; then
    say "network namespace $NETNS: exists"
  else
    run ip netns add "$NETNS"
  fi
  run ip -n "$NETNS" link set lo up
}

# Prints the pid of a running daemon from its pidfile, or nothing.
daemon_pid() {
  local name="$1" pidfile="/run/$1.pid" pid
  [ -r "$pidfile" ] || return 0
  pid="$(tr -dc '0-9' <"$pidfile")"
  if [ -n "$pid" ] && [ -d "/proc/$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ]; then
    printf '%s\n' "$pid"
  fi
}

# Prints the pid of the first process called $1, or nothing (no procps needed).
pid_by_name() {
  local comm
  for comm in /proc/[0-9]*/comm; do
    if [ "$(cat "$comm" 2>/dev/null)" = "$1" ]; then
      comm="${comm#/proc/}"
      printf '%s\n' "${comm%/comm}"
      return 0
    fi
  done
}

# The netns name of a pid ("" = the host namespace).
netns_of() { ip netns identify "$1" 2>/dev/null || true; }

ensure_daemon() {
  local name="$1" pid ns
  pid="$(daemon_pid "$name")"
  [ -n "$pid" ] || pid="$(pid_by_name "$name")"
  if [ -n "$pid" ]; then
    ns="$(netns_of "$pid")"
    if [ -z "$ns" ]; then
      die "$name (pid $pid) runs in the HOST network namespace. tails-build keeps libvirt's private VM networks inside the '$NETNS' namespace, so it will not use it. Stop it (kill $pid) and rerun; bootstrap.sh starts it with: ip netns exec $NETNS $name -d"
    fi
    if [ "$ns" != "$NETNS" ]; then
      say "$name: running (pid $pid) in network namespace $ns, not $NETNS; using it"
    else
      say "$name: running (pid $pid) in $NETNS"
    fi
    return
  fi
  if [ "$name" = libvirtd ] && ! kvm_usable; then
    start_libvirtd_without_kvm
  else
    local extra=()
    [ "$name" != libvirtd ] || mapfile -t extra < <(libvirtd_conf_args)
    run ip netns exec "$NETNS" "/usr/sbin/$name" -d "${extra[@]}"
  fi
}

# Members of the libvirt group use qemu:///system as themselves (Tails
# developers do). libvirt asks polkit over D-Bus whether they may; without a
# system bus (no systemd) every such call fails with "Unable to get system bus
# connection". There, libvirtd gets a copy of its configuration in which the
# read-write socket belongs to the libvirt group (0770) and needs no polkit:
# the group is the permission, as libvirt documents for hosts without polkit.
LIBVIRTD_CONF=/run/tails-build/libvirtd.conf
no_system_bus() { [ ! -S /run/dbus/system_bus_socket ]; }
libvirtd_conf_args() {
  no_system_bus || return 0
  mkdir -p "$(dirname "$LIBVIRTD_CONF")"
  getent group libvirt >/dev/null || groupadd --system libvirt
  { grep -Ev '^[[:space:]]*(unix_sock_group|unix_sock_ro_perms|unix_sock_rw_perms|auth_unix_ro|auth_unix_rw)[[:space:]]*=' /etc/libvirt/libvirtd.conf || true
    printf '%s\n' 'unix_sock_group = "libvirt"' 'unix_sock_ro_perms = "0777"' 'unix_sock_rw_perms = "0770"' 'auth_unix_ro = "none"' 'auth_unix_rw = "none"'
  } >"$LIBVIRTD_CONF"
  printf '%s\n' -f "$LIBVIRTD_CONF"
}

# A libvirtd started without that (by hand, or an older bootstrap) answers only
# root: restart it (running domains are reattached by libvirtd).
ensure_libvirt_group_socket() {
  local pid sock=/run/libvirt/libvirt-sock
  no_system_bus || return 0
  pid="$(daemon_pid libvirtd)"
  [ -n "$pid" ] || return 0
  if [ "$(stat -c %G "$sock" 2>/dev/null)" = libvirt ]; then
    say "libvirt socket: members of the libvirt group may use $LIBVIRT_URI (no polkit here)"
    return 0
  fi
  say "libvirtd (pid $pid) answers only root here (its socket asks polkit, and there is no D-Bus system bus): restarting it so that the libvirt group may use it"
  kill "$pid"
  for _ in $(seq 1 50); do [ -d "/proc/$pid" ] || break; sleep 0.2; done
  [ ! -d "/proc/$pid" ] || die "libvirtd (pid $pid) did not stop within 10 s; stop it and rerun"
  ensure_daemon libvirtd
}

# KVM works when QEMU runs the firmware's self test (no boot device: it exits
# by itself) under KVM with the host CPU about as fast as under TCG — the same
# judgement as the tool's probe (src/core/accelerator.ts). Where /dev/kvm is
# paravirtual, QEMU either aborts at once ("failed to set MSR") or crawls
# (1.3 s against TCG's 0.08 s here; a Debian guest never reached its login).
post_ms() { # post_ms kvm|tcg: milliseconds, or nothing when QEMU failed
  local accel=(-machine "pc,accel=$1") start end
  [ "$1" = kvm ] && accel+=(-cpu host)
  start="$(date +%s%N)"
  timeout 10 qemu-system-x86_64 "${accel[@]}" -m 64 -nodefaults -no-user-config -display none \
    -monitor none -serial none -no-reboot -boot reboot-timeout=0 >/dev/null 2>&1 || return 0
  end="$(date +%s%N)"
  echo $(((end - start) / 1000000))
}
kvm_usable() {
  [ -e /dev/kvm ] || return 1
  local kvm tcg
  # The subshell's stderr is /dev/null, so an "Aborted" job notice is too.
  kvm="$(exec 2>/dev/null; post_ms kvm)"
  [ -n "$kvm" ] || return 1
  tcg="$(exec 2>/dev/null; post_ms tcg)"
  [ -n "$tcg" ] || return 0
  [ "$kvm" -le $((2 * tcg + 250)) ]
}

# With /dev/kvm present but unusable, libvirt's QEMU capability cache never
# validates (KVM "should be usable now"), so every domain definition re-probes
# QEMU: 45 s per `virsh define` here instead of 30 ms. libvirtd gets a mount
# namespace of its own in which /dev/kvm is an unreadable file: it then probes
# QEMU once, for TCG, and keeps the result.
# libvirt's per-domain /dev namespaces would then trip over that mount ("Unable
# to move … mount to /dev/kvm"), so the same namespace sees a copy of qemu.conf
# with `namespaces = []`. Nothing on the host is changed.
NO_KVM=/run/tails-build/no-kvm
QEMU_CONF=/run/tails-build/libvirt-qemu.conf
start_libvirtd_without_kvm() {
  mkdir -p "$(dirname "$NO_KVM")"
  [ -f "$NO_KVM" ] || { : >"$NO_KVM"; chmod 000 "$NO_KVM"; }
  { grep -v '^[[:space:]]*namespaces[[:space:]]*=' /etc/libvirt/qemu.conf || true
    echo 'namespaces = []'; } >"$QEMU_CONF"
  say "KVM is unusable here (QEMU aborts or crawls with -cpu host): libvirtd runs with /dev/kvm hidden, so domains use TCG and libvirt keeps its QEMU probe"
  run ip netns exec "$NETNS" unshare --mount --propagation private sh -c \
    "mount --bind $NO_KVM /dev/kvm && mount --bind $QEMU_CONF /etc/libvirt/qemu.conf && exec /usr/sbin/libvirtd -d $(libvirtd_conf_args | tr '\n' ' ')"
}

# A libvirtd started before that (by hand, or an older bootstrap) still sees the
# broken /dev/kvm: restart it (running domains are reattached by libvirtd).
ensure_libvirtd_sees_no_broken_kvm() {
  local pid
  pid="$(daemon_pid libvirtd)"
  [ -n "$pid" ] && [ -c "/proc/$pid/root/dev/kvm" ] || return 0
  kvm_usable && return 0
  say "libvirtd (pid $pid) sees the unusable /dev/kvm, which makes each domain definition re-probe QEMU (~45 s): restarting it"
  kill "$pid"
  for _ in $(seq 1 50); do [ -d "/proc/$pid" ] || break; sleep 0.2; done
  [ ! -d "/proc/$pid" ] || die "libvirtd (pid $pid) did not stop within 10 s; stop it and rerun"
  ensure_daemon libvirtd
}

# `virsh uri` answers in ~20 ms; `virsh version` takes seconds (it probes QEMU).
libvirt_answers() { timeout 5 virsh -c "$LIBVIRT_URI" uri >/dev/null 2>&1; }

ensure_libvirt() {
  [ "$(id -u)" -eq 0 ] || die "starting libvirt needs root"
  ensure_netns
  ensure_daemon virtlogd
  ensure_daemon virtlockd
  ensure_daemon libvirtd
  ensure_libvirtd_sees_no_broken_kvm
  ensure_libvirt_group_socket
  local deadline=$((SECONDS + 10)) waited=""
  until libvirt_answers; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      die "libvirtd does not answer on $LIBVIRT_URI after 10 s; run 'ip netns exec $NETNS /usr/sbin/libvirtd' in the foreground to see why"
    fi
    [ -n "$waited" ] || say "waiting up to 10 s for libvirtd's socket"
    waited=1
    sleep 0.2
  done
  say "libvirt answers on $LIBVIRT_URI"
  # For users other than root, who may not read root's libvirtd's namespace:
  # where VM networks live (tails-build reads it; see src/adapters/host.ts).
  mkdir -p /run/tails-build && chmod 755 /run/tails-build
  printf '%s\n' "$NETNS" >/run/tails-build/vm-netns && chmod 644 /run/tails-build/vm-netns
  # The first call into the QEMU driver probes QEMU's capabilities (12 s on an idle
  # new machine here). Do it now, once, rather than inside the first build or test.
  if [ -z "$(ls -A /var/cache/libvirt/qemu/capabilities 2>/dev/null)" ]; then
    say "libvirt probes QEMU's capabilities once on a new machine (up to 2 min)"
    timeout 120 virsh -c "$LIBVIRT_URI" version >/dev/null ||
      die "libvirt did not answer 'virsh version' within 2 min; run 'virsh -c $LIBVIRT_URI version' to see why"
  fi
  ensure_vm_network
}

# vagrant-libvirt's management network (its defaults: NAT, 192.168.121.0/24),
# defined before its first `vagrant up` would, with dnsmasq's no-ping: by
# default dnsmasq pings every address it is about to lease and waits 3 s for
# an answer, and each build VM is new to it (measured in a build VM under TCG:
# carrier at 11.3 s, DHCPv4 lease at 14.4 s; with no-ping at 11.7 s). A network
# that exists without it is redefined when no running domain uses it.
VM_NETWORK=vagrant-libvirt
vm_network_xml() { # vm_network_xml [UUID]: the existing network's, when redefining it
  cat <<XML
<network xmlns:dnsmasq='http://libvirt.org/schemas/network/dnsmasq/1.0'>
  <name>$VM_NETWORK</name>${1:+
  <uuid>$1</uuid>}
  <forward mode='nat'/>
  <ip address='192.168.121.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.121.1' end='192.168.121.254'/>
    </dhcp>
  </ip>
  <dnsmasq:options>
    <dnsmasq:option value='no-ping'/>
  </dnsmasq:options>
</network>
XML
}
ensure_vm_network() {
  local v=(virsh -c "$LIBVIRT_URI") xml uuid=""
  if "${v[@]}" net-info "$VM_NETWORK" >/dev/null 2>&1; then
    if "${v[@]}" net-dumpxml "$VM_NETWORK" | grep -q "value='no-ping'"; then
      say "network $VM_NETWORK: defined, with dnsmasq no-ping"
      return
    fi
    if "${v[@]}" net-dumpxml "$VM_NETWORK" | grep -q "connections="; then
      say "network $VM_NETWORK: in use by a running domain, left as it is (without no-ping each build VM waits ~3 s longer for its address); rerun setup when no VM runs"
      return
    fi
    if ! "${v[@]}" net-dumpxml "$VM_NETWORK" | grep -q "<ip address='192.168.121.1' netmask='255.255.255.0'>"; then
      say "network $VM_NETWORK: not vagrant-libvirt's default address (192.168.121.1/24), left as it is"
      return
    fi
    say "network $VM_NETWORK: adding dnsmasq no-ping (each build VM gets its address ~3 s sooner)"
    uuid="$("${v[@]}" net-uuid "$VM_NETWORK")"
    "${v[@]}" net-destroy "$VM_NETWORK" >/dev/null 2>&1 || true
  else
    say "network $VM_NETWORK: defining it (vagrant-libvirt's defaults, with dnsmasq no-ping)"
  fi
  xml="$(mktemp)"
  vm_network_xml "$uuid" >"$xml"
  "${v[@]}" net-define "$xml" >/dev/null || { rm -f "$xml"; die "virsh net-define of $VM_NETWORK failed; run: virsh -c $LIBVIRT_URI net-define with the XML in bootstrap.sh's vm_network_xml"; }
  rm -f "$xml"
  "${v[@]}" net-start "$VM_NETWORK" >/dev/null || die "virsh net-start $VM_NETWORK failed; run: virsh -c $LIBVIRT_URI net-start $VM_NETWORK"
}

# --- the project ------------------------------------------------------------------

ensure_node_modules() {
  cd "$REPO_ROOT"
  if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    run npm ci --no-audit --no-fund
  else
    say "node_modules: up to date with package-lock.json"
  fi
  run npm run build --silent
}

setup() {
  local started=$SECONDS
  detect_release
  local packages="$HOST_PACKAGES"
  [ "$DEBIAN_RELEASE" != trixie ] || packages="$packages $TRIXIE_PACKAGES"
  install_packages "host packages" "$packages"
  ensure_node
  ensure_libvirt
  ensure_node_modules
  export TAILS_BUILD_NETNS="$NETNS" LIBVIRT_DEFAULT_URI="$LIBVIRT_URI"
  say "setup done in $((SECONDS - started)) s"
}

# --- test -------------------------------------------------------------------------

run_tests() {
  cd "$REPO_ROOT"
  export CI="${CI:-true}"
  run npm run check
  run npm test
}

# --- demo -------------------------------------------------------------------------

# Each step: the tails-build words to run, then "|" and the issue that brings it.
# Extend by appending; the first step that is not implemented yet ends the demo
# (successfully), every other failure fails it.
DEMO_STEPS=(
  "doctor|host prerequisites"
  "basebox name|basebox"
  "snapshots cat|APT snapshot serials"
  "iso --dry-run|build VM / ISO"
  "@basebox|basebox"
  "@iso|the sample ISO"
)
# The project the demo builds: this checkout, or a throwaway clone when the
# committed builder serials cannot be recreated here (see demo_basebox).
DEMO_PROJECT=""

# Whether `tails-build WORDS` exists: its help is there and is not a stub's.
has_command() {
  local words=() help word
  for word in "$@"; do
    case "$word" in -*) ;; *) words+=("$word") ;; esac
  done
  help="$(node dist/src/main.js "${words[@]}" --help 2>&1)" || return 1
  grep -q "^Usage: tails-build ${words[*]}" <<<"$help" || return 1
  ! grep -qi 'not yet implemented' <<<"$help"
}

# The builder box: create (reproducibly, from the committed builder serials),
# import, and boot it once. On a fresh machine the committed serials are
# recreated from upstream only if upstream still matches their recorded
# InRelease hashes; when it has moved on, the demo takes a NEW serial for this
# run in a throwaway clone — saying so — and leaves this checkout untouched.
demo_basebox() {
  local project="$REPO_ROOT" errlog rc=0 clone
  errlog="$(mktemp)"
  say "+ tails-build basebox create"
  { node dist/src/main.js basebox create 2>&1 1>&3 | tee "$errlog" >&2; } 3>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    if ! grep -q 'upstream has moved on' "$errlog"; then
      rm -f "$errlog"
      die "tails-build basebox create failed (exit $rc)"
    fi
    clone="$(mktemp -d /tmp/tails-build-demo.XXXXXX)"
    say "The committed builder serials cannot be recreated on this machine: upstream Debian has moved on since they were taken."
    say "For this demo run ONLY, taking a new serial in a throwaway clone ($clone); this checkout is not changed."
    run git clone -q "$REPO_ROOT" "$clone"
    run node dist/src/main.js -C "$clone" snapshots mirror
    run node dist/src/main.js -C "$clone" snapshots freeze --set builder
    run git -C "$clone" add -A definitions
    run git -C "$clone" -c user.name=tails-build-demo -c user.email=demo@localhost commit -q -m "Demo: take new builder snapshots"
    run node dist/src/main.js -C "$clone" basebox create
    project="$clone"
  fi
  rm -f "$errlog"
  say "+ tails-build basebox create --no-import --force   (again: the box must be bit-for-bit the same)"
  local first second
  first="$(node dist/src/main.js -C "$project" --json basebox create --no-import | tail -n 1)"
  second="$(node dist/src/main.js -C "$project" --json basebox create --no-import --force | tail -n 1)"
  first="$(sed -n 's/.*"sha256":"\([0-9a-f]*\)".*/\1/p' <<<"$first")"
  second="$(sed -n 's/.*"sha256":"\([0-9a-f]*\)".*/\1/p' <<<"$second")"
  if [ -z "$first" ] || [ "$first" != "$second" ]; then die "the two builds differ: '$first' vs '$second'"; fi
  say "reproducible: both builds have sha256 $second"
  say "+ tails-build basebox test   (boot it with vagrant-libvirt and run a command over ssh)"
  run node dist/src/main.js -C "$project" basebox test
  DEMO_PROJECT="$project"
}

# The main job: the sample ISO built in a throwaway VM and boot-tested, then
# built twice more in fresh VMs to prove it bit-for-bit reproducible.
demo_iso() {
  local project="${DEMO_PROJECT:-$REPO_ROOT}"
  say "+ tails-build iso --boot-test   (build the sample ISO in a throwaway VM, then boot it)"
  node dist/src/main.js -C "$project" iso --boot-test || die "tails-build iso --boot-test failed (exit $?); its log is $project/build.log"
  say "+ tails-build verify   (two more builds in fresh VMs, the second pinned to the first's serials; compare)"
  node dist/src/main.js -C "$project" verify || die "tails-build verify failed (exit $?): see $project/verify"
  node - "$project" <<'NODE' >&2
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const root = process.argv[2];
const report = JSON.parse(readFileSync(join(root, 'build-report.json'), 'utf8'));
const verify = JSON.parse(readFileSync(join(root, 'verify', 'verify-report.json'), 'utf8'));
const iso = report.artifacts.find((a) => a.name.endsWith('.iso'));
const lines = [
  `ISO:        ${join(root, iso.name)} (${iso.bytes} bytes)`,
  `sha256:     ${iso.sha256}`,
  `commit:     ${report.git.commit} (${report.git.ref})`,
  `serials:    ${Object.entries(report.serials.iso).map(([a, s]) => `${a}=${s}`).join(' ')}; builder debian-security=${report.builderSecurity}`,
  `boot test:  ${report.bootTest && report.bootTest.ok ? `booted (${report.bootTest.accelerator}, ${report.bootTest.seconds} s), marker with the commit seen, powered off` : 'FAILED'}`,
  `reproduced: ${verify.identical ? `two more builds in fresh VMs were bit-for-bit identical (${verify.files.length} artifacts)` : 'NOT identical'}`,
  `report:     ${join(root, 'build-report.json')}`,
];
console.error(lines.map((l) => `[demo] ${l}`).join('\n'));
NODE
  if [ "$project" != "$REPO_ROOT" ]; then say "the demo built in the throwaway clone $project (kept, so that the ISO stays; remove it when done)"; fi
}

run_demo() {
  cd "$REPO_ROOT"
  local step words issue errlog rc
  errlog="$(mktemp)"
  for step in "${DEMO_STEPS[@]}"; do
    words="${step%%|*}"
    issue="${step#*|}"
    if [ "$words" = "@basebox" ]; then
      demo_basebox
      continue
    fi
    if [ "$words" = "@iso" ]; then
      demo_iso
      continue
    fi
    # shellcheck disable=SC2086 # the step's words are split on purpose
    if ! has_command $words; then
      say "stopping here: tails-build ${words%% -*} is not implemented yet (issue: $issue)"
      rm -f "$errlog"
      return 0
    fi
    say "+ tails-build $words"
    # stderr is shown live and kept, to tell "not implemented yet" from a failure.
    rc=0
    # shellcheck disable=SC2086
    { node dist/src/main.js $words 2>&1 1>&3 | tee "$errlog" >&2; } 3>&1 || rc=$?
    if [ "$rc" -ne 0 ]; then
      if grep -qiE 'not (yet )?implemented|cannot build yet' "$errlog"; then
        say "stopping here: tails-build ${words%% -*} is not implemented yet (issue: $issue)"
        rm -f "$errlog"
        return 0
      fi
      rm -f "$errlog"
      die "tails-build $words failed (exit $rc)"
    fi
  done
  rm -f "$errlog"
  say "demo: every step ran"
}

main() {
  local action="${1:-}"
  case "$action" in
    setup) setup ;;
    test)
      setup
      install_packages "test-only packages" "$TEST_PACKAGES"
      run_tests
      ;;
    demo)
      setup
      run_demo
      ;;
    -h | --help | help) usage ;;
    *) usage; exit 2 ;;
  esac
}

main "$@"
