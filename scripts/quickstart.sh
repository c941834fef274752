#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, and runs the whole suite on
# this machine through halyard (managed PostgreSQL and Redis on loopback), then prints gate's
# URL. Stop everything with: build/bin/halyard deploy clean
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
BUILD_DIR=${BUILD_DIR:-build}
"$BUILD_DIR/bin/halyard" deploy apply "$@"
