#!/usr/bin/env bash
# halyard's Kubernetes manifests run for real with `podman kube play`: a halconfig of type
# KUBERNETES with two replicas of gate, orca, clouddriver and front50 on one PostgreSQL and one
# Redis (in-cluster stores, images build_images.sh made), rendered with --pod-addresses
# (podman does not implement Services), checked against the Kubernetes schemas, played; every
# container's liveness probe passes (podman 4.3 turns livenessProbe into a health check, which
# the test runs itself; readiness and startup probes are not run by podman);
# then an application, pipelines through both gate replicas, reads of each execution through
# the other gate, and an infrastructure task, with the replicas' logs showing that every
# replica served; then everything is taken down and nothing is left.
#   tests/containers/kube_play_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
ROOT=$(cd "$1" && pwd)
BUILD_DIR=$(cd "$2" && pwd)
WORK=$(mktemp -d /tmp/gennaker-kube-play.XXXXXX)
source "$ROOT/tests/containers/lib.sh"
NETWORK=gnkube$$
HAL=("$BUILD_DIR/bin/halyard" --config "$WORK/hal.yml")
SCALED=(gate orca clouddriver front50)

cleanup() {
  local rc=$?
  if [ $rc -ne 0 ] && [ -f "$WORK/play.yaml" ]; then
    for c in $(podman ps -a --format '{{.Names}}' | grep -v infra); do
      echo "--- $c ($(podman inspect "$c" --format '{{.State.Status}}'))"
      podman logs --tail 10 "$c" 2>&1 | cut -c1-300 || true
    done
    repeat_failure
  fi
  if [ -f "$WORK/play.yaml" ]; then
    podman kube down "$WORK/play.yaml" > /dev/null 2>&1 || true
    python3 "$ROOT/tests/containers/podman_kube.py" clean "$WORK/rendered.yaml" || true
  fi
  podman network rm -f "$NETWORK" > /dev/null 2>&1 || true
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT

require_test_images
tag=${TEST_IMAGE##*:}
"${HAL[@]}" config init > /dev/null
for kv in "stateDir $WORK/state" "ui.enabled false" \
          "deploymentEnvironment.type KUBERNETES" \
          "deploymentEnvironment.imageRepository ${TEST_IMAGE%:*}" \
          "deploymentEnvironment.imageTag $tag" \
          "deploymentEnvironment.postgresImage $TEST_POSTGRES_IMAGE" \
          "deploymentEnvironment.redisImage $TEST_REDIS_IMAGE"; do
  # shellcheck disable=SC2086
  "${HAL[@]}" config set $kv > /dev/null
done
for s in "${SCALED[@]}"; do
  "${HAL[@]}" config set "deploymentEnvironment.customSizing.$s.replicas" 2 > /dev/null
done
"${HAL[@]}" deploy render --pod-addresses --output "$WORK/rendered.yaml"
"$ROOT/scripts/validate-k8s-manifests.sh" "$WORK/rendered.yaml" | tail -1
pdbs=$(grep -c '^kind: PodDisruptionBudget' "$WORK/rendered.yaml")
[ "$pdbs" -eq ${#SCALED[@]} ] || fail "$pdbs PodDisruptionBudgets rendered, want ${#SCALED[@]}"

# Left over from an interrupted run: objects with the same names.
podman kube down "$WORK/rendered.yaml" > /dev/null 2>&1 || true
python3 "$ROOT/tests/containers/podman_kube.py" clean "$WORK/rendered.yaml"
python3 "$ROOT/tests/containers/podman_kube.py" prepare "$WORK/rendered.yaml" "$WORK/play.yaml"
podman network create "$NETWORK" > /dev/null
start=$SECONDS
log "podman kube play (network $NETWORK)"
podman kube play --network "$NETWORK" "$WORK/play.yaml" > "$WORK/play.log" 2>&1 ||
  { grep -v 'systemd' "$WORK/play.log" | tail -20; fail "podman kube play"; }

pods=$(podman pod ls --format '{{.Name}}' | sort)
want=(postgres-pod-0 redis-pod-0 fiat-pod-0 rosco-pod-0 igor-pod-0 kayenta-pod-0 echo-pod-0)
for s in "${SCALED[@]}"; do want+=("$s-pod-0" "$s-pod-1"); done
for p in "${want[@]}"; do
  grep -qx "$p" <<< "$pods" || fail "pod $p missing; pods: $(tr '\n' ' ' <<< "$pods")"
done
log "${#want[@]} pods: $(tr '\n' ' ' <<< "$pods")"
containers=$(podman ps -a --format '{{.Names}}' | grep -- '-pod-[0-9]*-' | sort)
# podman runs a livenessProbe as a health check whose third failure kills the container
# (Kubernetes would hold it back until the startupProbe passes, which podman does not run): so
# the probe is run only once the container says it is up (a service waits for its store first),
# and then needs to pass within two tries.
for c in $containers; do
  case $c in
    postgres-*) ready='database system is ready to accept connections' ;;
    redis-*) ready='Ready to accept connections' ;;
    *) ready=' serving: gRPC ' ;;
  esac
  up=0
  for _ in $(seq 1 120); do
    out=$(podman logs "$c" 2>&1 || true)
    if grep -q -F -- "$ready" <<< "$out"; then up=1; break; fi
    sleep 1
  done
  [ $up -eq 1 ] || fail "$c did not log '$ready' within 120 s"
  healthy=0
  for _ in 1 2; do
    if podman healthcheck run "$c" > /dev/null 2>&1; then healthy=1; break; fi
    sleep 1
  done
  [ $healthy -eq 1 ] || fail "$c did not pass its probe"
done
log "all $(wc -w <<< "$containers") containers pass their probes $((SECONDS - start)) s after play"

ip_of() {  # the address of a pod on the network
  local infra
  infra=$(podman pod inspect "$1" --format '{{.InfraContainerID}}')
  podman inspect "$infra" --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}'
}
GATE0=http://$(ip_of gate-pod-0):8084
GATE1=http://$(ip_of gate-pod-1):8084
wait_gate "$GATE0" 30
wait_gate "$GATE1" 30
log "gate replicas at $GATE0 and $GATE1"

