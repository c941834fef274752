#!/usr/bin/env bash
# Builds Gennaker's Deck UI: Spinnaker's @spinnaker/core from pinned npm packages plus our
# shell and local-provider module (ui/deck), bundled with esbuild.
#
#   scripts/build-ui.sh [OUTDIR]     (default build/ui/deck; relative to the repository root)
#
# `npm ci` runs only when ui/deck/node_modules is missing or older than package-lock.json
# (a stamp file records the last install), so a rebuild with nothing changed takes seconds.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
deck="$root/ui/deck"
outdir="${1:-build/ui/deck}"
case "$outdir" in /*) ;; *) outdir="$root/$outdir" ;; esac

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "build-ui: '$tool' not found; run scripts/install-deps.sh first" >&2
    exit 1
  fi
done

# esbuild 0.24 and playwright-core need Node.js 18 or newer (Debian 12's nodejs is 18).
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 18 ]; then
  echo "build-ui: Node.js $(node --version) is too old: 18 or newer is needed" >&2
  exit 1
fi

# The build replaces OUTDIR: refuse anything that is not a bundle directory of its own
# (an existing directory must be empty or hold a previous bundle).
outdir_real="$(realpath -m "$outdir")"
case "$root/" in "$outdir_real"/*) echo "build-ui: refusing OUTDIR $outdir: it holds the checkout" >&2; exit 1 ;; esac
case "$outdir_real/" in "$deck"/*) echo "build-ui: refusing OUTDIR $outdir: inside ui/deck" >&2; exit 1 ;; esac
if [ -d "$outdir_real" ] && [ -n "$(ls -A "$outdir_real")" ] && [ ! -f "$outdir_real/version.json" ]; then
  echo "build-ui: refusing OUTDIR $outdir: not empty and not a previous bundle (no version.json)" >&2
  exit 1
fi

stamp="$deck/node_modules/.gennaker-install-stamp"
if [[ ! -f "$stamp" || "$deck/package-lock.json" -nt "$stamp" || "$deck/package.json" -nt "$stamp" ]]; then
  echo "build-ui: installing npm packages (npm ci in ui/deck)"
  start=$SECONDS
  # --legacy-peer-deps: Deck's packages declare peers (react, angular) at versions the
  # overrides in package.json settle; npm's strict peer check would refuse the tree.
  (cd "$deck" && npm ci --legacy-peer-deps --no-audit --no-fund --loglevel=error)
  touch "$stamp"
  echo "build-ui: npm packages installed in $((SECONDS - start)) s"
else
  echo "build-ui: npm packages up to date"
fi

node "$deck/build.mjs" "$outdir"
echo "build-ui: UI bundle in $outdir"
