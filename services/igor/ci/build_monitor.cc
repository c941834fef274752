#include "services/igor/ci/build_monitor.h"

#include <optional>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"

namespace gennaker::igor {

using spinnaker::Json;

namespace {

constexpr char kCursorField[] = "lastPollCycleTimestamp";
constexpr char kPosted[] = "POSTED";
constexpr char kFirstPollDone[] = "firstPollDone";

std::string TypeName(v1::BuildServiceType t) {
  return t == v1::BUILD_SERVICE_TYPE_TRAVIS ? "travis" : "jenkins";
}

struct JobDelta {
  std::string job;
  std::string key;
  std::optional<int64_t> cursor;
  int64_t last_timestamp = 0;
  std::vector<v1::Build> completed;
  bool running = false;
};

class BuildMonitor final : public Monitor {
 public:
  BuildMonitor(BuildService* service, SeenStore* store, EventSink* sink,
               BuildMonitorOptions options)
      : service_(service),
        store_(store),
        sink_(sink),
        options_(options),
        name_(absl::StrCat(TypeName(service->type()), ":", service->name())) {}

  std::string name() const override { return name_; }

  absl::Status Poll() override {
    GENNAKER_ASSIGN_OR_RETURN(std::vector<ProjectState> projects,
                              service_->ListProjects());
    // Once a master has been polled, a job seen without a cursor is new: its
    // builds are reported (only the master's first poll is history).
    const std::string known_key =
        absl::StrCat(service_->name(), ":", kFirstPollDone);
    GENNAKER_ASSIGN_OR_RETURN(std::optional<std::string> known,
                              store_->Get(known_key));
    const bool master_known = known.has_value();
    std::vector<JobDelta> deltas;
    size_t items = 0;
    for (const ProjectState& p : projects) {
      // A build not started yet has no timestamp: nothing to do before it
      // starts.
      if (!p.has_last_build || p.last_build.timestamp_ms() <= 0) continue;
      JobDelta d;
      d.job = p.job;
      d.key = absl::StrCat(service_->name(), ":", absl::AsciiStrToUpper(p.job),
                           ":", p.job);
      d.last_timestamp = p.last_build.timestamp_ms();
      GENNAKER_ASSIGN_OR_RETURN(std::optional<std::string> cursor,
                                store_->HashGet(d.key, kCursorField));
      int64_t c = 0;
      if (cursor.has_value() && absl::SimpleAtoi(*cursor, &c)) d.cursor = c;
      if (d.cursor.has_value() && *d.cursor == d.last_timestamp) continue;
      if (!d.cursor.has_value() && !options_.handle_first_builds &&
          !master_known) {
        GENNAKER_RETURN_IF_ERROR(store_->HashSet(
            d.key, kCursorField, absl::StrCat(d.last_timestamp)));
        SPDLOG_INFO("event=build_cursor_initialized monitor={} job={} ts={}",
                    name_, d.job, d.last_timestamp);
        continue;
      }
      GENNAKER_ASSIGN_OR_RETURN(std::vector<v1::Build> builds,
                                service_->ListBuilds(p.job));
      for (v1::Build& b : builds) {
        if (b.timestamp_ms() > d.last_timestamp) continue;
        if (d.cursor.has_value() && b.timestamp_ms() <= *d.cursor) continue;
        if (b.building() || b.timestamp_ms() <= 0) {
          d.running = true;
        } else {
          d.completed.push_back(std::move(b));
        }
      }
      // Oldest first, so events leave in build order.
      std::sort(d.completed.begin(), d.completed.end(),
                [](const v1::Build& a, const v1::Build& b) {
                  return a.number() < b.number();
                });
      items += d.completed.size();
      deltas.push_back(std::move(d));
    }
    if (options_.item_upper_threshold > 0 &&
        items > static_cast<size_t>(options_.item_upper_threshold)) {
      return absl::FailedPreconditionError(absl::StrCat(
          name_, ": ", items, " new builds exceed itemUpperThreshold ",
          options_.item_upper_threshold, "; the cycle is skipped"));
    }
    for (const JobDelta& d : deltas) GENNAKER_RETURN_IF_ERROR(Commit(d));
    if (!master_known) {
      GENNAKER_RETURN_IF_ERROR(
          store_->Set(known_key, "true", std::chrono::milliseconds(0)));
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Commit(const JobDelta& d) {
    const std::string cursor =
        d.cursor.has_value() ? absl::StrCat(*d.cursor) : "none";
    const std::string markers =
        absl::StrCat(d.key, ":", kCursorField, ":", cursor);
    for (const v1::Build& b : d.completed) {
      const std::string field = absl::StrCat(b.number());
      GENNAKER_ASSIGN_OR_RETURN(std::optional<std::string> posted,
                                store_->HashGet(markers, field));
      if (posted.has_value()) continue;
      if (options_.events_disabled) {
        SPDLOG_INFO("event=build_event_disabled monitor={} job={} number={}",
                    name_, d.job, b.number());
      } else {
        GENNAKER_RETURN_IF_ERROR(
            sink_->Post(BuildEvent(service_->name(), service_->type(), b),
                        absl::StrCat("build:", service_->name(), ":", d.job,
                                     ":", b.number())));
        SPDLOG_INFO(
            "event=build_event_sent monitor={} job={} number={} result={}",
            name_, d.job, b.number(), ResultName(b.result()));
      }
      GENNAKER_RETURN_IF_ERROR(store_->HashSet(markers, field, kPosted));
    }
    if (!d.running) {
      GENNAKER_RETURN_IF_ERROR(
          store_->HashSet(d.key, kCursorField, absl::StrCat(d.last_timestamp)));
      GENNAKER_RETURN_IF_ERROR(store_->Delete(markers));
    }
    return absl::OkStatus();
  }

  BuildService* const service_;
  SeenStore* const store_;
  EventSink* const sink_;
  const BuildMonitorOptions options_;
  const std::string name_;
};

}  // namespace

Json BuildEvent(const std::string& master, v1::BuildServiceType type,
                const v1::Build& build) {
  Json artifacts = Json::array();
  for (const v1::BuildArtifact& a : build.artifacts()) {
    artifacts.push_back(Json{{"fileName", a.file_name()},
                             {"displayPath", a.display_path()},
                             {"relativePath", a.relative_path()}});
  }
  Json last{{"building", false},
            {"number", build.number()},
            {"result", ResultName(build.result())},
            {"timestamp", absl::StrCat(build.timestamp_ms())},
            {"duration", build.duration_ms()},
            {"url", build.url()},
            {"artifacts", artifacts}};
  return Json{
      {"details", Json{{"type", "build"}, {"source", "igor"}}},
      {"content",
       Json{{"master", master},
            {"type", TypeName(type)},
            {"project", Json{{"name", build.job()}, {"lastBuild", last}}}}}};
}

std::unique_ptr<Monitor> NewBuildMonitor(BuildService* service,
                                         SeenStore* store, EventSink* sink,
                                         BuildMonitorOptions options) {
  return std::make_unique<BuildMonitor>(service, store, sink, options);
}

}  // namespace gennaker::igor
