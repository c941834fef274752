// An in-memory Igor for stage tests: TriggerBuild queues an item (the same
// idempotency key returns the same item; a number of PENDING answers can be
// scripted first); the item gets a build number after `queued_polls` reads;
// the build answers building for `building_polls` reads, then ends with
// `result`. Properties and artifacts are canned. Every call is recorded.
// Not thread-safe (the engine tests drive one thread).
#ifndef GENNAKER_SERVICES_ORCA_STAGES_FAKE_IGOR_H_
#define GENNAKER_SERVICES_ORCA_STAGES_FAKE_IGOR_H_

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/orca/igor_client.h"

namespace gennaker::orca {

class FakeIgor : public Igor {
 public:
  // Knobs.
  int pending_answers = 0;         // PENDING answers before queuing
  int trigger_failures = 0;        // UNAVAILABLE answers of TriggerBuild first
  absl::Status trigger_error;      // when not OK: every TriggerBuild fails
  int queued_polls = 1;            // reads of the item before it has a number
  bool cancel_in_queue = false;    // the item is cancelled in the CI queue
  int building_polls = 2;          // reads of the build while it runs
  std::string result = "SUCCESS";  // how builds end
  Json properties = Json::object();
  absl::Status properties_error;  // when not OK: GetBuildProperties fails
  Json artifacts = Json::array();
  int64_t first_build_number = 42;

  // What happened.
  std::vector<CiBuildRequest> triggers;  // every TriggerBuild call
  std::vector<std::string> queued;       // queue ids handed out, in order
  int queue_reads = 0;
  int build_reads = 0;
  std::vector<std::string> property_files;  // GetBuildProperties file names
  std::vector<std::string> stops;  // "<master>/<job>/<queue id>/<number>"

  absl::StatusOr<CiTriggerOutcome> TriggerBuild(
      const CiBuildRequest& request) override {
    triggers.push_back(request);
    if (!trigger_error.ok()) return trigger_error;
    if (trigger_failures > 0) {
      --trigger_failures;
      return absl::UnavailableError("jenkins is down");
    }
    CiTriggerOutcome out;
    if (pending_answers > 0) {
      --pending_answers;
      out.pending = true;
      return out;
    }
    auto it = by_key_.find(request.idempotency_key);
    if (it == by_key_.end()) {
      const std::string id = absl::StrCat(1000 + queued.size() + 1);
      queued.push_back(id);
      it = by_key_.emplace(request.idempotency_key, id).first;
      items_[id] = Item{request.job, queued_polls, 0};
    }
    out.queue_id = it->second;
    return out;
  }

  absl::StatusOr<CiQueuedBuild> GetQueuedBuild(
      const std::string& master, const std::string& queue_id) override {
    ++queue_reads;
    auto it = items_.find(queue_id);
    if (it == items_.end()) {
      return absl::NotFoundError(
          absl::StrCat("no queue item ", queue_id, " on ", master));
    }
    CiQueuedBuild q;
    q.queue_id = queue_id;
    Item& item = it->second;
    if (cancel_in_queue || item.stopped) {
      q.cancelled = true;
      return q;
    }
    if (item.polls_left > 0) {
      --item.polls_left;
      return q;
    }
    if (item.number == 0) {
      item.number = first_build_number + static_cast<int64_t>(builds_.size());
      builds_[item.number] = Build{building_polls, false};
    }
    q.build_number = item.number;
    q.build_url = absl::StrCat("http://ci/job/", item.job, "/", item.number);
    return q;
  }

  absl::StatusOr<CiBuild> GetBuild(const std::string& master,
                                   const std::string& job,
                                   int64_t number) override {
    ++build_reads;
    auto it = builds_.find(number);
    if (it == builds_.end()) {
      return absl::NotFoundError(
          absl::StrCat("no build ", job, " #", number, " on ", master));
    }
    Build& b = it->second;
    CiBuild out;
    out.number = number;
    out.url = absl::StrCat("http://ci/job/", job, "/", number);
    if (b.aborted) {
      out.result = "ABORTED";
    } else if (b.polls_left > 0) {
      --b.polls_left;
      out.building = true;
    } else {
      out.result = result;
    }
    out.info = {{"building", out.building},
                {"number", number},
                {"result", out.result.empty() ? Json() : Json(out.result)},
                {"url", out.url},
                {"name", job},
                {"timestamp", "1700000000000"},
                {"duration", out.building ? 0 : 1234}};
    return out;
  }

  absl::StatusOr<bool> StopBuild(const std::string& master,
                                 const std::string& job,
                                 const std::string& queue_id,
                                 int64_t number) override {
    stops.push_back(absl::StrCat(master, "/", job, "/", queue_id, "/", number));
    bool stopped = false;
    if (auto it = items_.find(queue_id); it != items_.end() && number == 0) {
      stopped = !it->second.stopped;
      it->second.stopped = true;
    }
    if (auto it = builds_.find(number); it != builds_.end()) {
      stopped = !it->second.aborted;
      it->second.aborted = true;
    }
    return stopped;
  }

  absl::StatusOr<Json> GetBuildProperties(const std::string&,
                                          const std::string&, int64_t,
                                          const std::string& file) override {
    property_files.push_back(file);
    if (!properties_error.ok()) return properties_error;
    return properties;
  }

  absl::StatusOr<Json> GetBuildArtifacts(const std::string&, const std::string&,
                                         int64_t, const std::string&) override {
    return artifacts;
  }

 private:
  struct Item {
    std::string job;
    int polls_left = 0;
    int64_t number = 0;
    bool stopped = false;
  };
  struct Build {
    int polls_left = 0;
    bool aborted = false;
  };
  std::map<std::string, std::string> by_key_;
  std::map<std::string, Item> items_;
  std::map<int64_t, Build> builds_;
};

}  // namespace gennaker::orca

#endif  // GENNAKER_SERVICES_ORCA_STAGES_FAKE_IGOR_H_
