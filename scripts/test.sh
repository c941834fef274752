#!/usr/bin/env bash
# The README's second command (and CI's): installs what is missing, builds, and runs every
# test (unit, integration against real PostgreSQL/Redis, end-to-end). It fails on a
# clang-format difference and, built with -Werror, on any compiler warning. Tests start the servers
# they need themselves. Pass ctest options through, e.g. `./scripts/test.sh -L unit`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/check-format.sh
WERROR=ON ./scripts/build.sh
BUILD_DIR=${BUILD_DIR:-build}
ctest --test-dir "$BUILD_DIR" --output-on-failure --timeout 900 "$@"
