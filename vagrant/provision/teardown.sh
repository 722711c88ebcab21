#!/bin/bash
# Before the VM goes away: stop apt-cacher-ng and unmount its disk cleanly, so
# killing the domain cannot corrupt the cache (it did in Tails). Runs as root.
# Exits non-zero, saying why, when the disk is not cleanly unmounted: the
# caller must not report a clean stop then.
set -euo pipefail
cache=/var/cache/apt-cacher-ng
if ! systemctl stop apt-cacher-ng.service 2>/dev/null; then
  echo "[vm] warning: apt-cacher-ng did not stop cleanly" >&2
fi
if mountpoint -q "$cache"; then
  fstrim "$cache" 2>/dev/null || true
  if ! umount "$cache"; then
    # Something still holds it: at least make the filesystem consistent on disk.
    sync
    if mount -o remount,ro "$cache"; then
      echo "E: the cache disk could not be unmounted (busy); it was synced and remounted read-only" >&2
    else
      echo "E: the cache disk could neither be unmounted nor remounted read-only" >&2
    fi
    exit 1
  fi
fi
sync
echo "[vm] cache disk unmounted"
