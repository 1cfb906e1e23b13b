#!/usr/bin/env bash
# Consumer tests of an installed libmediastore.
#   consumer_test.sh install    <build dir> <prefix>
#   consumer_test.sh cmake      <prefix> <work dir> <c++ compiler> <source dir>
#   consumer_test.sh pkgconfig  <prefix> <work dir> <c++ compiler> <source dir> <libdir name>
#   consumer_test.sh readme     <prefix> <work dir> <c++ compiler> <README.md> <libdir name>
#     (the README's first C++ example, built through pkg-config, stores a file)
set -euo pipefail
mode=$1

# pc_build <source> <program>: compiles a program against the prefix's .pc
# file (PKG_CONFIG_PATH set), warnings as errors.
pc_build() {
  # shellcheck disable=SC2046
  "$cxx" -std=c++20 -Wall -Wextra -Werror -o "$2" "$1" \
    $(pkg-config --cflags --libs mediastore) -Wl,-rpath,"$(pkg-config --variable=libdir mediastore)"
}
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
    pc_build "$src/consumer.cpp" "$work/consumer"
    "$work/consumer" "$work/media"
    ;;
  readme)
    prefix=$2 work=$3 cxx=$4 readme=$5 libdir=$6
    rm -rf "$work"
    mkdir -p "$work"
    export PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig"
    awk '/^```cpp/ { inside = 1; next } /^```/ { if (inside) exit } inside' "$readme" >"$work/example.cpp"
    [ -s "$work/example.cpp" ] || { echo "no C++ example in $readme"; exit 1; }
    pc_build "$work/example.cpp" "$work/example"
    env -i PATH="$PATH" MEDIA_ROOT="$work/media" "$work/example"
    [ "$(cat "$work/media/circles/1/hello.txt")" = hello ] || { echo "the example did not store its file"; exit 1; }
    # Its failure path: a MEDIA_ROOT that cannot be created is reported, not ignored.
    touch "$work/not-a-folder"
    if env -i PATH="$PATH" MEDIA_ROOT="$work/not-a-folder/media" "$work/example" 2>"$work/err"; then
      echo "the example succeeded without storage"; exit 1
    fi
    cat "$work/err"
    ;;
  *)
    echo "unknown mode $mode"
    exit 2
    ;;
esac
