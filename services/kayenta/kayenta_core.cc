#include "services/kayenta/kayenta_core.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/ids/ids.h"
#include "common/log/log.h"
#include "common/spinnaker/time.h"
#include "common/status/status_macros.h"
#include "services/kayenta/kayenta_core_internal.h"

namespace gennaker::kayenta {
namespace core_internal {

using spinnaker::Array;
using spinnaker::Dump;
using spinnaker::Object;
using spinnaker::String;

bool IsComplete(absl::string_view status) {
  return status == kSucceeded || status == kTerminal || status == kCanceled;
}

// A stored body that does not parse is the server's fault (INTERNAL), not
// the caller's.
absl::StatusOr<Json> ParseBody(const Record& r) {
  absl::StatusOr<Json> j = spinnaker::ParseJson(r.body, "stored record",
                                                spinnaker::kStoredJsonLimits);
  if (!j.ok()) return absl::InternalError(j.status().message());
  return j;
}

// Java's Double.toString for the scores in messages ("100.0", "62.5").
std::string FormatScore(double score) {
  if (std::isfinite(score) && score == std::floor(score) &&
      std::fabs(score) < 1e15) {
    return absl::StrFormat("%.1f", score);
  }
  return absl::StrCat(score);
}

void SetTimes(Json& j, absl::string_view prefix, int64_t ms) {
  j[absl::StrCat(prefix, "TimeMillis")] = ms;
  j[absl::StrCat(prefix, "TimeIso")] = IsoOfMs(ms);
}

Json Exception(absl::string_view operation, const absl::Status& status,
               int64_t now_ms) {
  std::string message(status.message());
  return Json{{"exceptionType", absl::StatusCodeToString(status.code())},
              {"operation", std::string(operation)},
              {"shouldRetry", false},
              {"timestamp", now_ms},
              {"details", {{"error", message}, {"errors", {message}}}}};
}

// The request's thresholds: both present and finite (a NaN threshold would
// make every score comparison false).
absl::StatusOr<Thresholds> ThresholdsOf(const Json& request) {
  const Json* t = spinnaker::internal::Member(request, "thresholds");
  if (t == nullptr || !t->is_object()) {
    return absl::InvalidArgumentError(
        "Execution request must contain thresholds");
  }
  Thresholds out;
  for (auto [key, field] :
       {std::pair{"pass", &out.pass}, std::pair{"marginal", &out.marginal}}) {
    const Json* v = spinnaker::internal::Member(*t, key);
    if (v == nullptr || v->is_null()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Execution request thresholds must contain '", key, "'"));
    }
    *field =
        spinnaker::Double(*t, key, std::numeric_limits<double>::quiet_NaN());
    if (!std::isfinite(*field)) {
      return absl::InvalidArgumentError(
          absl::StrCat("thresholds.", key, " must be a finite number"));
    }
  }
  return out;
}

absl::Status CheckThresholds(const Thresholds& t) {
  if (!std::isfinite(t.pass) || !std::isfinite(t.marginal)) {
    return absl::InvalidArgumentError(
        "thresholds.pass and thresholds.marginal must be finite numbers");
  }
  return absl::OkStatus();
}

// The ScopeQuery of one side of a CanaryExecutionRequest scope pair.
absl::StatusOr<ScopeQuery> ScopeQueryOf(const Json& side) {
  ScopeQuery q;
  q.scope = String(side, "scope");
  q.location = String(side, "location");
  if (const Json* s = spinnaker::internal::Member(side, "start")) {
    GENNAKER_ASSIGN_OR_RETURN(q.start_ms, MsOfIso(*s));
  }
  if (const Json* e = spinnaker::internal::Member(side, "end")) {
    GENNAKER_ASSIGN_OR_RETURN(q.end_ms, MsOfIso(*e));
  }
  if (q.start_ms > q.end_ms) {
    return absl::InvalidArgumentError("start must not be after end");
  }
  q.step_seconds = spinnaker::Int(side, "step", 60);
  if (q.step_seconds < 1 || q.step_seconds > kMaxStepSeconds) {
    return absl::InvalidArgumentError(absl::StrCat(
        "step must be between 1 and ", kMaxStepSeconds, " seconds"));
  }
  const Json params = Object(side, "extendedScopeParams");
  for (const auto& [k, v] : params.items()) {
    q.extended_scope_params[k] = v.is_string() ? v.get<std::string>() : Dump(v);
  }
  return q;
}

// canaryDuration: end - start when every scope spans the same time.
Json CanaryDuration(const Json& request) {
  std::optional<int64_t> duration;
  const Json scopes = Object(request, "scopes");
  for (const auto& [name, pair] : scopes.items()) {
    for (const char* side : {"controlScope", "experimentScope"}) {
      auto q = ScopeQueryOf(Object(pair, side));
      if (!q.ok()) return nullptr;
      int64_t d = q->end_ms - q->start_ms;
      if (duration && *duration != d) return nullptr;
      duration = d;
    }
  }
  if (!duration) return nullptr;
  return IsoDuration(*duration);
}

// The stage refIds of a run over `metrics` metrics, in order.
std::vector<std::string> StageIds(size_t metrics) {
  std::vector<std::string> ids = {"setupContext"};
  for (size_t i = 0; i < metrics; ++i) {
    ids.push_back(absl::StrCat("fetchControl", i));
  }
  for (size_t i = 0; i < metrics; ++i) {
    ids.push_back(absl::StrCat("fetchExperiment", i));
  }
  ids.push_back("mixMetrics");
  ids.push_back("judge");
  return ids;
}

// Stores a new run or analysis (status document `st`, NOT_STARTED) with
// the accounts it uses; the id stored first under the same key otherwise.
absl::StatusOr<std::string> InsertNew(KayentaStore* store, Kind kind,
                                      const std::string& id,
                                      const std::string& metrics_account,
                                      const std::string& idempotency_key,
                                      int64_t now, Json& st) {
  st["storageAccountName"] = kPostgresAccount;
  st["configurationAccountName"] = kPostgresAccount;
  st["metricsAccountName"] = metrics_account;
  Record r;
  r.id = id;
  r.application = String(st, "application");
  r.status = kNotStarted;
  r.idempotency_key = idempotency_key;
  r.body = Dump(st);
  r.created_ms = now;
  r.updated_ms = now;
  return store->Insert(kind, r);
}

}  // namespace core_internal

using core_internal::CanaryDuration;
using core_internal::CheckThresholds;
using core_internal::Exception;
using core_internal::FormatScore;
using core_internal::InsertNew;
using core_internal::IsComplete;
using core_internal::kCanceled;
using core_internal::kMaxMinutes;
using core_internal::kMaxStepSeconds;
using core_internal::kNotStarted;
using core_internal::kRunning;
using core_internal::kSucceeded;
using core_internal::kTerminal;
using core_internal::ParseBody;
using core_internal::ScopeQueryOf;
using core_internal::SetTimes;
using core_internal::StageIds;
using core_internal::ThresholdsOf;
using spinnaker::Array;
using spinnaker::Dump;
using spinnaker::Object;
using spinnaker::String;

namespace {

class RealClock : public Clock {
 public:
  int64_t NowMs() override { return absl::ToUnixMillis(absl::Now()); }
};

}  // namespace

Clock* SystemClock() {
  static RealClock* clock = new RealClock();
  return clock;
}

std::string IsoOfMs(int64_t ms) { return spinnaker::FormatIsoInstant(ms); }

absl::StatusOr<int64_t> MsOfIso(const Json& value) {
  if (value.is_number()) {
    // Only integers within years 0001..9999: get<int64_t>() of 1e30 is
    // undefined, and of a large unsigned value wraps.
    if (value.is_number_integer()) {
      const bool fits =
          value.is_number_unsigned()
              ? value.get<uint64_t>() <=
                    static_cast<uint64_t>(spinnaker::kMaxSaneEpochMs)
              : spinnaker::SaneEpochMs(value.get<int64_t>());
      if (fits) return value.get<int64_t>();
    }
    return absl::InvalidArgumentError(
        "a time given as a number must be integer epoch milliseconds within "
        "years 0001..9999");
  }
  if (!value.is_string()) {
    return absl::InvalidArgumentError("time must be an ISO-8601 string");
  }
  return spinnaker::ParseIsoInstant(value.get<std::string>());
}

std::string IsoDuration(int64_t ms) { return spinnaker::FormatIsoDuration(ms); }

absl::Status ValidateCanaryConfig(const Json& config) {
  if (!config.is_object()) {
    return absl::InvalidArgumentError("Canary config must be a JSON object.");
  }
  const std::string name = String(config, "name");
  if (name.empty()) {
    return absl::InvalidArgumentError("Canary config must specify a name.");
  }
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' &&
        c != '_' && c != ',') {
      return absl::InvalidArgumentError(absl::StrCat(
          "Canary config cannot be named '", name,
          "'. Names must contain only letters, numbers, dashes (-) and "
          "underscores (_)."));
    }
  }
  if (spinnaker::Strings(config, "applications").empty()) {
    return absl::InvalidArgumentError(
        "Canary config must specify at least one application.");
  }
  const Json* judge = spinnaker::internal::Member(config, "judge");
  if (judge != nullptr && !judge->is_null()) {
    const std::string judge_name = String(*judge, "name");
    if (!judge_name.empty() && judge_name != kNetflixAcaJudge) {
      return absl::InvalidArgumentError(
          absl::StrCat("Unable to resolve canary judge '", judge_name,
                       "'. Known judges: ", kNetflixAcaJudge, "."));
    }
  }
  const Json* metrics = spinnaker::internal::Member(config, "metrics");
  if (metrics != nullptr && !metrics->is_null() && !metrics->is_array()) {
    return absl::InvalidArgumentError(
        "Canary config 'metrics' must be a list.");
  }
  std::set<std::string> seen;
  for (const Json& m : Array(config, "metrics")) {
    const std::string metric = String(m, "name");
    if (metric.empty()) {
      return absl::InvalidArgumentError("Metric config must specify a name.");
    }
    if (!seen.insert(metric).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Metric config name must be unique. '", metric, "' is duplicated."));
    }
    if (String(m, "scopeName").empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Metric config '", metric, "' must specify a scopeName."));
    }
  }
  // What the judge would refuse at run time is refused at save.
  return ValidateJudgeConfig(config);
}

