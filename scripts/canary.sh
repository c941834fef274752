#!/usr/bin/env bash
# A canary release against the running suite, after ./scripts/demo.sh (which deploys
# production, demo-web, behind the load balancer on $LB_PORT):
#   ./scripts/canary.sh v3                   # a healthy v3: analysed, then promoted
#   ./scripts/canary.sh v4 --fail-rate 0.2   # 20 % errors: fails, canary and baseline go
#   ./scripts/canary.sh v5 --latency-ms 60   # slow: fails on latency
# It saves the canary config "demo-canary" (error ratio and p90 latency from the
# instances' Prometheus metrics) through gate's /v2/canaryConfig, as Deck's canary
# screens do, and the pipeline "canary-release": baseline (production's version) and
# canary server groups of one instance each behind production's load balancer, a
# kayentaCanary stage over one LIFETIME (default PT1M), then a red/black promotion only
# if it passed, cleanup always. Requests flow through the load balancer meanwhile.
set -euo pipefail
cd "$(dirname "$0")/.."
GATE=${GATE:-http://127.0.0.1:8084}
LB_PORT=${LB_PORT:-8100}
BIN_DIR=${BIN_DIR:-$PWD/${BUILD_DIR:-build}/bin}
ACCOUNT=${ACCOUNT:-local}
LIFETIME=${LIFETIME:-PT1M}
version=${1:?usage: canary.sh VERSION [--fail-rate R | --latency-ms N]}
shift
flag=${1:---fail-rate}
value=${2:-0}

get() { curl -sS -f "$GATE$1"; }
send() { curl -sS -f -X "$1" -H 'Content-Type: application/json' --data "$3" "$GATE$2"; }

baseline=$(curl -sS -m 5 "http://127.0.0.1:$LB_PORT/" | jq -r .version)
echo "== production answers $baseline; canary $version ${*:-}"

echo "== canary config 'demo-canary'"
config=$(jq -n '{
  name: "demo-canary", applications: ["demo"],
  judge: {name: "NetflixACAJudge-v1.0", judgeConfigurations: {}},
  metrics: [
    {name: "error ratio", scopeName: "default", groups: ["errors"],
     query: {type: "prometheus", customInlineTemplate:
       "PromQL:(sum(rate(gennaker_requests_total{server_group=\"${scope}\",code=~\"5..\"}[30s])) or vector(0)) / sum(rate(gennaker_requests_total{server_group=\"${scope}\"}[30s]))"},
     analysisConfigurations: {canary: {direction: "increase", critical: true,
       nanStrategy: "replace", effectSize: {allowedIncrease: 1.0}}}},
    {name: "p90 latency", scopeName: "default", groups: ["latency"],
     query: {type: "prometheus", customInlineTemplate:
       "PromQL:histogram_quantile(0.9, sum by (le) (rate(gennaker_request_duration_seconds_bucket{server_group=\"${scope}\"}[30s])))"},
     analysisConfigurations: {canary: {direction: "increase",
       nanStrategy: "replace", effectSize: {allowedIncrease: 2.0}}}}],
  classifier: {groupWeights: {errors: 50, latency: 50}}, templates: {}}')
id=$(get "/v2/canaryConfig?application=demo" | jq -r '.[] | select(.name == "demo-canary") | .id' | head -1)
if [[ -n $id ]]; then
  send PUT "/v2/canaryConfig/$id" "$(jq --arg id "$id" '. + {id: $id}' <<<"$config")" >/dev/null
else
  id=$(send POST /v2/canaryConfig "$config" | jq -r '.canaryConfigId // .id')
fi
echo "  saved: $id"

echo "== pipeline 'canary-release'"
cluster() { # detail instances
  jq -n --arg bin "$BIN_DIR/gennaker-demo" --arg account "$ACCOUNT" --arg detail "$1" \
    --argjson n "$2" '{application: "demo", stack: "web", freeFormDetails: $detail,
    credentials: $account, cloudProvider: "local", availabilityZones: {localhost: ["localhost"]},
    capacity: {min: $n, max: $n, desired: $n},
    healthCheck: {path: "/health", intervalMs: 250, healthyThreshold: 2},
    loadBalancers: ["demo"], strategy: ""}'
}
destroy() { # refId name cluster
  jq -n --arg ref "$1" --arg name "$2" --arg cluster "$3" --arg account "$ACCOUNT" '{
    refId: $ref, requisiteStageRefIds: ["4"], type: "destroyServerGroup", name: $name,
    cloudProvider: "local", credentials: $account, cluster: $cluster,
    regions: ["localhost"], target: "current_asg_dynamic"}'
}
pipeline=$(jq -n --arg bin "$BIN_DIR/gennaker-demo" --arg config "$id" --arg lifetime "$LIFETIME" \
  --argjson baseline "$(cluster baseline 1)" --argjson canary "$(cluster canary 1)" \
  --argjson prod "$(cluster "" 3)" \
  --argjson d1 "$(destroy 5 'Destroy canary' demo-web-canary)" \
  --argjson d2 "$(destroy 6 'Destroy baseline' demo-web-baseline)" '{
  application: "demo", name: "canary-release",
  parameterConfig: [{name: "version", required: true}, {name: "baseline", required: true},
                    {name: "flag", default: "--fail-rate"}, {name: "value", default: "0"}],
  stages: [
    {refId: "1", type: "deploy", name: "Deploy baseline", clusters: [$baseline + {
      command: [$bin, "--port", "{{port}}", "--version", "${parameters.baseline}"]}]},
    {refId: "2", type: "deploy", name: "Deploy canary", clusters: [$canary + {
      command: [$bin, "--port", "{{port}}", "--version", "${parameters.version}",
                "${parameters.flag}", "${parameters.value}"]}]},
    {refId: "3", requisiteStageRefIds: ["1", "2"], type: "kayentaCanary",
     name: "Canary Analysis", continuePipeline: true,
     canaryConfig: {canaryConfigId: $config, metricsAccountName: "prometheus",
       lifetimeDuration: $lifetime, scoreThresholds: {marginal: 50, pass: 75},
       scopes: [{scopeName: "default",
         controlScope: "${#stage(\u0027Deploy baseline\u0027).outputs[\u0027deploy.server.groups\u0027][\u0027localhost\u0027][0]}",
         controlLocation: "localhost",
         experimentScope: "${#stage(\u0027Deploy canary\u0027).outputs[\u0027deploy.server.groups\u0027][\u0027localhost\u0027][0]}",
         experimentLocation: "localhost", step: 5}]}},
    {refId: "4", requisiteStageRefIds: ["3"], type: "deploy", name: "Promote",
     stageEnabled: {type: "expression",
       expression: "${#stage(\u0027Canary Analysis\u0027).status == \u0027SUCCEEDED\u0027}"},
     clusters: [$prod + {strategy: "redblack", scaleDown: true, maxRemainingAsgs: 2,
       rollback: {onFailure: true},
       command: [$bin, "--port", "{{port}}", "--version", "${parameters.version}"]}]},
    $d1, $d2,
    {refId: "7", requisiteStageRefIds: ["5", "6"], type: "checkPreconditions",
     name: "Canary passed", preconditions: [{type: "stageStatus", failPipeline: true,
       context: {stageName: "Canary Analysis", stageStatus: "SUCCEEDED"}}]}]}')
