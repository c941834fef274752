#!/usr/bin/env bash
# Validates Kubernetes manifests against the Kubernetes API schemas, strictly (unknown fields,
# wrong types, missing required fields, unknown kinds and non-GA apiVersions are errors): the
# validator of deploy/kubernetes/validate (README there). CI runs it on the reference manifests
# (ctest k8s_manifests_test) so they cannot drift from the API.
#
#   scripts/validate-k8s-manifests.sh [FILES...]     (default: deploy/kubernetes/*.yaml)
#
# Prints one line per object ("ok Deployment/gennaker/orca") or per error, with file, line,
# document number and JSON path; exits 1 when any object is invalid, 2 on a usage error.
# `npm ci` runs only when deploy/kubernetes/validate/node_modules is missing or older than
# package-lock.json (a stamp file records the last install); its messages go to stderr, so
# stdout is the validator's report alone.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
validator="$root/deploy/kubernetes/validate"

for tool in node npm flock; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "validate-k8s-manifests: '$tool' not found; run scripts/install-deps.sh first" >&2
    exit 2
  fi
done
# kubernetes-models 4.5 and yaml 2 need Node.js 14.6; the validator is tested on Debian 12's 18.
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 18 ]; then
  echo "validate-k8s-manifests: Node.js $(node --version) is too old: 18 or newer is needed" >&2
  exit 2
fi

if [ $# -eq 0 ]; then
  shopt -s nullglob
  set -- "$root"/deploy/kubernetes/*.yaml
  shopt -u nullglob
  if [ $# -eq 0 ]; then
    echo "validate-k8s-manifests: no manifests in $root/deploy/kubernetes (*.yaml)" >&2
    exit 2
  fi
fi

# Under a lock on the validator's directory: ctest may run two validations at once, and two
# concurrent `npm ci` would delete each other's node_modules.
(
  flock 9
  stamp="$validator/node_modules/.gennaker-install-stamp"
  if [[ ! -f "$stamp" || "$validator/package-lock.json" -nt "$stamp" ||
        "$validator/package.json" -nt "$stamp" ]]; then
    echo "validate-k8s-manifests: installing npm packages (npm ci in deploy/kubernetes/validate)" >&2
    (cd "$validator" && npm ci --no-audit --no-fund --loglevel=error) >&2
    touch "$stamp"
  fi
) 9<"$validator"

exec node "$validator/validate.mjs" "$@"