KayentaCore::KayentaCore(KayentaStore* store,
                         std::vector<std::unique_ptr<MetricsSource>> sources,
                         Clock* clock, CoreOptions options)
    : store_(store),
      sources_(std::move(sources)),
      clock_(clock),
      options_(options) {}

KayentaCore::~KayentaCore() { Stop(); }

absl::Status KayentaCore::Start() {
  // Unfinished work of an earlier process: runs start over, analyses go on.
  Tick();
  for (int i = 0; i < options_.worker_threads; ++i) {
    threads_.emplace_back([this] { WorkerLoop(); });
  }
  if (options_.tick > absl::ZeroDuration()) {
    threads_.emplace_back([this] { SchedulerLoop(); });
  }
  return absl::OkStatus();
}

void KayentaCore::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

// ---- configs ----

absl::StatusOr<std::vector<Record>> KayentaCore::ListConfigs(
    const std::vector<std::string>& applications) {
  ListQuery q;
  q.applications = applications;
  q.with_body = false;
  GENNAKER_ASSIGN_OR_RETURN(std::vector<Record> out,
                            store_->List(Kind::kConfig, q));
  std::sort(out.begin(), out.end(),
            [](const Record& a, const Record& b) { return a.name < b.name; });
  return out;
}

absl::StatusOr<Record> KayentaCore::GetConfig(const std::string& id) {
  if (id.empty()) {
    return absl::InvalidArgumentError("canary config id is required");
  }
  absl::StatusOr<Record> r = store_->Get(Kind::kConfig, id);
  if (r.status().code() == absl::StatusCode::kNotFound) {
    return absl::NotFoundError(
        absl::StrCat("No canary config with id '", id, "' found."));
  }
  return r;
}

