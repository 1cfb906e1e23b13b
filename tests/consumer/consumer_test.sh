#!/usr/bin/env bash
# Consumer tests of an installed libmediastore.
#   consumer_test.sh install    <build dir> <prefix>
#   consumer_test.sh cmake      <prefix> <work dir> <c++ compiler> <source dir>
#   consumer_test.sh pkgconfig  <prefix> <work dir> <c++ compiler> <source dir> <libdir name>
set -euo pipefail
mode=$1
case "$mode" in
  install)
    build=$2 prefix=$3
    rm -rf "$prefix"
    cmake --install "$build" --prefix "$prefix"
    # The installed tool runs from the prefix without LD_LIBRARY_PATH.
    if [ -x "$prefix/bin/mediastore" ]; then
      env -u LD_LIBRARY_PATH "$prefix/bin/mediastore" --version
    fi
    ;;
  cmake)
    prefix=$2 work=$3 cxx=$4 src=$5
    rm -rf "$work"
    gen=()
    command -v ninja >/dev/null && gen=(-G Ninja)
    cmake -S "$src/find_package" -B "$work" "${gen[@]}" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_COMPILER="$cxx"
    cmake --build "$work"
    "$work/consumer" "$work/media"
    ;;
  pkgconfig)
    prefix=$2 work=$3 cxx=$4 src=$5 libdir=$6
    rm -rf "$work"
    mkdir -p "$work"
    export PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig"
    pkg-config --exists --print-errors mediastore
    pkg-config --modversion mediastore
    # The .pc file must point into the prefix it was installed to.
    case "$(pkg-config --variable=libdir mediastore)" in
      "$prefix"/*) ;;
      *) echo "libdir $(pkg-config --variable=libdir mediastore) is outside $prefix"; exit 1 ;;
    esac
    # shellcheck disable=SC2046
    "$cxx" -std=c++20 -Wall -Wextra -Werror -o "$work/consumer" "$src/consumer.cpp" \
      $(pkg-config --cflags --libs mediastore) -Wl,-rpath,"$(pkg-config --variable=libdir mediastore)"
    "$work/consumer" "$work/media"
    ;;
  *)
    echo "unknown mode $mode"
    exit 2
    ;;
esac
