#!/usr/bin/env bash
# Runs one libFuzzer target briefly: replays the committed corpus (seeds and
# past crashes), then fuzzes for SECONDS. New inputs go to WORKDIR, never into
# the repository; a crash leaves its input in WORKDIR and fails the test.
# Usage: scripts/run-fuzzer.sh FUZZER CORPUS_DIR WORKDIR SECONDS
set -euo pipefail
fuzzer=$1 corpus=$2 work=$3 secs=$4
mkdir -p "$work/new" "$corpus"
exec "$fuzzer" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -artifact_prefix="$work/" -print_final_stats=1 "$work/new" "$corpus"
