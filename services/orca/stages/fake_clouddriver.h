// An in-memory CloudDriver for stage tests, with the local provider's
// shapes (region "localhost"): operations run when they are submitted, a
// submission is de-duplicated by its idempotency key, tasks can answer
// "running" for a few polls, operations can be made to fail, and a
// submission's answer can be "lost" (the work is done, the caller sees
// UNAVAILABLE) to imitate a crash between the call and its commit. A deploy
// with an image ("imageId", "image" or "imageName") records it on the server
// group as clouddriver's local provider does; FindImages searches `images`.
#ifndef GENNAKER_SERVICES_ORCA_STAGES_FAKE_CLOUDDRIVER_H_
#define GENNAKER_SERVICES_ORCA_STAGES_FAKE_CLOUDDRIVER_H_

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log/call_context.h"
#include "services/orca/clouddriver_client.h"

namespace gennaker::orca {

class FakeCloudDriver : public CloudDriver {
 public:
  // Knobs.
  bool instances_healthy = true;      // new instances are Up (else Down)
  int polls_to_complete = 0;          // GetTask answers "running" first
  std::set<std::string> failing_ops;  // these operations fail
  int lose_submit_answers = 0;        // next N Submits answer UNAVAILABLE
  bool unavailable = false;           // every call answers UNAVAILABLE
  bool server_group_reads_unavailable = false;  // GetServerGroup does
  // The next N reads of a group answer desired 0 and no instances.
  std::map<std::string, int> stale_reads;

  // What happened.
  int orphan_next_tasks = 0;  // next N tasks fail retryably, unrun

  int submit_calls = 0;
  // The caller of each Submit (what the real client sends as
  // x-spinnaker-user), in order.
  std::vector<std::string> submit_users;
  int resumes = 0;
  std::vector<Json> executed;  // every operation run, in order
  std::map<std::string, std::string> task_by_key;
  std::map<std::string, Json> groups;  // by name
  std::map<std::string, Json> load_balancers;
  std::map<std::string, Json> security_groups;
  // Images FindImages searches: {imageId, imageName, cloudProvider,
  // accounts[], regions[], tags{}, createdAt}.
  std::vector<Json> images;
  // FindImages calls: {cloudProvider, query, account, region, tags}.
  std::vector<Json> image_searches;

  // Adds a server group of `cluster` ("app-stack") with sequence `seq`.
  Json& AddGroup(const std::string& cluster, int seq, Json capacity,
                 bool enabled = true, bool healthy = true,
                 Json command = Json::array({"srv", "v1"})) {
    char version[16];
    std::snprintf(version, sizeof(version), "-v%03d", seq);
    std::string name = cluster + version;
    Json& g = groups[name];
    g = {{"name", name},
         {"type", "local"},
         {"cloudProvider", "local"},
         {"account", "local"},
         {"region", "localhost"},
         {"zones", {"localhost"}},
         {"application", cluster.substr(0, cluster.find('-'))},
         {"cluster", cluster},
         {"moniker",
          {{"app", cluster.substr(0, cluster.find('-'))},
           {"cluster", cluster},
           {"sequence", seq}}},
         {"isDisabled", !enabled},
         {"createdTime", ++clock_},
         {"capacity", Json::object()},
         {"instances", Json::array()},
         {"loadBalancers", Json::array()},
         {"securityGroups", Json::array()},
         {"launchConfig", {{"command", command}}}};
    SetCapacity(g, capacity, healthy);
    return g;
  }

  absl::StatusOr<std::string> Submit(const Json& operations,
                                     const std::string& key,
                                     const std::string& application) override {
    ++submit_calls;
    submit_users.push_back(CurrentCallContext().user);
    if (unavailable) return absl::UnavailableError("clouddriver is down");
    std::string id;
    auto found = task_by_key.find(key);
    if (found != task_by_key.end()) {
      id = found->second;
    } else {
      id = absl::StrCat("task-", tasks_.size() + 1);
      task_by_key[key] = id;
      if (orphan_next_tasks > 0) {
        // As if clouddriver restarted before running it.
        --orphan_next_tasks;
        pending_[id] = operations;
        tasks_[id] = {
            {"id", id},
            {"status",
             {{"completed", true},
              {"failed", true},
              {"retryable", true},
              {"status", "Orphaned"}}},
            {"history", Json::array()},
            {"resultObjects",
             {{{"type", "EXCEPTION"}, {"message", "clouddriver stopped"}}}}};
      } else {
        Run(id, operations, application);
      }
    }
    if (lose_submit_answers > 0) {
      --lose_submit_answers;
      return absl::UnavailableError("connection reset after the call");
    }
    return id;
  }

