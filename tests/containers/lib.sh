# Shared by the container tests (sourced): images, a REST client for gate, failure reporting.
# Needs ROOT (the source tree) and BUILD_DIR (the build with the binaries) set by the caller.

TEST_IMAGE=${TEST_IMAGE:-localhost/gennaker:ctest}
TEST_POSTGRES_IMAGE=localhost/gennaker-test-postgres:15
TEST_REDIS_IMAGE=localhost/gennaker-test-redis:7

log() { echo "[$(date -u +%H:%M:%S)] $*"; }
fail() {
  echo "FAIL: $*" >&2
  # Kept for the test's cleanup, which repeats it after the containers' logs (a CI log's tail).
  if [ -n "${WORK:-}" ] && [ -d "$WORK" ]; then echo "$*" >> "$WORK/failure"; fi
  exit 1
}

# After a failure's container logs: the failure again, last.
repeat_failure() {
  if [ -n "${WORK:-}" ] && [ -f "$WORK/failure" ]; then
    echo "FAIL (repeated after the logs): $(cat "$WORK/failure")" >&2
  fi
}

# podman set up (scripts/setup-containers.sh), the local base image, the suite's runtime image
# from the binaries already built, and PostgreSQL/Redis images from Debian's packages.
build_test_images() {
  local base
  base=$("$ROOT/scripts/setup-containers.sh" | tail -1)
  log "base image $base"
  BUILD_DIR=$BUILD_DIR "$ROOT/scripts/build-image.sh" --prebuilt --base "$base" \
    --tag "$TEST_IMAGE" > "$WORK/build-image.log" 2>&1 ||
    { tail -30 "$WORK/build-image.log"; fail "building $TEST_IMAGE"; }
  tail -1 "$WORK/build-image.log"
  podman build --format docker -q --build-arg "BASE_IMAGE=$base" -t "$TEST_POSTGRES_IMAGE" \
    "$ROOT/tests/containers/postgres" > "$WORK/build-postgres.log" 2>&1 ||
    { tail -30 "$WORK/build-postgres.log"; fail "building $TEST_POSTGRES_IMAGE"; }
  podman build --format docker -q --build-arg "BASE_IMAGE=$base" -t "$TEST_REDIS_IMAGE" \
    "$ROOT/tests/containers/redis" > "$WORK/build-redis.log" 2>&1 ||
    { tail -30 "$WORK/build-redis.log"; fail "building $TEST_REDIS_IMAGE"; }
  # The staging stage of each prebuilt build leaves an untagged image behind (labelled, so
  # that no other build's images are pruned).
  podman image prune -f --filter label=io.gennaker.stage=prebuilt > /dev/null 2>&1 || true
  log "images: $(podman images --format '{{.Repository}}:{{.Tag}} {{.Size}}' |
    grep -E 'gennaker|debian' | tr '\n' ';')"
}

require_test_images() {
  local image
  for image in "$TEST_IMAGE" "$TEST_POSTGRES_IMAGE" "$TEST_REDIS_IMAGE"; do
    podman image exists "$image" ||
      fail "$image is missing: run tests/containers/build_images.sh (ctest's containers_images)"
  done
}

# A free loopback TCP port.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# rest METHOD URL [BODY]: prints the body, then the status code on its own last line.
# Prints the body, then the HTTP status on a line of its own. Never fails itself (a failing
# command substitution would end the test under `set -e` without a word): a transport error
# prints curl's message and "000 (curl exit N)" for the caller's check to report.
rest() {
  local rc=0
  curl -sS -m 10 -X "$1" "$2" -H 'Content-Type: application/json' ${3:+-d "$3"} \
    -w '\n%{http_code}' 2>&1 || rc=$?
  [ $rc -eq 0 ] || echo " (curl exit $rc)"
}

# GET $1 (body only); prints curl's error instead of failing, for the caller's check to report.
get() {
  curl -sS -m 10 "$1" 2>&1 || true
}

