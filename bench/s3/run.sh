#!/usr/bin/env bash
# The S3 benchmark (issue 3): libmediastore against curl (presigned URLs),
# boto3, the AWS CLI v2 and rclone, all on one Ceph RGW started here on
# 127.0.0.1, in one run. Prints a markdown report (medians, ratios against the
# targets) to stdout; progress goes to stderr. Not a test.
#
#   bench/s3/run.sh [BUILD_DIR]     Default BUILD_DIR: ./build
#
# Environment:
#   BENCH_PORT         RGW port                     Default: 7491 (tests use 7481)
#   BENCH_OBJECTSTORE  memstore | bluestore         Default: bluestore (1 GiB
#                      objects overwritten many times would pile up in OSD RAM
#                      with memstore until garbage collection)
#   BENCH_ROUNDS, BENCH_ROUNDS_BIG, BENCH_SMALL_COUNT, BENCH_SKIP_1G: see driver.py
#   BENCH_OUT          also write the report to this file
# Needs: scripts/install-deps.sh bench (awscli, rclone; both are optional).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
port=${BENCH_PORT:-7491}
ak=MSBENCHACCESSKEY001
sk=msbenchSecretKey0001abcdefghijklmnopqrst
data=$build/bench-rgw
work=$(mktemp -d /dev/shm/ms-bench.XXXXXX 2>/dev/null || mktemp -d)

echo "[bench] building bench_s3 and bench_sign in $build" >&2
cmake --build "$build" --target bench_s3 bench_sign -j2 >&2

cleanup() {
  rm -rf "$work"
  "$root/scripts/rgw.sh" stop "$data" >&2 || true
}
trap cleanup EXIT
RGW_OBJECTSTORE=${BENCH_OBJECTSTORE:-bluestore} "$root/scripts/rgw.sh" start "$data" "$port" "$ak" "$sk" >&2

report=$(BENCH_ENDPOINT=http://127.0.0.1:$port BENCH_ACCESS_KEY=$ak BENCH_SECRET_KEY=$sk BENCH_BUCKET=ms-bench \
  BENCH_BIN=$build/bin BENCH_WORK=$work /usr/bin/python3 "$root/bench/s3/driver.py")
echo "Server: $(radosgw --version | head -1), object store ${BENCH_OBJECTSTORE:-bluestore}, port $port." >&2
printf '%s\n' "$report"
if [ -n "${BENCH_OUT:-}" ]; then printf '%s\n' "$report" >"$BENCH_OUT"; fi
