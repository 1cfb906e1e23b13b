#!/usr/bin/env bash
# The test command: installs what is missing, builds once, then runs every
# suite through ctest, which starts and stops the servers (Ceph RGW, Redis)
# the selected tests need. The last line printed is ctest's summary.
#
# What covers what (compiler x build type; warnings are errors in every one):
#   build/                       g++   RelWithDebInfo  every suite
#   build-asan/                  clang RelWithDebInfo  ASan+UBSan: unit tests, fuzzers
#   build-matrix/gcc-debug/      g++   Debug           unit tests
#   build-matrix/gcc-release/    g++   Release         unit tests
#   build-matrix/clang-debug/    clang Debug           unit tests
#   build-matrix/clang-release/  clang Release         unit tests
# The build-matrix folders build only the library's parts and the unit test
# binaries (target unit_tests, no examples); ctest runs them as
# <folder>.unit.<part> (label matrix), the sanitizer build's as asan.unit.*.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
scripts/install-deps.sh test

jobs=$(nproc)
# ccache (a test package) makes a second run, or a second clone, compile only
# what changed: paths under the checkout are hashed relative to it.
launcher=()
if command -v ccache >/dev/null; then
  export CCACHE_BASEDIR=$root CCACHE_SLOPPINESS=time_macros
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
echo "== sanitizer build (clang, ASan+UBSan, fuzzers) in build-asan/"
cmake -S . -B build-asan -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMEDIASTORE_SANITIZE=ON -DMEDIASTORE_FUZZ=ON \
  -DMEDIASTORE_BUILD_EXAMPLES=OFF -DMEDIASTORE_WERROR=ON "${launcher[@]}" >/dev/null
cmake --build build-asan -j "$jobs"

matrix=()
for cc in gcc clang; do
  if [ $cc = gcc ]; then compilers=(-DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++)
  else compilers=(-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++); fi
  for type in Debug Release; do
    dir=build-matrix/$cc-${type,,}
    echo "== $cc $type build (unit tests) in $dir/"
    cmake -S . -B "$dir" -G Ninja "${compilers[@]}" -DCMAKE_BUILD_TYPE=$type \
      -DMEDIASTORE_BUILD_EXAMPLES=OFF -DMEDIASTORE_WERROR=ON "${launcher[@]}" >/dev/null
    cmake --build "$dir" -j "$jobs" --target unit_tests
    matrix+=("$root/$dir")
  done
done

echo "== main build (g++) in build/"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMEDIASTORE_BUILD_TESTS=ON -DMEDIASTORE_WERROR=ON \
  -DMEDIASTORE_ASAN_DIR="$root/build-asan" -DMEDIASTORE_MATRIX_DIRS="$(IFS=';'; echo "${matrix[*]}")" \
  "${launcher[@]}" >/dev/null
cmake --build build -j "$jobs"

echo "== tests"
exec ctest --test-dir build --output-on-failure -j "$jobs" --timeout 1800 "$@"
