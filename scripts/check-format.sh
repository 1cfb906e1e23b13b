#!/usr/bin/env bash
# Fails if any C/C++ source differs from what .clang-format asks for.
# Usage: scripts/check-format.sh [clang-format]
set -euo pipefail
cf=${1:-clang-format}
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.h' '*.c' 2>/dev/null || find include src capi examples tests bench -name '*.[ch]pp' -o -name '*.[ch]')
[ ${#files[@]} -gt 0 ] || { echo "no sources found"; exit 1; }
bad=0
for f in "${files[@]}"; do
  [ -f "$f" ] || continue
  if ! "$cf" --dry-run --Werror "$f" >/dev/null 2>&1; then
    echo "not formatted: $f (run: $cf -i $f)"
    bad=1
  fi
done
[ $bad -eq 0 ] && echo "format: ${#files[@]} files checked, all formatted"
exit $bad
