#!/bin/bash
# Before the VM goes away: stop apt-cacher-ng and unmount its disk cleanly, so
# killing the domain cannot corrupt the cache (it did in Tails). Runs as root.
set -uo pipefail
cache=/var/cache/apt-cacher-ng
systemctl stop apt-cacher-ng.service 2>/dev/null || true
if mountpoint -q "$cache"; then
  fstrim "$cache" 2>/dev/null || true
  umount "$cache"
fi
sync
echo "[vm] cache disk unmounted"
