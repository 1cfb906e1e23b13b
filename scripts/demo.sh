#!/usr/bin/env bash
# The demo: builds libmediastore and sends real photos through the pipeline
# on the default embedded setup (local backend under ./demo-output, in-process
# queue), printing where everything went.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh demo
scripts/build.sh -DMEDIASTORE_BUILD_TESTS=OFF >/dev/null
exec build/bin/mediastore-demo "${@:-demo-output}"
