#!/usr/bin/env bash
# Installs the npm packages the tests compare with (tests/js/package.json,
# pinned by tests/js/package-lock.json) into tests/js/node_modules, with
# Debian's node and npm (scripts/install-deps.sh installs them). Does nothing
# when the locked versions are installed already.
set -euo pipefail
cd "$(dirname "$0")/../tests/js"
if ! command -v npm >/dev/null; then
  echo "install-npm: npm is missing; run scripts/install-deps.sh" >&2
  exit 1
fi
# npm writes node_modules/.package-lock.json after a complete install.
if [ -f node_modules/.package-lock.json ] && cmp -s <(node -e 'const l=require("./package-lock.json");console.log(JSON.stringify(l.packages["node_modules/thumbhash"]))') \
  <(node -e 'const l=require("./node_modules/.package-lock.json");console.log(JSON.stringify(l.packages["node_modules/thumbhash"]))'); then
  echo "install-npm: tests/js/node_modules is up to date"
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
echo "install-npm: installed into tests/js/node_modules"
