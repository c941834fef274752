#include "services/orca/stages/kayenta_stage.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/spinnaker/time.h"
#include "common/status/status_macros.h"
#include "services/orca/kayenta_client.h"
#include "services/orca/stages/cloud_submit.h"

namespace gennaker::orca {

namespace {

using spinnaker::FormatIsoInstant;
using spinnaker::ParseIsoDurationMs;
using spinnaker::ParseIsoInstant;

constexpr int64_t kMinuteMs = 60 * 1000;
constexpr int64_t kHourMs = 60 * kMinuteMs;
// Bounds on what users give, so that no sum or product of them (and of an
// instant of years 0001..9999) overflows: a year of lifetime, ten million
// minutes (about 19 years) for the other minute fields.
constexpr int64_t kMaxLifetimeMin = 365 * 24 * 60;
constexpr int64_t kMaxLifetimeHours = kMaxLifetimeMin / 60;
constexpr int64_t kMaxMinutes = 10'000'000;
// Below this many control samples a metric makes the score less reliable.
constexpr int64_t kMinSamples = 50;
constexpr char kFewSamplesWarning[] =
    "One of the metrics returned fewer than 50 data points, which can reduce "
    "confidence in the final canary score.";

absl::Status Invalid(std::string message) {
  return absl::InvalidArgumentError(std::move(message));
}

TaskResult NoKayenta() {
  return TaskResult::Terminal(
      "kayenta is not configured: set services.kayenta.address in orca's "
      "config to run kayentaCanary stages");
}

// UNAVAILABLE / DEADLINE_EXCEEDED: retried (the task's timeout ends it);
// anything else fails the task.
TaskResult FromError(const absl::Status& s, const std::string& what) {
  if (absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s)) {
    return TaskResult::Running(2000);
  }
  return TaskResult::Terminal(absl::StrCat(what, ": ", s.message()));
}

// A number as Kotlin prints a Double ("95.0", "72.35").
std::string JavaDouble(double d) {
  if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 1e15) {
    return absl::StrCat(static_cast<int64_t>(d), ".0");
  }
  return absl::StrCat(d);
}

// A threshold the user set: a finite number, or a string holding one;
// absent, null and "" take the default. Anything else (text, NaN, "NaN",
// infinities) is refused: a NaN threshold would make every comparison false.
absl::StatusOr<double> Threshold(const Json& thresholds, const char* key,
                                 double fallback) {
  auto it = thresholds.find(key);
  if (it == thresholds.end() || it->is_null() ||
      (it->is_string() && it->get_ref<const std::string&>().empty())) {
    return fallback;
  }
  double d = 0;
  bool parsed = false;
  if (it->is_number()) {
    d = it->get<double>();
    parsed = true;
  } else if (it->is_string()) {
    // SimpleAtod also reads "nan" and "inf": the finiteness check refuses
    // them.
    parsed = absl::SimpleAtod(it->get_ref<const std::string&>(), &d);
  }
  if (!parsed || !std::isfinite(d)) {
    return Invalid(absl::StrCat("canaryConfig.scoreThresholds.", key,
                                " must be a finite number, not ", Dump(*it)));
  }
  return d;
}

// The thresholds under `holder`'s "scoreThresholds", Spinnaker's defaults
// applied to each one that is unset. Used by every task that judges a score,
// so all of them judge alike.
absl::StatusOr<CanaryThresholds> ParseThresholds(const Json& holder) {
  const Json given = spinnaker::Object(holder, "scoreThresholds");
  CanaryThresholds t;
  GENNAKER_ASSIGN_OR_RETURN(t.pass, Threshold(given, "pass", t.pass));
  GENNAKER_ASSIGN_OR_RETURN(t.marginal,
                            Threshold(given, "marginal", t.marginal));
  return t;
}

// The canaryConfig fields that do not depend on the time of planning.
struct ParsedConfig {
  std::optional<int64_t> start_ms;
  std::optional<int64_t> end_ms;
  int64_t lifetime_min = 0;  // without an end time
  int64_t warmup_min = 0;
  int64_t interval_min = 0;  // 0: the whole lifetime
  int64_t lookback_min = 0;
  int64_t baseline_offset_min = 0;
  int64_t step_s = 60;
  CanaryThresholds thresholds;
};

