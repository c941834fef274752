// Standalone canary analyses: a series of canary runs timed by the
// request's lifetime, interval, warm-up and lookback, judged together.
#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/ids/ids.h"
#include "common/log/log.h"
#include "common/spinnaker/time.h"
#include "common/status/status_macros.h"
#include "services/kayenta/kayenta_core.h"
#include "services/kayenta/kayenta_core_internal.h"

namespace gennaker::kayenta {

using core_internal::Exception;
using core_internal::FormatScore;
using core_internal::InsertNew;
using core_internal::IsComplete;
using core_internal::kCanceled;
using core_internal::kMaxAnalysisRuns;
using core_internal::kMaxMinutes;
using core_internal::kMaxStepSeconds;
using core_internal::kNotStarted;
using core_internal::kRunning;
using core_internal::kSucceeded;
using core_internal::kTerminal;
using core_internal::ParseBody;
using core_internal::SetTimes;
using core_internal::ThresholdsOf;
using spinnaker::Array;
using spinnaker::Dump;
using spinnaker::Object;
using spinnaker::String;

namespace {

// The timing of a standalone analysis (the notes' section 5.2).
struct Schedule {
  int64_t start0_ms = 0;
  bool has_end = false;
  int64_t lifetime_min = 0;
  int64_t interval_min = 0;
  int64_t warmup_min = 0;
  int64_t lookback_min = 0;
  int64_t runs = 0;
};

absl::StatusOr<Schedule> ScheduleOf(const Json& request, int64_t created_ms) {
  const Json scopes = Array(request, "scopes");
  if (scopes.empty()) {
    return absl::InvalidArgumentError(
        "Canary analysis execution request must contain at least one scope.");
  }
  const Json& first = scopes[0];
  Schedule s;
  s.start0_ms = created_ms;
  const std::string start_iso = String(first, "startTimeIso");
  if (!start_iso.empty()) {
    GENNAKER_ASSIGN_OR_RETURN(s.start0_ms, MsOfIso(Json(start_iso)));
  }
  const std::string end_iso = String(first, "endTimeIso");
  s.warmup_min = spinnaker::Int(request, "beginAfterMins", 0);
  s.lookback_min = spinnaker::Int(request, "lookbackMins", 0);
  if (!end_iso.empty()) {
    GENNAKER_ASSIGN_OR_RETURN(int64_t end_ms, MsOfIso(Json(end_iso)));
    s.has_end = true;
    // Both instants lie within years 0001..9999: the difference fits.
    s.lifetime_min = (end_ms - s.start0_ms) / 60000;
  } else {
    s.lifetime_min = spinnaker::Int(request, "lifetimeDurationMins", 0);
    if (s.lifetime_min == 0) {
      return absl::InvalidArgumentError(
          "Canary analysis execution request must include either "
          "endTimeIso or lifetimeDurationMins.");
    }
  }
  if (s.lifetime_min <= 0) {
    return absl::InvalidArgumentError(
        "The canary analysis lifetime must be at least one minute.");
  }
  if (s.warmup_min < 0 || s.lookback_min < 0) {
    return absl::InvalidArgumentError(
        "beginAfterMins and lookbackMins must not be negative.");
  }
  for (auto [name, value] :
       {std::pair{"The canary analysis lifetime", s.lifetime_min},
        std::pair{"beginAfterMins", s.warmup_min},
        std::pair{"lookbackMins", s.lookback_min}}) {
    if (value > kMaxMinutes) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, " must be at most ", kMaxMinutes, " minutes."));
    }
  }
  s.interval_min = spinnaker::Int(request, "analysisIntervalMins", 0);
  if (s.interval_min <= 0 || s.interval_min > s.lifetime_min) {
    s.interval_min = s.lifetime_min;
  }
  s.runs = s.lifetime_min / s.interval_min;
  if (s.runs > kMaxAnalysisRuns) {
    return absl::InvalidArgumentError(absl::StrCat(
        "The canary analysis would make ", s.runs, " runs (lifetime ",
        s.lifetime_min, " / interval ", s.interval_min, " minutes); at most ",
        kMaxAnalysisRuns, " are allowed."));
  }
  return s;
}

constexpr int64_t kMin = 60000;

