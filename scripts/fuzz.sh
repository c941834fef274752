#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (clang, ASan + UBSan) and runs each
# for a bounded time on its corpus in tests/fuzz/corpus/<target>/:
#   ./scripts/fuzz.sh [seconds-per-target] [target ...]     (default 60, all)
# Targets: spinnaker_json expression webhook_payload halconfig outbound_url
# echo_webhook cron (see
# tests/fuzz/README.md). The parsers' sources are compiled directly with clang
# into ${BUILD_DIR:-build}/fuzz (objects are reused while their sources and
# headers are unchanged); halconfig also links the generated protos of the
# CMake build, so build it first (scripts/build.sh). New inputs the fuzzer
# finds go to ${BUILD_DIR}/fuzz/corpus/<target>/, not into the repository.
# An input that crashes a target is kept as ${BUILD_DIR}/fuzz/artifacts/<target>/crash-*
# and the script exits 1; reproduce with `${BUILD_DIR}/fuzz/<target> FILE`.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET=${1:-60}
shift || true
ALL_TARGETS=(spinnaker_json expression webhook_payload halconfig outbound_url echo_webhook
  cron)
if [ $# -gt 0 ]; then TARGETS=("$@"); else TARGETS=("${ALL_TARGETS[@]}"); fi
BUILD_DIR=${BUILD_DIR:-build}
OUT=$BUILD_DIR/fuzz
CXX=${FUZZ_CXX:-clang++}
JOBS=${FUZZ_JOBS:-$(nproc)}

command -v "$CXX" >/dev/null || {
  echo "fuzz: $CXX is required (scripts/install-deps.sh installs clang)" >&2
  exit 2
}
LAUNCHER=()
if command -v ccache >/dev/null; then LAUNCHER=(ccache); fi

# -O1 keeps compilation short (it dominates a CI run) while still fuzzing fast;
# separate sections let the link drop what a target never calls (a parser's
# file may hold code needing the rest of its service).
# shellcheck disable=SC2054  # the commas are inside flags
CXXFLAGS=(-std=c++20 -O1 -gline-tables-only -fno-omit-frame-pointer
  -fsanitize=address,undefined -fno-sanitize-recover=undefined
  -ffunction-sections -fdata-sections -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
  -I. -I"$BUILD_DIR" -I"$BUILD_DIR/proto")
# More flags, e.g. FUZZ_CXXFLAGS=-fno-sanitize=float-cast-overflow to look past
# a known finding; objects are kept apart per set of flags.
# shellcheck disable=SC2206
CXXFLAGS+=(${FUZZ_CXXFLAGS:-})
OBJ_DIR=$OUT/obj-$(echo "$CXX ${CXXFLAGS[*]}" | md5sum | cut -c1-8)
# shellcheck disable=SC2207
PKG_CFLAGS=($(pkg-config --cflags re2 absl_strings absl_status absl_statusor yaml-cpp protobuf libcurl \
  spdlog openssl))
# shellcheck disable=SC2207
PKG_LIBS=($(pkg-config --libs re2 absl_strings absl_status absl_statusor absl_str_format \
  absl_synchronization absl_time yaml-cpp protobuf libcurl spdlog openssl grpc++ libxcrypt))

JSON_SRCS=(common/spinnaker/json.cc)
EXPRESSION_SRCS=(services/orca/expression/parser.cc services/orca/expression/expression.cc
  services/orca/expression/functions.cc "${JSON_SRCS[@]}")

# Sources of each target (instrumented), and archives of the CMake build it links.
# A parser's file that starts calling another file of the project needs that
# file added here (the link then reports what is missing).
declare -A SRCS ARCHIVES
SRCS[spinnaker_json]="tests/fuzz/spinnaker_json_fuzz.cc ${JSON_SRCS[*]}"
SRCS[expression]="services/orca/expression/expression_fuzz.cc ${EXPRESSION_SRCS[*]}"
SRCS[webhook_payload]="tests/fuzz/webhook_payload_fuzz.cc services/orca/stages/builtin_stages.cc
  common/log/call_context.cc common/fiat/authorizer.cc common/grpc/channel.cc
  common/status/grpc_status.cc ${EXPRESSION_SRCS[*]}"
SRCS[halconfig]="tests/fuzz/halconfig_fuzz.cc services/halyard/halconfig.cc
  common/config/config_loader.cc common/service/defaults.cc common/http/outbound.cc
  common/http/outbound_config.cc common/spinnaker/names.cc common/auth/users_file.cc
  common/auth/password.cc"
SRCS[outbound_url]="tests/fuzz/outbound_url_fuzz.cc common/http/outbound.cc
  common/service/defaults.cc"
SRCS[echo_webhook]="tests/fuzz/echo_webhook_fuzz.cc services/echo/triggers/events.cc
  services/echo/triggers/scm_handlers.cc services/echo/triggers/trigger_index.cc
  services/echo/triggers/trigger_rules.cc
  ${JSON_SRCS[*]}"
SRCS[cron]="tests/fuzz/cron_fuzz.cc services/echo/cron/cron.cc"
# builtin_stages' application tasks ask fiat (common/fiat): its protos and gRPC.
ARCHIVES[webhook_payload]="$BUILD_DIR/proto/libgennaker_proto_fiat.a
  $BUILD_DIR/proto/libgennaker_proto_common.a"
ARCHIVES[halconfig]="$BUILD_DIR/proto/libgennaker_proto_halyard.a
  $BUILD_DIR/proto/libgennaker_proto_rosco.a $BUILD_DIR/proto/libgennaker_proto_clouddriver.a
  $BUILD_DIR/proto/libgennaker_proto_common.a"

for t in "${TARGETS[@]}"; do
  [ -n "${SRCS[$t]:-}" ] || { echo "fuzz: unknown target $t (${ALL_TARGETS[*]})" >&2; exit 2; }
  for a in ${ARCHIVES[$t]:-}; do
    [ -f "$a" ] || { echo "fuzz: $t needs $a: build the tree first (scripts/build.sh)" >&2; exit 2; }
  done
done

# The object of `src`, with its -MMD dependency file next to it.
obj_of() { echo "$OBJ_DIR/${1%.cc}.o"; }

# True when the object of `src` is older than the source or a header it read.
stale() {
  local o d dep
  o=$(obj_of "$1")
  d="${o%.o}.d"
  [ -f "$o" ] && [ -f "$d" ] || return 0
  # shellcheck disable=SC2013  # a .d file lists paths separated by spaces
  for dep in $(sed -e 's/^[^:]*://' -e 's/\\$//' "$d"); do
    [ "$dep" -nt "$o" ] && return 0
  done
  return 1
}

compile() {
  local src=$1 o
  o=$(obj_of "$src")
  mkdir -p "$(dirname "$o")"
  local defs=()
  # The orca expression target's entry point is compiled only for fuzzing.
  [ "$src" = services/orca/expression/expression_fuzz.cc ] && defs=(-DGENNAKER_LIBFUZZER_MAIN)
  "${LAUNCHER[@]}" "$CXX" "${CXXFLAGS[@]}" "${defs[@]}" -fsanitize=fuzzer-no-link \
    "${PKG_CFLAGS[@]}" -MMD -MF "${o%.o}.d" -c "$src" -o "$o"
}

mkdir -p "$OUT"
build_start=$(date +%s)
declare -A seen
todo=()
for t in "${TARGETS[@]}"; do
  for s in ${SRCS[$t]}; do
    [ -n "${seen[$s]:-}" ] && continue
    seen[$s]=1
    if stale "$s"; then todo+=("$s"); fi
  done
done
echo "fuzz: compiling ${#todo[@]} source(s) with $CXX, $JOBS at a time ..."
failed=0
running=0
for s in "${todo[@]}"; do
  if [ "$running" -ge "$JOBS" ]; then
    wait -n || failed=1
    running=$((running - 1))
  fi
  compile "$s" &
  running=$((running + 1))
done
while [ "$running" -gt 0 ]; do
  wait -n || failed=1
  running=$((running - 1))
done
[ "$failed" -eq 0 ] || { echo "fuzz: compilation failed" >&2; exit 1; }

for t in "${TARGETS[@]}"; do
  objs=()
  for s in ${SRCS[$t]}; do objs+=("$(obj_of "$s")"); done
  # shellcheck disable=SC2206
  archives=(${ARCHIVES[$t]:-})
  # start-stop-gc: the sanitizers' metadata sections must not keep unused
  # functions (and their references into the rest of a service) alive.
  "$CXX" -fsanitize=fuzzer,address,undefined -Wl,--gc-sections -Wl,-z,start-stop-gc \
    "${objs[@]}" "${archives[@]}" "${PKG_LIBS[@]}" -pthread -o "$OUT/$t"
done
echo "fuzz: built ${TARGETS[*]} in $(($(date +%s) - build_start))s"

export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
status=0
for t in "${TARGETS[@]}"; do
  work=$OUT/corpus/$t
  mkdir -p "$work" "$OUT/artifacts/$t"
  log=$OUT/$t.log
  # Runs on a copy of the corpus so that the repository only changes by hand;
  # -timeout makes a hang a failure, -rss_limit_mb a memory blow-up.
  set +e
  "$OUT/$t" -max_total_time="$SECONDS_PER_TARGET" -max_len=4096 -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$OUT/artifacts/$t/" \
    "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  set -e
  done_line=$(grep -E '^Done [0-9]+ runs in [0-9]+ second' "$log" | tail -1 || true)
  if [ "$rc" -ne 0 ]; then
    echo "fuzz: $t FAILED (exit $rc); log: $log"
    grep -E '(runtime error|==[0-9]+==ERROR|^SUMMARY|Test unit written|^    #[0-9]+ )' "$log" \
      | head -40 || true
    status=1
  else
    echo "fuzz: $t: $done_line ($(find "$work" -type f | wc -l) inputs in $work)"
  fi
done
exit "$status"