absl::StatusOr<std::string> KayentaCore::CreateConfig(
    Json config, const std::string& idempotency_key) {
  GENNAKER_RETURN_IF_ERROR(ValidateCanaryConfig(config));
  std::string id = String(config, "id");
  if (id.empty()) id = NewUuid();
  const int64_t now = clock_->NowMs();
  config["id"] = id;
  config["createdTimestamp"] = now;
  config["updatedTimestamp"] = now;
  config["createdTimestampIso"] = IsoOfMs(now);
  config["updatedTimestampIso"] = IsoOfMs(now);
  Record r;
  r.id = id;
  r.name = String(config, "name");
  r.applications = spinnaker::Strings(config, "applications");
  r.idempotency_key = idempotency_key;
  r.body = Dump(config);
  r.created_ms = now;
  r.updated_ms = now;
  absl::StatusOr<std::string> stored = store_->Insert(Kind::kConfig, r);
  if (stored.status().code() == absl::StatusCode::kAlreadyExists &&
      !IsDuplicateConfigName(stored.status())) {
    return absl::AlreadyExistsError(
        absl::StrCat("Canary config with id '", id, "' already exists."));
  }
  return stored;
}

absl::StatusOr<std::string> KayentaCore::UpdateConfig(
    const std::string& id, Json config, int64_t expected_updated_ms) {
  GENNAKER_RETURN_IF_ERROR(ValidateCanaryConfig(config));
  GENNAKER_ASSIGN_OR_RETURN(Record existing, GetConfig(id));
  GENNAKER_ASSIGN_OR_RETURN(Json old, ParseBody(existing));
  const int64_t now = clock_->NowMs();
  config["id"] = id;
  config["createdTimestamp"] =
      spinnaker::Int(old, "createdTimestamp", existing.created_ms);
  config["createdTimestampIso"] =
      IsoOfMs(spinnaker::Int(old, "createdTimestamp", existing.created_ms));
  config["updatedTimestamp"] = now;
  config["updatedTimestampIso"] = IsoOfMs(now);
  Record r = existing;
  r.name = String(config, "name");
  r.applications = spinnaker::Strings(config, "applications");
  r.body = Dump(config);
  r.updated_ms = now;
  UpdateOptions opts;
  if (expected_updated_ms != 0) opts.expected_updated_ms = expected_updated_ms;
  GENNAKER_RETURN_IF_ERROR(store_->Update(Kind::kConfig, r, opts).status());
  return id;
}

