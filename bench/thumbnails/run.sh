#!/usr/bin/env bash
# The thumbnail benchmark (issue 4): libmediastore's make_thumbnails_file
# against Pillow (as the service used it, and with draft()) and libvips (the
# C API with one decode, and vipsthumbnail per size) on a corpus of real
# photographs from Debian wallpaper packages, in one run. Prints a markdown
# report (medians, ratios, quality, throughput, memory, targets) to stdout;
# progress goes to stderr. Not a test. About 5 minutes on the 2-core machine at
# load 4, 13 minutes at load 8-10 (BENCH_REPS=3 or BENCH_LIMIT=2 shorten it).
#
#   bench/thumbnails/run.sh [BUILD_DIR]     Default BUILD_DIR: ./build
#
# Environment: BENCH_REPS, BENCH_REPS_SLOW, BENCH_LIMIT, BENCH_PASSES (see
# driver.py); BENCH_FORMATS (0: skip formats.py, the WebP/AVIF section),
# BENCH_FORMATS_LIMIT (see formats.py); BENCH_OUT: also write the report to this file. The per-photo
# figures go to BUILD_DIR/thumbs-results.json.
# Needs: scripts/install-deps.sh bench (wallpapers, exiftool, python3-pil,
# python3-numpy, libvips-dev, libvips-tools).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
corpus=$build/thumb-corpus

echo "[bench] building bench_thumbs in $build" >&2
cmake --build "$build" --target bench_thumbs -j2 >&2
echo "[bench] building vips_one (libvips $(pkg-config --modversion vips))" >&2
cc -O2 -Wall -Wextra -o "$build/bin/vips_one" "$root/bench/thumbnails/vips_one.c" $(pkg-config --cflags --libs vips)
if [ ! -s "$corpus/manifest.tsv" ]; then
  "$root/bench/thumbnails/make_corpus.sh" "$corpus"
fi

facts="$(date -u '+%Y-%m-%d %H:%M UTC'); $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) CPUs,"
facts+=" $(awk '/MemTotal/ {printf "%.0f GiB RAM", $2 / 1048576}' /proc/meminfo), Linux $(uname -r);"
facts+=" libjpeg-turbo $(dpkg-query -W -f='${Version}' libjpeg62-turbo), Pillow $(/usr/bin/python3 -c 'import PIL; print(PIL.__version__)'),"
facts+=" libvips $(pkg-config --modversion vips), $(g++ --version | head -1)"

report=$(BENCH_BIN=$build/bin BENCH_CORPUS=$corpus BENCH_JSON=$build/thumbs-results.json /usr/bin/python3 "$root/bench/thumbnails/driver.py")
# The same run: WebP and AVIF sets against the JPEG set (BENCH_FORMATS=0 leaves it out).
if [ "${BENCH_FORMATS:-1}" != 0 ]; then
  report+="

$(BENCH_BIN=$build/bin BENCH_CORPUS=$corpus /usr/bin/python3 "$root/bench/thumbnails/formats.py")"
fi
report="Run: $facts.
Build: $(grep -m1 '^CMAKE_BUILD_TYPE' "$build/CMakeCache.txt" | cut -d= -f2).

$report"
printf '%s\n' "$report"
if [ -n "${BENCH_OUT:-}" ]; then printf '%s\n' "$report" >"$BENCH_OUT"; fi