// A whole number from 0 to `max` under `key`; absent, null and "" are 0.
// Fractions, text and numbers out of range are refused (never truncated or
// wrapped).
absl::StatusOr<int64_t> WholeNumber(const Json& cfg, const char* key,
                                    int64_t max, const char* unit) {
  auto it = cfg.find(key);
  if (it == cfg.end() || it->is_null() ||
      (it->is_string() && it->get_ref<const std::string&>().empty())) {
    return 0;
  }
  int64_t n = -1;
  if (it->is_number_unsigned()) {
    const uint64_t u = it->get<uint64_t>();
    if (u <= static_cast<uint64_t>(max)) n = static_cast<int64_t>(u);
  } else if (it->is_number_integer()) {
    n = it->get<int64_t>();
  } else if (it->is_number_float()) {
    const double d = it->get<double>();
    if (d >= 0 && d <= static_cast<double>(max) && d == std::trunc(d)) {
      n = static_cast<int64_t>(d);
    }
  } else if (it->is_string()) {
    if (!absl::SimpleAtoi(it->get_ref<const std::string&>(), &n)) n = -1;
  }
  if (n < 0 || n > max) {
    return Invalid(absl::StrCat("canaryConfig.", key,
                                " must be a whole number ", "of ", unit,
                                " from 0 to ", max, ", not ", Dump(*it)));
  }
  return n;
}

absl::StatusOr<ParsedConfig> ParseConfig(const Json& cfg) {
  if (!cfg.is_object()) {
    return Invalid("The kayentaCanary stage needs a canaryConfig object");
  }
  if (String(cfg, "canaryConfigId").empty()) {
    return Invalid(String(cfg, "canaryConfigName").empty()
                       ? "canaryConfig.canaryConfigId is required"
                       : "canaryConfig.canaryConfigId is required (resolving a "
                         "canaryConfigName is not supported)");
  }
  const Json scopes = spinnaker::Array(cfg, "scopes");
  if (scopes.empty()) {
    return Invalid(
        "Canary stage configuration must include at least one scope");
  }
  for (const Json& s : scopes) {
    if (!s.is_object())
      return Invalid("canaryConfig.scopes holds a non-object");
  }
  ParsedConfig p;
  const Json& first = scopes[0];
  for (const char* key : {"startTimeIso", "endTimeIso"}) {
    const std::string text = String(first, key);
    if (text.empty()) continue;
    absl::StatusOr<int64_t> ms = ParseIsoInstant(text);
    if (!ms.ok()) {
      return Invalid(absl::StrCat("canaryConfig.scopes[0].", key, ": ",
                                  ms.status().message()));
    }
    (std::string(key) == "startTimeIso" ? p.start_ms : p.end_ms) = *ms;
  }
  if (p.start_ms && p.end_ms && *p.end_ms <= *p.start_ms) {
    return Invalid(
        "canaryConfig.scopes[0].endTimeIso must be after its "
        "startTimeIso");
  }
  if (!p.end_ms) {
    const std::string duration = String(cfg, "lifetimeDuration");
    if (!duration.empty()) {
      absl::StatusOr<int64_t> ms = ParseIsoDurationMs(duration);
      if (!ms.ok()) {
        return Invalid(absl::StrCat("canaryConfig.lifetimeDuration: ",
                                    ms.status().message()));
      }
      if (*ms > kMaxLifetimeMin * kMinuteMs) {
        return Invalid(absl::StrCat("canaryConfig.lifetimeDuration: '",
                                    duration,
                                    "' is longer than the one year a canary "
                                    "may last"));
      }
      p.lifetime_min = *ms / kMinuteMs;
    } else {
      GENNAKER_ASSIGN_OR_RETURN(
          int64_t hours,
          WholeNumber(cfg, "lifetimeHours", kMaxLifetimeHours, "hours"));
      if (hours == 0) {
        return Invalid(
            "Canary stage configuration must include either `endTime` or "
            "`lifetimeDuration`.");
      }
      p.lifetime_min = hours * 60;
    }
    if (p.lifetime_min <= 0) {
      return Invalid("The canary lifetime must be at least one minute");
    }
  }
  GENNAKER_ASSIGN_OR_RETURN(
      p.warmup_min,
      WholeNumber(cfg, "beginCanaryAnalysisAfterMins", kMaxMinutes, "minutes"));
  GENNAKER_ASSIGN_OR_RETURN(
      p.interval_min,
      WholeNumber(cfg, "canaryAnalysisIntervalMins", kMaxMinutes, "minutes"));
  GENNAKER_ASSIGN_OR_RETURN(
      p.lookback_min, WholeNumber(cfg, "lookbackMins", kMaxMinutes, "minutes"));
  GENNAKER_ASSIGN_OR_RETURN(
      p.baseline_offset_min,
      WholeNumber(cfg, "baselineAnalysisOffsetInMins", kMaxMinutes, "minutes"));
  p.step_s = Int(first, "step", 60);
  if (p.step_s <= 0) return Invalid("canaryConfig.scopes[0].step must be > 0");
  GENNAKER_ASSIGN_OR_RETURN(p.thresholds, ParseThresholds(cfg));
  return p;
}