# Waits up to $2 seconds for GET $1/health to answer UP.
wait_gate() {
  local deadline=$((SECONDS + $2))
  while [ $SECONDS -lt $deadline ]; do
    case "$(curl -s -m 2 "$1/health" 2>/dev/null || true)" in *'"UP"'*) return 0 ;; esac
    sleep 1
  done
  fail "gate at $1 did not answer UP within $2 s"
}

# Polls GET $1$2 (a task or execution ref) until its status is final; prints the status.
wait_final() {
  local status="" i
  for i in $(seq 1 120); do
    status=$(curl -s -m 5 "$1$2" | jq -r '.status // empty' 2>/dev/null || true)
    case "$status" in SUCCEEDED|TERMINAL|CANCELED|STOPPED) break ;; esac
    sleep 0.5
  done
  echo "$status"
}

# run_pipeline GATE_URL APP: creates APP by a task, saves a two-stage pipeline and an
# infrastructure task through clouddriver, triggers the pipeline and waits for SUCCEEDED.
create_app() {
  local gate=$1 app=$2 out ref status
  out=$(rest POST "$gate/tasks" "{\"application\":\"$app\",\"description\":\"Create Application: $app\",\"job\":[{\"type\":\"createApplication\",\"application\":{\"name\":\"$app\",\"email\":\"$app@example.com\"}}]}")
  [ "$(echo "$out" | tail -1)" = 200 ] || fail "create $app: $out"
  ref=$(echo "$out" | head -1 | jq -r .ref)
  status=$(wait_final "$gate" "$ref")
  [ "$status" = SUCCEEDED ] || fail "create application $app: task $ref is $status"
}

run_pipeline() {
  local gate=$1 app=$2 name=${3:-two waits} out ref status stages
  out=$(rest POST "$gate/pipelines" "{\"application\":\"$app\",\"name\":\"$name\",\"stages\":[{\"refId\":\"1\",\"type\":\"wait\",\"waitTime\":1},{\"refId\":\"2\",\"type\":\"wait\",\"waitTime\":0,\"requisiteStageRefIds\":[\"1\"]}]}")
  [ "$(echo "$out" | tail -1)" = 200 ] || fail "save pipeline: $out"
  out=$(rest POST "$gate/pipelines/$app/$(jq -rn --arg n "$name" '$n|@uri')" '{}')
  [ "$(echo "$out" | tail -1)" = 202 ] || fail "trigger pipeline: $out"
  ref=$(echo "$out" | head -1 | jq -r .ref)
  status=$(wait_final "$gate" "$ref")
  stages=$(get "$gate$ref" | jq -c '[.stages[].status]' 2>&1 || true)
  [ "$status" = SUCCEEDED ] || fail "pipeline $ref of $app is '$status' (stages $stages)"
  log "pipeline '$name' of $app: $status, stages $stages ($ref)"
}

# An infrastructure task gate -> orca -> clouddriver, then read back through gate.
upsert_security_group() {
  local gate=$1 app=$2 group=$3 out ref status
  out=$(rest POST "$gate/tasks" "{\"application\":\"$app\",\"description\":\"Create Security Group\",\"job\":[{\"type\":\"upsertSecurityGroup\",\"credentials\":\"local\",\"cloudProvider\":\"local\",\"name\":\"$group\",\"inboundRules\":[{\"range\":{\"ip\":\"10.0.0.0\",\"cidr\":\"/8\"},\"portRanges\":[{\"startPort\":80,\"endPort\":80}]}]}]}")
  [ "$(echo "$out" | tail -1)" = 200 ] || fail "upsertSecurityGroup: $out"
  ref=$(echo "$out" | head -1 | jq -r .ref)
  status=$(wait_final "$gate" "$ref")
  [ "$status" = SUCCEEDED ] || fail "upsertSecurityGroup task $ref is $status"
  # gate may read through another clouddriver replica than the one that ran the task: its
  # view follows the shared cache within a few seconds.
  local i
  for i in $(seq 1 30); do
    out=$(get "$gate/securityGroups")
    if grep -q "\"$group\"" <<< "$out"; then break; fi
    sleep 0.5
  done
  grep -q "\"$group\"" <<< "$out" || fail "security group $group not listed by gate after 15 s: $out"
  log "security group $group created through clouddriver ($ref)"
}
