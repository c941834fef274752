#include "services/clouddriver/clouddriver_grpc.h"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log/call_context.h"
#include "common/spinnaker/json.h"
#include "common/spinnaker/names.h"
#include "common/spinnaker/shapes.h"
#include "common/spinnaker/status.h"
#include "common/spinnaker/targets.h"
#include "common/status/grpc_status.h"
#include "services/clouddriver/forwarder.h"
#include "services/clouddriver/images.h"
#include "services/clouddriver/operations.h"
#include "services/clouddriver/reads.h"

namespace gennaker::clouddriver {

namespace {

using grpc::ServerContext;
using grpc::Status;

using spinnaker::Int;
using spinnaker::String;
using spinnaker::Strings;

void SetJson(common::v1::JsonObject* out, const Json& j) {
  out->set_json(spinnaker::Dump(j));
}

void FillMoniker(const std::string& name, common::v1::Moniker* m) {
  *m = spinnaker::MonikerProto(spinnaker::ParseName(name));
}

void FillInstance(const Json& j, const Json& group, v1::Instance* out) {
  out->set_id(String(j, "id"));
  out->set_human_readable_name(String(j, "name"));
  out->set_account(String(group, "account"));
  out->set_region(String(group, "region"));
  out->set_zone(String(j, "availabilityZone"));
  out->set_cloud_provider(String(group, "cloudProvider"));
  out->set_server_group(String(group, "name"));
  out->set_health_state(
      spinnaker::HealthStateFromName(String(j, "healthState")));
  for (const Json& h : spinnaker::Array(j, "health")) {
    v1::Health* health = out->add_health();
    health->set_type(String(h, "type"));
    health->set_state(spinnaker::HealthStateFromName(String(h, "state")));
    health->set_health_class(String(h, "healthClass"));
  }
  out->set_launch_time_ms(Int(j, "launchTime"));
  SetJson(out->mutable_json(), j);
}

// The keys a server group and a load balancer share: where it is, its name
// and its moniker.
template <typename Message>
void FillPlace(const Json& j, Message* out) {
  out->set_account(String(j, "account"));
  out->set_region(String(j, "region"));
  out->set_name(String(j, "name"));
  out->set_cloud_provider(String(j, "cloudProvider"));
  FillMoniker(String(j, "name"), out->mutable_moniker());
}

void FillServerGroup(const Json& j, bool with_instances, v1::ServerGroup* out) {
  FillPlace(j, out);
  for (std::string& z : Strings(j, "zones")) out->add_zones(std::move(z));
  out->set_disabled(spinnaker::Bool(j, "isDisabled"));
  out->set_created_time_ms(Int(j, "createdTime"));
  const Json cap = spinnaker::Object(j, "capacity");
  out->mutable_capacity()->set_min(static_cast<int>(Int(cap, "min")));
  out->mutable_capacity()->set_max(static_cast<int>(Int(cap, "max")));
  out->mutable_capacity()->set_desired(static_cast<int>(Int(cap, "desired")));
  const Json counts = spinnaker::Object(j, "instanceCounts");
  v1::InstanceCounts* c = out->mutable_instance_counts();
  c->set_total(static_cast<int>(Int(counts, "total")));
  c->set_up(static_cast<int>(Int(counts, "up")));
  c->set_down(static_cast<int>(Int(counts, "down")));
  c->set_unknown(static_cast<int>(Int(counts, "unknown")));
  c->set_out_of_service(static_cast<int>(Int(counts, "outOfService")));
  c->set_starting(static_cast<int>(Int(counts, "starting")));
  if (with_instances) {
    for (const Json& in : spinnaker::Array(j, "instances")) {
      FillInstance(in, j, out->add_instances());
    }
  }
  for (std::string& lb : Strings(j, "loadBalancers")) {
    out->add_load_balancers(std::move(lb));
  }
  for (std::string& sg : Strings(j, "securityGroups")) {
    out->add_security_groups(std::move(sg));
  }
  // A local group's "image" is an object (Spinnaker's); its id is the image.
  out->set_image(String(j, "image", String(j, "imageId")));
  SetJson(out->mutable_json(), j);
}

void FillLoadBalancer(const Json& j, v1::LoadBalancer* out) {
  FillPlace(j, out);
  for (const Json& g : spinnaker::Array(j, "serverGroups")) {
    out->add_server_groups(String(g, "name"));
  }
  SetJson(out->mutable_json(), j);
}

void FillSecurityGroup(const Json& j, bool details, v1::SecurityGroup* out) {
  out->set_id(String(j, "id"));
  out->set_name(String(j, "name"));
  out->set_account(String(j, "accountName"));
  out->set_region(String(j, "region"));
  out->set_cloud_provider(String(j, "cloudProvider"));
  out->set_application(spinnaker::ParseName(String(j, "name")).app);
  FillMoniker(String(j, "name"), out->mutable_moniker());
  if (details) {
    SetJson(out->mutable_json(), j);
  } else {
    Json summary = j;
    summary.erase("inboundRules");
    summary.erase("outboundRules");
    SetJson(out->mutable_json(), summary);
  }
}

void FillAccount(const AccountInfo& a, bool expand, v1::Account* out) {
  out->set_name(a.name);
  out->set_cloud_provider(a.cloud_provider);
  out->set_account_type(a.cloud_provider);
  out->set_environment(a.environment);
  if (!expand) return;
  for (const std::string& r : a.regions) out->add_regions(r);
  for (const std::string& r : a.read_roles) {
    out->mutable_permissions()->add_read(r);
  }
  for (const std::string& r : a.write_roles) {
    out->mutable_permissions()->add_write(r);
  }
  SetJson(out->mutable_json(), AccountJson(a));
}

void FillTask(const Json& stored, v1::OperationTask* out) {
  Json view = Operations::Render(stored);
  out->set_id(String(view, "id"));
  out->set_request_id(String(view, "requestId"));
  out->set_owner_id(String(view, "ownerId"));
  out->set_start_time_ms(Int(view, "startTimeMs"));
  const std::string state = Operations::State(stored);
  namespace task_state = spinnaker::task_state;
  out->set_state(state == task_state::kCompleted ? v1::TASK_STATE_COMPLETED
                 : state == task_state::kFailed  ? v1::TASK_STATE_FAILED
                 : state == task_state::kFailedRetryable
                     ? v1::TASK_STATE_FAILED_RETRYABLE
                     : v1::TASK_STATE_STARTED);
  out->mutable_current()->set_phase(String(view["status"], "phase"));
  out->mutable_current()->set_status(String(view["status"], "status"));
  for (const Json& h : view["history"]) {
    v1::TaskPhaseUpdate* u = out->add_history();
    u->set_phase(String(h, "phase"));
    u->set_status(String(h, "status"));
  }
  SetJson(out->mutable_result_objects(), view["resultObjects"]);
  SetJson(out->mutable_outputs(), Json::array());
  SetJson(out->mutable_json(), view);
}

// The field of a search hit of `type` that names what was found.
const char* NameKeyOfHit(const std::string& type) {
  static constexpr std::pair<const char*, const char*> kKeys[] = {
      {"instances", "instanceId"},
      {"clusters", "cluster"},
      {"applications", "application"},
      {"loadBalancers", "loadBalancer"},
      {"securityGroups", "name"}};
  for (const auto& [hit_type, key] : kKeys) {
    if (type == hit_type) return key;
  }
  return "serverGroup";
}

// The task, or the error that stands for it.
Status AnswerTask(const absl::StatusOr<Json>& task, v1::OperationTask* out) {
  if (!task.ok()) return ToGrpcStatus(task.status());
  FillTask(*task, out);
  return Status::OK;
}

class ClouddriverGrpc : public v1::ClouddriverService::Service {
 public:
  ClouddriverGrpc(Reads* reads, Operations* ops, CachingAgent* agent,
                  ImageSearch* images, AccountOwnership* ownership)
      : reads_(reads),
        ops_(ops),
        agent_(agent),
        images_(images),
        ownership_(ownership),
        forwarder_(ownership) {}