// A runCanary stage's context, with the fields Spinnaker keeps there.
Json RunContext(const Json& cfg, const CanaryPlan& plan, const CanaryWindow& w,
                const Json& interval_ctx) {
  Json ctx = Json::object();
  for (const char* key : {"metricsAccountName", "configurationAccountName",
                          "storageAccountName"}) {
    if (!String(cfg, key).empty()) ctx[key] = String(cfg, key);
  }
  ctx["canaryConfigId"] = String(cfg, "canaryConfigId");
  Json scopes = Json::object();
  for (const Json& s : spinnaker::Array(cfg, "scopes")) {
    std::string name = String(s, "scopeName");
    if (name.empty()) name = "default";
    const Json params = spinnaker::Object(s, "extendedScopeParams");
    auto side = [&](const char* scope, const char* location, int64_t start,
                    int64_t end) {
      return Json{{"scope", String(s, scope)},
                  {"location", String(s, location)},
                  {"start", FormatIsoInstant(start)},
                  {"end", FormatIsoInstant(end)},
                  {"step", plan.step_s},
                  {"extendedScopeParams", params}};
    };
    scopes[name] = {
        {"controlScope", side("controlScope", "controlLocation",
                              w.control_start_ms, w.control_end_ms)},
        {"experimentScope", side("experimentScope", "experimentLocation",
                                 w.experiment_start_ms, w.experiment_end_ms)}};
  }
  ctx["scopes"] = std::move(scopes);
  ctx["scoreThresholds"] = {{"pass", plan.thresholds.pass},
                            {"marginal", plan.thresholds.marginal}};
  ctx["siteLocal"] = spinnaker::Object(cfg, "siteLocal");
  if (auto it = interval_ctx.find("continuePipeline");
      it != interval_ctx.end()) {
    ctx["continuePipeline"] = *it;
  }
  return ctx;
}

// --- Stages ---------------------------------------------------------------

class KayentaCanaryStage : public StageDefinition {
 public:
  explicit KayentaCanaryStage(Kayenta* kayenta) : kayenta_(kayenta) {}
  std::vector<std::string> Tasks(const Json&) const override {
    return {"aggregateCanaryResults"};
  }
  std::vector<SyntheticStage> BeforeStages(const Json& stage) const override {
    const Json ctx = spinnaker::Object(stage, "context");
    const Json cfg = spinnaker::Object(ctx, "canaryConfig");
    // Nothing to run: the aggregate task fails saying why.
    if (kayenta_ == nullptr || !ParseConfig(cfg).ok()) return {};
    Json c = {{"canaryConfig", cfg}};
    if (auto it = ctx.find("continuePipeline"); it != ctx.end()) {
      c["continuePipeline"] = *it;
    }
    return {{"runCanaryIntervals", "Run Canary Intervals", std::move(c)}};
  }

 private:
  Kayenta* kayenta_;
};