// When run i (1-based) is due.
int64_t DueMs(const Schedule& s, int64_t created_ms, int64_t i) {
  return created_ms + s.warmup_min * kMin +
         (s.has_end ? 0 : i * s.interval_min * kMin);
}

// The CanaryExecutionRequest of run i.
absl::StatusOr<Json> RunRequest(const Schedule& s, const Json& request,
                                int64_t i) {
  int64_t start = s.start0_ms, end;
  const int64_t offset = i * s.interval_min * kMin;
  if (s.has_end) {
    end = s.start0_ms + offset;
  } else {
    start = s.start0_ms + s.warmup_min * kMin;
    end = start + offset;
  }
  if (s.lookback_min > 0) start = end - s.lookback_min * kMin;
  Json scopes = Json::object();
  for (const Json& scope : Array(request, "scopes")) {
    const int64_t offset_min =
        spinnaker::Int(scope, "controlOffsetInMinutes", 0);
    if (offset_min < -kMaxMinutes || offset_min > kMaxMinutes) {
      return absl::InvalidArgumentError(
          absl::StrCat("controlOffsetInMinutes must be between ", -kMaxMinutes,
                       " and ", kMaxMinutes, "."));
    }
    const int64_t control_offset = offset_min * kMin;
    const int64_t step = spinnaker::Int(scope, "step", 60);
    if (step < 1 || step > kMaxStepSeconds) {
      return absl::InvalidArgumentError(absl::StrCat(
          "step must be between 1 and ", kMaxStepSeconds, " seconds."));
    }
    for (int64_t ms :
         {start, end, start - control_offset, end - control_offset}) {
      if (!spinnaker::SaneEpochMs(ms)) {
        return absl::InvalidArgumentError(
            "The canary analysis windows must lie within years 0001..9999.");
      }
    }
    const Json params = Object(scope, "extendedScopeParams");
    std::string name = String(scope, "scopeName", "default");
    scopes[name] = Json{{"controlScope",
                         {{"scope", String(scope, "controlScope")},
                          {"location", String(scope, "controlLocation")},
                          {"start", IsoOfMs(start - control_offset)},
                          {"end", IsoOfMs(end - control_offset)},
                          {"step", step},
                          {"extendedScopeParams", params}}},
                        {"experimentScope",
                         {{"scope", String(scope, "experimentScope")},
                          {"location", String(scope, "experimentLocation")},
                          {"start", IsoOfMs(start)},
                          {"end", IsoOfMs(end)},
                          {"step", step},
                          {"extendedScopeParams", params}}}};
  }
  Json out{{"scopes", scopes}, {"thresholds", Object(request, "thresholds")}};
  if (request.contains("siteLocal")) out["siteLocal"] = request["siteLocal"];
  return out;
}

double RunScore(const Json& execution_status) {
  return spinnaker::Double(
      Object(Object(Object(execution_status, "result"), "judgeResult"),
             "score"),
      "score");
}

}  // namespace