  Status ListAccounts(ServerContext*, const v1::ListAccountsRequest* req,
                      v1::ListAccountsResponse* resp) override {
    for (const AccountInfo& a : reads_->accounts()) {
      if (!req->cloud_provider().empty() &&
          req->cloud_provider() != a.cloud_provider) {
        continue;
      }
      FillAccount(a, req->expand(), resp->add_accounts());
    }
    return Status::OK;
  }

  Status GetAccount(ServerContext*, const v1::GetAccountRequest* req,
                    v1::GetAccountResponse* resp) override {
    const AccountInfo* a = reads_->FindAccount(req->name());
    if (a == nullptr) {
      return ToGrpcStatus(
          absl::NotFoundError(absl::StrCat("no account ", req->name())));
    }
    FillAccount(*a, true, resp->mutable_account());
    return Status::OK;
  }

  Status ListApplications(ServerContext*,
                          const v1::ListApplicationsRequest* req,
                          v1::ListApplicationsResponse* resp) override {
    auto apps = reads_->Applications();
    if (!apps.ok()) return ToGrpcStatus(apps.status());
    for (const auto& [name, accounts] : *apps) {
      FillApplication(name, accounts, req->expand(), resp->add_applications());
    }
    return Status::OK;
  }

  Status GetApplication(ServerContext*, const v1::GetApplicationRequest* req,
                        v1::GetApplicationResponse* resp) override {
    auto apps = reads_->Applications();
    if (!apps.ok()) return ToGrpcStatus(apps.status());
    auto it = apps->find(req->name());
    if (it == apps->end()) {
      return ToGrpcStatus(absl::NotFoundError(
          absl::StrCat("no infrastructure for application ", req->name())));
    }
    FillApplication(it->first, it->second, true, resp->mutable_application());
    return Status::OK;
  }