class RunCanaryIntervalsStage : public StageDefinition {
 public:
  std::vector<std::string> Tasks(const Json&) const override {
    return {"planCanaryIntervals"};
  }
  // Planned once the task has fixed the time of planning.
  std::vector<SyntheticStage> AfterStages(const Json& stage) const override {
    const Json ctx = spinnaker::Object(stage, "context");
    if (!ctx.contains("plannedAtMs")) return {};
    const Json cfg = spinnaker::Object(ctx, "canaryConfig");
    absl::StatusOr<CanaryPlan> plan =
        PlanCanaryIntervals(cfg, Int(ctx, "plannedAtMs"));
    if (!plan.ok()) return {};
    std::vector<SyntheticStage> out;
    if (plan->warmup_wait_s > 0) {
      out.push_back(
          {"wait", "Warmup Wait", {{"waitTime", plan->warmup_wait_s}}});
    }
    for (size_t i = 0; i < plan->runs.size(); ++i) {
      const std::string n = std::to_string(i + 1);
      if (plan->interval_wait_s > 0) {
        out.push_back({"wait",
                       absl::StrCat("Interval Wait #", n),
                       {{"waitTime", plan->interval_wait_s}}});
      }
      out.push_back({"runCanary", absl::StrCat("Run Canary #", n),
                     RunContext(cfg, *plan, plan->runs[i], ctx)});
    }
    return out;
  }
};

bool RunIsOver(const Json& ctx) {
  const std::string s = String(ctx, "canaryPipelineStatus");
  return s == status::kSucceeded || s == status::kTerminal ||
         s == status::kCanceled;
}

class RunCanaryStage : public SimpleStage {
 public:
  explicit RunCanaryStage(Kayenta* kayenta)
      : SimpleStage({"runCanary", "monitorCanary"}), kayenta_(kayenta) {}
  // The kayenta run in flight is canceled with the stage. Best effort: a
  // failure is logged, the run then ends on its own.
  void Cancel(const Json& execution, const Json& stage,
              SideEffects*) const override {
    const Json ctx = spinnaker::Object(stage, "context");
    const std::string id = String(ctx, "canaryPipelineExecutionId");
    if (kayenta_ == nullptr || id.empty() || RunIsOver(ctx)) return;
    absl::StatusOr<bool> r = kayenta_->CancelCanary(id);
    if (r.ok()) {
      SPDLOG_INFO("event=canary_cancel execution={} canary={} canceled={}",
                  String(execution, "id"), id, *r);
    } else {
      SPDLOG_WARN("event=canary_cancel_failed execution={} canary={} error={}",
                  String(execution, "id"), id, r.status().message());
    }
  }

 private:
  Kayenta* kayenta_;
};

// --- Tasks ----------------------------------------------------------------

// Fixes the time the windows are counted from (when the first scope has no
// start time) and checks that the config can be planned.
class PlanCanaryIntervalsTask : public Task {
 public:
  explicit PlanCanaryIntervalsTask(Kayenta* kayenta) : kayenta_(kayenta) {}
  absl::StatusOr<TaskResult> Execute(const TaskInput& in) override {
    if (kayenta_ == nullptr) return NoKayenta();
    if (in.context.contains("plannedAtMs")) return TaskResult();
    absl::StatusOr<CanaryPlan> plan = PlanCanaryIntervals(
        spinnaker::Object(in.context, "canaryConfig"), in.now_ms);
    if (!plan.ok())
      return TaskResult::Terminal(std::string(plan.status().message()));
    TaskResult r;
    r.context["plannedAtMs"] = in.now_ms;
    return r;
  }

 private:
  Kayenta* kayenta_;
};

class RunCanaryTask : public Task {
 public:
  explicit RunCanaryTask(Kayenta* kayenta) : kayenta_(kayenta) {}
  bool CommitsAfterRun() const override { return true; }
  // Retrying an unavailable kayenta ends.
  int64_t TimeoutMs(const Json&) const override { return 15 * kMinuteMs; }

