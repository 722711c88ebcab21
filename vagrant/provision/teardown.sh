#!/bin/bash
# Before the VM goes away: stop apt-cacher-ng and unmount its disk cleanly, so
# killing the domain cannot corrupt the cache (it did in Tails); the same for
# a Tails build's website cache disk. Runs as root. Exits non-zero, saying
# why, when a disk is not cleanly unmounted: the caller must not report a
# clean stop then.
set -euo pipefail
if ! systemctl stop apt-cacher-ng.service 2>/dev/null; then
  echo "[vm] warning: apt-cacher-ng did not stop cleanly" >&2
fi
status=0
for cache in /var/cache/apt-cacher-ng /var/cache/tails-website; do
  mountpoint -q "$cache" || continue
  fstrim "$cache" 2>/dev/null || true
  if umount "$cache"; then
    echo "[vm] $cache: disk unmounted"
    continue
  fi
  # Something still holds it: at least make the filesystem consistent on disk.
  sync
  if mount -o remount,ro "$cache"; then
    echo "E: the disk at $cache could not be unmounted (busy); it was synced and remounted read-only" >&2
  else
    echo "E: the disk at $cache could neither be unmounted nor remounted read-only" >&2
  fi
  status=1
done
sync
[ "$status" = 0 ] && echo "[vm] cache disk unmounted"
exit "$status"
