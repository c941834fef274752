// An in-memory Rosco for stage tests. A bake answers RUNNING for a few
// polls, then ends as scripted (success, or a failure / cancel with a
// message). As rosco does, a request with the same bake key (provider,
// base OS, base AMI, image name, template, packages, artifact references,
// region) as a running or successful bake gets that bake back (reused)
// unless `rebake`; the same idempotency key always gets the first call's
// bake. Local bakes produce "local/image" artifacts with a "sha256:<hex>"
// reference. Not thread-safe (the engine tests drive one thread).
#ifndef GENNAKER_SERVICES_ORCA_STAGES_FAKE_ROSCO_H_
#define GENNAKER_SERVICES_ORCA_STAGES_FAKE_ROSCO_H_

#include <algorithm>
#include <cstdio>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/orca/rosco_client.h"

namespace gennaker::orca {

class FakeRosco : public Rosco {
 public:
  // How a started bake ends.
  struct Outcome {
    std::string state = "COMPLETED";  // or CANCELED
    std::string result = "SUCCESS";   // or FAILURE
    std::string failure_message;
  };

  // Knobs.
  std::deque<Outcome> outcomes;  // one per new bake; empty: success
  int polls_running = 2;         // RUNNING answers before the outcome
  bool unavailable = false;      // every call answers UNAVAILABLE

  // What happened.
  struct Call {
    std::string region;
    RoscoBakeRequest request;
    bool rebake = false;
    std::string idempotency_key;
  };
  std::vector<Call> calls;            // every CreateBake
  int bakes_started = 0;              // new bakes (not reused)
  std::vector<std::string> canceled;  // CancelBake calls (status ids)
  int polls = 0;

  absl::StatusOr<RoscoCreatedBake> CreateBake(
      const std::string& region, const RoscoBakeRequest& request, bool rebake,
      const std::string& idempotency_key) override {
    if (unavailable) return absl::UnavailableError("rosco is down");
    calls.push_back({region, request, rebake, idempotency_key});
    if (auto it = by_idempotency_.find(idempotency_key);
        it != by_idempotency_.end()) {
      return RoscoCreatedBake{Status(bakes_[it->second]), true};
    }
    const std::string key = BakeKey(region, request);
    if (auto it = by_key_.find(key); it != by_key_.end() && !rebake) {
      const Bake& b = bakes_[it->second];
      if (b.status.state == "RUNNING" || b.status.result == "SUCCESS") {
        by_idempotency_[idempotency_key] = b.status.id;
        return RoscoCreatedBake{Status(b), true};
      }
    }
    ++bakes_started;
    Bake b;
    b.status.id = absl::StrCat("status-", bakes_started);
    b.status.state = "RUNNING";
    b.status.region = region;
    b.status.bake_key = key;
    b.polls_left = polls_running;
    if (!outcomes.empty()) {
      b.outcome = outcomes.front();
      outcomes.pop_front();
    }
    b.request = request;
    bakes_[b.status.id] = b;
    by_key_[key] = b.status.id;
    by_idempotency_[idempotency_key] = b.status.id;
    return RoscoCreatedBake{b.status, false};
  }

  absl::StatusOr<RoscoBakeStatus> GetBakeStatus(
      const std::string&, const std::string& status_id) override {
    if (unavailable) return absl::UnavailableError("rosco is down");
    auto it = bakes_.find(status_id);
    if (it == bakes_.end()) {
      return absl::NotFoundError(absl::StrCat("no bake status ", status_id));
    }
    ++polls;
    Bake& b = it->second;
    if (b.status.state == "RUNNING") {
      if (b.polls_left > 0) {
        --b.polls_left;
      } else {
        Finish(b);
      }
    }
    return Status(b);
  }

  absl::StatusOr<RoscoBake> GetBake(const std::string&,
                                    const std::string& bake_id) override {
    if (unavailable) return absl::UnavailableError("rosco is down");
    for (const auto& [id, b] : bakes_) {
      if (b.status.resource_id == bake_id && !b.status.resource_id.empty()) {
        return b.bake;
      }
    }
    return absl::NotFoundError(absl::StrCat("no bake ", bake_id));
  }

  absl::StatusOr<bool> CancelBake(const std::string&,
                                  const std::string& status_id) override {
    canceled.push_back(status_id);
    auto it = bakes_.find(status_id);
    if (it == bakes_.end()) {
      return absl::NotFoundError(absl::StrCat("no bake status ", status_id));
    }
    if (it->second.status.state != "RUNNING") return false;
    it->second.status.state = "CANCELED";
    it->second.status.failure_message = "canceled by orca";
    return true;
  }

  // The image name a bake of `request` gets: rosco's default convention.
  static std::string ImageName(const RoscoBakeRequest& r) {
    std::string name = r.ami_name;
    if (name.empty()) name = r.package.substr(0, r.package.find_first_of(" ="));
    std::vector<std::string> parts = {name, "all", r.ami_suffix, r.base_os};
    parts.erase(std::remove(parts.begin(), parts.end(), ""), parts.end());
    return absl::StrJoin(parts, "-");
  }

 private:
  struct Bake {
    RoscoBakeStatus status;
    Outcome outcome;
    int polls_left = 0;
    RoscoBakeRequest request;
    RoscoBake bake;
  };

  static RoscoBakeStatus Status(const Bake& b) { return b.status; }

  static std::string BakeKey(const std::string& region,
                             const RoscoBakeRequest& r) {
    std::vector<std::string> refs;
    for (const Json& a : r.package_artifacts) {
      refs.push_back(String(a, "reference"));
    }
    return absl::StrJoin({std::string("bake"), r.cloud_provider_type, r.base_os,
                          r.base_ami, r.ami_name, r.template_file_name,
                          r.package, absl::StrJoin(refs, "|"), region},
                         ":");
  }

  void Finish(Bake& b) {
    b.status.state = b.outcome.state;
    b.status.result = b.outcome.state == "COMPLETED" ? b.outcome.result : "";
    b.status.failure_message = b.outcome.failure_message;
    if (b.status.result != "SUCCESS") return;
    b.status.resource_id = absl::StrCat("bake-", b.status.id.substr(7));
    char hex[65];
    std::snprintf(hex, sizeof(hex), "%064x",
                  static_cast<unsigned>(bakes_.size() * 7919 +
                                        std::stoi(b.status.id.substr(7))));
    const std::string image_id = absl::StrCat("sha256:", hex);
    const RoscoBakeRequest& r = b.request;
    b.bake.id = b.status.resource_id;
    b.bake.image_name = ImageName(r);
    b.bake.regions = {b.status.region};
    b.bake.cloud_provider_type = r.cloud_provider_type;
    const bool local = r.cloud_provider_type == "local";
    if (!local) b.bake.ami = absl::StrCat("ami-", b.status.id.substr(7));
    b.bake.artifact = {{"type", absl::StrCat(r.cloud_provider_type, "/image")},
                       {"name", b.bake.image_name},
                       {"reference", local ? image_id : b.bake.ami},
                       {"location", b.status.region},
                       {"metadata",
                        {{"build_info_url", r.build_info_url},
                         {"build_number", r.build_number}}}};
    b.bake.artifacts = Json::array({b.bake.artifact});
  }

  std::map<std::string, Bake> bakes_;  // by status id
  std::map<std::string, std::string> by_key_;
  std::map<std::string, std::string> by_idempotency_;
};

}  // namespace gennaker::orca

#endif  // GENNAKER_SERVICES_ORCA_STAGES_FAKE_ROSCO_H_