  absl::StatusOr<TaskResult> Execute(const TaskInput& in) override {
    if (kayenta_ == nullptr) return NoKayenta();
    if (!String(in.context, "canaryPipelineExecutionId").empty()) {
      return TaskResult();
    }
    CanaryRunRequest req;
    req.canary_config_id = String(in.context, "canaryConfigId");
    req.application = String(in.execution, "application");
    req.parent_pipeline_execution_id = String(in.execution, "id");
    req.metrics_account = String(in.context, "metricsAccountName");
    req.configuration_account = String(in.context, "configurationAccountName");
    const Json scopes = spinnaker::Object(in.context, "scopes");
    for (auto it = scopes.begin(); it != scopes.end(); ++it) {
      Json pair = it.value();
      for (const char* side : {"controlScope", "experimentScope"}) {
        if (!pair.contains(side) || !pair[side].is_object()) continue;
        for (const char* t : {"start", "end"}) {
          absl::StatusOr<int64_t> ms = ParseIsoInstant(String(pair[side], t));
          if (!ms.ok()) {
            return TaskResult::Terminal(absl::StrCat("scopes.", it.key(), ".",
                                                     side, ".", t, ": ",
                                                     ms.status().message()));
          }
          pair[side][t] = *ms;
        }
      }
      req.scopes[it.key()] = std::move(pair);
    }
    absl::StatusOr<CanaryThresholds> thresholds = ParseThresholds(in.context);
    if (!thresholds.ok()) {
      return TaskResult::Terminal(std::string(thresholds.status().message()));
    }
    req.pass = thresholds->pass;
    req.marginal = thresholds->marginal;
    req.site_local = spinnaker::Object(in.context, "siteLocal");
    req.idempotency_key = cloud::IdempotencyKey(in);
    absl::StatusOr<std::string> id = kayenta_->StartCanary(req);
    if (!id.ok())
      return FromError(id.status(), "kayenta refused the canary run");
    SPDLOG_INFO("event=canary_started execution={} stage={} canary={}",
                String(in.execution, "id"), String(in.stage, "id"), *id);
    TaskResult r;
    r.context["canaryPipelineExecutionId"] = *id;
    return r;
  }

 private:
  Kayenta* kayenta_;
};

class MonitorCanaryTask : public Task {
 public:
  explicit MonitorCanaryTask(Kayenta* kayenta) : kayenta_(kayenta) {}
  bool CommitsAfterRun() const override { return true; }
  int64_t BackoffMs(const Json&) const override { return 1000; }
  int64_t TimeoutMs(const Json&) const override { return 12 * kHourMs; }

  absl::StatusOr<TaskResult> Execute(const TaskInput& in) override {
    if (kayenta_ == nullptr) return NoKayenta();
    const std::string id = String(in.context, "canaryPipelineExecutionId");
    if (id.empty()) return TaskResult::Terminal("no canary run was started");
    absl::StatusOr<CanaryRun> run = kayenta_->GetCanaryExecution(id);
    if (!run.ok()) {
      return FromError(run.status(),
                       absl::StrCat("reading canary execution ", id));
    }
    Json progress = {{"canaryPipelineStatus", run->status}};
    if (run->end_time_ms > 0) {
      progress["lastUpdated"] = run->end_time_ms;
      progress["lastUpdatedIso"] = FormatIsoInstant(run->end_time_ms);
    }
    if (run->status == status::kSucceeded) return Scored(in, *run, progress);
    if (run->status == status::kTerminal || run->status == status::kCanceled) {
      TaskResult r = TaskResult::Terminal(HaltMessage(*run));
      const Json ex = spinnaker::Object(run->json, "exception");
      if (spinnaker::Object(ex, "details").contains("errors")) {
        r.context["exception"] = ex;  // kayenta's, as Spinnaker copies it
      }
      MergeInto(r.context, progress);
      return r;
    }
    TaskResult r = TaskResult::Running();
    r.context = std::move(progress);
    return r;
  }

 private:
  static void MergeInto(Json& into, const Json& from) {
    for (auto it = from.begin(); it != from.end(); ++it) into[it.key()] = *it;
  }

  static std::string HaltMessage(const CanaryRun& run) {
    if (run.status == status::kCanceled) {
      return absl::StrCat("Canary execution ", run.id, " was canceled");
    }
    const auto found =
        run.json.is_object() ? run.json.find("exception") : run.json.end();
    const Json ex = found != run.json.end() ? *found : Json();
    if (ex.is_string()) return ex.get<std::string>();
    if (ex.is_object()) {
      const Json details = spinnaker::Object(ex, "details");
      if (!String(details, "error").empty()) return String(details, "error");
      const Json errors = spinnaker::Array(details, "errors");
      if (!errors.empty() && errors[0].is_string()) {
        return errors[0].get<std::string>();
      }
      if (!String(ex, "message").empty()) return String(ex, "message");
    }
    return absl::StrCat("Canary execution ", run.id, " ended ", run.status);
  }

