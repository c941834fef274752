// The `webhook` stage: a real HTTP call, optionally followed by polling a
// status URL. Every call carries an idempotency header that is the same on
// each delivery of that call, so a redelivery after a crash is visible to,
// and de-duplicable by, the receiver.
#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/http/outbound.h"
#include "common/spinnaker/json.h"
#include "services/orca/stages/builtin_stages.h"

namespace gennaker::orca {

namespace {

std::set<int> Codes(const Json& ctx, const char* key, std::set<int> fallback) {
  if (!ctx.contains(key) || ctx[key].is_null()) return fallback;
  std::set<int> out;
  const Json& v = ctx[key];
  if (v.is_array()) {
    for (const Json& x : v) {
      if (x.is_number_integer()) out.insert(x.get<int>());
    }
  } else if (v.is_string()) {
    for (absl::string_view p : absl::StrSplit(v.get<std::string>(), ',')) {
      int code = 0;
      if (absl::SimpleAtoi(absl::StripAsciiWhitespace(p), &code)) {
        out.insert(code);
      }
    }
  }
  return out;
}

std::set<std::string> Statuses(const Json& ctx, const char* key) {
  std::set<std::string> out;
  std::string v = String(ctx, key);
  for (absl::string_view p : absl::StrSplit(v, ',', absl::SkipEmpty())) {
    out.insert(absl::AsciiStrToUpper(absl::StripAsciiWhitespace(p)));
  }
  return out;
}

// The answer as JSON when it is JSON within the nesting limit (what is done
// with it later recurses), else as text.
Json ParseBody(const std::string& body) {
  absl::StatusOr<Json> j = spinnaker::ParseJson(body, "the webhook's answer");
  if (!j.ok()) return body;
  return *std::move(j);
}

// The call under the outbound policy; refusals are final (retrying a refused
// URL cannot succeed), so they come back as PERMISSION_DENIED for the caller
// to fail the stage.
absl::StatusOr<http::ClientResponse> Call(const StageDeps& deps,
                                          http::ClientRequest req) {
  if (deps.outbound == nullptr) {
    return absl::PermissionDeniedError(
        "webhook calls are not configured in this orca");
  }
  return deps.outbound->Fetch(std::move(req));
}

void AddHeaders(const Json& ctx, http::ClientRequest* req) {
  if (!ctx.contains("customHeaders") || !ctx["customHeaders"].is_object()) {
    return;
  }
  for (auto it = ctx["customHeaders"].begin(); it != ctx["customHeaders"].end();
       ++it) {
    std::string value;
    if (it->is_string()) {
      value = it->get<std::string>();
    } else if (it->is_array()) {
      for (const Json& x : *it) {
        if (!value.empty()) value += ", ";
        value += x.is_string() ? x.get<std::string>() : Dump(x);
      }
    } else {
      value = it->dump();
    }
    req->headers.push_back({it.key(), value});
  }
}

// Retry bookkeeping shared by both tasks: RUNNING with exponential backoff
// until the attempts run out.
TaskResult RetryOrFail(Json webhook, int max_attempts, const std::string& why) {
  int attempts = static_cast<int>(Int(webhook, "attempts")) + 1;
  webhook["attempts"] = attempts;
  webhook["error"] = why;
  if (attempts >= max_attempts) {
    TaskResult t = TaskResult::Terminal(
        absl::StrCat("webhook failed after ", attempts, " attempts: ", why));
    t.context["webhook"] = webhook;
    return t;
  }
  TaskResult r = TaskResult::Running(
      std::min<int64_t>(30000, 500LL << std::min(attempts, 6)));
  r.context["webhook"] = webhook;
  return r;
}

class WebhookStage : public StageDefinition {
 public:
  std::vector<std::string> Tasks(const Json& stage) const override {
    const Json& ctx = stage["context"];
    if (Bool(ctx, "monitorOnly")) return {"monitorWebhook"};
    if (Bool(ctx, "waitForCompletion"))
      return {"createWebhook", "monitorWebhook"};
    return {"createWebhook"};
  }
  void PrepareRestart(Json& stage) const override {
    stage["context"].erase("webhook");
  }
};

class CreateWebhookTask : public Task {
 public:
  explicit CreateWebhookTask(StageDeps deps) : deps_(std::move(deps)) {}
  bool CommitsAfterRun() const override { return true; }
  absl::StatusOr<TaskResult> Execute(const TaskInput& in) override {
    const Json& ctx = in.context;
    std::string url = String(ctx, "url");
    if (url.empty())
      return TaskResult::Terminal("the webhook stage needs a url");
    http::ClientRequest req;
    req.url = url;
    req.method = absl::AsciiStrToUpper(String(ctx, "method"));
    if (req.method.empty()) req.method = "POST";
    if (ctx.contains("payload") && !ctx["payload"].is_null() &&
        req.method != "GET") {
      req.body = ctx["payload"].is_string() ? ctx["payload"].get<std::string>()
                                            : Dump(ctx["payload"]);
      req.headers.push_back({"Content-Type", "application/json"});
    }
    AddHeaders(ctx, &req);
    // Stable across redeliveries; a restarted stage makes a new call.
    std::string key = absl::StrCat(String(in.execution, "id"), ":",
                                   String(in.stage, "id"), ":", in.task_id);
    if (int64_t restarts = StageRestarts(in.execution, String(in.stage, "id"));
        restarts > 0) {
      absl::StrAppend(&key, ":", restarts);
    }
    req.headers.push_back({deps_.idempotency_header, key});
    req.timeout_ms = static_cast<int>(std::clamp<int64_t>(
        Int(ctx, "webhookTimeoutMs", deps_.max_call_ms), 1, deps_.max_call_ms));
    Json webhook = spinnaker::Object(ctx, "webhook");
    absl::StatusOr<http::ClientResponse> resp = Call(deps_, req);
    if (absl::IsPermissionDenied(resp.status())) {
      TaskResult t = TaskResult::Terminal(std::string(resp.status().message()));
      t.context["webhook"] = webhook;
      return t;
    }
    if (!resp.ok()) {
      return RetryOrFail(webhook, deps_.webhook_max_attempts,
                         std::string(resp.status().message()));
    }
    int code = resp->status;
    webhook["statusCodeValue"] = code;
    webhook["statusCode"] = std::to_string(code);
    webhook["body"] = ParseBody(resp->body);
    webhook.erase("error");
    if (Codes(ctx, "failFastStatusCodes", {504}).count(code)) {
      TaskResult t = TaskResult::Terminal(
          absl::StrCat("webhook answered ", code, " (a fail-fast status)"));
      t.context["webhook"] = webhook;
      return t;
    }
    if (code >= 500 || Codes(ctx, "retryStatusCodes", {429}).count(code)) {
      return RetryOrFail(webhook, deps_.webhook_max_attempts,
                         absl::StrCat("status ", code));
    }
    if (code >= 400) {
      TaskResult t = TaskResult::Terminal(absl::StrCat(
          "webhook answered ", code, ": ", resp->body.substr(0, 500)));
      t.context["webhook"] = webhook;
      return t;
    }
    std::string resolution = String(ctx, "statusUrlResolution");
    std::string endpoint = url;
    if (resolution == "locationHeader") {
      auto it = resp->headers.find("location");
      if (it != resp->headers.end()) endpoint = it->second;
    } else if (resolution == "webhookResponse") {
      Json v = JsonPathGet(webhook["body"], String(ctx, "statusUrlJsonPath"));
      if (v.is_string()) endpoint = v.get<std::string>();
    }
    webhook["statusEndpoint"] = endpoint;
    TaskResult r;
    r.context["webhook"] = webhook;
    return r;
  }