absl::StatusOr<std::string> KayentaCore::StartCanaryAnalysis(
    const RunSource& source, const Json& request) {
  std::string config_id;
  GENNAKER_ASSIGN_OR_RETURN(Json config, ResolveConfig(source, &config_id));
  if (!request.is_object()) {
    return absl::InvalidArgumentError(
        "Canary analysis execution request must be a JSON object");
  }
  GENNAKER_RETURN_IF_ERROR(ThresholdsOf(request).status());
  const int64_t now = clock_->NowMs();
  GENNAKER_ASSIGN_OR_RETURN(Schedule schedule, ScheduleOf(request, now));
  // The first run's request shows every problem a run would have.
  GENNAKER_ASSIGN_OR_RETURN(Json probe, RunRequest(schedule, request, 1));
  std::set<std::string> scope_names;
  const Json probe_scopes = Object(probe, "scopes");
  for (const auto& [name, pair] : probe_scopes.items()) {
    scope_names.insert(name);
  }
  const Json metrics = Array(config, "metrics");
  if (metrics.empty()) {
    return absl::InvalidArgumentError(
        "Canary config must specify at least one metric.");
  }
  for (const Json& m : metrics) {
    if (scope_names.count(String(m, "scopeName")) == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("Canary metric '", String(m, "name"),
                       "' has scopeName '", String(m, "scopeName"),
                       "' which is not among the execution request's scopes."));
    }
  }
  GENNAKER_ASSIGN_OR_RETURN(MetricsSource * src,
                            Source(source.metrics_account));

  const std::string id = NewUlid();
  Json st = Json::object();
  st["application"] =
      source.application.empty() ? "ad-hoc" : source.application;
  st["user"] = source.user.empty() ? "anonymous" : source.user;
  if (!source.parent_pipeline_execution_id.empty()) {
    st["parentPipelineExecutionId"] = source.parent_pipeline_execution_id;
  }
  st["pipelineId"] = id;
  st["stageStatus"] = Json::array();
  st["complete"] = false;
  st["executionStatus"] = "NOT_STARTED";
  st["status"] = kNotStarted;
  st["canaryAnalysisExecutionResult"] =
      Json{{"hasWarnings", false},
           {"canaryScores", Json::array()},
           {"canaryExecutionResults", Json::array()}};
  st["canaryAnalysisExecutionRequest"] = request;
  st["canaryConfig"] = config;
  if (!config_id.empty()) st["canaryConfigId"] = config_id;
  SetTimes(st, "build", now);
  SetTimes(st, "start", now);
  GENNAKER_ASSIGN_OR_RETURN(std::string stored,
                            InsertNew(store_, Kind::kAnalysis, id, src->Name(),
                                      source.idempotency_key, now, st));
  if (stored == id) {
    SPDLOG_INFO("event=canary_analysis_started analysis={} runs={}", id,
                schedule.runs);
    AdvanceAnalysis(id);
  }
  return stored;
}

absl::StatusOr<Record> KayentaCore::GetAnalysis(const std::string& id) {
  return store_->Get(Kind::kAnalysis, id);
}

namespace {

void SetAnalysisStatus(Json& st, absl::string_view status) {
  st["status"] = std::string(status);
  st["executionStatus"] = absl::AsciiStrToUpper(status);
  st["complete"] = IsComplete(status);
}

}  // namespace

absl::StatusOr<bool> KayentaCore::CancelCanaryAnalysis(const std::string& id) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    GENNAKER_ASSIGN_OR_RETURN(Record r, store_->Get(Kind::kAnalysis, id));
    if (IsComplete(r.status)) return false;
    GENNAKER_ASSIGN_OR_RETURN(Json st, ParseBody(r));
    const int64_t now = clock_->NowMs();
    SetAnalysisStatus(st, kCanceled);
    SetTimes(st, "end", now);
    for (Json& stage : st["stageStatus"]) {
      if (!IsComplete(String(stage, "status"))) stage["status"] = kCanceled;
    }
    r.status = kCanceled;
    r.body = Dump(st);
    r.updated_ms = now;
    UpdateOptions opts;
    opts.expected_version = r.version;
    absl::StatusOr<Record> u = store_->Update(Kind::kAnalysis, r, opts);
    if (u.ok()) {
      for (const Json& run : Array(Object(st, "canaryAnalysisExecutionResult"),
                                   "canaryExecutionResults")) {
        absl::StatusOr<bool> c = CancelCanary(String(run, "executionId"));
        if (!c.ok()) {
          SPDLOG_WARN("event=canary_cancel_failed execution={} error={}",
                      String(run, "executionId"), c.status().ToString());
        }
      }
      SPDLOG_INFO("event=canary_analysis_canceled analysis={}", id);
      return true;
    }
    if (u.status().code() != absl::StatusCode::kAborted) return u.status();
  }
  return absl::AbortedError(
      absl::StrCat("canary analysis '", id, "' keeps changing; retry"));
}

void KayentaCore::Tick() {
  ListQuery q;
  q.statuses = {kNotStarted, kRunning};
  q.with_body = false;
  absl::StatusOr<std::vector<Record>> runs = store_->List(Kind::kExecution, q);
  if (runs.ok()) {
    for (const Record& r : *runs) Enqueue(r.id);
  } else {
    SPDLOG_WARN("event=canary_resume_failed error={}",
                runs.status().ToString());
  }
  absl::StatusOr<std::vector<Record>> analyses =
      store_->List(Kind::kAnalysis, q);
  if (!analyses.ok()) return;
  for (const Record& r : *analyses) AdvanceAnalysis(r.id);
}

