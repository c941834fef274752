#include "services/orca/engine/model.h"

#include <chrono>

#include "absl/strings/ascii.h"

namespace gennaker::orca {

namespace {

bool In(absl::string_view s, std::initializer_list<absl::string_view> set) {
  for (absl::string_view v : set) {
    if (s == v) return true;
  }
  return false;
}

bool SameParent(const Json& a, const Json& b) {
  return Str(a, "parentStageId") == Str(b, "parentStageId");
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

bool IsKnownStatus(absl::string_view s) {
  return In(s, {status::kNotStarted, status::kRunning, status::kPaused,
                status::kSuspended, status::kSucceeded, status::kFailedContinue,
                status::kTerminal, status::kCanceled, status::kRedirect,
                status::kStopped, status::kSkipped, status::kBuffered});
}

bool IsComplete(absl::string_view s) {
  return In(s, {status::kSucceeded, status::kFailedContinue, status::kTerminal,
                status::kCanceled, status::kStopped, status::kSkipped});
}

bool IsHalt(absl::string_view s) {
  return In(s, {status::kTerminal, status::kCanceled, status::kStopped});
}

bool AllowsDownstream(absl::string_view s) {
  return In(s, {status::kSucceeded, status::kFailedContinue, status::kSkipped});
}

std::string Message::ToJson() const {
  Json j = {{"kind", kind}, {"executionId", execution_id}};
  if (!stage_id.empty()) j["stageId"] = stage_id;
  if (!task_id.empty()) j["taskId"] = task_id;
  if (!extra.empty()) j["extra"] = extra;
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::optional<Message> Message::FromJson(absl::string_view text) {
  Json j = Json::parse(text.begin(), text.end(), nullptr, false);
  if (!j.is_object()) return std::nullopt;
  Message m;
  m.kind = Str(j, "kind");
  m.execution_id = Str(j, "executionId");
  m.stage_id = Str(j, "stageId");
  m.task_id = Str(j, "taskId");
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
    if (Str(s, "id") == stage_id) return &s;
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
      if (r.is_string() && r.get<std::string>() == Str(s, "refId")) {
        out.push_back(&s);
        break;
      }
    }
  }
  return out;
}

std::vector<Json*> Downstream(Json& execution, const Json& stage) {
  std::vector<Json*> out;
  const std::string ref = Str(stage, "refId");
  for (Json& s : execution["stages"]) {
    if (SameParent(s, stage) && Requires(s, ref)) out.push_back(&s);
  }
  return out;
}

std::vector<Json*> Children(Json& execution, absl::string_view parent_id,
                            absl::string_view owner) {
  std::vector<Json*> out;
  for (Json& s : execution["stages"]) {
    if (Str(s, "parentStageId") == parent_id &&
        Str(s, "syntheticStageOwner") == owner) {
      out.push_back(&s);
    }
  }
  return out;
}

Json* Parent(Json& execution, const Json& stage) {
  std::string parent = Str(stage, "parentStageId");
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

std::string Str(const Json& object, const char* key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

int64_t Int(const Json& object, const char* key, int64_t fallback) {
  if (!object.is_object()) return fallback;
  auto it = object.find(key);
  if (it == object.end()) return fallback;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_number_float()) return static_cast<int64_t>(it->get<double>());
  if (it->is_string()) {
    int64_t v = 0;
    const std::string& s = it->get_ref<const std::string&>();
    if (!s.empty() && std::all_of(s.begin(), s.end(), ::isdigit) &&
        s.size() < 19) {
      v = std::stoll(s);
      return v;
    }
  }
  return fallback;
}

bool Flag(const Json& object, const char* key, bool fallback) {
  if (!object.is_object()) return fallback;
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  if (it->is_boolean()) return it->get<bool>();
  if (it->is_string()) {
    std::string v = absl::AsciiStrToLower(it->get<std::string>());
    if (v == "true") return true;
    if (v == "false") return false;
  }
  return fallback;
}

std::string FailureStatus(const Json& stage, const std::string& fallback) {
  const Json& ctx = stage.contains("context") ? stage["context"] : Json();
  if (Flag(ctx, "continuePipeline")) return status::kFailedContinue;
  if (Flag(ctx, "failPipeline", true)) return fallback;
  return status::kStopped;
}

Json PublicView(const Json& execution, bool expand) {
  Json out = execution;
  out.erase(kPrivateKey);
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
      if (Str(s, "id") == id) parent = Str(s, "parentStageId");
    }
    id = parent;
  }
  return total;
}

std::string Dump(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

int64_t SystemClock::NowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace gennaker::orca
