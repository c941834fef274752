#!/usr/bin/env bash
# The container tests' fixture: podman set up by the project's own script, the local Debian 12
# base image, the suite's runtime image from the binaries already built (the runtime stage of
# deploy/docker/Dockerfile), and PostgreSQL/Redis images from Debian's packages.
#   tests/containers/build_images.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
ROOT=$(cd "$1" && pwd)
BUILD_DIR=$(cd "$2" && pwd)
WORK=$(mktemp -d /tmp/gennaker-images.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
source "$ROOT/tests/containers/lib.sh"
start=$SECONDS
build_test_images
log "PASS: images ready in $((SECONDS - start)) s"
