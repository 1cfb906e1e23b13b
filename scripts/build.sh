#!/usr/bin/env bash
# Configures and builds libmediastore into build/ (reusing it when present).
# Extra arguments go to cmake's configure step.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja "$@" >/dev/null
cmake --build build
