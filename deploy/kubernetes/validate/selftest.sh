#!/usr/bin/env bash
# The validator's own test (ctest k8s_validator_test): on testdata/valid.yaml it must accept
# every object and exit 0; on the deliberately broken testdata/invalid*.yaml it must exit 1
# with exactly the errors of testdata/invalid.expected (each message, file line, document
# number and JSON path), so a validator that stops catching a mistake fails here.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"  # the reports name files as testdata/..., as the expected files do
validate="$here/../../../scripts/validate-k8s-manifests.sh"
failed=0

# check NAME EXPECTED_RC EXPECTED_FILE FILES...
check() {
  local name="$1" want_rc="$2" expected="$3"
  shift 3
  local out rc=0
  out="$("$validate" "$@")" || rc=$?
  printf '%s\n' "$out"
  if [ "$rc" -ne "$want_rc" ]; then
    echo "selftest: $name: exit status $rc, expected $want_rc" >&2
    failed=1
  fi
  if ! diff -u --label "expected ($expected)" --label actual "$expected" - <<<"$out" >&2; then
    echo "selftest: $name: the report differs from $expected (diff above)" >&2
    failed=1
  fi
}

check valid 0 testdata/valid.expected testdata/valid.yaml
check invalid 1 testdata/invalid.expected testdata/invalid.yaml testdata/invalid-yaml.yaml
if [ "$failed" -ne 0 ]; then
  echo "selftest: FAILED" >&2
  exit 1
fi
echo "selftest: passed (valid objects accepted, every deliberate mistake reported)"
