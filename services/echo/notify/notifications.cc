// Matching and rendering of notifications (notify.h): which entries an orca
// event selects, and the texts Spinnaker's agents would send.
#include <algorithm>
#include <cctype>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/log/log.h"
#include "common/spinnaker/json.h"
#include "services/echo/notify/notify.h"
#include "services/echo/notify/notify_internal.h"

namespace gennaker::echo {
namespace {

using spinnaker::Array;
using spinnaker::Bool;
using spinnaker::Int;
using spinnaker::Object;
using spinnaker::String;

// Entries considered per source (pipeline, application, stage): a pipeline
// with more is hostile or broken, and each entry may cost a send.
constexpr size_t kMaxEntries = 100;
// Longest text taken from an entry or a context (custom messages,
// instructions), and longest rendered body.
constexpr size_t kMaxTextBytes = 16 * 1024;
constexpr size_t kMaxBodyBytes = 64 * 1024;

constexpr char kManualJudgment[] = "manualJudgment";
constexpr char kManualJudgmentContinue[] = "manualJudgmentContinue";
constexpr char kManualJudgmentStop[] = "manualJudgmentStop";

// WordUtils.capitalize: the first letter of each space-separated word.
std::string Capitalize(absl::string_view text) {
  std::string out(text);
  bool start = true;
  for (char& c : out) {
    if (c == ' ') {
      start = true;
    } else {
      if (start) c = absl::ascii_toupper(static_cast<unsigned char>(c));
      start = false;
    }
  }
  return out;
}

std::string Text(const Json& j, std::string_view key) {
  return notify_internal::TruncateUtf8(String(j, key), kMaxTextBytes);
}

// "is starting", "has completed successfully", "has failed", "has <other>".
std::string Phrase(const std::string& status) {
  if (status == "starting") return "is starting";
  if (status == "complete") return "has completed successfully";
  return absl::StrCat("has ", status);
}

std::string BaseUrl(const std::string& base) {
  return std::string(absl::StripSuffix(base, "/"));
}

std::string Link(const std::string& base, const std::string& application,
                 absl::string_view path, const std::string& id) {
  if (base.empty() || id.empty() || application.empty()) return "";
  return absl::StrCat(BaseUrl(base), "/#/applications/",
                      notify_internal::PercentEncode(application), "/", path,
                      "/", notify_internal::PercentEncode(id));
}

std::string Substitute(const std::string& text, const std::string& execution_id,
                       const std::string& link) {
  return absl::StrReplaceAll(
      text, {{"{{executionId}}", execution_id}, {"{{link}}", link}});
}

// A notification entry that passed validation.
struct Entry {
  Json json;
  std::string type;
  std::string address;
};

// Validates `j` as an entry: an object with string `type` and non-empty
// string `address` (or publisherName), and `when` absent, a string or an
// array. Logs and returns false otherwise.
bool ParseEntry(const Json& j, absl::string_view source, Entry* out) {
  if (!j.is_object()) {
    SPDLOG_WARN("event=notification_skipped source={} reason=not_an_object",
                source);
    return false;
  }
  out->type = String(j, "type");
  out->address = String(j, "address");
  if (out->address.empty()) out->address = String(j, "publisherName");
  const Json* when = spinnaker::internal::Member(j, "when");
  if (out->type.empty() || out->address.empty() ||
      (when != nullptr && !when->is_null() && !when->is_array() &&
       !when->is_string())) {
    SPDLOG_WARN(
        "event=notification_skipped source={} type={} reason=malformed "
        "(needs type, address and a when list)",
        source, out->type);
    return false;
  }
  out->json = j;
  return true;
}

// Whether the entry's `when` holds `key` (a list containing it, or a string
// containing it, as Spinnaker's agent); with `empty_matches`, an absent or
// empty `when` matches too (manual judgment's deprecated scheme).
bool WhenHas(const Json& entry, const std::string& key, bool empty_matches) {
  const Json* when = spinnaker::internal::Member(entry, "when");
  if (when == nullptr || when->is_null()) return empty_matches;
  if (when->is_string()) {
    const std::string& s = when->get_ref<const std::string&>();
    if (s.empty()) return empty_matches;
    return absl::StrContains(s, key);
  }
  if (!when->is_array()) return false;
  if (when->empty()) return empty_matches;
  for (const Json& w : *when) {
    if (w.is_string() && w.get_ref<const std::string&>() == key) return true;
  }
  return false;
}

std::vector<Entry> ParseEntries(const Json& list, absl::string_view source) {
  std::vector<Entry> out;
  if (list.is_null()) return out;
  if (!list.is_array()) {
    SPDLOG_WARN("event=notifications_skipped source={} reason=not_a_list",
                source);
    return out;
  }
  size_t n = 0;
  for (const Json& j : list) {
    if (++n > kMaxEntries) {
      SPDLOG_WARN("event=notifications_truncated source={} limit={}", source,
                  kMaxEntries);
      break;
    }
    Entry e;
    if (ParseEntry(j, source, &e)) out.push_back(std::move(e));
  }
  return out;
}

// Strings of a `when` value (list elements, or the one string).
std::vector<std::string> WhenValues(const Json& entry) {
  std::vector<std::string> out;
  const Json* when = spinnaker::internal::Member(entry, "when");
  if (when == nullptr) return out;
  if (when->is_string()) {
    out.push_back(when->get<std::string>());
  } else if (when->is_array()) {
    for (const Json& w : *when) {
      if (w.is_string()) out.push_back(w.get<std::string>());
    }
  }
  return out;
}

// orca's addApplicationNotifications: the application's pipeline
// notifications merged into the pipeline's.
std::vector<Entry> MergeApplicationNotifications(std::vector<Entry> pipeline,
                                                 const Json& app) {
  if (!app.is_object()) return pipeline;
  const size_t own = pipeline.size();
  for (const auto& [key, value] : app.items()) {
    if (!value.is_array()) continue;  // application, lastModified, ...
    size_t n = 0;
    for (const Json& raw : value) {
      if (++n > kMaxEntries) break;
      if (!raw.is_object()) {
        SPDLOG_WARN(
            "event=notification_skipped source=application reason="
            "not_an_object");
        continue;
      }
      Json j = raw;
      j["type"] = key;  // the set is keyed by type
      std::vector<std::string> when = WhenValues(j);
      if (std::none_of(when.begin(), when.end(), [](const std::string& w) {
            return absl::StartsWith(w, "pipeline");
          })) {
        continue;  // not a pipeline notification
      }
      Entry e;
      if (!ParseEntry(j, "application", &e)) continue;
      const std::string publisher = String(j, "publisherName");
      const std::string address = String(j, "address");
      const Entry* match = nullptr;
      for (size_t i = 0; i < own; ++i) {
        const Entry& p = pipeline[i];
        const bool address_matches =
            !address.empty() && String(p.json, "address") == address;
        const bool publisher_matches =
            !publisher.empty() && String(p.json, "publisherName") == publisher;
        if ((address_matches || publisher_matches) && p.type == e.type) {
          match = &pipeline[i];
          break;
        }
      }
      if (match != nullptr) {
        // The pipeline's entry overrides the `when` values it has.
        std::vector<std::string> theirs = WhenValues(match->json);
        Json kept = Json::array();
        for (const std::string& w : when) {
          if (std::find(theirs.begin(), theirs.end(), w) == theirs.end()) {
            kept.push_back(w);
          }
        }
        if (kept.empty()) continue;
        e.json["when"] = std::move(kept);
      }
      pipeline.push_back(std::move(e));
    }
  }
  return pipeline;
}

// What the texts of an event need.
struct EventView {
  std::string config_type;  // pipeline, orchestration, stage, task
  std::string status;
  std::string application;
  std::string execution_id;
  std::string name;          // execution name (or description)
  std::string build_number;  // when the trigger has buildInfo.url
  std::string build_url;
  std::string stage_name;
  std::string stage_ref_id;
  std::string link;
  Json context = Json::object();
};

// Manual judgment texts' inputs (from an event or a direct notification).
struct JudgmentView {
  std::string state;  // manualJudgment, manualJudgmentContinue, ...Stop
  std::string application;
  std::string execution_id;
  std::string execution_name;
  std::string build_number;
  std::string stage_name;
  std::string instructions;
  std::string message;
  std::string judgment_input;
  std::string judged_by;
  std::string link;
};

bool IsJudgmentState(const std::string& s) {
  return s == kManualJudgment || s == kManualJudgmentContinue ||
         s == kManualJudgmentStop;
}

std::string JudgmentStatus(const std::string& state) {
  if (state == kManualJudgmentContinue) return "complete";
  if (state == kManualJudgmentStop) return "failed";
  return "starting";
}

std::string JudgmentLink(const std::string& base, const std::string& app,
                         const std::string& execution_id,
                         const std::string& ref_id, bool time_window) {
  std::string link = Link(base, app, "executions/details", execution_id);
  if (!link.empty() && !ref_id.empty()) {
    absl::StrAppend(&link, "?refId=", notify_internal::PercentEncode(ref_id),
                    time_window ? "&step=1" : "");
  }
  return link;
}

// "Stage <name> for <app>'s <pipeline> pipeline[ build N]" (echo's
// manualJudgment templates).
std::string JudgmentDescription(const JudgmentView& v) {
  std::string s = absl::StrCat("Stage ", v.stage_name, " for ", v.application);
  if (!v.execution_name.empty()) {
    absl::StrAppend(&s, "'s ", v.execution_name, " pipeline");
    if (!v.build_number.empty()) absl::StrAppend(&s, " build ", v.build_number);
  }
  return s;
}

void RenderJudgment(const JudgmentView& v, const std::string& type,
                    NotificationMessage* m) {
  const std::string desc = JudgmentDescription(v);
  const std::string by =
      v.judged_by.empty() ? "" : absl::StrCat(" by ", v.judged_by);
  std::string body;
  if (v.state == kManualJudgment) {
    m->subject = absl::StrCat(desc, " is awaiting manual judgment");
    body = absl::StrCat(desc, " is awaiting manual judgment.");
    if (!v.instructions.empty()) {
      absl::StrAppend(&body, "\n\n",
                      type == "slack" ? "*Instructions:*" : "Instructions:",
                      "\n", v.instructions);
    }
    if (!v.message.empty()) absl::StrAppend(&body, "\n\n", v.message);
  } else {
    const char* verb = v.state == kManualJudgmentContinue ? "continue" : "stop";
    m->subject = absl::StrCat(desc, " was judged to ", verb,
                              v.state == kManualJudgmentContinue ? by : "");
    body = absl::StrCat(desc, " was judged to ", verb, by, ".");
    if (!v.message.empty()) absl::StrAppend(&body, "\n\n", v.message);
    if (!v.judgment_input.empty()) {
      absl::StrAppend(&body, "\n\nJudgment '", v.judgment_input,
                      "' was selected.");
    }
  }
  if (!v.link.empty()) {
    absl::StrAppend(&body, "\n\nFor more details, please visit:\n", v.link);
  }
  m->body = notify_internal::TruncateUtf8(body, kMaxBodyBytes);
  m->link = v.link;
  m->status = JudgmentStatus(v.state);
  m->when = v.state;
  m->application = v.application;
  m->execution_id = v.execution_id;
}

// The email/webhook subject of an event (EmailNotificationAgent).
std::string EventSubject(const EventView& v) {
  std::string s;
  if (v.config_type == "stage" || v.config_type == "pipeline") {
    if (v.config_type == "stage") {
      absl::StrAppend(&s, "Stage ", v.stage_name, " for ");
    }
    absl::StrAppend(&s, v.application, "'s ", v.name, " pipeline ");
    if (!v.build_number.empty()) {
      absl::StrAppend(&s, "build #", v.build_number, " ");
    }
  } else {
    absl::StrAppend(&s, v.application, "'s ", v.execution_id, " task ");
  }
  absl::StrAppend(&s, Phrase(v.status));
  return s;
}

std::string StagePrefix(const EventView& v) {
  return v.config_type == "stage"
             ? absl::StrCat("Stage ", v.stage_name, " for ")
             : "";
}

std::string Noun(const EventView& v) {
  return v.config_type == "task" ? "task" : "pipeline";
}

void RenderEvent(const EventView& v, const Entry& e, const std::string& when,
                 NotificationMessage* m) {
  const Json& pref = e.json;
  const std::string extra = Text(Object(Object(pref, "message"), when), "text");
  std::string custom_message = Text(pref, "customMessage");
  if (custom_message.empty()) custom_message = Text(v.context, "customMessage");
  std::string body;
  if (e.type == "slack") {
    m->subject = absl::StrCat(Capitalize(v.config_type), " ", v.status, " for ",
                              absl::AsciiStrToUpper(v.application));
    const std::string name =
        v.link.empty() ? v.name : absl::StrCat("<", v.link, "|", v.name, ">");
    std::string build = " ";
    if (!v.build_number.empty()) {
      build = v.build_url.empty() ? absl::StrCat(" build ", v.build_number, " ")
                                  : absl::StrCat(" build <", v.build_url, "|",
                                                 v.build_number, "> ");
    }
    body = absl::StrCat(StagePrefix(v), Capitalize(v.application), "'s ", name,
                        build, Noun(v), " ", Phrase(v.status));
    if (!extra.empty()) absl::StrAppend(&body, "\n\n", extra);
    if (!custom_message.empty()) {
      body = Substitute(custom_message, v.execution_id, v.link);
    }
  } else if (e.type == "sms") {
    m->subject = EventSubject(v);
    body = absl::StrCat(
        StagePrefix(v), Capitalize(v.application), "'s ", v.name, " ",
        v.build_number.empty() ? ""
                               : absl::StrCat("build #", v.build_number, " "),
        Noun(v), " ", Phrase(v.status));
    if (!v.link.empty()) absl::StrAppend(&body, " ", v.link);
  } else {
    // email, webhook and any other channel: the email agent's texts.
    m->subject = EventSubject(v);
    body = absl::StrCat(m->subject, ".");
    if (!extra.empty()) absl::StrAppend(&body, "\n\n", extra);
    if (!v.link.empty()) {
      absl::StrAppend(&body, "\n\nTo see more details, please visit:\n",
                      v.link);
    }
    if (e.type == "email") {
      std::string custom_subject = Text(pref, "customSubject");
      if (custom_subject.empty()) {
        custom_subject = Text(v.context, "customSubject");
      }
      if (!custom_subject.empty()) m->subject = custom_subject;
      std::string custom_body = Text(pref, "customBody");
      if (custom_body.empty()) custom_body = Text(v.context, "customBody");
      if (!custom_body.empty()) {
        body = Substitute(custom_body, v.execution_id, v.link);
      }
    } else if (!custom_message.empty()) {
      body = Substitute(custom_message, v.execution_id, v.link);
    }
  }
  m->body = notify_internal::TruncateUtf8(body, kMaxBodyBytes);
  m->link = v.link;
  m->status = v.status;
  m->when = when;
  m->application = v.application;
  m->execution_id = v.execution_id;
}

std::vector<std::string> CcOf(const Json& entry) {
  std::vector<std::string> out;
  const Json* cc = spinnaker::internal::Member(entry, "cc");
  if (cc == nullptr) return out;
  auto add = [&out](const std::string& s) {
    for (std::string& a : notify_internal::SplitAddresses(s)) {
      out.push_back(std::move(a));
    }
  };
  if (cc->is_string()) {
    add(cc->get<std::string>());
  } else if (cc->is_array()) {
    for (const Json& c : *cc) {
      if (c.is_string()) add(c.get<std::string>());
    }
  }
  return out;
}

void FinishPayload(NotificationMessage* m) {
  m->payload = Json::object();
  m->payload["type"] = m->type;
  m->payload["when"] = m->when;
  m->payload["status"] = m->status;
  m->payload["application"] = m->application;
  m->payload["subject"] = m->subject;
  m->payload["body"] = m->body;
  m->payload["link"] = m->link;
  m->payload["executionId"] = m->execution_id;
}

NotificationMessage NewMessage(const Entry& e) {
  NotificationMessage m;
  m.type = e.type;
  m.address = notify_internal::TruncateUtf8(e.address, 2048);  // a URL at most
  if (e.type == "email") m.cc = CcOf(e.json);
  return m;
}

bool Enabled(const std::vector<std::string>& types, const std::string& type) {
  return std::find(types.begin(), types.end(), type) != types.end();
}

// The stage `content.stageId` names in execution.stages, or null.
const Json* FindStage(const Json& execution, const std::string& stage_id) {
  const Json* stages = spinnaker::internal::Member(execution, "stages");
  if (stage_id.empty() || stages == nullptr || !stages->is_array()) {
    return nullptr;
  }
  for (const Json& s : *stages) {
    if (String(s, "id") == stage_id) return &s;
  }
  return nullptr;
}

bool Truthy(const Json& j, std::string_view key) { return Bool(j, key, false); }

// The member `key` of `j`, or a null value (no copy).
const Json& MemberOrNull(const Json& j, std::string_view key) {
  static const Json* const kNull = new Json();
  const Json* m = spinnaker::internal::Member(j, key);
  return m != nullptr ? *m : *kNull;
}

}  // namespace

std::vector<NotificationMessage> NotificationsForEvent(
    const Json& event, const Json& app_notifications,
    const std::vector<std::string>& enabled_types,
    const std::string& spinnaker_base_url) {
  std::vector<NotificationMessage> out;
  const Json details = Object(event, "details");
  const std::string type = String(details, "type");
  if (!absl::StartsWith(type, "orca:")) return out;
  std::vector<std::string> parts = absl::StrSplit(type, ':');
  if (parts.size() != 3 || parts[2].empty()) return out;
  const std::string& config_type = parts[1];
  if (config_type != "pipeline" && config_type != "orchestration" &&
      config_type != "stage" && config_type != "task") {
    return out;
  }
  const Json& content_ref = MemberOrNull(event, "content");
  const Json execution = Object(content_ref, "execution");
  const bool is_execution =
      config_type == "pipeline" || config_type == "orchestration";

  if (config_type == "task" && !Truthy(content_ref, "standalone")) return out;
  if ((config_type == "task" || config_type == "stage") &&
      Truthy(content_ref, "canceled")) {
    return out;
  }
  if (is_execution && (String(execution, "status") == "CANCELED" ||
                       Truthy(execution, "canceled"))) {
    return out;
  }

  EventView v;
  v.config_type = config_type;
  v.status = parts[2];
  v.application = String(details, "application");
  if (v.application.empty()) v.application = String(execution, "application");
  v.execution_id = String(execution, "id");
  if (v.execution_id.empty())
    v.execution_id = String(content_ref, "executionId");
  v.name = String(execution, "name");
  if (v.name.empty()) v.name = String(execution, "description");
  v.context = Object(content_ref, "context");
  if (config_type == "pipeline" || config_type == "stage") {
    const Json build_info = Object(Object(execution, "trigger"), "buildInfo");
    v.build_url = String(build_info, "url");
    if (!v.build_url.empty()) {
      v.build_number = std::to_string(Int(build_info, "number"));
    }
  }
  v.link = Link(spinnaker_base_url, v.application,
                config_type == "pipeline" || config_type == "stage"
                    ? "executions/details"
                    : "tasks",
                v.execution_id);

  auto emit = [&](const Entry& e, const std::string& when) {
    NotificationMessage m = NewMessage(e);
    RenderEvent(v, e, when, &m);
    FinishPayload(&m);
    m.payload["event"] = {{"details", details}, {"content", content_ref}};
    out.push_back(std::move(m));
  };

  if (is_execution) {
    const std::string when = absl::StrCat(config_type, ".", v.status);
    std::vector<Entry> entries =
        ParseEntries(MemberOrNull(execution, "notifications"), "pipeline");
    if (config_type == "pipeline") {
      entries =
          MergeApplicationNotifications(std::move(entries), app_notifications);
    }
    for (const Entry& e : entries) {
      if (!Enabled(enabled_types, e.type)) continue;
      if (WhenHas(e.json, when, false)) emit(e, when);
    }
    return out;
  }

  if (config_type != "stage") return out;  // standalone tasks: no entries

  const std::string stage_id = String(content_ref, "stageId");
  const Json* stage = FindStage(execution, stage_id);
  const Json stage_details = Object(v.context, "stageDetails");
  v.stage_name = String(content_ref, "name");
  if (v.stage_name.empty()) v.stage_name = String(stage_details, "name");
  if (v.stage_name.empty() && stage != nullptr) {
    v.stage_name = String(*stage, "name");
  }
  if (stage != nullptr) v.stage_ref_id = String(*stage, "refId");
  if (v.stage_ref_id.empty()) v.stage_ref_id = String(v.context, "refId");
  const bool synthetic =
      Truthy(content_ref, "isSynthetic") ||
      Truthy(stage_details, "isSynthetic") ||
      (stage != nullptr && !String(*stage, "syntheticStageOwner").empty());
  if (synthetic) return out;
  std::string stage_type = String(content_ref, "stageType");
  if (stage_type.empty()) stage_type = String(stage_details, "type");
  if (stage_type.empty() && stage != nullptr) {
    stage_type = String(*stage, "type");
  }

  const bool send = Truthy(v.context, "sendNotifications");
  std::vector<Entry> entries =
      ParseEntries(MemberOrNull(v.context, "notifications"), "stage");
  if (send) {
    const std::string when = absl::StrCat("stage.", v.status);
    for (const Entry& e : entries) {
      if (!Enabled(enabled_types, e.type)) continue;
      if (WhenHas(e.json, when, false)) emit(e, when);
    }
  }

  if (stage_type != kManualJudgment) return out;
  std::string state;
  const std::string judgment =
      absl::AsciiStrToLower(String(v.context, "judgmentStatus"));
  if (v.status == "starting") {
    state = kManualJudgment;
  } else if (v.status == "complete" || v.status == "failed") {
    if (judgment == "continue") state = kManualJudgmentContinue;
    if (judgment == "stop") state = kManualJudgmentStop;
  }
  if (state.empty()) return out;
  // Continue/stop only with sendNotifications (WaitForManualJudgmentTask).
  if (state != kManualJudgment && !send) return out;
  JudgmentView j;
  j.state = state;
  j.application = v.application;
  j.execution_id = v.execution_id;
  j.execution_name = String(execution, "name");
  j.build_number = v.build_number;
  j.stage_name = v.stage_name;
  j.instructions = Text(v.context, "instructions");
  j.judgment_input = Text(v.context, "judgmentInput");
  j.judged_by = Text(v.context, "lastModifiedBy");
  if (j.judged_by.empty()) {
    j.judged_by = Text(Object(v.context, "lastModified"), "user");
  }
  j.link = JudgmentLink(
      spinnaker_base_url, v.application, v.execution_id, v.stage_ref_id,
      !String(v.context, "restrictExecutionDuringTimeWindow").empty() ||
          Truthy(v.context, "restrictExecutionDuringTimeWindow"));
  for (const Entry& e : entries) {
    if (!Enabled(enabled_types, e.type)) continue;
    if (!WhenHas(e.json, state, true)) continue;
    NotificationMessage m = NewMessage(e);
    JudgmentView jv = j;
    jv.message = Text(Object(Object(e.json, "message"), state), "text");
    RenderJudgment(jv, e.type, &m);
    FinishPayload(&m);
    m.payload["event"] = {{"details", details}, {"content", content_ref}};
    out.push_back(std::move(m));
  }
  return out;
}

absl::StatusOr<std::vector<NotificationMessage>> DirectNotification(
    const v1::Notification& notification,
    const std::string& spinnaker_base_url) {
  std::string type;
  switch (notification.type()) {
    case v1::NOTIFICATION_TYPE_SLACK:
      type = "slack";
      break;
    case v1::NOTIFICATION_TYPE_EMAIL:
      type = "email";
      break;
    case v1::NOTIFICATION_TYPE_SMS:
      type = "sms";
      break;
    case v1::NOTIFICATION_TYPE_WEBHOOK:
      type = "webhook";
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "notification type ", v1::NotificationType_Name(notification.type()),
          " is not supported: use slack, email, sms or webhook"));
  }
  std::vector<std::string> to;
  for (const std::string& raw : notification.to()) {
    std::string t(absl::StripAsciiWhitespace(raw));
    if (!t.empty()) to.push_back(std::move(t));
  }
  if (to.empty()) {
    return absl::InvalidArgumentError(
        "notification has no recipient: 'to' is empty");
  }
  if (to.size() > kMaxEntries) {
    return absl::InvalidArgumentError(absl::StrCat(
        "notification has more than ", kMaxEntries, " recipients"));
  }
  Json context = Json::object();
  if (!notification.additional_context().json().empty()) {
    absl::StatusOr<Json> parsed = spinnaker::ParseJsonObject(
        notification.additional_context().json(), "additionalContext");
    if (!parsed.ok()) return parsed.status();
    context = *std::move(parsed);
  }
  const v1::NotificationSource& source = notification.source();
  const std::string& group = notification.template_group();

  NotificationMessage base;
  base.type = type;
  base.application = source.application();
  base.execution_id = source.execution_id();
  if (IsJudgmentState(group)) {
    JudgmentView j;
    j.state = group;
    j.application = source.application();
    j.execution_id = source.execution_id();
    const Json execution = Object(context, "execution");
    j.execution_name = String(execution, "name");
    const Json build_info = Object(Object(execution, "trigger"), "buildInfo");
    if (spinnaker::internal::Member(build_info, "number") != nullptr) {
      j.build_number = std::to_string(Int(build_info, "number"));
    }
    j.stage_name = Text(context, "stageName");
    j.instructions = Text(context, "instructions");
    j.message = Text(context, "message");
    j.judgment_input = Text(context, "judgmentInput");
    j.judged_by = Text(context, "judgedBy");
    const Json* window = spinnaker::internal::Member(
        context, "restrictExecutionDuringTimeWindow");
    j.link = JudgmentLink(spinnaker_base_url, j.application, j.execution_id,
                          Text(context, "stageId"),
                          window != nullptr && !window->is_null() &&
                              !(window->is_boolean() && !window->get<bool>()));
    RenderJudgment(j, type, &base);
  } else {
    base.subject = Text(context, "subject");
    base.body =
        notify_internal::TruncateUtf8(String(context, "body"), kMaxBodyBytes);
    if (base.body.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(group.empty() ? std::string("no templateGroup")
                                     : absl::StrCat("templateGroup '", group,
                                                    "' is not one echo knows"),
                       " and additionalContext has no body"));
    }
    if (base.subject.empty() && type == "email") {
      base.subject = "Spinnaker notification";
    }
    base.when = group;
    if (!source.execution_id().empty()) {
      base.link = Link(
          spinnaker_base_url, source.application(),
          source.execution_type() == common::v1::ExecutionType::ORCHESTRATION
              ? "tasks"
              : "executions/details",
          source.execution_id());
    }
  }
  FinishPayload(&base);
  Json source_json = {
      {"executionType",
       source.execution_type() == common::v1::ExecutionType::ORCHESTRATION
           ? "orchestration"
           : (source.execution_type() == common::v1::ExecutionType::PIPELINE
                  ? "pipeline"
                  : "")},
      {"executionId", source.execution_id()},
      {"application", source.application()},
      {"user", source.user()}};
  base.payload["notification"] = {
      {"templateGroup", group},
      {"severity", notification.severity() == v1::NOTIFICATION_SEVERITY_HIGH
                       ? "HIGH"
                       : "NORMAL"},
      {"source", std::move(source_json)},
      {"additionalContext", context}};

  std::vector<NotificationMessage> out;
  if (type == "email") {
    NotificationMessage m = base;
    m.address = absl::StrJoin(to, ", ");
    for (const std::string& c : notification.cc()) {
      for (std::string& a : notify_internal::SplitAddresses(c)) {
        m.cc.push_back(std::move(a));
      }
    }
    out.push_back(std::move(m));
    return out;
  }
  for (const std::string& t : to) {
    NotificationMessage m = base;
    m.address = t;
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace gennaker::echo
