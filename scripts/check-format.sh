#!/usr/bin/env bash
# Fails when a C++ or proto source of the project differs from clang-format's output
# (.clang-format: Google style). Fix with: ./scripts/check-format.sh --fix
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(find common services proto tests bench demo \
  \( -name '*.h' -o -name '*.cc' -o -name '*.proto' \) -not -path '*/node_modules/*' | sort)
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${files[@]}"
  echo "check-format: formatted ${#files[@]} files"
  exit 0
fi
bad=()
for f in "${files[@]}"; do
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ ${#bad[@]} -ne 0 ]; then
  echo "check-format: ${#bad[@]} of ${#files[@]} files are not clang-format clean:" >&2
  printf '  %s\n' "${bad[@]}" >&2
  echo "check-format: run ./scripts/check-format.sh --fix" >&2
  exit 1
fi
echo "check-format: ${#files[@]} files clean"