  absl::Status ResumeTask(const std::string& id) override {
    auto it = tasks_.find(id);
    if (it == tasks_.end()) return absl::NotFoundError("no task " + id);
    if (!it->second["status"].value("retryable", false)) {
      return absl::FailedPreconditionError("not retryable");
    }
    ++resumes;
    Json ops = pending_[id];
    pending_.erase(id);
    Run(id, ops, "");
    return absl::OkStatus();
  }

  absl::StatusOr<Json> GetTask(const std::string& id) override {
    if (unavailable) return absl::UnavailableError("clouddriver is down");
    auto it = tasks_.find(id);
    if (it == tasks_.end()) return absl::NotFoundError("no task " + id);
    Json t = it->second;
    int& left = polls_left_[id];
    if (left > 0) {
      --left;
      t["status"] = {{"phase", "ORCHESTRATION"}, {"status", "Processing op"},
                     {"complete", false},        {"completed", false},
                     {"failed", false},          {"retryable", false}};
    }
    return t;
  }

  absl::StatusOr<Json> GetCluster(const std::string&,
                                  const std::string& account,
                                  const std::string& cluster,
                                  const std::string&) override {
    if (unavailable) return absl::UnavailableError("clouddriver is down");
    Json sgs = Json::array();
    for (const auto& [name, g] : groups) {
      if (String(g, "cluster") == cluster && String(g, "account") == account) {
        sgs.push_back(g);
      }
    }
    if (sgs.empty()) return absl::NotFoundError("no cluster " + cluster);
    return Json{{"name", cluster},
                {"accountName", account},
                {"type", "local"},
                {"serverGroups", sgs},
                {"loadBalancers", Json::array()}};
  }

  absl::StatusOr<Json> GetServerGroup(const std::string& account,
                                      const std::string& region,
                                      const std::string& name) override {
    if (unavailable || server_group_reads_unavailable) {
      return absl::UnavailableError("clouddriver is down");
    }
    auto it = groups.find(name);
    if (it == groups.end() || String(it->second, "account") != account ||
        String(it->second, "region") != region) {
      return absl::NotFoundError("no server group " + name);
    }
    if (stale_reads[name] > 0) {
      --stale_reads[name];
      Json stale = it->second;
      stale["capacity"] = {{"min", 0}, {"max", 0}, {"desired", 0}};
      stale["instances"] = Json::array();
      stale["instanceCounts"] = {{"total", 0}, {"up", 0}, {"down", 0}};
      return stale;
    }
    return it->second;
  }

  // Resolved over the groups as clouddriver does: newest first by creation
  // time; the largest is the first with the most instances.
  absl::StatusOr<Json> TargetServerGroup(
      const std::string&, const std::string& account,
      const std::string& cluster, const std::string&, const std::string& region,
      spinnaker::Target target, bool only_enabled) override {
    if (unavailable) return absl::UnavailableError("clouddriver is down");
    std::vector<Json> sgs;
    for (const auto& [name, g] : groups) {
      if (String(g, "cluster") != cluster || String(g, "account") != account ||
          String(g, "region") != region) {
        continue;
      }
      if (only_enabled && g.value("isDisabled", false)) continue;
      sgs.push_back(g);
    }
    if (sgs.empty()) {
      return absl::NotFoundError(absl::StrCat(
          "no ", only_enabled ? "enabled " : "", "server group in ", cluster));
    }
    std::sort(sgs.begin(), sgs.end(), [](const Json& a, const Json& b) {
      return Int(a, "createdTime") > Int(b, "createdTime");
    });
    switch (target) {
      case spinnaker::Target::kCurrent:
        return sgs.front();
      case spinnaker::Target::kPrevious:
        if (sgs.size() < 2) {
          return absl::NotFoundError(
              absl::StrCat(cluster, " has no server group before the newest"));
        }
        return sgs[1];
      case spinnaker::Target::kOldest:
        return sgs.back();
      case spinnaker::Target::kLargest: {
        const Json* best = &sgs.front();
        for (const Json& g : sgs) {
          if (g["instances"].size() > (*best)["instances"].size()) best = &g;
        }
        return *best;
      }
    }
    return absl::InternalError("unknown target");
  }

