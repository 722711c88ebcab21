#!/bin/bash
# Provisions a tails-build build VM; runs as root over `vagrant ssh`, on every
# build (idempotent). tails-build prepends the settings as exported variables:
#   GIT_REF VM_RECORD_JSON (ref, commit, box, serials) LOCK_FILE
#   SNAPSHOT_HOST SNAPSHOT_PORT CACHE_SERIAL CACHE_MIN_FREE_MIB OFFLINE
#   BUILDER_SECURITY_SERIAL (empty: keep the box's) HOST_EPOCH DATE_OFFSET_DAYS
#   CHECKOUT_GUEST CHECKOUT_TAG (the 9p share vagrant attached, not mounted)
#   SHARES ("guest-path=tag …": more read-only 9p shares, e.g. a Tails
#   checkout's vagrant/ at /vagrant)
#   MERGE_BUNDLE MERGE_REF (a Tails build's base-branch merge: the checkout is
#   mounted under a tmpfs overlay and the bundle's commit fetched into its .git,
#   the host's checkout untouched; empty: no merge)
#   TAILS_KIND (1: a Tails checkout; its own setup-tails-builder does the cache
#   disks, the security upgrade and the clock, so sections 3-6 are skipped)
# Exit codes tails-build maps to messages: 3 branch lock, 4 cache disk full,
# 5 cache disk missing.
set -euo pipefail

say() { printf '[vm] %s\n' "$*"; }

# --- 0. The checkout, read-only over 9p ---------------------------------------
# Vagrant attaches the device (its synced folder has mount: false); one mount
# here instead of vagrant's guest detection and a round trip per command.
mount_9p() { # tag dir
  mkdir -p "$2"
  modprobe 9pnet_virtio
  if ! mount -t 9p -o "trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose" "$1" "$2"; then
    echo "E: could not mount the share (9p tag $1) at $2; the VM has the tags: $(cat /sys/bus/virtio/drivers/9pnet_virtio/*/mount_tag 2>/dev/null | tr '\0' ' ')" >&2
    exit 1
  fi
}
fstype="$(findmnt -no FSTYPE "$CHECKOUT_GUEST" 2>/dev/null || true)"
if [ -n "${MERGE_BUNDLE:-}" ]; then
  # The base-branch merge Tails makes in the host's working copy, made here
  # in the VM's view of it only: the 9p share stays read-only, the writes
  # (the merge commit's objects, the branch moved to it) go to a tmpfs.
  lower=/run/tails-build/checkout-ro rw=/run/tails-build/checkout-rw
  # Made afresh at every provisioning: a kept VM's last merge is not this build's.
  [ -z "$fstype" ] || umount "$CHECKOUT_GUEST"
  mountpoint -q "$lower" || mount_9p "$CHECKOUT_TAG" "$lower"
  mkdir -p "$rw"
  mountpoint -q "$rw" || mount -t tmpfs -o mode=0755 tails-build-checkout-rw "$rw"
  rm -rf "$rw/upper" "$rw/work"
  mkdir -p "$rw/upper" "$rw/work" "$CHECKOUT_GUEST"
  modprobe overlay
  mount -t overlay -o "lowerdir=$lower,upperdir=$rw/upper,workdir=$rw/work" tails-build-checkout "$CHECKOUT_GUEST"
  git config --system --get-all safe.directory | grep -qxF "$CHECKOUT_GUEST/.git" ||
    git config --system --add safe.directory "$CHECKOUT_GUEST/.git"
  git --git-dir="$CHECKOUT_GUEST/.git" fetch --quiet --update-head-ok "$MERGE_BUNDLE" "+$MERGE_REF:$MERGE_REF"
  chmod -R go+rX "$rw/upper"
  say "checkout: mounted read-only (9p) under a tmpfs overlay at $CHECKOUT_GUEST, with the base-branch merge $(git --git-dir="$CHECKOUT_GUEST/.git" rev-parse "$MERGE_REF") on $MERGE_REF"
else
  # A kept VM's last build may have had a merge: this one sees the checkout as it is.
  if [ "$fstype" = overlay ]; then umount "$CHECKOUT_GUEST"; fstype=; fi
  if [ -z "$fstype" ]; then
    mount_9p "$CHECKOUT_TAG" "$CHECKOUT_GUEST"
    say "checkout: mounted read-only at $CHECKOUT_GUEST (9p)"
  else
    say "checkout: mounted at $CHECKOUT_GUEST already"
  fi
