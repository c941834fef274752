#!/usr/bin/env bash
# Sizes of the container image variants, for choosing one image against ten (bench/README.md,
# "Container images"): the suite's image with and without packer, and an image of one service
# (orca, with halyard for its health check) as a per-service image would be. Builds the
# runtime stage from the binaries in ${BUILD_DIR:-build} on BASE (default the local base of
# scripts/setup-containers.sh) and prints a Markdown table; removes what it built.
#   bench/image_sizes.sh [BASE]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
base=${1:-localhost/debian:bookworm-minbase}
podman image exists "$base" || { echo "no image $base (scripts/setup-containers.sh)" >&2; exit 1; }
tag=localhost/gennaker-size
ctx=$(mktemp -d /tmp/gennaker-size.XXXXXX)
trap 'rm -rf "$ctx"; podman rmi -f "$tag:all" "$tag:nopacker" "$tag:orca" > /dev/null 2>&1 || true' EXIT
size() { podman image inspect --format '{{.Size}}' "$1" | awk '{printf "%.0f MB", $1 / 1e6}'; }
layer() {  # size of the newest layer whose command matches $2
  podman history --format '{{.Size}}|{{.CreatedBy}}' "$1" | grep -m1 -- "$2" | cut -d'|' -f1
}
echo "image-sizes: building 3 variants on $base" >&2
BUILD_DIR=$BUILD_DIR ./scripts/build-image.sh --prebuilt --base "$base" --tag "$tag:all" > /dev/null
BUILD_DIR=$BUILD_DIR ./scripts/build-image.sh --prebuilt --no-packer --base "$base" \
  --tag "$tag:nopacker" > /dev/null
./scripts/stage-image.sh "$BUILD_DIR" "$ctx/out" > /dev/null
find "$ctx/out/bin" -type f ! -name orca ! -name halyard -delete
rm -rf "$ctx/out/ui" "$ctx/out/share"
podman build --format docker -q -f deploy/docker/Dockerfile --target runtime \
  --build-arg "BASE_IMAGE=$base" --build-arg BINARIES=prebuilt --build-arg WITH_PACKER=0 \
  -t "$tag:orca" "$ctx" > /dev/null
echo "| image | size | base | libraries (+ curl, packer) | /opt/gennaker |"
echo "|---|---|---|---|---|"
for v in all nopacker orca; do
  case $v in
    all) name="gennaker: ten services, Deck, packer" ;;
    nopacker) name="gennaker --no-packer" ;;
    orca) name="one service (orca + halyard), no packer, no Deck" ;;
  esac
  echo "| $name | $(size "$tag:$v") | $(size "$base") | $(layer "$tag:$v" 'apt-get update') |" \
    "$(layer "$tag:$v" 'COPY dir') |"
done