  absl::StatusOr<std::vector<Json>> FindImages(
      const std::string& cloud_provider, const std::string& query,
      const std::string& account, const std::string& region,
      const std::map<std::string, std::string>& tags) override {
    Json tag_json = Json::object();
    for (const auto& [k, v] : tags) tag_json[k] = v;
    image_searches.push_back({{"cloudProvider", cloud_provider},
                              {"query", query},
                              {"account", account},
                              {"region", region},
                              {"tags", tag_json}});
    if (unavailable) return absl::UnavailableError("clouddriver is down");
    auto has = [](const Json& list, const std::string& v) {
      if (!list.is_array()) return false;
      for (const Json& x : list) {
        if (x.is_string() && x.get<std::string>() == v) return true;
      }
      return false;
    };
    std::vector<Json> out;
    for (const Json& i : images) {
      if (!cloud_provider.empty() &&
          String(i, "cloudProvider") != cloud_provider) {
        continue;
      }
      if (!query.empty() && query != "*" &&
          !absl::StrContains(absl::AsciiStrToLower(String(i, "imageName")),
                             absl::AsciiStrToLower(query))) {
        continue;
      }
      if (!account.empty() && !has(i["accounts"], account)) continue;
      if (!region.empty() && !has(i["regions"], region)) continue;
      bool tagged = true;
      for (const auto& [k, v] : tags) {
        tagged = tagged && String(spinnaker::Object(i, "tags"), k) == v;
      }
      if (tagged) out.push_back(i);
    }
    std::stable_sort(out.begin(), out.end(), [](const Json& a, const Json& b) {
      return Int(a, "createdAt") > Int(b, "createdAt");
    });
    return out;
  }

  // Capacity with as many instances as desired (new ones Up or Down).
  void SetCapacity(Json& g, const Json& c, bool healthy) {
    g["capacity"] = {{"min", Int(c, "min")},
                     {"max", Int(c, "max")},
                     {"desired", Int(c, "desired")}};
    Json& instances = g["instances"];
    size_t want = static_cast<size_t>(Int(c, "desired"));
    while (instances.size() > want) instances.erase(instances.size() - 1);
    while (instances.size() < want) {
      std::string state = healthy ? "Up" : "Down";
      std::string id = absl::StrCat(String(g, "name"), "-i", ++instance_seq_);
      instances.push_back({{"id", id},
                           {"name", id},
                           {"healthState", state},
                           {"launchTime", clock_},
                           {"health",
                            {{{"type", "Local"},
                              {"healthClass", "platform"},
                              {"state", state}}}}});
    }
    g["instanceCounts"] = {{"total", instances.size()},
                           {"up", healthy ? instances.size() : 0},
                           {"down", healthy ? 0 : instances.size()}};
  }

 private:
  std::map<std::string, Json> pending_;  // orphaned tasks' operations
  void Run(const std::string& id, const Json& ops, const std::string&) {
    Json results = Json::array();
    std::string error;
    for (const Json& op : ops) {
      executed.push_back(op);
      error = Apply(String(op, "name"), op["description"], &results);
      if (!error.empty()) break;
    }
    Json st = {{"phase", "ORCHESTRATION"},
               {"status", error.empty() ? "Orchestration completed."
                                        : "Orchestration failed."},
               {"complete", true},
               {"completed", true},
               {"failed", !error.empty()},
               {"retryable", false}};
    if (!error.empty()) {
      results.push_back({{"type", "EXCEPTION"}, {"message", error}});
    }
    tasks_[id] = {{"id", id},
                  {"status", st},
                  {"history", Json::array({{{"phase", "ORCHESTRATION"},
                                            {"status", "Initializing"}}})},
                  {"resultObjects", results}};
    polls_left_[id] = polls_to_complete;
  }