existing=$(curl -sS "$GATE/applications/demo/pipelineConfigs/canary-release" 2>/dev/null | jq -r '.id // empty' || true)
if [[ -n $existing ]]; then
  pipeline=$(jq --arg id "$existing" '. + {id: $id}' <<<"$pipeline")
fi
send POST /pipelines "$pipeline" >/dev/null
echo "  saved"

echo "== run (the analysis takes $LIFETIME) while requests flow through the load balancer"
counts=$(mktemp)
stop=$counts.stop
(
  while [[ ! -e $stop ]]; do
    # "v3", or "v3 HTTP 500" for an error answer, or "failed" without one.
    answer=$(curl -sS -m 5 -w ' %{http_code}' "http://127.0.0.1:$LB_PORT/" 2>/dev/null || true)
    code=${answer##* }
    version=$(jq -r '.version // empty' <<<"${answer% *}" 2>/dev/null || true)
    if [[ -z $version ]]; then
      echo failed
    elif [[ $code == 200 ]]; then
      echo "$version"
    else
      echo "$version HTTP $code"
    fi >>"$counts"
  done
) &
loader=$!
trap 'touch "$stop"; wait "$loader" 2>/dev/null || true; rm -f "$counts" "$stop"' EXIT
trigger=$(jq -n --arg v "$version" --arg b "$baseline" --arg f "$flag" --arg x "$value" \
  '{type: "manual", parameters: {version: $v, baseline: $b, flag: $f, value: $x}}')
ref=$(send POST /pipelines/demo/canary-release "$trigger" | jq -r .ref)
exe_id=${ref##*/}
echo "  execution $exe_id"
last=""
while :; do
  exe=$(get "/pipelines/$exe_id")
  now=$(jq -r '[.stages[] | select(.parentStageId == null) | "\(.name): \(.status)"] | join(" | ")' <<<"$exe")
  if [[ $now != "$last" ]]; then
    echo "  $now"
    last=$now
  fi
  status=$(jq -r .status <<<"$exe")
  case $status in RUNNING | NOT_STARTED | PAUSED) sleep 1 ;; *) break ;; esac
done
echo "  pipeline: $status"
run=$(jq -r '[.stages[] | select(.type == "runCanary") | .context.canaryPipelineExecutionId // empty] | last // empty' <<<"$exe")
if [[ -n $run ]]; then
  echo "== canary report $run (gate /v2/canaries/canary/$run)"
  get "/v2/canaries/canary/$run" | jq -r '.result.judgeResult |
    "  score \(.score.score) (\(.score.classification))",
    (.results[] | "  \(.name): \(.classification)")'
fi
touch "$stop"
wait "$loader" 2>/dev/null || true
echo "  requests during the release, by answer:"
sort "$counts" | uniq -c | sed 's/^/   /'
echo "  load balancer answers now: $(curl -sS "http://127.0.0.1:$LB_PORT/")"