fi
for share in ${SHARES:-}; do
  guest="${share%%=*}"
  if ! mountpoint -q "$guest"; then mount_9p "${share#*=}" "$guest"; fi
  say "share: mounted read-only at $guest (9p)"
done

# --- 1. The branch lock (Tails-compatible: the ref alone, one line) ----------
if [ -f "$LOCK_FILE" ]; then
  locked="$(cat "$LOCK_FILE")"
  if [ "$locked" != "$GIT_REF" ]; then
    printf 'E: The current VM has been created to build %s, not %s.\n' "$locked" "$GIT_REF" >&2
    exit 3
  fi
  say "branch lock: this VM builds $GIT_REF"
else
  printf '%s\n' "$GIT_REF" >"$LOCK_FILE"
  say "branch lock: $GIT_REF recorded in $LOCK_FILE"
fi
mkdir -p /var/lib/tails-build
printf '%s\n' "$VM_RECORD_JSON" >/var/lib/tails-build/vm.json

# --- 2. The snapshot server: forwarded by ssh to the VM's own loopback -------
# Every ssh session of the build carries `-R 127.0.0.1:$SNAPSHOT_PORT:<socket>`
# to the host's snapshot server: builds running at once each have their own.
# Empty: the project's snapshots are remote (a Tails checkout using Tails' server).
if [ -n "$SNAPSHOT_HOST" ]; then
  sed -i "/[[:space:]]$SNAPSHOT_HOST\$/d" /etc/hosts
  printf '127.0.0.1 %s\n' "$SNAPSHOT_HOST" >>/etc/hosts
  # shellcheck disable=SC2153 # SNAPSHOT_PORT is one of the settings tails-build prepends
  say "snapshots: $SNAPSHOT_HOST is this VM's 127.0.0.1:$SNAPSHOT_PORT, forwarded by ssh to the host's server"
fi

if [ "${TAILS_KIND:-0}" = 1 ]; then
  say "the rest is the checkout's own setup-tails-builder's: cache disks, apt-cacher-ng, security upgrade"
  exit 0
fi

# --- 3. The apt-cacher-ng disk: a block device found by its serial -----------
setup_cache() {
disk="/dev/disk/by-id/virtio-$CACHE_SERIAL"
cache=/var/cache/apt-cacher-ng
for _ in $(seq 1 50); do [ -b "$disk" ] && break; udevadm settle || true; sleep 0.2; done
if [ ! -b "$disk" ]; then
  echo "E: the cache disk (serial $CACHE_SERIAL) is not attached: $disk does not exist" >&2
  exit 5
fi
if ! mountpoint -q "$cache"; then
  if ! e2label "$disk" >/dev/null 2>&1; then
    say "cache disk: new, formatting it"
    mkfs.ext4 -q -m 0 -L tb-acng "$disk"
  fi
  e2fsck -p "$disk" || [ $? -le 1 ] || { echo "E: e2fsck found errors it could not fix on the cache disk" >&2; exit 1; }
  mkdir -p "$cache"
  mount -o relatime,discard "$disk" "$cache"
fi
mkdir -p "$cache/log"
chown -R apt-cacher-ng:apt-cacher-ng "$cache"
free_mib=$(( $(stat -f -c '%a * %S' "$cache") / 1048576 ))
if [ "$free_mib" -lt "$CACHE_MIN_FREE_MIB" ]; then
  say "cache disk: ${free_mib} MiB free, asking apt-cacher-ng to drop unreferenced files"
  /usr/lib/apt-cacher-ng/acngtool maint -c /etc/apt-cacher-ng >/dev/null 2>&1 || true
  free_mib=$(( $(stat -f -c '%a * %S' "$cache") / 1048576 ))
fi
if [ "$free_mib" -lt "$CACHE_MIN_FREE_MIB" ]; then
  printf 'E: the apt-cacher-ng disk has %s MiB free, less than the %s MiB a build needs.\n' "$free_mib" "$CACHE_MIN_FREE_MIB" >&2
  exit 4
fi
say "cache disk: mounted at $cache, ${free_mib} MiB free"

# --- 4. apt-cacher-ng, used by apt in the VM ----------------------------------
cat >/etc/apt-cacher-ng/acng.conf <<ACNG
CacheDir: $cache
LogDir: $cache/log
Port: 3142
BindAddress: 127.0.0.1
ExThreshold: 50
Offlinemode: $OFFLINE
# The snapshot server listens on a port of its own (8470), not 80.
AllowUserPorts: 80 $SNAPSHOT_PORT
VfilePatternEx: (/project/trace/[^/]+$)
# A snapshot never changes once taken: its indices need no revalidation, so a
# warm build asks the snapshot server for nothing.
SPfilePatternEx: (/([0-9]{10}|[0-9]{8}T[0-9]{6}Z)/dists/)
ACNG
rm -f /etc/apt-cacher-ng/network.conf
systemctl restart apt-cacher-ng.service
printf 'Acquire::http::Proxy "http://127.0.0.1:3142/";\n' >/etc/apt/apt.conf.d/30tails-build-proxy
say "apt-cacher-ng: running on 127.0.0.1:3142 (offline mode: $OFFLINE)"
}

