#!/usr/bin/env bash
# Installs the Debian packages libmediastore needs, and only those missing.
# Idempotent; runs `apt-get update` only when something must be installed.
# Usage (as root): scripts/install-deps.sh [demo|test|bench]   Default: test
# (bench = test plus the peers the benchmarks compare with)
set -euo pipefail
what=${1:-test}

build_pkgs=(
  build-essential cmake ninja-build pkg-config git
  libcurl4-openssl-dev libssl-dev libtinyxml2-dev libfmt-dev libstb-dev
  libturbojpeg0-dev libjpeg62-turbo-dev libwebp-dev libheif-dev liblcms2-dev
  libsqlite3-dev libhiredis-dev libcli11-dev nlohmann-json3-dev doctest-dev libmicrohttpd-dev
  libavformat-dev libavcodec-dev libswscale-dev libavutil-dev
)
# Real photographs for the demo and the benchmarks (Debian wallpapers), and
# exiftool to make EXIF-rotated copies.
demo_pkgs=(lomiri-wallpapers-16.04 libimage-exiftool-perl)
# ffmpeg (the program): the video tests generate their corpus with it.
# ccache: a later run of the test command compiles only what changed
# (scripts/test.sh).
test_pkgs=(
  clang libclang-rt-14-dev llvm clang-format curl ca-certificates valgrind
  python3 python3-venv python3-pip python3-setuptools python3-wheel python3-pytest python3-django python3-boto3 mypy
  redis-server ceph-mon ceph-osd radosgw ceph-common
  nodejs
  ffmpeg
  clamav-daemon clamav-testfiles
  ccache
)
# npm installs the reference implementations the tests compare with
# (scripts/install-npm.sh). Debian packages it apart from nodejs; a nodejs
# from elsewhere (NodeSource) bundles it and conflicts with Debian's npm.
if ! command -v npm >/dev/null; then test_pkgs+=(npm); fi

# The S3 benchmark's peers (bench/s3/run.sh): AWS CLI v2 and rclone.
bench_pkgs=(awscli rclone)
# The thumbnail benchmark's corpus and peers (bench/thumbnails/run.sh): the
# other wallpaper packages, Pillow, numpy (PSNR/SSIM) and libvips.
bench_pkgs+=(mate-backgrounds plasma-workspace-wallpapers lomiri-wallpapers-20.04
  python3-pil python3-numpy libvips-dev libvips-tools)
# The queue benchmark's peer (bench/queue/run.sh): Celery 5.2 on Redis with
# Pillow and boto3 (its photo comes from lomiri-wallpapers-16.04, a demo package).
bench_pkgs+=(python3-celery python3-redis python3-pil python3-boto3)
# The scan benchmark's peer (bench/scan/run.sh): clamdscan --stream.
bench_pkgs+=(clamdscan)

pkgs=("${build_pkgs[@]}" "${demo_pkgs[@]}")
if [ "$what" = test ] || [ "$what" = bench ]; then pkgs+=("${test_pkgs[@]}"); fi
if [ "$what" = bench ]; then pkgs+=("${bench_pkgs[@]}"); fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#pkgs[@]} packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages (${missing[*]}); run as root or install them" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
