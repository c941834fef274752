#!/usr/bin/env bash
# Fuzzes orca's expression parser and template processing with libFuzzer (clang, ASan).
#   ./scripts/fuzz-expression.sh [seconds]      (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${1:-60}
OUT=${BUILD_DIR:-build}/fuzz
mkdir -p "$OUT/corpus"
command -v clang++ >/dev/null || { echo "fuzz-expression: clang++ is required" >&2; exit 2; }
echo "fuzz-expression: building $OUT/expression_fuzz ..."
clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address -DGENNAKER_LIBFUZZER_MAIN -I. \
  services/orca/expression/parser.cc services/orca/expression/expression.cc \
  services/orca/expression/functions.cc \
  services/orca/expression/expression_fuzz.cc \
  $(pkg-config --cflags --libs re2 absl_strings absl_statusor absl_status) \
  -o "$OUT/expression_fuzz"
printf '%s' '${trigger.parameters.env == '"'"'prod'"'"' ? {a: 1} : list.![#this * 2]}' \
  > "$OUT/corpus/seed1"
printf '%s' 'Deploy ${#toJson(a.b[2])} ${s.split(",")[0]?.toUpperCase()}' > "$OUT/corpus/seed2"
echo "fuzz-expression: running for ${SECONDS_TO_RUN}s ..."
"$OUT/expression_fuzz" -max_total_time="$SECONDS_TO_RUN" -max_len=512 "$OUT/corpus"