absl::StatusOr<bool> KayentaCore::DeleteConfig(const std::string& id) {
  return store_->Delete(Kind::kConfig, id);
}

// ---- runs ----

absl::StatusOr<MetricsSource*> KayentaCore::Source(
    const std::string& account) const {
  if (sources_.empty()) {
    return absl::FailedPreconditionError(
        "No metrics account is configured (kayenta config 'prometheus').");
  }
  if (account.empty()) return sources_.front().get();
  for (const auto& s : sources_) {
    if (s->Name() == account) return s.get();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("Unable to resolve metrics account '", account, "'."));
}

absl::StatusOr<Json> KayentaCore::ResolveConfig(const RunSource& source,
                                                std::string* config_id) {
  if (source.inline_config) {
    GENNAKER_RETURN_IF_ERROR(ValidateCanaryConfig(*source.inline_config));
    *config_id = "";
    return *source.inline_config;
  }
  if (source.canary_config_id.empty()) {
    return absl::InvalidArgumentError(
        "A canary config id or an inline canary config is required.");
  }
  GENNAKER_ASSIGN_OR_RETURN(Record r, GetConfig(source.canary_config_id));
  *config_id = r.id;
  return ParseBody(r);
}

absl::StatusOr<std::string> KayentaCore::StartCanary(const RunSource& source,
                                                     const Json& request) {
  std::string config_id;
  GENNAKER_ASSIGN_OR_RETURN(Json config, ResolveConfig(source, &config_id));
  if (!request.is_object()) {
    return absl::InvalidArgumentError(
        "Execution request must be a JSON object");
  }
  GENNAKER_RETURN_IF_ERROR(ThresholdsOf(request).status());
  const Json metrics = Array(config, "metrics");
  if (metrics.empty()) {
    return absl::InvalidArgumentError(
        "Canary config must specify at least one metric.");
  }
  const Json scopes = Object(request, "scopes");
  for (const Json& m : metrics) {
    const std::string scope = String(m, "scopeName");
    if (!scopes.contains(scope)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Canary metric '", String(m, "name"), "' has scopeName '", scope,
          "' which is not among the execution request's scopes."));
    }
  }
  for (const auto& [name, pair] : scopes.items()) {
    for (const char* side : {"controlScope", "experimentScope"}) {
      absl::StatusOr<ScopeQuery> q = ScopeQueryOf(Object(pair, side));
      if (!q.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "scopes.", name, ".", side, ": ", q.status().message()));
      }
    }
  }
  GENNAKER_ASSIGN_OR_RETURN(MetricsSource * src,
                            Source(source.metrics_account));

  const std::string id = NewUlid();
  const int64_t now = clock_->NowMs();
  Json st = Json::object();
  st["application"] =
      source.application.empty() ? "ad-hoc" : source.application;
  if (!source.parent_pipeline_execution_id.empty()) {
    st["parentPipelineExecutionId"] = source.parent_pipeline_execution_id;
  }
  st["pipelineId"] = id;
  Json stages = Json::object();
  for (const std::string& s : StageIds(metrics.size())) stages[s] = kNotStarted;
  st["stageStatus"] = stages;
  st["complete"] = false;
  st["status"] = kNotStarted;
  st["config"] = config;
  if (!config_id.empty()) st["canaryConfigId"] = config_id;
  st["canaryExecutionRequest"] = request;
  SetTimes(st, "build", now);
  GENNAKER_ASSIGN_OR_RETURN(std::string stored,
                            InsertNew(store_, Kind::kExecution, id, src->Name(),
                                      source.idempotency_key, now, st));
  if (stored == id) Enqueue(id);
  return stored;
}