 private:
  StageDeps deps_;
};

class MonitorWebhookTask : public Task {
 public:
  explicit MonitorWebhookTask(StageDeps deps) : deps_(std::move(deps)) {}
  bool CommitsAfterRun() const override { return true; }
  absl::StatusOr<TaskResult> Execute(const TaskInput& in) override {
    const Json& ctx = in.context;
    Json webhook = spinnaker::Object(ctx, "webhook");
    std::string path = String(ctx, "statusJsonPath");
    if (path.empty()) return TaskResult();
    std::string endpoint = String(webhook, "statusEndpoint");
    if (endpoint.empty()) endpoint = String(ctx, "statusEndpoint");
    if (endpoint.empty()) endpoint = String(ctx, "url");
    http::ClientRequest req;
    req.url = endpoint;
    req.timeout_ms = deps_.max_call_ms;
    AddHeaders(ctx, &req);
    absl::StatusOr<http::ClientResponse> resp = Call(deps_, req);
    if (absl::IsPermissionDenied(resp.status())) {
      TaskResult t = TaskResult::Terminal(std::string(resp.status().message()));
      t.context["webhook"] = webhook;
      return t;
    }
    Json monitor =
        webhook.contains("monitor") ? webhook["monitor"] : Json::object();
    if (!resp.ok() || resp->status >= 500) {
      std::string why = resp.ok() ? absl::StrCat("status ", resp->status)
                                  : std::string(resp.status().message());
      return RetryOrFail(webhook, deps_.webhook_max_attempts, why);
    }
    monitor["statusCodeValue"] = resp->status;
    monitor["body"] = ParseBody(resp->body);
    webhook["monitor"] = monitor;
    if (resp->status >= 400) {
      TaskResult t = TaskResult::Terminal(
          absl::StrCat("status endpoint answered ", resp->status));
      t.context["webhook"] = webhook;
      return t;
    }
    Json st = JsonPathGet(monitor["body"], path);
    std::string progress_path = String(ctx, "progressJsonPath");
    if (!progress_path.empty()) {
      Json p = JsonPathGet(monitor["body"], progress_path);
      if (!p.is_null()) webhook["monitor"]["progressMessage"] = p;
    }
    TaskResult r;
    if (st.is_null()) {
      r = TaskResult::Terminal(
          absl::StrCat("no status at '", path, "' in the status response"));
    } else if (st.is_number()) {
      // Clamped: a huge or negative number from the answer must not
      // overflow the conversion.
      int pct = static_cast<int>(std::clamp(st.get<double>(), -1.0, 100.0));
      webhook["monitor"]["percentComplete"] = pct;
      r = pct >= 100 ? TaskResult() : TaskResult::Running();
    } else {
      std::string s = absl::AsciiStrToUpper(
          st.is_string() ? st.get<std::string>() : Dump(st));
      if (Statuses(ctx, "successStatuses").count(s)) {
        r = TaskResult();
      } else if (Statuses(ctx, "canceledStatuses").count(s)) {
        r.status = status::kCanceled;
      } else if (Statuses(ctx, "terminalStatuses").count(s)) {
        r = TaskResult::Terminal(absl::StrCat("webhook status ", s));
      } else {
        r = TaskResult::Running();
      }
    }
    r.context["webhook"] = webhook;
    return r;
  }
  int64_t TimeoutMs(const Json& stage) const override {
    int64_t t = Int(stage.contains("context") ? stage["context"] : Json(),
                    "stageTimeoutMs");
    return t > 0 ? t : 3600 * 1000;
  }

 private:
  StageDeps deps_;
};

}  // namespace

void RegisterWebhookStage(Registry* r, const StageDeps& deps) {
  r->AddStage("webhook", std::make_shared<WebhookStage>());
  r->AddTask("createWebhook", std::make_shared<CreateWebhookTask>(deps));
  r->AddTask("monitorWebhook", std::make_shared<MonitorWebhookTask>(deps));
}

}  // namespace gennaker::orca
