// EchoCore's pipeline cache and cron schedule (see echo_core.h).
#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/ids/ids.h"
#include "common/log/log.h"
#include "common/metrics/metrics.h"
#include "common/status/status_macros.h"
#include "services/echo/echo_core.h"

namespace gennaker::echo {
namespace {

using spinnaker::Dump;

int64_t NextMs(const CronExpression& expr, absl::TimeZone zone,
               int64_t after_ms) {
  absl::Time t = expr.NextAfter(absl::FromUnixMillis(after_ms), zone);
  if (t == absl::InfiniteFuture()) return 0;
  return absl::ToUnixMillis(t);
}

}  // namespace

// ---- pipelines and schedule ----

absl::StatusOr<SyncCounts> EchoCore::RefreshPipelines() {
  if (front50_ == nullptr) {
    return absl::FailedPreconditionError("front50 is not configured");
  }
  absl::MutexLock refresh(&refresh_mu_);
  GENNAKER_ASSIGN_OR_RETURN(std::vector<Json> pipelines,
                            front50_->ListPipelines());
  auto index = std::make_shared<const TriggerIndex>(
      std::move(pipelines), MatchOptions{options_.git_shared_secret});
  {
    absl::MutexLock l(&index_mu_);
    index_ = index;
  }
  SyncCounts counts;
  size_t scheduled;
  {
    absl::MutexLock l(&schedule_mu_);
    counts = SyncSchedule(*index);
    scheduled = schedule_.size();
  }
  if (options_.metrics != nullptr) {
    options_.metrics->SetGauge("echo_pipelines_indexed",
                               static_cast<double>(index->pipeline_count()));
    options_.metrics->SetGauge("echo_cron_triggers_scheduled",
                               static_cast<double>(scheduled));
  }
  SPDLOG_INFO(
      "event=echo_pipelines_loaded pipelines={} triggers={} cron={} "
      "added={} updated={} removed={}",
      index->pipeline_count(), index->trigger_count(), scheduled, counts.added,
      counts.updated, counts.removed);
  {
    absl::MutexLock l(&mu_);
    ++wake_seq_;
    ++sched_seq_;
  }
  return counts;
}

void EchoCore::RequestRefresh() {
  absl::MutexLock l(&mu_);
  refresh_requested_ = true;
}

SyncCounts EchoCore::SyncSchedule(const TriggerIndex& index) {
  SyncCounts counts;
  const int64_t now = clock_->NowMs();
  std::map<std::string, Scheduled> next;
  for (const TriggerIndex::CronTrigger& ct : index.CronTriggers()) {
    const std::string tid = spinnaker::String(ct.trigger, "id");
    const std::string pid = spinnaker::String(ct.pipeline, "id");
    if (tid.empty() || pid.empty()) continue;
    const std::string key = absl::StrCat(pid, "\n", tid);
    const std::string expression =
        spinnaker::String(ct.trigger, "cronExpression");
    const std::string run_as = spinnaker::String(ct.trigger, "runAsUser");
    const Json params = spinnaker::Object(ct.trigger, "parameters");
    const std::string params_dump = Dump(params);
    auto it = schedule_.find(key);
    if (it != schedule_.end() &&
        it->second.info.cron_expression == expression &&
        it->second.info.run_as_user == run_as &&
        it->second.params_dump == params_dump) {
      Scheduled keep = it->second;
      keep.trigger = ct.trigger;
      keep.info.pipeline_name = spinnaker::String(ct.pipeline, "name");
      keep.info.application = spinnaker::String(ct.pipeline, "application");
      next.emplace(key, std::move(keep));
      continue;
    }
    absl::StatusOr<CronExpression> expr =
        CronExpression::Parse(expression, tid);
    if (!expr.ok()) {
      SPDLOG_WARN("event=echo_cron_invalid pipeline={} trigger={} error=\"{}\"",
                  pid, tid, expr.status().message());
      continue;
    }
    Scheduled s;
    s.info.trigger_id = tid;
    s.info.pipeline_id = pid;
    s.info.pipeline_name = spinnaker::String(ct.pipeline, "name");
    s.info.application = spinnaker::String(ct.pipeline, "application");
    s.info.cron_expression = expression;
    s.info.effective_expression = expr->effective_expression();
    s.info.time_zone = options_.time_zone;
    s.info.run_as_user = run_as;
    s.info.parameters = params;
    s.info.next_fire_ms = NextMs(*expr, zone_, now);
    s.expr = *std::move(expr);
    s.trigger = ct.trigger;
    s.params_dump = params_dump;
    if (it != schedule_.end()) {
      s.info.previous_fire_ms = it->second.info.previous_fire_ms;
      ++counts.updated;
    } else {
      ++counts.added;
    }
    next.emplace(key, std::move(s));
  }
  for (const auto& [key, s] : schedule_) {
    if (next.count(key) == 0) ++counts.removed;
  }
  schedule_ = std::move(next);
  return counts;
}

std::vector<ScheduledTriggerInfo> EchoCore::ScheduledTriggers() {
  std::vector<ScheduledTriggerInfo> out;
  {
    absl::MutexLock l(&schedule_mu_);
    for (const auto& [key, s] : schedule_) out.push_back(s.info);
  }
  std::sort(
      out.begin(), out.end(),
      [](const ScheduledTriggerInfo& a, const ScheduledTriggerInfo& b) {
        const int64_t na = a.next_fire_ms == 0 ? INT64_MAX : a.next_fire_ms;
        const int64_t nb = b.next_fire_ms == 0 ? INT64_MAX : b.next_fire_ms;
        if (na != nb) return na < nb;
        if (a.pipeline_id != b.pipeline_id) {
          return a.pipeline_id < b.pipeline_id;
        }
        return a.trigger_id < b.trigger_id;
      });
  return out;
}

CronValidation EchoCore::ValidateCron(const std::string& expression,
                                      const std::string& trigger_id,
                                      int count) {
  CronValidation out;
  out.time_zone = options_.time_zone;
  absl::StatusOr<CronExpression> expr =
      CronExpression::Parse(expression, trigger_id);
  if (!expr.ok()) {
    out.message = std::string(expr.status().message());
    return out;
  }
  out.valid = true;
  out.message = "Cron expression is valid";
  count = std::clamp(count, 1, 100);
  for (absl::Time t :
       expr->NextTimes(absl::FromUnixMillis(clock_->NowMs()), zone_, count)) {
    if (t == absl::InfiniteFuture()) break;
    out.next_fire_ms.push_back(absl::ToUnixMillis(t));
  }
  return out;
}

void EchoCore::RunScheduler() {
  const int64_t now = clock_->NowMs();
  std::vector<std::tuple<std::string, Scheduled, int64_t>> fires;
  {
    absl::MutexLock l(&schedule_mu_);
    for (auto& [key, s] : schedule_) {
      // Slots whose claim failed before: again, unless too late by now.
      for (int64_t slot : s.retry_slots) {
        if (now - slot > options_.misfire_threshold_ms) {
          SPDLOG_WARN(
              "event=echo_cron_misfire pipeline={} trigger={} slot_ms={} "
              "late_ms={} reason=claim_failed",
              s.info.pipeline_id, s.info.trigger_id, slot, now - slot);
          continue;
        }
        fires.emplace_back(key, s, slot);
      }
      s.retry_slots.clear();
      int64_t slot = s.info.next_fire_ms;
      if (slot == 0 || slot > now || !s.expr) continue;
      if (now - slot > options_.misfire_threshold_ms) {
        // Quartz's "misfire: do nothing": late slots are dropped.
        SPDLOG_INFO(
            "event=echo_cron_misfire pipeline={} trigger={} "
            "slot_ms={} late_ms={}",
            s.info.pipeline_id, s.info.trigger_id, slot, now - slot);
        slot = NextMs(*s.expr, zone_, now - options_.misfire_threshold_ms - 1);
      }
      while (slot != 0 && slot <= now) {
        fires.emplace_back(key, s, slot);
        s.info.previous_fire_ms = slot;
        slot = NextMs(*s.expr, zone_, slot);
      }
      s.info.next_fire_ms = slot;
    }
  }
  std::vector<std::pair<std::string, int64_t>> failed;
  for (const auto& [key, s, slot] : fires) {
    if (!FireSlot(s, slot)) failed.emplace_back(key, slot);
  }
  if (failed.empty()) return;
  // Kept pending: the slot's primary key stops a second fire if the failed
  // claim did commit.
  absl::MutexLock l(&schedule_mu_);
  for (const auto& [key, slot] : failed) {
    auto it = schedule_.find(key);
    if (it != schedule_.end()) it->second.retry_slots.push_back(slot);
  }
}

bool EchoCore::FireSlot(const Scheduled& s, int64_t slot_ms) {
  const std::string event_id = NewUuid();
  const std::string key = absl::StrCat("cron:", s.info.pipeline_id, ":",
                                       s.info.trigger_id, ":", slot_ms);
  const int64_t now = clock_->NowMs();
  Json event{{"eventId", event_id},
             {"details",
              {{"type", kCronEventType},
               {"source", "echo"},
               {"application", s.info.application},
               {"created", std::to_string(now)}}},
             {"content",
              {{"pipelineId", s.info.pipeline_id},
               {"pipelineName", s.info.pipeline_name},
               {"application", s.info.application},
               {"triggerId", s.info.trigger_id},
               {"slotMs", slot_ms},
               {"trigger", CronExecutionTrigger(s.trigger, event_id)},
               {"idempotencyKey", key},
               {"runAsUser", s.info.run_as_user}}}};
  EventRow row;
  row.id = event_id;
  row.idempotency_key = key;
  row.type = kCronEventType;
  row.source = "echo";
  row.application = s.info.application;
  row.created_ms = row.accepted_ms = row.next_attempt_ms = row.updated_ms = now;
  row.body = Dump(event);
  absl::StatusOr<bool> claimed = store_->ClaimCronSlot(
      CronSlot{s.info.trigger_id, s.info.pipeline_id, slot_ms},
      options_.instance_id, row);
  if (!claimed.ok()) {
    SPDLOG_ERROR(
        "event=echo_cron_claim_failed pipeline={} trigger={} "
        "slot_ms={} error=\"{}\"",
        s.info.pipeline_id, s.info.trigger_id, slot_ms,
        claimed.status().ToString());
    return false;
  }
  if (*claimed) {
    SPDLOG_INFO(
        "event=echo_cron_fired pipeline={} trigger={} slot_ms={} "
        "event_id={}",
        s.info.pipeline_id, s.info.trigger_id, slot_ms, event_id);
    Wake();
  }
  return true;
}

void EchoCore::SchedulerLoop() {
  while (true) {
    int64_t seq;
    {
      absl::MutexLock l(&mu_);
      if (stopping_) return;
      seq = sched_seq_;
    }
    RunScheduler();
    int64_t next = 0;
    {
      absl::MutexLock l(&schedule_mu_);
      for (const auto& [key, s] : schedule_) {
        if (s.info.next_fire_ms != 0 &&
            (next == 0 || s.info.next_fire_ms < next)) {
          next = s.info.next_fire_ms;
        }
      }
    }
    // Wait until the next slot (re-checked at least every second, so a
    // changed schedule or wall clock is noticed and slots whose claim failed
    // are retried).
    int64_t wait_ms = 1000;
    if (next != 0) {
      wait_ms = std::clamp<int64_t>(next - clock_->NowMs(), 0, 1000);
    }
    if (wait_ms == 0) continue;
    absl::MutexLock l(&mu_);
    auto cond = [this, seq]() {
      mu_.AssertHeld();
      return stopping_ || sched_seq_ != seq;
    };
    mu_.AwaitWithTimeout(absl::Condition(&cond), absl::Milliseconds(wait_ms));
  }
}

void EchoCore::RunRetention() {
  const int64_t before =
      clock_->NowMs() - int64_t{options_.retention_days} * 24 * 3600 * 1000;
  absl::StatusOr<int64_t> n = store_->DeleteFinishedBefore(before);
  if (!n.ok()) {
    SPDLOG_WARN("event=echo_retention_failed error=\"{}\"",
                n.status().ToString());
  } else if (*n > 0) {
    SPDLOG_INFO("event=echo_retention_deleted events={}", *n);
  }
}

void EchoCore::RefreshLoop() {
  absl::Duration backoff = absl::Seconds(1);
  absl::Time next_retention = absl::Now();
  while (true) {
    {
      absl::MutexLock l(&mu_);
      if (stopping_) return;
      refresh_requested_ = false;
    }
    absl::StatusOr<SyncCounts> r = RefreshPipelines();
    absl::Duration wait = absl::Milliseconds(options_.pipeline_poll_ms);
    if (!r.ok()) {
      SPDLOG_WARN("event=echo_pipelines_load_failed error=\"{}\"",
                  r.status().ToString());
      wait = std::min(wait, backoff);
      backoff = std::min(backoff * 2, absl::Seconds(30));
    } else {
      backoff = absl::Seconds(1);
    }
    if (absl::Now() >= next_retention) {
      RunRetention();
      next_retention = absl::Now() + absl::Hours(1);
    }
    absl::MutexLock l(&mu_);
    auto cond = [this]() {
      mu_.AssertHeld();
      return stopping_ || refresh_requested_;
    };
    mu_.AwaitWithTimeout(absl::Condition(&cond), wait);
  }
}

}  // namespace gennaker::echo
