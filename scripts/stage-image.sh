#!/usr/bin/env bash
# Stages what the runtime image holds from a build directory into OUT (the image's
# /opt/gennaker): bin/ with the ten service binaries and gennaker-demo, stripped of debug
# information (~45 MB instead of ~720 MB), share/rosco/packer (rosco's templates) and
# ui/deck (Deck's bundle).
#   scripts/stage-image.sh BUILD_DIR OUT
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 BUILD_DIR OUT" >&2
  exit 2
fi
build=$1
out=$2
binaries=(gate orca clouddriver front50 rosco igor echo fiat kayenta halyard gennaker-demo)
rm -rf "$out"
mkdir -p "$out/bin" "$out/share/rosco"
for b in "${binaries[@]}"; do
  if [ ! -x "$build/bin/$b" ]; then
    echo "stage-image: $build/bin/$b is missing (build the suite first)" >&2
    exit 1
  fi
  strip --strip-debug -o "$out/bin/$b" "$build/bin/$b"
done
if [ ! -d "$build/share/rosco/packer" ]; then
  echo "stage-image: $build/share/rosco/packer is missing (build rosco first)" >&2
  exit 1
fi
cp -r "$build/share/rosco/packer" "$out/share/rosco/packer"
# gate serves Deck from the image (docker-compose.yml turns its UI listener on).
if [ ! -f "$build/ui/deck/index.html" ]; then
  echo "stage-image: $build/ui/deck is missing (scripts/build-ui.sh $build/ui/deck)" >&2
  exit 1
fi
mkdir -p "$out/ui"
cp -r "$build/ui/deck" "$out/ui/deck"
echo "stage-image: $(du -sh "$out" | cut -f1) in $out ($(ls "$out/bin" | wc -l) binaries)"