  std::string Apply(const std::string& op, const Json& d, Json* results) {
    if (failing_ops.count(op)) return op + " failed: out of ports";
    std::string name = String(d, "serverGroupName");
    if (op == "createServerGroup" || op == "cloneServerGroup") {
      Json desc = d;
      if (op == "cloneServerGroup") {
        auto src = groups.find(String(d["source"], "asgName"));
        if (src == groups.end()) return "no source server group";
        if (!desc.contains("capacity"))
          desc["capacity"] = src->second["capacity"];
        if (!desc.contains("command")) {
          desc["command"] = src->second["launchConfig"]["command"];
        }
        if (!desc.contains("imageId") && src->second.contains("imageId")) {
          desc["imageId"] = src->second["imageId"];
          desc["imageName"] = String(src->second["image"], "name");
        }
      }
      std::string app = String(desc, "application");
      std::string stack = String(desc, "stack");
      std::string detail = String(desc, "freeFormDetails");
      std::string cluster = app;
      if (!stack.empty() || !detail.empty()) cluster += "-" + stack;
      if (!detail.empty()) cluster += "-" + detail;
      int seq = 0;
      for (const auto& [n, g] : groups) {
        if (String(g, "cluster") == cluster) {
          seq = std::max(seq,
                         static_cast<int>(Int(g["moniker"], "sequence")) + 1);
        }
      }
      Json capacity = desc.contains("capacity")
                          ? desc["capacity"]
                          : Json{{"min", 1}, {"max", 1}, {"desired", 1}};
      Json& g =
          AddGroup(cluster, seq, capacity, true, instances_healthy,
                   desc.contains("command") ? desc["command"] : Json::array());
      g["account"] = String(d, "credentials");
      std::string image_id = String(desc, "imageId");
      std::string image_name = String(desc, "imageName");
      if (image_name.empty()) image_name = String(desc, "image");
      if (!image_id.empty() || !image_name.empty()) {
        g["imageId"] = image_id;
        g["image"] = {{"imageId", image_id}, {"name", image_name}};
        g["launchConfig"]["imageId"] = image_id;
      }
      results->push_back(
          {{"serverGroupNames", {"localhost:" + String(g, "name")}},
           {"serverGroupNameByRegion", {{"localhost", String(g, "name")}}},
           {"messages", Json::array()}});
      return "";
    }
    if (op == "upsertLoadBalancer") {
      load_balancers[String(d, "name")] = d;
      return "";
    }
    if (op == "deleteLoadBalancer") {
      load_balancers.erase(String(d, "loadBalancerName"));
      return "";
    }
    if (op == "upsertSecurityGroup") {
      security_groups[String(d, "name")] = d;
      return "";
    }
    if (op == "deleteSecurityGroup") {
      security_groups.erase(String(d, "securityGroupName"));
      return "";
    }
    auto it = groups.find(name);
    if (it == groups.end()) return "server group " + name + " not found";
    Json& g = it->second;
    if (op == "resizeServerGroup") {
      SetCapacity(g, d["capacity"], instances_healthy);
    } else if (op == "enableServerGroup") {
      g["isDisabled"] = false;
    } else if (op == "disableServerGroup") {
      g["isDisabled"] = true;
    } else if (op == "destroyServerGroup") {
      groups.erase(it);
    } else if (op == "terminateInstances") {
      Json kept = Json::array();
      std::set<std::string> ids;
      for (const Json& i : d["instanceIds"]) ids.insert(i.get<std::string>());
      for (const Json& i : g["instances"]) {
        if (!ids.count(String(i, "id"))) kept.push_back(i);
      }
      g["instances"] = kept;
    } else {
      return "unknown operation " + op;
    }
    return "";
  }

  int64_t clock_ = 1000;
  int instance_seq_ = 0;
  std::map<std::string, Json> tasks_;
  std::map<std::string, int> polls_left_;
};

}  // namespace gennaker::orca

#endif  // GENNAKER_SERVICES_ORCA_STAGES_FAKE_CLOUDDRIVER_H_