  Status ListClusters(ServerContext*, const v1::ListClustersRequest* req,
                      v1::ListClustersResponse* resp) override {
    auto groups = reads_->ServerGroups(req->application(), req->account());
    if (!groups.ok()) return ToGrpcStatus(groups.status());
    std::map<std::pair<std::string, std::string>, v1::Cluster> clusters;
    for (const Json& g : *groups) {
      spinnaker::Names n = spinnaker::ParseName(String(g, "name"));
      auto key = std::make_pair(String(g, "account"), n.cluster);
      v1::Cluster& c = clusters[key];
      if (c.name().empty()) {
        c.set_account(key.first);
        c.set_name(n.cluster);
        c.set_cloud_provider(String(g, "cloudProvider"));
        FillMoniker(n.cluster, c.mutable_moniker());
      }
      c.add_server_group_names(String(g, "name"));
      for (std::string& lb : Strings(g, "loadBalancers")) {
        const auto& have = c.load_balancer_names();
        if (std::find(have.begin(), have.end(), lb) == have.end()) {
          c.add_load_balancer_names(std::move(lb));
        }
      }
    }
    for (auto& [key, c] : clusters) *resp->add_clusters() = std::move(c);
    return Status::OK;
  }

  Status GetCluster(ServerContext*, const v1::GetClusterRequest* req,
                    v1::GetClusterResponse* resp) override {
    const AccountInfo* a = reads_->FindAccount(req->account());
    if (a != nullptr && !req->cloud_provider().empty() &&
        req->cloud_provider() != a->cloud_provider) {
      return ToGrpcStatus(absl::NotFoundError(absl::StrCat(
          "no ", req->cloud_provider(), " cluster ", req->cluster())));
    }
    auto c =
        reads_->Cluster(req->application(), req->account(), req->cluster());
    if (!c.ok()) return ToGrpcStatus(c.status());
    v1::Cluster* out = resp->add_clusters();
    out->set_account(req->account());
    out->set_name(req->cluster());
    out->set_cloud_provider(String(*c, "cloudProvider"));
    FillMoniker(req->cluster(), out->mutable_moniker());
    for (const Json& g : (*c)["serverGroups"]) {
      out->add_server_group_names(String(g, "name"));
      FillServerGroup(g, req->expand(), out->add_server_groups());
    }
    for (const Json& lb : (*c)["loadBalancers"]) {
      out->add_load_balancer_names(String(lb, "name"));
    }
    if (!req->expand()) {
      for (Json& g : (*c)["serverGroups"]) g.erase("instances");
    }
    SetJson(out->mutable_json(), *c);
    return Status::OK;
  }

  Status ListServerGroups(ServerContext*,
                          const v1::ListServerGroupsRequest* req,
                          v1::ListServerGroupsResponse* resp) override {
    if (req->refs_size() > 0) {
      for (const v1::ServerGroupRef& ref : req->refs()) {
        auto g = reads_->ServerGroup(ref.account(), ref.region(), ref.name());
        if (!g.ok()) return ToGrpcStatus(g.status());
        FillServerGroup(*g, req->expand(), resp->add_server_groups());
      }
      return Status::OK;
    }
    if (req->application().empty()) {
      return ToGrpcStatus(absl::InvalidArgumentError(
          "give an application or server group refs"));
    }
    auto groups = reads_->ServerGroups(req->application(), "");
    if (!groups.ok()) return ToGrpcStatus(groups.status());
    for (const Json& g : *groups) {
      if (!req->cloud_provider().empty() &&
          String(g, "cloudProvider") != req->cloud_provider()) {
        continue;
      }
      if (req->clusters_size() > 0) {
        const std::string key =
            absl::StrCat(String(g, "account"), ":",
                         spinnaker::ParseName(String(g, "name")).cluster);
        bool match = false;
        for (const std::string& c : req->clusters()) match = match || c == key;
        if (!match) continue;
      }
      FillServerGroup(g, req->expand(), resp->add_server_groups());
    }
    return Status::OK;
  }

