#!/bin/bash
# Runs shellcheck on every shell script tracked by git: *.sh and *.bash files,
# .ci/run, and files under provision/, vagrant/, definitions/ and test/fixtures/
# whose first line is a sh or bash shebang. Fails when shellcheck is missing.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

if ! command -v shellcheck >/dev/null; then
  echo "shellcheck-all: shellcheck is not installed; run: apt-get install --no-install-recommends shellcheck" >&2
  exit 1
fi

is_shell_script() {
  local file="$1" first
  case "$file" in
    *.sh | *.bash | .ci/run) return 0 ;;
    provision/* | vagrant/* | definitions/* | test/fixtures/*)
      IFS= read -r first <"$file" || true
      [[ "$first" =~ ^#![[:space:]]*(/usr)?/bin/(env[[:space:]]+)?(ba)?sh([[:space:]]|$) ]]
      ;;
    *) return 1 ;;
  esac
}

scripts=()
while IFS= read -r -d '' file; do
  # Tracked but deleted in the work tree: nothing to check.
  [ -f "$file" ] || continue
  if is_shell_script "$file"; then
    scripts+=("$file")
  fi
done < <(git ls-files -z)

if [ "${#scripts[@]}" -eq 0 ]; then
  echo "shellcheck-all: no shell scripts tracked by git" >&2
  exit 0
fi

shellcheck --external-sources -- "${scripts[@]}"
echo "shellcheck-all: ${#scripts[@]} files checked, all clean" >&2