absl::StatusOr<Record> KayentaCore::GetExecution(const std::string& id) {
  return store_->Get(Kind::kExecution, id);
}

absl::StatusOr<std::vector<Record>> KayentaCore::ListExecutions(
    const std::string& application, const std::vector<std::string>& statuses,
    int limit, int64_t offset) {
  ListQuery q;
  q.application = application.empty() ? "ad-hoc" : application;
  q.statuses = statuses;
  q.limit = limit;
  q.offset = offset;
  return store_->List(Kind::kExecution, q);
}

absl::StatusOr<bool> KayentaCore::CancelCanary(const std::string& id) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    GENNAKER_ASSIGN_OR_RETURN(Record r, store_->Get(Kind::kExecution, id));
    if (IsComplete(r.status)) return false;
    GENNAKER_ASSIGN_OR_RETURN(Json st, ParseBody(r));
    const int64_t now = clock_->NowMs();
    st["status"] = kCanceled;
    st["complete"] = true;
    for (auto& [k, v] : st["stageStatus"].items()) {
      if (v == kRunning || v == kNotStarted) v = kCanceled;
    }
    SetTimes(st, "end", now);
    r.status = kCanceled;
    r.body = Dump(st);
    r.updated_ms = now;
    UpdateOptions opts;
    opts.expected_version = r.version;
    absl::StatusOr<Record> u = store_->Update(Kind::kExecution, r, opts);
    if (u.ok()) {
      SPDLOG_INFO("event=canary_canceled execution={}", id);
      return true;
    }
    if (u.status().code() != absl::StatusCode::kAborted) return u.status();
  }
  return absl::AbortedError(
      absl::StrCat("canary execution '", id, "' keeps changing; retry"));
}

void KayentaCore::Enqueue(const std::string& id) {
  absl::MutexLock lock(&mu_);
  if (!held_.insert(id).second) return;
  queue_.push_back(id);
}

void KayentaCore::WorkerLoop() {
  while (true) {
    std::string id;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](KayentaCore* c) ABSL_EXCLUSIVE_LOCKS_REQUIRED(c->mu_) {
            return c->stopping_ || !c->queue_.empty();
          },
          this));
      if (stopping_) return;
      id = queue_.front();
      queue_.pop_front();
    }
    RunExecution(id);
    absl::MutexLock lock(&mu_);
    held_.erase(id);
  }
}

void KayentaCore::RunQueued() {
  while (true) {
    std::string id;
    {
      absl::MutexLock lock(&mu_);
      if (queue_.empty()) return;
      id = queue_.front();
      queue_.pop_front();
    }
    RunExecution(id);
    absl::MutexLock lock(&mu_);
    held_.erase(id);
  }
}

void KayentaCore::SchedulerLoop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto stop = [this]()
                      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
      if (mu_.AwaitWithTimeout(absl::Condition(&stop), options_.tick)) return;
    }
    Tick();
  }
}

namespace {

// One run of the runner: the execution record and its status JSON, written
// back after every step. A failed write (a cancel won, or the store is gone)
// stops the run; the scheduler picks unfinished runs up again.
class Run {
 public:
  Run(KayentaStore* store, Clock* clock, Record record, Json st)
      : store_(store),
        clock_(clock),
        record_(std::move(record)),
        st_(std::move(st)) {}

  Json& st() { return st_; }
  const std::string& id() const { return record_.id; }

