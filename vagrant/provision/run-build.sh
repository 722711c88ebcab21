#!/bin/bash
# Runs one build in the VM as the vagrant user; tails-build prepends:
#   GIT_REF GIT_COMMIT CHECKOUT BUILD_COMMAND WORK_DIR APT_SNAPSHOTS_SERIALS
#   TAILS_BUILD_* (the recipe contract: definitions/README.md)
# A fresh `git clone --shared` of the read-only 9p checkout at GIT_COMMIT
# (never the host's tree in place), then BUILD_COMMAND in it with
# ARTIFACTS_DIR, SOURCE_DATE_EPOCH and TAILS_BUILD_TMP set, and
# tails-build-env.list (what the build saw) among the artifacts. Its exit code
# is this script's exit code.
set -euo pipefail
umask 022
# One stream, in order: tails-build writes it to the build log as it comes.
exec 2>&1

say() { printf '[vm] %s\n' "$*"; }

git config --global --add safe.directory "$CHECKOUT/.git"
git config --global --add safe.directory "$CHECKOUT"
if mountpoint -q "$WORK_DIR/tmp"; then sudo umount "$WORK_DIR/tmp"; fi
sudo rm -rf "$WORK_DIR"
mkdir -p "$WORK_DIR/artifacts" "$WORK_DIR/tmp"
git clone --quiet --shared --no-checkout "$CHECKOUT" "$WORK_DIR/src"
git -C "$WORK_DIR/src" -c advice.detachedHead=false checkout --quiet --force "$GIT_COMMIT"
say "building $GIT_REF at $GIT_COMMIT in $WORK_DIR/src"
cd "$WORK_DIR/src"
# Scratch space: a tmpfs with ram (Tails' TAILS_RAM_BUILD), the VM disk with noram.
if [ "$TAILS_BUILD_RAM" = 1 ]; then
  sudo mount -t tmpfs -o "mode=1777,size=75%" tails-build-tmp "$WORK_DIR/tmp"
  say "scratch space: tmpfs at $WORK_DIR/tmp (ram)"
else
  say "scratch space: the VM disk at $WORK_DIR/tmp (noram)"
fi
SOURCE_DATE_EPOCH="$(git log -1 --format=%ct "$GIT_COMMIT")"
export ARTIFACTS_DIR="$WORK_DIR/artifacts" TAILS_BUILD_TMP="$WORK_DIR/tmp" SOURCE_DATE_EPOCH GIT_REF GIT_COMMIT
# What the build saw, as Java properties (Tails' tails-build-env.list).
{
  printf 'APT_SNAPSHOTS_SERIALS=%s\n' "$APT_SNAPSHOTS_SERIALS"
  printf 'GIT_COMMIT=%s\nGIT_REF=%s\nSOURCE_DATE_EPOCH=%s\n' "$GIT_COMMIT" "$GIT_REF" "$SOURCE_DATE_EPOCH"
  # Not the scratch space (TMP, RAM): where the build ran is no input to what it made.
  env | grep -E '^TAILS_(BUILD|WEBSITE)_' | grep -Ev '^TAILS_BUILD_(TMP|RAM)=' | LC_ALL=C sort
} >"$ARTIFACTS_DIR/tails-build-env.list"
status=0
bash -c "$BUILD_COMMAND" || status=$?
say "build exited with $status"
exit "$status"