  absl::StatusOr<TaskResult> Scored(const TaskInput& in, const CanaryRun& run,
                                    const Json& progress) {
    if (!run.score.has_value()) {
      return TaskResult::Terminal(absl::StrCat("Canary execution ", run.id,
                                               " succeeded without a score"));
    }
    const double score = *run.score;
    TaskResult r;
    r.context = progress;
    r.context["canaryScore"] = score;
    r.context["warnings"] = Warnings(in, run);
    absl::StatusOr<CanaryThresholds> thresholds = ParseThresholds(in.context);
    if (!thresholds.ok()) {
      return TaskResult::Terminal(std::string(thresholds.status().message()));
    }
    // Written so that a NaN score fails.
    if (!(score > thresholds->marginal)) {
      const std::string message =
          "Canary score is not above the marginal score threshold.";
      Json ctx = std::move(r.context);
      r = TaskResult::Terminal(message);
      MergeInto(r.context, ctx);
      r.context["canaryScoreMessage"] = message;
    }
    return r;
  }

  // Spinnaker warns when a metric had few control samples, except for
  // datadog accounts (whose counts mean something else).
  Json Warnings(const TaskInput& in, const CanaryRun& run) {
    Json warnings = Json::array();
    bool few = false;
    const Json judge = spinnaker::Object(run.result, "judgeResult");
    for (const Json& m : spinnaker::Array(judge, "results")) {
      const Json stats =
          spinnaker::Object(spinnaker::Object(m, "controlMetadata"), "stats");
      if (stats.contains("count") && Int(stats, "count") < kMinSamples) {
        few = true;
      }
    }
    if (!few) return warnings;
    const std::string account = String(in.context, "metricsAccountName");
    absl::StatusOr<std::vector<KayentaAccount>> accounts =
        kayenta_->ListCredentials();
    if (accounts.ok()) {
      for (const KayentaAccount& a : *accounts) {
        bool metrics =
            std::find(a.supported_types.begin(), a.supported_types.end(),
                      "METRICS_STORE") != a.supported_types.end();
        bool named = account.empty() ? metrics : a.name == account;
        if (named && absl::AsciiStrToLower(a.type) == "datadog") {
          return warnings;
        }
      }
    }
    warnings.push_back(kFewSamplesWarning);
    return warnings;
  }

  Kayenta* kayenta_;
};

// The number after "#" in a run stage's name (its order).
int RunNumber(const Json& stage) {
  const std::string name = String(stage, "name");
  size_t hash = name.rfind('#');
  int n = 0;
  if (hash == std::string::npos ||
      !absl::SimpleAtoi(name.substr(hash + 1), &n)) {
    return 0;
  }
  return n;
}

class AggregateCanaryResultsTask : public Task {
 public:
  explicit AggregateCanaryResultsTask(Kayenta* kayenta) : kayenta_(kayenta) {}
  absl::StatusOr<TaskResult> Execute(const TaskInput& in) override {
    if (kayenta_ == nullptr) return NoKayenta();
    const Json cfg = spinnaker::Object(in.context, "canaryConfig");
    absl::StatusOr<ParsedConfig> parsed = ParseConfig(cfg);
    if (!parsed.ok()) {
      return TaskResult::Terminal(std::string(parsed.status().message()));
    }
    const std::string stage_id = String(in.stage, "id");
    std::string interval_id;
    const Json stages = spinnaker::Array(in.execution, "stages");
    for (const Json& s : stages) {
      if (String(s, "parentStageId") == stage_id &&
          String(s, "type") == "runCanaryIntervals") {
        interval_id = String(s, "id");
      }
    }
    std::vector<const Json*> runs;
    for (const Json& s : stages) {
      if (!interval_id.empty() && String(s, "parentStageId") == interval_id &&
          String(s, "type") == "runCanary") {
        runs.push_back(&s);
      }
    }
    std::stable_sort(runs.begin(), runs.end(),
                     [](const Json* a, const Json* b) {
                       return RunNumber(*a) < RunNumber(*b);
                     });
    Json scores = Json::array();
    Json ids = Json::array();
    for (const Json* s : runs) {
      const Json c = spinnaker::Object(*s, "context");
      if (!c.contains("canaryScore")) continue;
      scores.push_back(spinnaker::Double(c, "canaryScore"));
      ids.push_back(String(c, "canaryPipelineExecutionId"));
    }
    if (scores.empty())
      return TaskResult::Terminal("No canary run has a score");
    const double final_score = scores.back().get<double>();
    // The thresholds the runs were judged by (defaults applied alike);
    // written so that a NaN score fails.
    const CanaryThresholds& t = parsed->thresholds;
    const std::string x = JavaDouble(final_score);
    bool ok = true;
    std::string message;
    if (!(final_score > t.marginal)) {
      ok = false;
      message = absl::StrCat("Final canary score ", x,
                             " is not above the marginal score threshold.");
    } else if (!(final_score >= t.pass)) {
      ok = false;
      message = absl::StrCat("Final canary score ", x,
                             " is below the pass score threshold.");
    } else {
      message = absl::StrCat("Final canary score ", x,
                             " met or exceeded the pass score threshold.");
    }
    Json out = {{"canaryScores", scores},
                {"canaryScoreMessage", message},
                {"canaryExecutionIds", ids},
                {"intervalStageId", interval_id}};
    const Json last = spinnaker::Object(*runs.back(), "context");
    if (last.contains("lastUpdated")) {
      out["lastUpdated"] = last.at("lastUpdated");
      out["lastUpdatedIso"] = String(last, "lastUpdatedIso");
    }
    TaskResult r = ok ? TaskResult() : TaskResult::Terminal(message);
    for (auto it = out.begin(); it != out.end(); ++it) {
      r.context[it.key()] = *it;
      r.outputs[it.key()] = *it;
    }
    return r;
  }

