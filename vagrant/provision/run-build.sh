#!/bin/bash
# Runs one build in the VM as the vagrant user; tails-build prepends:
#   GIT_REF GIT_COMMIT CHECKOUT BUILD_COMMAND WORK_DIR
# A fresh `git clone --shared` of the read-only 9p checkout at GIT_COMMIT
# (never the host's tree in place), then BUILD_COMMAND in it with
# ARTIFACTS_DIR set. Its exit code is this script's exit code.
set -euo pipefail
umask 022
# One stream, in order: tails-build writes it to the build log as it comes.
exec 2>&1

say() { printf '[vm] %s\n' "$*"; }

git config --global --add safe.directory "$CHECKOUT/.git"
git config --global --add safe.directory "$CHECKOUT"
rm -rf "$WORK_DIR"
mkdir -p "$WORK_DIR/artifacts"
git clone --quiet --shared --no-checkout "$CHECKOUT" "$WORK_DIR/src"
git -C "$WORK_DIR/src" -c advice.detachedHead=false checkout --quiet --force "$GIT_COMMIT"
say "building $GIT_REF at $GIT_COMMIT in $WORK_DIR/src"
cd "$WORK_DIR/src"
export ARTIFACTS_DIR="$WORK_DIR/artifacts" GIT_REF GIT_COMMIT
status=0
bash -c "$BUILD_COMMAND" || status=$?
say "build exited with $status"
exit "$status"
