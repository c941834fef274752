#include "services/orca/engine/model.h"

#include <chrono>

#include "common/spinnaker/json.h"

namespace gennaker::orca {

namespace {

bool SameParent(const Json& a, const Json& b) {
  return String(a, "parentStageId") == String(b, "parentStageId");
}

bool Requires(const Json& stage, const std::string& ref_id) {
  auto it = stage.find("requisiteStageRefIds");
  if (it == stage.end() || !it->is_array()) return false;
  for (const Json& r : *it) {
    if (r.is_string() && r.get<std::string>() == ref_id) return true;
  }
  return false;
}

}  // namespace

std::string Message::ToJson() const {
  Json j = {{"kind", kind}, {"executionId", execution_id}};
  if (!stage_id.empty()) j["stageId"] = stage_id;
  if (!task_id.empty()) j["taskId"] = task_id;
  if (!extra.empty()) j["extra"] = extra;
  return Dump(j);
}

std::optional<Message> Message::FromJson(absl::string_view text) {
  // Written by orca, but `extra` may carry user input: bounded like any
  // stored document, so an absurd one is unreadable instead of fatal.
  spinnaker::JsonLimits limits;
  limits.max_depth = 1000;
  absl::StatusOr<Json> parsed = spinnaker::ParseJson(text, "message", limits);
  if (!parsed.ok() || !parsed->is_object()) return std::nullopt;
  const Json& j = *parsed;
  Message m;
  m.kind = String(j, "kind");
  m.execution_id = String(j, "executionId");
  m.stage_id = String(j, "stageId");
  m.task_id = String(j, "taskId");
  if (auto it = j.find("extra"); it != j.end() && it->is_object()) {
    m.extra = *it;
  }
  if (m.kind.empty() || m.execution_id.empty()) return std::nullopt;
  return m;
}

Json* FindStage(Json& execution, absl::string_view stage_id) {
  auto it = execution.find("stages");
  if (it == execution.end() || !it->is_array()) return nullptr;
  for (Json& s : *it) {
    if (String(s, "id") == stage_id) return &s;
  }
  return nullptr;
}

const Json* FindStage(const Json& execution, absl::string_view stage_id) {
  return FindStage(const_cast<Json&>(execution), stage_id);
}

std::vector<Json*> Upstream(Json& execution, const Json& stage) {
  std::vector<Json*> out;
  auto req = stage.find("requisiteStageRefIds");
  if (req == stage.end() || !req->is_array() || req->empty()) return out;
  for (Json& s : execution["stages"]) {
    if (!SameParent(s, stage)) continue;
    for (const Json& r : *req) {
      if (r.is_string() && r.get<std::string>() == String(s, "refId")) {
        out.push_back(&s);
        break;
      }
    }
  }
  return out;
}

std::vector<Json*> Downstream(Json& execution, const Json& stage) {
  std::vector<Json*> out;
  const std::string ref = String(stage, "refId");
  for (Json& s : execution["stages"]) {
    if (SameParent(s, stage) && Requires(s, ref)) out.push_back(&s);
  }
  return out;
}

std::vector<Json*> Children(Json& execution, absl::string_view parent_id,
                            absl::string_view owner) {
  std::vector<Json*> out;
  for (Json& s : execution["stages"]) {
    if (String(s, "parentStageId") == parent_id &&
        String(s, "syntheticStageOwner") == owner) {
      out.push_back(&s);
    }
  }
  return out;
}

Json* Parent(Json& execution, const Json& stage) {
  std::string parent = String(stage, "parentStageId");
  return parent.empty() ? nullptr : FindStage(execution, parent);
}

Json* TopLevel(Json& execution, Json* stage) {
  // Bounded: a malformed document with a parent cycle must not hang.
  for (int i = 0; stage != nullptr && i < 64; ++i) {
    Json* parent = Parent(execution, *stage);
    if (parent == nullptr) return stage;
    stage = parent;
  }
  return stage;
}

std::string FailureStatus(const Json& stage, const std::string& fallback) {
  const Json& ctx = stage.contains("context") ? stage["context"] : Json();
  if (Bool(ctx, "continuePipeline")) return status::kFailedContinue;
  if (Bool(ctx, "failPipeline", true)) return fallback;
  return status::kStopped;
}

namespace {

// Sets `key` of `object` to `value` when it is missing or null.
void Default(Json& object, const char* key, Json value) {
  auto it = object.find(key);
  if (it == object.end()) {
    object[key] = std::move(value);
  } else if (it->is_null()) {
    *it = std::move(value);
  }
}

// What Spinnaker's orca always serializes, whatever the execution went
// through (old documents, triggers from any source): its model initializes
// these collections and flags, so clients read them without checks (Deck
// reads trigger.resolvedExpectedArtifacts.length).
void FillSpinnakerDefaults(Json& execution) {
  const bool pipeline = String(execution, "type") != "ORCHESTRATION";
  Default(execution, "canceled", false);
  Default(execution, "limitConcurrent", false);
  Default(execution, "keepWaitingPipelines", false);
  Default(execution, "maxConcurrentExecutions", 0);
  Default(execution, "stages", Json::array());
  Default(execution, "notifications", Json::array());
  Default(execution, "initialConfig", Json::object());
  Default(execution, "systemNotifications", Json::array());
  Default(execution, "trigger", Json::object());
  Json& trigger = execution["trigger"];
  if (trigger.is_object()) {
    Default(trigger, "type", "manual");
    Default(trigger, "user", "[anonymous]");
    Default(trigger, "parameters", Json::object());
    Default(trigger, "artifacts", Json::array());
    Default(trigger, "notifications", Json::array());
    Default(trigger, "rebake", false);
    Default(trigger, "dryRun", false);
    Default(trigger, "strategy", false);
    Default(trigger, "resolvedExpectedArtifacts", Json::array());
    // Pipelines resolve their expected artifacts against the trigger at
    // start, which records them there.
    if (pipeline) Default(trigger, "expectedArtifacts", Json::array());
  }
  Json& stages = execution["stages"];
  if (!stages.is_array()) return;
  for (Json& stage : stages) {
    if (!stage.is_object()) continue;
    Default(stage, "context", Json::object());
    Default(stage, "outputs", Json::object());
    Default(stage, "tasks", Json::array());
    Default(stage, "requisiteStageRefIds", Json::array());
  }
}

}  // namespace

Json PublicView(const Json& execution, bool expand) {
  Json out = execution;
  if (!out.is_object()) return out;
  out.erase(kPrivateKey);
  FillSpinnakerDefaults(out);
  if (!expand && out.contains("stages") && out["stages"].is_array()) {
    for (Json& s : out["stages"]) {
      Json ctx = Json::object();
      if (s.contains("context") && s["context"].contains("group")) {
        ctx["group"] = s["context"]["group"];
      }
      s["context"] = ctx;
      s["outputs"] = Json::object();
      s["tasks"] = Json::array();
    }
  }
  return out;
}

int64_t Restarts(const Json& execution) {
  if (!execution.is_object() || !execution.contains(kPrivateKey)) return 0;
  return Int(execution[kPrivateKey], "restarts");
}

int64_t StageRestarts(const Json& execution, const std::string& stage_id) {
  if (!execution.is_object() || !execution.contains(kPrivateKey)) return 0;
  const Json& counts = execution[kPrivateKey].contains("stageRestarts")
                           ? execution[kPrivateKey]["stageRestarts"]
                           : Json();
  if (!counts.is_object() || !execution.contains("stages") ||
      !execution["stages"].is_array()) {
    return 0;
  }
  int64_t total = 0;
  std::string id = stage_id;
  for (int depth = 0; !id.empty() && depth < 64; ++depth) {
    total += Int(counts, id.c_str());
    std::string parent;
    for (const Json& s : execution["stages"]) {
      if (String(s, "id") == id) parent = String(s, "parentStageId");
    }
    id = parent;
  }
  return total;
}

int64_t SystemClock::NowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace gennaker::orca