# Which replica serves whom (--pod-addresses spreads each consumer's dependencies over the
# replicas; see the rendered ConfigMaps): gate -> front50-pod-1, orca-pod-1, clouddriver-pod-1;
# orca -> front50-pod-0, clouddriver-pod-0. So the application orca creates through
# front50-pod-0 is read by gate through front50-pod-1, pipelines gate saves in front50-pod-1
# are loaded by orca from front50-pod-0, and the security group orca upserts through
# clouddriver-pod-0 is listed by gate from clouddriver-pod-1: every read crosses replicas.
grep -q 'front50-pod-1:8080' "$WORK/rendered.yaml" && grep -q 'front50-pod-0:8080' \
  "$WORK/rendered.yaml" || fail "the render does not spread consumers over front50's replicas"
create_app "$GATE0" replicas
# The application written through one gate is read through the other.
apps=$(get "$GATE1/applications")
grep -q '"replicas"' <<< "$apps" || fail "gate-pod-1 does not list the application: $apps"
for i in 1 2 3; do
  run_pipeline "$GATE0" replicas "pipeline $i via gate-pod-0"
  run_pipeline "$GATE1" replicas "pipeline $i via gate-pod-1"
done
# Every execution is visible through either gate.
executions=$(get "$GATE0/applications/replicas/pipelines?limit=20")
count=$(jq 'length' <<< "$executions" 2>/dev/null || echo 0)
succeeded=$(jq '[.[] | select(.status == "SUCCEEDED")] | length' <<< "$executions" 2>/dev/null ||
            echo 0)
[ "$count" -eq 6 ] && [ "$succeeded" -eq 6 ] ||
  fail "gate-pod-0 lists $count executions ($succeeded SUCCEEDED), want 6: ${executions:0:300}"
log "6 executions listed through gate-pod-0, all SUCCEEDED"
upsert_security_group "$GATE1" replicas replicas-web
# One clouddriver replica serves the local account (its lease holder); the other forwards its
# operations there. Both read the one cache, which only the holder writes: the group stays
# listed through both gates across full cache refreshes (cacheIntervalSeconds, 10 s).
holders=()
for i in 0 1; do
  cd_log=$(podman logs "clouddriver-pod-$i-clouddriver" 2>&1) ||
    fail "cannot read clouddriver-pod-$i's log"
  # The replica's latest word on the account: served here, or elsewhere.
  last=$(grep -o 'event=account_served[a-z_]* account=local' <<< "$cd_log" | tail -1 || true)
  if [ "$last" = 'event=account_served account=local' ]; then holders+=("$i"); fi
done
[ ${#holders[@]} -eq 1 ] || fail "${#holders[@]} clouddriver replicas serve the local account, want 1"
log "clouddriver-pod-${holders[0]} serves the local account"
for i in $(seq 1 12); do
  for g in "$GATE0" "$GATE1"; do
    out=$(get "$g/securityGroups")
    grep -q '"replicas-web"' <<< "$out" || fail "read $i: security group replicas-web gone from $g: $out"
  done
  sleep 1
done
log "security group listed through both gates for 12 s"

# Each replica served requests other than health checks: its own /metrics counters.
admin_port() {
  case $1 in gate) echo 18085 ;; orca) echo 18083 ;; clouddriver) echo 17002 ;;
    front50) echo 18080 ;; esac
}
for s in "${SCALED[@]}"; do
  for i in 0 1; do
    metrics=$(get "http://$(ip_of "$s-pod-$i"):$(admin_port "$s")/metrics")
    n=$(grep '^gennaker_requests_total' <<< "$metrics" | { grep -v -i 'health' || true; } |
        awk '{sum += $NF} END {print sum + 0}')
    printf '%s-pod-%s: %s requests served\n' "$s" "$i" "$n"
    [ "$n" -gt 0 ] || fail "$s-pod-$i served no request: $(head -c 600 <<< "$metrics")"
  done
done
# gate's replicas call orca-pod-1 (one ConfigMap per Deployment: every replica of a consumer
# reaches the same replica of each dependency), yet both orca replicas run executions: they
# share the work queue in PostgreSQL.
for i in 0 1; do
  orca_log=$(podman logs "orca-pod-$i-orca" 2>&1)
  n=$(grep -c 'event=execution_complete' <<< "$orca_log" || true)
  printf 'orca-pod-%s completed %s executions\n' "$i" "$n"
  [ "$n" -gt 0 ] || fail "orca-pod-$i completed no execution"
done
# Memory of each container (informational).
stats=$(podman stats --no-stream --format '{{.Name}} {{.MemUsage}}' 2>/dev/null || true)
grep -- '-pod-[0-9]-' <<< "$stats" | sort | tr '\n' ';' || true
echo

log "podman kube down"
podman kube down "$WORK/play.yaml" > /dev/null 2>&1 || fail "kube down"
python3 "$ROOT/tests/containers/podman_kube.py" clean "$WORK/rendered.yaml"
podman network rm "$NETWORK" > /dev/null
left=$(podman pod ls --format '{{.Name}}' | grep -c -x -F -f <(printf '%s\n' "${want[@]}") || true)
[ "$left" -eq 0 ] || fail "$left of the test's pod(s) left"
log "PASS: kube play with 2 replicas of ${SCALED[*]} in $((SECONDS - start)) s"
