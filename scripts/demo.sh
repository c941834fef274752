#!/usr/bin/env bash
# A deployment demo against the running suite (start it first with ./scripts/quickstart.sh):
# creates the application "demo" and a load balancer on port $LB_PORT (the local provider),
# saves a pipeline that deploys gennaker-demo with the red/black strategy, runs it for v1,
# then for v2 while requests flow through the load balancer, and shows the progress and
# what answered. Everything goes through gate's REST API, as Deck and spin would call it.
#   GATE=http://127.0.0.1:8084 LB_PORT=8100 ./scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
GATE=${GATE:-http://127.0.0.1:8084}
LB_PORT=${LB_PORT:-8100}
BIN_DIR=${BIN_DIR:-$PWD/${BUILD_DIR:-build}/bin}
ACCOUNT=${ACCOUNT:-local}

get() { curl -sS -f "$GATE$1"; }
post() { curl -sS -f -X POST -H 'Content-Type: application/json' --data "$2" "$GATE$1"; }

# Runs a Deck-style task and waits for it.
task() {
  local ref id status
  ref=$(post /tasks "$1" | jq -r .ref)
  id=${ref##*/}
  while :; do
    status=$(get "/tasks/$id" | jq -r .status)
    case $status in RUNNING | NOT_STARTED) sleep 0.3 ;; *) break ;; esac
  done
  echo "  task $(jq -r .description <<<"$1"): $status"
  [[ $status == SUCCEEDED ]]
}

# Prints each change of the stages' statuses until the execution ends.
follow() {
  local id=$1 last="" now exe status
  while :; do
    exe=$(get "/pipelines/$id")
    now=$(jq -r '[.stages[] | "\(.name): \(.status)"] | join(" | ")' <<<"$exe")
    if [[ $now != "$last" ]]; then
      echo "  $now"
      last=$now
    fi
    status=$(jq -r .status <<<"$exe")
    case $status in
      RUNNING | NOT_STARTED | PAUSED) sleep 0.5 ;;
      *)
        echo "  pipeline: $status"
        [[ $status == SUCCEEDED ]]
        return
        ;;
    esac
  done
}

run() {
  local version=$1 ref
  ref=$(post /pipelines/demo/deploy "{\"type\":\"manual\",\"parameters\":{\"version\":\"$version\"}}" |
    jq -r .ref)
  echo "deploy $version: execution ${ref##*/}"
  follow "${ref##*/}"
}

echo "== application and load balancer"
task '{"application":"demo","description":"Create Application: demo","job":[{"type":"createApplication","application":{"name":"demo","email":"demo@example.com","cloudProviders":"local"}}]}'
task "{\"application\":\"demo\",\"description\":\"Create Load Balancer: demo\",\"job\":[{\"type\":\"upsertLoadBalancer\",\"name\":\"demo\",\"credentials\":\"$ACCOUNT\",\"cloudProvider\":\"local\",\"region\":\"localhost\",\"listeners\":[{\"port\":$LB_PORT}]}]}"

echo "== pipeline 'deploy' (red/black, 3 instances, previous version disabled then scaled down)"
pipeline=$(jq -n --arg bin "$BIN_DIR/gennaker-demo" --arg account "$ACCOUNT" '{
  application: "demo", name: "deploy",
  parameterConfig: [{name: "version", default: "v1", required: true}],
  stages: [{refId: "1", type: "deploy", name: "Deploy", clusters: [{
    application: "demo", stack: "web", credentials: $account, cloudProvider: "local", provider: "local",
    availabilityZones: {localhost: ["localhost"]},
    capacity: {min: 3, max: 3, desired: 3},
    command: [$bin, "--port", "{{port}}", "--version", "${parameters.version}"],
    healthCheck: {path: "/health", intervalMs: 250, healthyThreshold: 2},
    loadBalancers: ["demo"],
    strategy: "redblack", scaleDown: true, maxRemainingAsgs: 2,
    rollback: {onFailure: true}}]}]}')
# Saving again (a second run of this demo) updates the pipeline: it needs its id.
existing=$(curl -sS "$GATE/applications/demo/pipelineConfigs/deploy" 2>/dev/null | jq -r '.id // empty' || true)
if [[ -n $existing ]]; then
  pipeline=$(jq --arg id "$existing" '. + {id: $id}' <<<"$pipeline")
fi
post /pipelines "$pipeline" >/dev/null
echo "  saved"

echo "== v1"
run v1
echo "  load balancer answers: $(curl -sS "http://127.0.0.1:$LB_PORT/")"

echo "== v2 while requests flow through the load balancer"
counts=$(mktemp)
stop=$counts.stop
(
  while [[ ! -e $stop ]]; do
    answer=$(curl -sS -m 5 "http://127.0.0.1:$LB_PORT/" 2>/dev/null | jq -r '.version // empty' 2>/dev/null || true)
    echo "${answer:-failed}" >>"$counts"
  done
) &
loader=$!
run v2
sleep 1
touch "$stop"
wait "$loader" 2>/dev/null || true
echo "  requests during the deploy, by answer:"
sort "$counts" | uniq -c | sed 's/^/   /'
rm -f "$counts" "$stop"
echo "  load balancer answers now: $(curl -sS "http://127.0.0.1:$LB_PORT/")"
echo "== server groups"
get /applications/demo/serverGroups |
  jq -r '.[] | "  \(.name): \(if .isDisabled then "disabled" else "enabled" end), \(.instanceCounts.up)/\(.capacity.desired) up"'
