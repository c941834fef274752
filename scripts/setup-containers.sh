#!/usr/bin/env bash
# Makes podman work on this machine kind (../shared/reference/platform-notes.md,
# "Containers") and provides a local Debian 12 base image where no public registry is
# reachable. Idempotent; run as root (the tests do).
#   1. /etc/containers/containers.conf.d/50-gennaker.conf: runtime runc (Debian's crun refuses
#      hybrid cgroups) and default ulimits the sandbox lets a container set;
#   2. localhost/debian:bookworm-minbase: debootstrap --variant=minbase of Debian 12 from the
#      mirror apt uses, imported with podman (skipped when the image exists).
# Prints the base image's name last.
set -euo pipefail
cd "$(dirname "$0")/.."
BASE_IMAGE=${BASE_IMAGE:-localhost/debian:bookworm-minbase}

if [ "$(id -u)" -ne 0 ]; then
  echo "setup-containers: run as root (podman here runs rootful; debootstrap needs root)" >&2
  exit 1
fi
for tool in podman runc debootstrap; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "setup-containers: $tool is missing (run scripts/install-deps.sh)" >&2
    exit 1
  fi
done

conf_dir=/etc/containers/containers.conf.d
conf=$conf_dir/50-gennaker.conf
want='[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "runc"'
if [ "$(cat "$conf" 2>/dev/null)" != "$want" ]; then
  mkdir -p "$conf_dir"
  printf '%s\n' "$want" > "$conf.tmp"
  mv "$conf.tmp" "$conf"
  echo "setup-containers: wrote $conf (runtime runc, ulimits nofile/nproc 1024)"
fi

if podman image exists "$BASE_IMAGE"; then
  echo "setup-containers: base image $BASE_IMAGE present"
else
  # The mirror apt already uses (deb822 or one-line sources).
  mirror=$(grep -h -E '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources \
             /etc/apt/sources.list 2>/dev/null | grep -o -E 'https?://[^ ]+/debian/?( |$)' \
             | head -1 | tr -d ' ' || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  rootfs=$(mktemp -d /tmp/gennaker-rootfs.XXXXXX)
  trap 'rm -rf "$rootfs"' EXIT
  echo "setup-containers: debootstrap bookworm (minbase) from $mirror (about a minute)"
  start=$SECONDS
  if ! debootstrap --variant=minbase bookworm "$rootfs" "$mirror" > "$rootfs.log" 2>&1; then
    tail -20 "$rootfs.log" >&2
    rm -f "$rootfs.log"
    exit 1
  fi
  rm -f "$rootfs.log"
  # What debian:12-slim leaves out too: downloaded packages, docs, man pages, apt lists.
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
  tar -C "$rootfs" -c . | podman import --quiet - "$BASE_IMAGE" > /dev/null
  echo "setup-containers: imported $BASE_IMAGE in $((SECONDS - start)) s" \
    "($(podman image inspect --format '{{.Size}}' "$BASE_IMAGE") bytes)"
fi
echo "$BASE_IMAGE"
