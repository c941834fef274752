#!/usr/bin/env bash
# docker-compose.yml run for real with podman-compose, on the images build_images.sh makes
# (the suite's image from the binaries already built, PostgreSQL and Redis); `up`, every container healthy
# (podman runs health checks from systemd timers, absent here, so the test runs each check
# itself), a pipeline and an infrastructure task through gate's published port, Deck served,
# then `down -v` leaves no container, volume or pod of the project behind.
#   tests/containers/compose_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
ROOT=$(cd "$1" && pwd)
BUILD_DIR=$(cd "$2" && pwd)
WORK=$(mktemp -d /tmp/gennaker-compose-test.XXXXXX)
source "$ROOT/tests/containers/lib.sh"
PROJECT=gnctest$$
export GENNAKER_IMAGE=$TEST_IMAGE GENNAKER_POSTGRES_IMAGE=$TEST_POSTGRES_IMAGE \
  GENNAKER_REDIS_IMAGE=$TEST_REDIS_IMAGE
export GENNAKER_GATE_PORT=$(free_port) GENNAKER_DECK_PORT=$(free_port)
GATE=http://127.0.0.1:$GENNAKER_GATE_PORT

compose() { (cd "$ROOT" && podman-compose -p "$PROJECT" "$@"); }
cleanup() {
  local rc=$?
  if [ $rc -ne 0 ]; then
    for c in $(podman ps -a --filter "label=io.podman.compose.project=$PROJECT" \
                 --format '{{.Names}}'); do
      echo "--- $c ($(podman inspect "$c" --format '{{.State.Status}}'))"
      podman logs --tail 15 "$c" 2>&1 || true
    done
    # A call that hung from orca: could it look its dependencies up (aardvark-dns)?
    echo "--- orca's lookups of echo, front50, clouddriver (getent ahostsv4)"
    timeout 20 podman exec "${PROJECT}_orca_1" getent ahostsv4 echo front50 clouddriver 2>&1 ||
      echo "(lookup failed or timed out)"
    repeat_failure
  fi
  compose down -v > "$WORK/down-cleanup.log" 2>&1 || true
  podman network rm -f "${PROJECT}_default" > /dev/null 2>&1 || true
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT

require_test_images

log "podman-compose up (project $PROJECT, gate on $GENNAKER_GATE_PORT)"
start=$SECONDS
compose up -d > "$WORK/up.log" 2>&1 || { tail -30 "$WORK/up.log"; fail "podman-compose up"; }
services=(postgres redis fiat front50 clouddriver rosco igor kayenta echo orca gate halyard)
for s in "${services[@]}"; do
  c=${PROJECT}_${s}_1
  healthy=0
  for _ in $(seq 1 60); do
    if podman healthcheck run "$c" > /dev/null 2>&1; then healthy=1; break; fi
    sleep 1
  done
  [ $healthy -eq 1 ] || fail "$c did not become healthy"
  state=$(podman inspect "$c" --format '{{.State.Health.Status}}')
  [ "$state" = healthy ] || fail "$c health is '$state'"
  printf '%s: %s (user %s, restarts %s)\n' "$s" "$state" \
    "$(podman inspect "$c" --format '{{.Config.User}}')" \
    "$(podman inspect "$c" --format '{{.RestartCount}}')"
done
log "all ${#services[@]} containers healthy $((SECONDS - start)) s after up"
# Every service of the suite runs as the image's non-root user.
for s in fiat front50 clouddriver rosco igor kayenta echo orca gate halyard; do
  uid=$(podman exec "${PROJECT}_${s}_1" id -u)
  [ "$uid" = 10001 ] || fail "$s runs as uid $uid"
done

wait_gate "$GATE" 30
create_app "$GATE" compose
run_pipeline "$GATE" compose
upsert_security_group "$GATE" compose compose-web
# Deck is served by gate on the published UI port, pointed at gate's URL.
deck=$(curl -sf "http://127.0.0.1:$GENNAKER_DECK_PORT/") || fail "Deck not served"
grep -qi '<html' <<< "$deck" || fail "Deck's index is not HTML: ${deck:0:200}"
# Logs go to stdout as JSON lines.
orca_log=$(podman logs "${PROJECT}_orca_1" 2>&1)
grep -q '"service":"orca"' <<< "$orca_log" ||
  fail "orca's log is not JSON on stdout: $(tail -3 <<< "$orca_log")"
# Memory of each container (informational).
stats=$(podman stats --no-stream --format '{{.Name}} {{.MemUsage}}' 2>/dev/null || true)
grep "$PROJECT" <<< "$stats" | sed "s/${PROJECT}_//" | sort | tr '\n' ';' || true
echo

log "podman-compose down -v"
compose down -v > "$WORK/down.log" 2>&1 || { tail -30 "$WORK/down.log"; fail "down"; }
left=$(podman ps -a -q --filter "label=io.podman.compose.project=$PROJECT" | wc -l)
[ "$left" -eq 0 ] || fail "$left container(s) left after down"
volumes=$(podman volume ls -q | grep "^${PROJECT}_" || true)
[ -z "$volumes" ] || fail "volumes left after down -v: $volumes"
pods=$(podman pod ls -q --filter "name=$PROJECT")
[ -z "$pods" ] || fail "pod left after down: $pods"
# podman-compose 1.0.3 keeps the project's network (docker compose removes it).
if podman network exists "${PROJECT}_default"; then
  podman network rm "${PROJECT}_default" > /dev/null
  log "removed network ${PROJECT}_default (podman-compose 1.0.3 leaves it)"
fi
log "PASS: compose up -> healthy -> pipeline -> down in $((SECONDS - start)) s"