 private:
  Kayenta* kayenta_;
};

}  // namespace

absl::StatusOr<CanaryPlan> PlanCanaryIntervals(const Json& canary_config,
                                               int64_t now_ms) {
  GENNAKER_ASSIGN_OR_RETURN(ParsedConfig p, ParseConfig(canary_config));
  const int64_t start0 = p.start_ms.value_or(now_ms);
  int64_t lifetime_min = p.lifetime_min;
  // Both instants lie within years 0001..9999: the difference fits.
  if (p.end_ms) lifetime_min = (*p.end_ms - start0) / kMinuteMs;
  if (lifetime_min <= 0) {
    return Invalid("The canary lifetime must be at least one minute");
  }
  if (lifetime_min > kMaxLifetimeMin) {
    return Invalid(
        "The canary lifetime (from its start to its end time) is longer than "
        "the one year a canary may last");
  }
  if (!spinnaker::SaneEpochMs(start0)) {
    return Invalid("The canary's start lies outside the years 0001..9999");
  }
  int64_t interval_min = p.interval_min;
  if (interval_min == 0 || interval_min > lifetime_min) {
    interval_min = lifetime_min;
  }
  const int64_t n = lifetime_min / interval_min;
  if (n > kMaxCanaryRuns) {
    return Invalid(absl::StrCat("The canary would run ", n,
                                " intervals; at most ", kMaxCanaryRuns,
                                " are allowed (raise "
                                "canaryAnalysisIntervalMins)"));
  }
  CanaryPlan plan;
  plan.warmup_wait_s = p.warmup_min * 60;
  plan.interval_wait_s = p.end_ms ? 0 : interval_min * 60;
  plan.step_s = p.step_s;
  plan.thresholds = p.thresholds;
  const int64_t base = p.end_ms ? start0 : start0 + p.warmup_min * kMinuteMs;
  const int64_t shift = p.baseline_offset_min * kMinuteMs;
  for (int64_t i = 1; i <= n; ++i) {
    const int64_t end = base + i * interval_min * kMinuteMs;
    const int64_t start =
        p.lookback_min > 0 ? end - p.lookback_min * kMinuteMs : base;
    plan.runs.push_back({start - shift, end - shift, start, end});
  }
  return plan;
}

void RegisterKayentaStage(Registry* r, Kayenta* kayenta) {
  r->AddStage("kayentaCanary", std::make_shared<KayentaCanaryStage>(kayenta));
  r->AddStage("runCanaryIntervals",
              std::make_shared<RunCanaryIntervalsStage>());
  r->AddStage("runCanary", std::make_shared<RunCanaryStage>(kayenta));
  r->AddTask("aggregateCanaryResults",
             std::make_shared<AggregateCanaryResultsTask>(kayenta));
  r->AddTask("planCanaryIntervals",
             std::make_shared<PlanCanaryIntervalsTask>(kayenta));
  r->AddTask("runCanary", std::make_shared<RunCanaryTask>(kayenta));
  r->AddTask("monitorCanary", std::make_shared<MonitorCanaryTask>(kayenta));
}

}  // namespace gennaker::orca
