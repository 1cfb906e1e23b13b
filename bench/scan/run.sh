#!/usr/bin/env bash
# The scan benchmark (issue 17): libmediastore's INSTREAM client
# (ClamdScanner::scan_file) against `clamdscan --stream` on the same clean
# photos and the same clamd, in one run. Starts its own clamd
# (scripts/clamd.sh, Unix socket, its test database and limits) and stops it.
# Prints a markdown table (medians, ratios) to stdout; progress to stderr.
# Not a test. About 20 s.
#
#   bench/scan/run.sh [BUILD_DIR]     Default BUILD_DIR: ./build
#
# Environment:
#   BENCH_ROUNDS   Default: 7
#   BENCH_FILES    Default: Debian's wallpapers (lomiri-wallpapers-16.04),
#                  /usr/share/backgrounds/*.jpg
# Needs: scripts/install-deps.sh bench (clamav-daemon, clamdscan, the wallpapers).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
rounds=${BENCH_ROUNDS:-7}
# shellcheck disable=SC2206
files=(${BENCH_FILES:-/usr/share/backgrounds/*.jpg})
command -v clamdscan >/dev/null || { echo "bench/scan: clamdscan missing (scripts/install-deps.sh bench)" >&2; exit 1; }
dir=$build/bench-scan-clamd

echo "[bench] building bench_scan in $build" >&2
cmake --build "$build" --target bench_scan -j2 >&2
trap '"$root/scripts/clamd.sh" stop "$dir" >&2 || true' EXIT
"$root/scripts/clamd.sh" start "$dir" unix >&2
echo "## Scan: ClamdScanner vs clamdscan --stream, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "clamd $(clamd --version | cut -d/ -f1 | cut -d' ' -f2) over its Unix socket, scripts/clamd.sh configuration; load $(cut -d' ' -f1 /proc/loadavg)"
echo
"$build/bin/bench_scan" "$rounds" "unix:$dir/clamd.sock" "$dir/clamd.conf" "${files[@]}"
