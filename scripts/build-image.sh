#!/usr/bin/env bash
# Builds the Gennaker image (deploy/docker/Dockerfile) with podman (or CONTAINER_TOOL=docker).
#   scripts/build-image.sh                 full multi-stage build: compiles the services inside
#                                          the build stage (~25 minutes on 2 cores) and builds
#                                          Deck (needs the npm registry)
#   scripts/build-image.sh --prebuilt      runtime stage only, from the binaries in
#                                          ${BUILD_DIR:-build} (stripped and staged first)
# Options: --base IMAGE (default docker.io/library/debian:12; where no registry is
# reachable, scripts/setup-containers.sh makes localhost/debian:bookworm-minbase),
# --tag NAME:TAG (default gennaker:<version>), --no-packer (rosco's packer left out).
set -euo pipefail
cd "$(dirname "$0")/.."
TOOL=${CONTAINER_TOOL:-podman}
BUILD_DIR=${BUILD_DIR:-build}
version=$(sed -n 's/^project(gennaker VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
base=docker.io/library/debian:12
tag=gennaker:$version
prebuilt=0
packer=1
while [ $# -gt 0 ]; do
  case "$1" in
    --prebuilt) prebuilt=1 ;;
    --base) base=$2; shift ;;
    --tag) tag=$2; shift ;;
    --no-packer) packer=0 ;;
    *) echo "usage: $0 [--prebuilt] [--base IMAGE] [--tag NAME:TAG] [--no-packer]" >&2
       exit 2 ;;
  esac
  shift
done

start=$SECONDS
args=(build -f "$PWD/deploy/docker/Dockerfile" --target runtime
      --build-arg "BASE_IMAGE=$base" --build-arg "WITH_PACKER=$packer" -t "$tag")
# podman writes OCI images by default, which have no HEALTHCHECK.
if [ "$TOOL" = podman ]; then args+=(--format docker); fi
if [ "$prebuilt" -eq 1 ]; then
  # A context of the staged files only: nothing else of the tree is sent.
  context=$(mktemp -d /tmp/gennaker-image.XXXXXX)
  trap 'rm -rf "$context"' EXIT
  ./scripts/stage-image.sh "$BUILD_DIR" "$context/out"
  args+=(--build-arg BINARIES=prebuilt "$context")
else
  # The host's locally added CAs (e.g. of a proxy that re-signs TLS) for the build stage's
  # npm install of Deck's packages.
  extra_ca=$(cat /usr/local/share/ca-certificates/*.crt 2>/dev/null || true)
  if [ -n "$extra_ca" ]; then
    echo "build-image: the build stage trusts the CAs of /usr/local/share/ca-certificates"
    args+=(--build-arg "EXTRA_CA_PEM=$extra_ca")
  fi
  args+=(--build-arg BINARIES=build "$PWD")
fi
echo "build-image: $TOOL build $tag from $base ($([ $prebuilt -eq 1 ] && echo prebuilt binaries || echo full build))"
"$TOOL" "${args[@]}"
echo "build-image: $tag built in $((SECONDS - start)) s," \
  "$("$TOOL" image inspect --format '{{.Size}}' "$tag") bytes"