void KayentaCore::AdvanceAnalysis(const std::string& id) {
  absl::StatusOr<Record> rec = store_->Get(Kind::kAnalysis, id);
  if (!rec.ok() || IsComplete(rec->status)) return;
  absl::StatusOr<Json> parsed = ParseBody(*rec);
  if (!parsed.ok()) return;
  Json st = *std::move(parsed);
  const int64_t now = clock_->NowMs();
  const int64_t created =
      spinnaker::Int(st, "startTimeMillis", rec->created_ms);
  const Json request = Object(st, "canaryAnalysisExecutionRequest");
  std::optional<Thresholds> thresholds;
  if (absl::StatusOr<Thresholds> t = ThresholdsOf(request); t.ok()) {
    thresholds = *t;
  }
  // Copies, written back at the end: st is an ordered map (a vector), so a
  // reference into it would dangle once a key is added.
  Json result = Object(st, "canaryAnalysisExecutionResult");
  Json runs = Array(result, "canaryExecutionResults");
  Json stages = Array(st, "stageStatus");
  bool changed = false;
  auto finish = [&](absl::string_view status, bool passed,
                    const std::string& message) {
    SetAnalysisStatus(st, status);
    result["didPassThresholds"] = passed;
    result["canaryScoreMessage"] = message;
    SetTimes(st, "end", now);
    result["endTimeIso"] = IsoOfMs(now);
    changed = true;
    SPDLOG_INFO("event=canary_analysis_done analysis={} status={} passed={}",
                id, status, passed);
  };

  absl::StatusOr<Schedule> schedule = ScheduleOf(request, created);
  if (!schedule.ok()) {
    st["exception"] = Exception("setup", schedule.status(), now);
    finish(kTerminal, false, std::string(schedule.status().message()));
  } else {
    if (String(st, "status") == kNotStarted) {
      SetAnalysisStatus(st, kRunning);
      result["startTimeIso"] = IsoOfMs(now);
      result["buildTimeIso"] = String(st, "buildTimeIso");
      changed = true;
    }
    const int64_t started = static_cast<int64_t>(runs.size());
    bool in_flight = false;
    if (started > 0) {
      Json& last = runs.back();
      if (!IsComplete(absl::AsciiStrToLower(String(last, "executionStatus")))) {
        absl::StatusOr<Record> exec =
            store_->Get(Kind::kExecution, String(last, "executionId"));
        absl::StatusOr<Json> es =
            exec.ok() ? ParseBody(*exec) : absl::StatusOr<Json>(exec.status());
        if (!es.ok()) {
          in_flight = true;  // the store will answer again on the next tick
        } else if (!IsComplete(String(*es, "status"))) {
          in_flight = true;
        } else {
          const std::string status = String(*es, "status");
          last["executionStatus"] = absl::AsciiStrToUpper(status);
          if (es->contains("exception")) last["exception"] = (*es)["exception"];
          if (es->contains("result")) last["result"] = (*es)["result"];
          for (const char* k :
               {"metricSetPairListId", "buildTimeIso", "startTimeIso",
                "endTimeIso", "storageAccountName",
                "configurationAccountName"}) {
            if (es->contains(k)) last[k] = (*es)[k];
          }
          for (Json& stage : stages) {
            if (String(stage, "executionId") == String(last, "executionId")) {
              stage["status"] = status;
            }
          }
          changed = true;
          if (status != kSucceeded) {
            if (es->contains("exception")) st["exception"] = (*es)["exception"];
            finish(
                status == kCanceled ? kCanceled : kTerminal, false,
                absl::StrCat("Canary run #", started, " ended ", status, "."));
          } else {
            const double score = RunScore(*es);
            result["canaryScores"].push_back(score);
            const Json& results =
                Array(Object(Object(*es, "result"), "judgeResult"), "results");
            for (const Json& mr : results) {
              const Json stats = Object(Object(mr, "controlMetadata"), "stats");
              if (stats.contains("count") &&
                  spinnaker::Int(stats, "count") < 50) {
                result["hasWarnings"] = true;
                if (!last["warnings"].is_array()) {
                  last["warnings"] = Json::array();
                }
                Json& w = last["warnings"];
                if (w.empty()) {
                  w.push_back(
                      "One of the metrics returned fewer than 50 data "
                      "points, which can reduce confidence in the final "
                      "canary score.");
                }
              }
            }
            if (started >= schedule->runs) {
              const double marginal = thresholds ? thresholds->marginal : 0;
              const double pass = thresholds ? thresholds->pass : 0;
              // Written so that a NaN score fails: every comparison with
              // NaN is false.
              if (!(score > marginal)) {
                finish(kSucceeded, false,
                       absl::StrCat("Final canary score ", FormatScore(score),
                                    " is not above the marginal score "
                                    "threshold."));
              } else if (!(score >= pass)) {
                finish(kSucceeded, false,
                       absl::StrCat("Final canary score ", FormatScore(score),
                                    " is below the pass score threshold."));
              } else {
                finish(kSucceeded, true,
                       absl::StrCat("Final canary score ", FormatScore(score),
                                    " met or exceeded the pass score "
                                    "threshold."));
              }
            } else if (thresholds && !(score > thresholds->marginal)) {
              // An interim score at or below marginal ends the analysis early.
              finish(kTerminal, false,
                     absl::StrCat("Canary score ", FormatScore(score),
                                  " of run #", started,
                                  " is not above the marginal score "
                                  "threshold."));
            }
          }
        }
      }
    }
    if (!IsComplete(String(st, "status")) && !in_flight &&
        started < schedule->runs &&
        now >= DueMs(*schedule, created, started + 1)) {
      const int64_t i = started + 1;
      absl::StatusOr<Json> run_request = RunRequest(*schedule, request, i);
      absl::StatusOr<std::string> exec_id = absl::InternalError("not started");
      if (run_request.ok()) {
        RunSource src;
        src.inline_config = Object(st, "canaryConfig");
        src.application = String(st, "application");
        src.parent_pipeline_execution_id = id;
        src.metrics_account = String(st, "metricsAccountName");
        // Retries of this tick (after a failed analysis write) reuse the run.
        src.idempotency_key = absl::StrCat("analysis:", id, ":", i);
        exec_id = StartCanary(src, *run_request);
      } else {
        exec_id = run_request.status();
      }
      if (!exec_id.ok() &&
          exec_id.status().code() == absl::StatusCode::kUnavailable) {
        // The store is away: the next tick tries again.
        SPDLOG_WARN("event=canary_analysis_run_deferred analysis={} error={}",
                    id, exec_id.status().ToString());
      } else if (!exec_id.ok()) {
        st["exception"] = Exception("runCanary", exec_id.status(), now);
        finish(kTerminal, false,
               absl::StrCat("Canary run #", i,
                            " could not start: ", exec_id.status().message()));
      } else {
        const Json scopes = Object(*run_request, "scopes");
        const Json experiment =
            scopes.empty() ? Json::object()
                           : Object(scopes.begin().value(), "experimentScope");
        Json entry{{"executionId", *exec_id},
                   {"executionStatus", "NOT_STARTED"},
                   {"warnings", Json::array()}};
        for (auto [key, prefix] : {std::pair{"start", "judgementStartTime"},
                                   std::pair{"end", "judgementEndTime"}}) {
          const std::string iso = String(experiment, key);
          absl::StatusOr<int64_t> ms = MsOfIso(Json(iso));
          entry[absl::StrCat(prefix, "Iso")] = iso;
          if (ms.ok()) entry[absl::StrCat(prefix, "Millis")] = *ms;
        }
        runs.push_back(std::move(entry));
        stages.push_back(Json{{"type", "runCanary"},
                              {"name", absl::StrCat("Run Canary #", i)},
                              {"status", kRunning},
                              {"executionId", *exec_id}});
        changed = true;
      }
    }
  }
  if (!changed) return;
  result["canaryExecutionResults"] = runs;
  st["canaryAnalysisExecutionResult"] = result;
  st["stageStatus"] = stages;
  Record r = *rec;
  r.status = String(st, "status");
  r.body = Dump(st);
  r.updated_ms = now;
  UpdateOptions opts;
  opts.expected_version = rec->version;
  absl::StatusOr<Record> u = store_->Update(Kind::kAnalysis, r, opts);
  if (!u.ok() && u.status().code() != absl::StatusCode::kAborted) {
    SPDLOG_WARN("event=canary_analysis_save_failed analysis={} error={}", id,
                u.status().ToString());
  }
}

}  // namespace gennaker::kayenta
