#!/usr/bin/env bash
# Configures and builds Gennaker with Ninja (ccache when present) into ${BUILD_DIR:-build}, then
# the UI (Deck's bundle, scripts/build-ui.sh) into ${BUILD_DIR:-build}/ui/deck, where halyard
# finds it.
#   WERROR=ON ./scripts/build.sh     treat compiler warnings as errors (the test command does)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-2}
WERROR=${WERROR:-OFF}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" \
    -DGENNAKER_WERROR="$WERROR"
elif ! grep -q "^GENNAKER_WERROR:BOOL=$WERROR\$" "$BUILD_DIR/CMakeCache.txt"; then
  cmake -S . -B "$BUILD_DIR" -DGENNAKER_WERROR="$WERROR"
fi
cmake --build "$BUILD_DIR" -j "$JOBS"
./scripts/build-ui.sh "$BUILD_DIR/ui/deck"