  bool Save() {
    record_.status = String(st_, "status");
    record_.body = Dump(st_);
    record_.updated_ms = clock_->NowMs();
    UpdateOptions opts;
    opts.expected_version = record_.version;
    absl::StatusOr<Record> u = store_->Update(Kind::kExecution, record_, opts);
    if (!u.ok()) {
      if (u.status().code() == absl::StatusCode::kAborted) {
        SPDLOG_INFO("event=canary_run_stopped execution={} reason=changed",
                    record_.id);
      } else {
        SPDLOG_WARN("event=canary_run_save_failed execution={} error={}",
                    record_.id, u.status().ToString());
      }
      return false;
    }
    record_ = *std::move(u);
    return true;
  }

  bool Stage(const std::string& ref, const char* status) {
    st_["stageStatus"][ref] = status;
    return Save();
  }

  void Fail(const std::string& ref, const absl::Status& status) {
    const int64_t now = clock_->NowMs();
    SPDLOG_WARN("event=canary_run_failed execution={} stage={} error={}",
                record_.id, ref, status.ToString());
    st_["stageStatus"][ref] = kTerminal;
    st_["status"] = kTerminal;
    st_["complete"] = true;
    st_["exception"] = Exception(ref, status, now);
    SetTimes(st_, "end", now);
    Save();
  }

 private:
  KayentaStore* store_;
  Clock* clock_;
  Record record_;
  Json st_;
};

}  // namespace

void KayentaCore::RunExecution(const std::string& id) {
  absl::StatusOr<Record> rec = store_->Get(Kind::kExecution, id);
  if (!rec.ok()) {
    SPDLOG_WARN("event=canary_run_missing execution={} error={}", id,
                rec.status().ToString());
    return;
  }
  if (IsComplete(rec->status)) return;
  absl::StatusOr<Json> parsed = ParseBody(*rec);
  if (!parsed.ok()) return;
  Run run(store_, clock_, *rec, *std::move(parsed));
  Json& st = run.st();
  const Json config = Object(st, "config");
  const Json request = Object(st, "canaryExecutionRequest");
  const Json metrics = Array(config, "metrics");
  // A resumed run starts over: every stage back to not started.
  for (const std::string& s : StageIds(metrics.size())) {
    st["stageStatus"][s] = kNotStarted;
  }
  st["status"] = kRunning;
  SetTimes(st, "start", clock_->NowMs());
  if (!run.Stage("setupContext", kRunning)) return;
  SPDLOG_INFO("event=canary_run_started execution={} metrics={}", id,
              metrics.size());

  absl::StatusOr<MetricsSource*> source =
      Source(String(st, "metricsAccountName"));
  if (!source.ok()) return run.Fail("setupContext", source.status());
  const absl::StatusOr<Thresholds> thresholds = ThresholdsOf(request);
  if (!thresholds.ok()) return run.Fail("setupContext", thresholds.status());
  if (!run.Stage("setupContext", kSucceeded)) return;

  std::vector<Json> sides[2];
  const char* side_keys[2] = {"controlScope", "experimentScope"};
  const char* stage_prefix[2] = {"fetchControl", "fetchExperiment"};
  for (int side = 0; side < 2; ++side) {
    for (size_t i = 0; i < metrics.size(); ++i) {
      const std::string ref = absl::StrCat(stage_prefix[side], i);
      if (!run.Stage(ref, kRunning)) return;
      const Json& metric = metrics[i];
      const Json pair =
          Object(Object(request, "scopes"), String(metric, "scopeName"));
      absl::StatusOr<ScopeQuery> q =
          ScopeQueryOf(Object(pair, side_keys[side]));
      if (!q.ok()) return run.Fail(ref, q.status());
      absl::StatusOr<Json> sets = (*source)->Query(config, metric, *q);
      if (!sets.ok()) return run.Fail(ref, sets.status());
      sides[side].push_back(*std::move(sets));
      if (!run.Stage(ref, kSucceeded)) return;
    }
  }

  if (!run.Stage("mixMetrics", kRunning)) return;
  Json pairs = Json::array();
  for (size_t i = 0; i < metrics.size(); ++i) {
    absl::StatusOr<Json> mixed =
        MixMetricSets(metrics[i], sides[0][i], sides[1][i]);
    if (!mixed.ok()) return run.Fail("mixMetrics", mixed.status());
    for (Json& p : *mixed) pairs.push_back(std::move(p));
  }
  Record list;
  list.id = NewUuid();
  list.body = Dump(Json{{"pairs", pairs}});
  list.created_ms = list.updated_ms = clock_->NowMs();
  // One list per run: a resumed run replaces what an earlier attempt stored.
  list.idempotency_key = absl::StrCat("execution:", id);
  absl::StatusOr<std::string> list_id = store_->Insert(Kind::kPairList, list);
  if (list_id.ok() && *list_id != list.id) {
    Record again = list;
    again.id = *list_id;
    absl::StatusOr<Record> replaced =
        store_->Update(Kind::kPairList, again, {});
    if (!replaced.ok()) list_id = replaced.status();
  }
  if (!list_id.ok()) return run.Fail("mixMetrics", list_id.status());
  st["metricSetPairListId"] = *list_id;
  if (!run.Stage("mixMetrics", kSucceeded)) return;

  if (!run.Stage("judge", kRunning)) return;
  absl::StatusOr<Json> judged = JudgeCanary(config, pairs, *thresholds);
  if (!judged.ok()) return run.Fail("judge", judged.status());
  const int64_t now = clock_->NowMs();
  st["stageStatus"]["judge"] = kSucceeded;
  st["result"] = Json{{"judgeResult", *judged},
                      {"canaryDuration", CanaryDuration(request)}};
  st["status"] = kSucceeded;
  st["complete"] = true;
  SetTimes(st, "end", now);
  if (run.Save()) {
    SPDLOG_INFO("event=canary_run_succeeded execution={} score={}", id,
                spinnaker::Double(Object(*judged, "score"), "score"));
  }
}

