#!/usr/bin/env bash
# The test command: installs what is missing, builds once (g++ build in
# build/, clang ASan+UBSan+libFuzzer build in build-asan/), then runs every
# suite through ctest, which starts and stops the servers (Ceph RGW, Redis)
# the selected tests need. The last line printed is ctest's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
scripts/install-deps.sh test

jobs=$(nproc)
echo "== sanitizer build (clang, ASan+UBSan, fuzzers) in build-asan/"
cmake -S . -B build-asan -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMEDIASTORE_SANITIZE=ON -DMEDIASTORE_FUZZ=ON \
  -DMEDIASTORE_BUILD_EXAMPLES=OFF >/dev/null
cmake --build build-asan -j "$jobs"

echo "== main build (g++) in build/"
cmake -S . -B build -G Ninja -DMEDIASTORE_BUILD_TESTS=ON -DMEDIASTORE_ASAN_DIR="$root/build-asan" >/dev/null
cmake --build build -j "$jobs"

echo "== tests"
exec ctest --test-dir build --output-on-failure -j "$jobs" --timeout 1800 "$@"