if [ -z "$CACHE_SERIAL" ]; then
  # Another running VM holds the cache disk: apt goes straight to the snapshots.
  systemctl stop apt-cacher-ng.service 2>/dev/null || true
  rm -f /etc/apt/apt.conf.d/30tails-build-proxy
  say "no cache disk for this build: apt uses the snapshot server directly"
else
  setup_cache
fi

# --- 5. Security fixes for the builder (as Tails does) ------------------------
# Its debian-security source moves to the snapshot the host resolved, at every
# provisioning; the first provisioning since boot upgrades from it, with the
# kernel and GRUB held (their upgrades once broke every Tails build).
sources=/etc/apt/sources.list.d/snapshots.sources
# The snapshot the box itself was built from, read once before any move: a box
# at that snapshot has nothing newer to install from it (mmdebstrap installed
# the candidates of these very indices), so the upgrade is skipped, not run empty.
box_security=/var/lib/tails-build/box-debian-security-serial
[ -e "$box_security" ] || sed -nE 's#.*/debian-security/([0-9A-Z]+)/.*#\1#p' "$sources" | head -n 1 >"$box_security"
if [ -z "$BUILDER_SECURITY_SERIAL" ]; then
  say "security fixes: offline build, the builder keeps its box's debian-security snapshot"
else
  sed -i -E "s#(/debian-security/)[0-9A-Z]+/#\1$BUILDER_SECURITY_SERIAL/#" "$sources"
  grep -q "/debian-security/$BUILDER_SECURITY_SERIAL/" "$sources" ||
    { echo "E: could not point $sources at debian-security $BUILDER_SECURITY_SERIAL" >&2; exit 1; }
  say "security fixes: builder debian-security source at snapshot $BUILDER_SECURITY_SERIAL"
  if [ -e /run/tails-build-upgraded ] && [ "$(cat /run/tails-build-upgraded)" = "$BUILDER_SECURITY_SERIAL" ]; then
    say "security fixes: already applied since this VM booted"
  elif [ "$(cat "$box_security")" = "$BUILDER_SECURITY_SERIAL" ]; then
    printf '%s\n' "$BUILDER_SECURITY_SERIAL" >/run/tails-build-upgraded
    say "security fixes: none to apply, the box was built from debian-security $BUILDER_SECURITY_SERIAL"
  else
    held="$(dpkg-query -W -f '${db:Status-Abbrev} ${Package}\n' 'linux-image*' 'grub*' 2>/dev/null | awk '$1 ~ /^.i/ { print $2 }')"
    # shellcheck disable=SC2086 # one package name per word
    [ -z "$held" ] || apt-mark hold $held >/dev/null
    export DEBIAN_FRONTEND=noninteractive
    apt-get -q update
    apt-get -q -y -o Dpkg::Options::=--force-confold dist-upgrade
    printf '%s\n' "$BUILDER_SECURITY_SERIAL" >/run/tails-build-upgraded
    say "security fixes: upgraded from debian-security $BUILDER_SECURITY_SERIAL (held: ${held//$'\n'/ })"
  fi
fi

# --- 6. The clock (dateoffset), set last: apt verifies signatures with it ----
if [ "$DATE_OFFSET_DAYS" != 0 ] || [ -e /var/lib/tails-build/date-offset ]; then
  date -u -s "@$((HOST_EPOCH + DATE_OFFSET_DAYS * 86400))" >/dev/null
  printf '%s\n' "$DATE_OFFSET_DAYS" >/var/lib/tails-build/date-offset
  say "clock: $DATE_OFFSET_DAYS day(s) off the host's, now $(date -u +%Y-%m-%dT%H:%M:%SZ)"
fi
