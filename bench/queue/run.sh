#!/usr/bin/env bash
# The queue benchmark (issue 5): libmediastore's job queue (memory, SQLite,
# Redis) and upload workflow against Celery 5.2 on the same Redis, in one run.
# Starts its own redis-server and Ceph RGW (scripts/redis.sh, scripts/rgw.sh)
# and stops them. Prints a markdown report (medians, ratios against the
# targets) to stdout; progress goes to stderr. Not a test. About 4 minutes on
# a quiet machine, 6-7 at load 10 (2 of them wait for Celery's redelivery).
#
#   bench/queue/run.sh [BUILD_DIR]     Default BUILD_DIR: ./build
#
# Environment:
#   BENCH_REDIS_PORT   Default: 6399 (tests use their own)
#   BENCH_RGW_PORT     Default: 7492 (tests use 7481, bench/s3 7491)
#   BENCH_PHOTO        Default: a 12.2 MP (4272x2848) photo from Debian's
#                      lomiri-wallpapers-16.04 (a progressive JPEG). The
#                      uploads run twice: with a baseline copy of it made
#                      here the way phone cameras write JPEGs (Pillow,
#                      baseline, quality 92, 4:2:0, EXIF kept), and with the
#                      file as shipped.
#   BENCH_OUT          also write the report to this file
#   sizes: see bench/queue/driver.py (BENCH_RUNS, BENCH_UPLOADS, ...)
# Needs: scripts/install-deps.sh bench (python3-celery, python3-redis,
# python3-pil, python3-boto3, redis-server, radosgw, the wallpapers).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
redis_port=${BENCH_REDIS_PORT:-6399}
rgw_port=${BENCH_RGW_PORT:-7492}
ak=MSQUEUEBENCHKEY001
sk=msqueueBenchSecret0001abcdefghijklmnopqr
photo=${BENCH_PHOTO:-/usr/share/backgrounds/sunset_by_Aitzol_Berasategi.jpg}
[ -r "$photo" ] || {
  echo "bench/queue: photo $photo not found (scripts/install-deps.sh demo installs it)" >&2
  exit 1
}
redis_dir=$build/bench-queue-redis
rgw_dir=$build/bench-queue-rgw
disk=$build/bench-queue-disk
work=$(mktemp -d /dev/shm/ms-qbench.XXXXXX 2>/dev/null || mktemp -d)

echo "[bench] building bench_queue in $build" >&2
cmake --build "$build" --target bench_queue -j2 >&2

cleanup() {
  "$root/scripts/redis.sh" stop "$redis_dir" >&2 || true
  "$root/scripts/rgw.sh" stop "$rgw_dir" >&2 || true
  rm -rf "$work" "$disk" "$redis_dir"
}
trap cleanup EXIT
rm -rf "$disk" "$redis_dir"
mkdir -p "$disk"
"$root/scripts/redis.sh" start "$redis_dir" "$redis_port" >&2
# memstore: a few hundred small objects, no disk I/O of the object store in
# the measurement.
RGW_OBJECTSTORE=memstore "$root/scripts/rgw.sh" start "$rgw_dir" "$rgw_port" "$ak" "$sk" >&2

# Phone cameras write baseline JPEGs; the wallpaper is progressive.
baseline=$work/phone-baseline-12mp.jpg
/usr/bin/python3 - "$photo" "$baseline" <<'PY'
import sys
from PIL import Image
im = Image.open(sys.argv[1])
im.save(sys.argv[2], "JPEG", quality=92, subsampling=2, progressive=False, exif=im.info.get("exif", b""))
PY
photos="12 MP baseline (phone-style copy)=$baseline;12 MP progressive (as shipped)=$photo"

t0=$SECONDS
report=$(BENCH_BIN=$build/bin BENCH_WORK=$work BENCH_DISK=$disk BENCH_REDIS_PORT=$redis_port BENCH_RGW_DIR=$rgw_dir \
  BENCH_ENDPOINT=http://127.0.0.1:$rgw_port BENCH_ACCESS_KEY=$ak BENCH_SECRET_KEY=$sk BENCH_PHOTOS="$photos" \
  /usr/bin/python3 "$root/bench/queue/driver.py")
{
  echo "Photos: $photo and its baseline copy ($(stat -c %s "$baseline") bytes); ($(/usr/bin/python3 -c "from PIL import Image; import sys; im=Image.open(sys.argv[1]); print('%dx%d' % im.size)" "$photo"), $(stat -c %s "$photo") bytes)."
  echo "Servers: $(redis-server --version | cut -d' ' -f1-3), $(radosgw --version | head -1 | cut -d' ' -f1-3) (memstore)."
  echo "Celery $(/usr/bin/python3 -c 'import celery, kombu, PIL, boto3; print(celery.__version__, "/ kombu", kombu.__version__, "/ Pillow", PIL.__version__, "/ boto3", boto3.__version__)')."
  echo "Machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); benchmark time $((SECONDS - t0)) s."
} >&2
printf '%s\n' "$report"
if [ -n "${BENCH_OUT:-}" ]; then printf '%s\n' "$report" >"$BENCH_OUT"; fi