  Status GetServerGroup(ServerContext*, const v1::GetServerGroupRequest* req,
                        v1::GetServerGroupResponse* resp) override {
    auto g = reads_->ServerGroup(req->ref().account(), req->ref().region(),
                                 req->ref().name());
    if (!g.ok()) return ToGrpcStatus(g.status());
    if (!req->application().empty() &&
        spinnaker::ParseName(String(*g, "name")).app != req->application()) {
      return ToGrpcStatus(absl::NotFoundError(absl::StrCat(
          "no server group ", req->ref().name(), " in ", req->application())));
    }
    FillServerGroup(*g, true, resp->mutable_server_group());
    return Status::OK;
  }

  Status GetTargetServerGroup(ServerContext*,
                              const v1::GetTargetServerGroupRequest* req,
                              v1::GetTargetServerGroupResponse* resp) override {
    std::optional<spinnaker::Target> t =
        spinnaker::TargetFromProto(req->target());
    if (!t.has_value()) {
      return ToGrpcStatus(absl::InvalidArgumentError("target is required"));
    }
    auto g = reads_->TargetServerGroup(
        req->application(), req->account(), req->cluster(), req->region(), *t,
        req->only_enabled(), req->validate_oldest());
    if (!g.ok()) return ToGrpcStatus(g.status());
    FillServerGroup(*g, true, resp->mutable_server_group());
    return Status::OK;
  }

  Status ListLoadBalancers(ServerContext*,
                           const v1::ListLoadBalancersRequest* req,
                           v1::ListLoadBalancersResponse* resp) override {
    auto lbs = reads_->LoadBalancers(req->application(), req->account(),
                                     req->region(), req->name());
    if (!lbs.ok()) return ToGrpcStatus(lbs.status());
    for (const Json& lb : *lbs) {
      if (!req->cloud_provider().empty() &&
          String(lb, "cloudProvider") != req->cloud_provider()) {
        continue;
      }
      FillLoadBalancer(lb, resp->add_load_balancers());
    }
    return Status::OK;
  }

  Status ListSecurityGroups(ServerContext*,
                            const v1::ListSecurityGroupsRequest* req,
                            v1::ListSecurityGroupsResponse* resp) override {
    auto sgs = reads_->SecurityGroups(req->account(), req->region(),
                                      req->application());
    if (!sgs.ok()) return ToGrpcStatus(sgs.status());
    for (const Json& sg : *sgs) {
      if (!req->cloud_provider().empty() &&
          String(sg, "cloudProvider") != req->cloud_provider()) {
        continue;
      }
      FillSecurityGroup(sg, false, resp->add_security_groups());
    }
    return Status::OK;
  }

  Status GetSecurityGroup(ServerContext*,
                          const v1::GetSecurityGroupRequest* req,
                          v1::GetSecurityGroupResponse* resp) override {
    auto sgs = reads_->SecurityGroups(req->account(), req->region(), "");
    if (!sgs.ok()) return ToGrpcStatus(sgs.status());
    for (const Json& sg : *sgs) {
      const std::string key =
          req->by_id() ? String(sg, "id") : String(sg, "name");
      if (key != req->name_or_id()) continue;
      if (!req->cloud_provider().empty() &&
          String(sg, "cloudProvider") != req->cloud_provider()) {
        continue;
      }
      FillSecurityGroup(sg, true, resp->mutable_security_group());
      return Status::OK;
    }
    return ToGrpcStatus(absl::NotFoundError(
        absl::StrCat("no security group ", req->name_or_id())));
  }