// ---- judge, pair lists, accounts ----

absl::StatusOr<Json> KayentaCore::Judge(
    const std::string& config_id, const std::string& pair_list_id,
    const std::optional<Thresholds>& thresholds) {
  if (!thresholds) {
    return absl::InvalidArgumentError(
        "Execution request must contain thresholds");
  }
  GENNAKER_RETURN_IF_ERROR(CheckThresholds(*thresholds));
  GENNAKER_ASSIGN_OR_RETURN(Record c, GetConfig(config_id));
  GENNAKER_ASSIGN_OR_RETURN(Json config, ParseBody(c));
  GENNAKER_ASSIGN_OR_RETURN(Record l, GetPairList(pair_list_id));
  GENNAKER_ASSIGN_OR_RETURN(Json list, ParseBody(l));
  return JudgeCanary(config, Array(list, "pairs"), *thresholds);
}

absl::StatusOr<std::string> KayentaCore::CreatePairList(
    const Json& list, const std::string& key) {
  if (!list.is_object() || !list.contains("pairs") ||
      !list["pairs"].is_array()) {
    return absl::InvalidArgumentError(
        "A metric set pair list must be {\"pairs\": [MetricSetPair, ...]}");
  }
  Record r;
  r.id = NewUuid();
  r.idempotency_key = key;
  r.body = Dump(list);
  r.created_ms = r.updated_ms = clock_->NowMs();
  return store_->Insert(Kind::kPairList, r);
}

absl::StatusOr<Record> KayentaCore::GetPairList(const std::string& id) {
  absl::StatusOr<Record> r = store_->Get(Kind::kPairList, id);
  if (r.status().code() == absl::StatusCode::kNotFound) {
    return absl::NotFoundError(
        absl::StrCat("No metric set pair list with id '", id, "' found."));
  }
  return r;
}

absl::StatusOr<std::vector<Record>> KayentaCore::ListPairLists(int limit,
                                                               int64_t offset) {
  ListQuery q;
  q.limit = limit;
  q.offset = offset;
  q.with_body = false;
  return store_->List(Kind::kPairList, q);
}

absl::StatusOr<bool> KayentaCore::DeletePairList(const std::string& id) {
  return store_->Delete(Kind::kPairList, id);
}

std::vector<AccountInfo> KayentaCore::Accounts() const {
  std::vector<AccountInfo> out;
  for (const auto& s : sources_) {
    out.push_back({s->Name(), s->Type(), {"METRICS_STORE"}});
  }
  out.push_back({kPostgresAccount,
                 kPostgresAccount,
                 {"OBJECT_STORE", "CONFIGURATION_STORE"}});
  return out;
}

absl::StatusOr<std::vector<std::string>> KayentaCore::MetricDescriptors(
    const std::string& account, const std::string& filter) {
  GENNAKER_ASSIGN_OR_RETURN(MetricsSource * src, Source(account));
  return src->MetricNames(filter);
}

}  // namespace gennaker::kayenta