  Status GetInstance(ServerContext*, const v1::GetInstanceRequest* req,
                     v1::GetInstanceResponse* resp) override {
    auto in = reads_->Instance(req->account(), req->region(), req->id());
    if (!in.ok()) return ToGrpcStatus(in.status());
    Json group = {{"account", (*in)["account"]},
                  {"region", (*in)["region"]},
                  {"cloudProvider", (*in)["cloudProvider"]},
                  {"name", (*in)["serverGroup"]}};
    FillInstance(*in, group, resp->mutable_instance());
    return Status::OK;
  }

  Status Search(ServerContext*, const v1::SearchRequest* req,
                v1::SearchResponse* resp) override {
    if (req->page_size() < 0 || req->page() < 0) {
      return ToGrpcStatus(
          absl::InvalidArgumentError("page and page_size must be positive"));
    }
    SearchQuery q;
    q.query = req->query();
    q.types.assign(req->types().begin(), req->types().end());
    q.platform = req->platform();
    for (const auto& [k, v] : req->filters()) q.filters[k] = v;
    q.page_size = req->page_size() > 0 ? req->page_size() : 10000;
    q.page = req->page() > 0 ? req->page() : 1;
    int64_t total = 0;
    auto results = reads_->Search(q, &total);
    if (!results.ok()) return ToGrpcStatus(results.status());
    resp->set_total_matches(total);
    resp->set_page_number(q.page);
    resp->set_page_size(q.page_size);
    for (const Json& r : *results) {
      v1::SearchResult* out = resp->add_results();
      out->set_type(String(r, "type"));
      out->set_application(String(r, "application"));
      out->set_account(String(r, "account"));
      out->set_region(String(r, "region"));
      out->set_name(String(r, NameKeyOfHit(String(r, "type"))));
      out->set_cloud_provider(String(r, "provider"));
      SetJson(out->mutable_json(), r);
    }
    return Status::OK;
  }

  Status FindImages(ServerContext*, const v1::FindImagesRequest* req,
                    v1::FindImagesResponse* resp) override {
    if (req->limit() < 0) {
      return ToGrpcStatus(
          absl::InvalidArgumentError("limit must not be negative"));
    }
    if (images_ == nullptr) return Status::OK;
    ImageQuery q;
    q.cloud_provider = req->cloud_provider();
    q.query = req->query();
    q.account = req->account();
    q.region = req->region();
    for (const auto& [k, v] : req->tags()) q.tags[k] = v;
    q.limit = req->limit() > 0 ? req->limit() : 1000;
    // Only the accounts the caller (x-spinnaker-user) may read.
    auto found = images_->Find(q, CurrentCallContext().user);
    if (!found.ok()) return ToGrpcStatus(found.status());
    for (const ImageResult& r : *found) {
      v1::Image* out = resp->add_images();
      out->set_image_id(r.image_id);
      out->set_image_name(r.image_name);
      out->set_cloud_provider(r.cloud_provider);
      for (const std::string& a : r.accounts) out->add_accounts(a);
      for (const std::string& region : r.regions) out->add_regions(region);
      for (const auto& [k, v] : r.tags) (*out->mutable_tags())[k] = v;
      out->set_created_at_ms(r.created_ms);
      SetJson(out->mutable_json(), r.json);
    }
    return Status::OK;
  }

  Status SubmitOperations(ServerContext* ctx,
                          const v1::SubmitOperationsRequest* req,
                          v1::SubmitOperationsResponse* resp) override {
    std::vector<SubmittedOperation> ops;
    std::set<std::string> accounts;
    for (const v1::Operation& op : req->operations()) {
      auto d =
          spinnaker::ParseJsonObject(op.description().json(), "description");
      if (!d.ok()) return ToGrpcStatus(d.status());
      accounts.insert(
          !op.account().empty()
              ? op.account()
              : spinnaker::FirstString(*d, {"credentials", "account"}));
      ops.push_back({op.name(), op.account(), std::move(*d)});
    }
    auto route = forwarder_.Route(accounts, ctx);
    if (!route.ok()) return ToGrpcStatus(route.status());
    if (!route->empty()) {
      return forwarder_.Forward(
          ctx, *route, accounts, *req, resp,
          &v1::ClouddriverService::Stub::SubmitOperations);
    }
    // The caller (x-spinnaker-user) must be allowed to write the accounts.
    auto s = ops_->Submit(std::move(ops), req->idempotency_key(),
                          req->application(), CurrentCallContext().user);
    if (!s.ok()) return ToGrpcStatus(s.status());
    resp->set_task_id(s->task_id);
    resp->set_deduplicated(s->deduplicated);
    return Status::OK;
  }

  Status GetOperationTask(ServerContext*,
                          const v1::GetOperationTaskRequest* req,
                          v1::GetOperationTaskResponse* resp) override {
    return AnswerTask(ops_->Get(req->task_id()), resp->mutable_task());
  }

  Status ResumeOperationTask(ServerContext* ctx,
                             const v1::ResumeOperationTaskRequest* req,
                             v1::ResumeOperationTaskResponse* resp) override {
    if (ownership_ != nullptr) {
      // The task resumes where its accounts are served.
      auto task = ops_->Get(req->task_id());
      if (!task.ok()) return ToGrpcStatus(task.status());
      std::set<std::string> accounts;
      for (const Json& op : spinnaker::Array(*task, "operations")) {
        accounts.insert(String(op, "account"));
      }
      auto route = forwarder_.Route(accounts, ctx);
      if (!route.ok()) return ToGrpcStatus(route.status());
      if (!route->empty()) {
        return forwarder_.Forward(
            ctx, *route, accounts, *req, resp,
            &v1::ClouddriverService::Stub::ResumeOperationTask);
      }
    }
    return AnswerTask(ops_->Resume(req->task_id(), CurrentCallContext().user),
                      resp->mutable_task());
  }

  Status RefreshCache(ServerContext* ctx, const v1::RefreshCacheRequest* req,
                      v1::RefreshCacheResponse* resp) override {
    if (reads_->FindAccount(req->account()) == nullptr) {
      return ToGrpcStatus(absl::InvalidArgumentError(
          absl::StrCat("unknown account '", req->account(), "'")));
    }
    // Only the replica serving the account writes its cache entries.
    auto route = forwarder_.Route({req->account()}, ctx);
    if (!route.ok()) return ToGrpcStatus(route.status());
    if (!route->empty()) {
      return forwarder_.Forward(ctx, *route, {req->account()}, *req, resp,
                                &v1::ClouddriverService::Stub::RefreshCache);
    }
    // Local accounts refresh synchronously: the refresh is done on return.
    if (absl::Status s = agent_->RefreshNow(req->account()); !s.ok()) {
      return ToGrpcStatus(s);
    }
    resp->set_outcome(v1::CACHE_REFRESH_OUTCOME_COMPLETED);
    SetJson(resp->mutable_cached_identifiers_by_type(), Json::object());
    return Status::OK;
  }

  Status ListPendingCacheRefreshes(
      ServerContext*, const v1::ListPendingCacheRefreshesRequest*,
      v1::ListPendingCacheRefreshesResponse*) override {
    return Status::OK;  // refreshes complete before RefreshCache returns
  }

 private:
  void FillApplication(
      const std::string& name,
      const std::map<std::string, std::vector<std::string>>& accounts,
      bool expand, v1::Application* out) {
    out->set_name(name);
    Json cluster_names = Json::object();
    std::set<std::string> providers;
    for (const auto& [account, clusters] : accounts) {
      const AccountInfo* a = reads_->FindAccount(account);
      if (a != nullptr) providers.insert(a->cloud_provider);
      cluster_names[account] = clusters;
      if (!expand) continue;
      for (const std::string& c : clusters) {
        v1::Cluster* cl = out->add_clusters();
        cl->set_account(account);
        cl->set_name(c);
        cl->set_cloud_provider(a != nullptr ? a->cloud_provider : "");
        FillMoniker(c, cl->mutable_moniker());
      }
    }
    std::string provider_list;
    for (const std::string& p : providers) {
      if (!provider_list.empty()) provider_list += ",";
      provider_list += p;
    }
    Json attributes = {{"name", name}, {"cloudProviders", provider_list}};
    SetJson(out->mutable_attributes(), attributes);
    SetJson(out->mutable_json(), {{"name", name},
                                  {"attributes", attributes},
                                  {"clusters", cluster_names}});
  }

  Reads* reads_;
  Operations* ops_;
  CachingAgent* agent_;
  ImageSearch* images_;
  AccountOwnership* ownership_;
  Forwarder forwarder_;
};

}  // namespace

std::unique_ptr<v1::ClouddriverService::Service> NewClouddriverGrpc(
    Reads* reads, Operations* operations, CachingAgent* agent,
    ImageSearch* images, AccountOwnership* ownership) {
  return std::make_unique<ClouddriverGrpc>(reads, operations, agent, images,
                                           ownership);
}

}  // namespace gennaker::clouddriver
