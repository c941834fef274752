#include "services/gate/gate_applications.h"

#include <algorithm>
#include <future>
#include <map>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/fiat/authorizer.h"
#include "common/log/call_context.h"
#include "common/log/log.h"
#include "common/spinnaker/json.h"
#include "services/gate/gate_authz.h"
#include "services/gate/gate_backend.h"
#include "services/gate/request.h"

namespace gennaker::gate {
namespace {

namespace cd = clouddriver::v1;
namespace f50 = front50::v1;

// `text` parsed when it is a JSON object, else null.
Json ParseObject(const std::string& text) {
  absl::StatusOr<Json> j = spinnaker::ParseJson(text, "application");
  return j.ok() && j->is_object() ? *std::move(j) : Json();
}

// Whether Groovy (Gate's merge) counts `v` as set.
bool IsSet(const Json& v) {
  if (v.is_null()) return false;
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number()) return v != 0;
  // (nlohmann's empty() is false for every string.)
  if (v.is_string()) return !v.get_ref<const std::string&>().empty();
  if (v.is_array() || v.is_object()) return !v.empty();
  return true;
}

// `f()` on another thread with this thread's call context (so identity and
// request id travel with its calls); on this thread at get() when no thread
// can be started.
template <typename F>
auto Concurrently(F f) -> std::future<decltype(f())> {
  auto with_context = [f = std::move(f), context = CurrentCallContext()] {
    ScopedCallContext scope(context);
    return f();
  };
  try {
    return std::async(std::launch::async, with_context);
  } catch (const std::system_error&) {
    return std::async(std::launch::deferred, std::move(with_context));
  }
}

// Logs a clouddriver failure the route answers around with `fallback`.
void WarnFallback(const char* rpc, const std::string& application,
                  const grpc::Status& s, const char* fallback) {
  SPDLOG_WARN(
      "event=clouddriver_failed rpc={} application={} code={} error={} "
      "fallback={}",
      rpc, application, static_cast<int>(s.error_code()), s.error_message(),
      fallback);
}

// --- GET /applications/{app} ---

// What clouddriver answered for one application.
struct Infrastructure {
  bool known = false;
  InfrastructureView view;
  Json clusters = Json::object();  // filled with expand only
};

Infrastructure FetchInfrastructure(const Backends& b, const std::string& name,
                                   bool expand) {
  Infrastructure out;
  cd::GetApplicationRequest req;
  req.set_name(name);
  cd::GetApplicationResponse resp;
  grpc::Status s = b.clouddriver.stub->GetApplication(
      b.clouddriver.Context().get(), req, &resp);
  if (!s.ok()) {
    if (s.error_code() != grpc::StatusCode::NOT_FOUND)
      WarnFallback("GetApplication", name, s, "front50");
    return out;
  }
  out.known = true;
  out.view = ToInfrastructureView(resp.application());
  if (!expand) return out;
  cd::ListClustersRequest list;
  list.set_application(name);
  cd::ListClustersResponse clusters;
  s = b.clouddriver.stub->ListClusters(b.clouddriver.Context().get(), list,
                                       &clusters);
  if (!s.ok()) {
    if (s.error_code() != grpc::StatusCode::NOT_FOUND)
      WarnFallback("ListClusters", name, s, "cluster_names");
    // The names GetApplication gave, without server groups or load balancers.
    out.clusters = ClustersByAccount(resp.application().clusters());
    return out;
  }
  for (const cd::Cluster& c : clusters.clusters()) {
    if (!c.account().empty()) out.view.accounts.insert(c.account());
  }
  out.clusters = ClustersByAccount(clusters.clusters());
  return out;
}

Response GetApplication(const Backends& b, const Request& r) {
  absl::StatusOr<bool> expand = QueryBool(r, "expand", true);
  if (!expand.ok()) return http::ErrorFromStatus(expand.status(), r.path);
  const std::string& requested = r.params.at("app");
  const std::string key = absl::AsciiStrToLower(requested);
  std::future<Infrastructure> infrastructure =
      Concurrently([&b, &key, expand = *expand] {
        return FetchInfrastructure(b, key, expand);
      });

  f50::GetApplicationRequest req;
  req.set_name(requested);
  f50::GetApplicationResponse resp;
  grpc::Status s =
      b.front50.stub->GetApplication(b.front50.Context().get(), req, &resp);
  Infrastructure seen = infrastructure.get();
  const bool in_front50 = s.ok();
  if (!in_front50 &&
      (s.error_code() != grpc::StatusCode::NOT_FOUND || !seen.known)) {
    return ErrorResponse(s, r);
  }
  std::string name = key;
  Json attributes = Json::object();
  if (in_front50) {
    if (!resp.application().name().empty())
      name = absl::AsciiStrToLower(resp.application().name());
    attributes = ParseObject(resp.application().attributes().json());
  } else if (!seen.view.name.empty()) {
    name = absl::AsciiStrToLower(seen.view.name);
  }
  Json out = Json::object();
  out["name"] = name;
  out["attributes"] = MergeApplicationAttributes(
      std::move(attributes), seen.known ? &seen.view : nullptr, name);
  out["clusters"] = std::move(seen.clusters);
  return http::Json(200, spinnaker::Dump(out));
}

// --- GET /applications ---

// The applications clouddriver sees, by lower-cased name, in its order.
struct InfrastructureList {
  std::vector<std::string> order;
  std::map<std::string, InfrastructureView> by_name;
};

InfrastructureList FetchInfrastructureList(const Backends& b) {
  InfrastructureList out;
  cd::ListApplicationsRequest req;
  req.set_expand(true);  // cluster names: the accounts
  cd::ListApplicationsResponse resp;
  grpc::Status s = b.clouddriver.stub->ListApplications(
      b.clouddriver.Context().get(), req, &resp);
  if (!s.ok()) {
    if (s.error_code() != grpc::StatusCode::NOT_FOUND)
      WarnFallback("ListApplications", "*", s, "front50");
    return out;
  }
  for (const cd::Application& a : resp.applications()) {
    InfrastructureView view = ToInfrastructureView(a);
    std::string key = absl::AsciiStrToLower(view.name);
    if (key.empty()) continue;
    auto [it, added] = out.by_name.try_emplace(key, std::move(view));
    if (added) {
      out.order.push_back(key);
      continue;
    }
    // Two entries for one name: one view, like Gate's merge.
    it->second.accounts.insert(view.accounts.begin(), view.accounts.end());
    Json& merged = it->second.attributes;
    for (auto& [k, v] : view.attributes.items()) {
      auto have = merged.find(k);
      if (IsSet(v) && (have == merged.end() || !IsSet(*have))) merged[k] = v;
    }
  }
  return out;
}

// Whether the merged attributes pass GET /applications' filters.
bool Matches(const Json& attributes, const std::string& account,
             const std::string& owner) {
  if (!account.empty()) {
    bool found = false;
    auto it = attributes.find("accounts");
    if (it != attributes.end() && it->is_string()) {
      for (absl::string_view a :
           absl::StrSplit(it->get_ref<const std::string&>(), ',')) {
        found = found || absl::AsciiStrToLower(a) == account;
      }
    }
    if (!found) return false;
  }
  return owner.empty() ||
         absl::AsciiStrToLower(spinnaker::String(attributes, "email")) == owner;
}

Response ListApplications(const Backends& b, const Request& r) {
  std::future<InfrastructureList> infrastructure =
      Concurrently([&b] { return FetchInfrastructureList(b); });
  f50::ListApplicationsResponse resp;
  grpc::Status s =
      b.front50.stub->ListApplications(b.front50.Context().get(), {}, &resp);
  InfrastructureList seen = infrastructure.get();
  if (!s.ok()) return ErrorResponse(s, r);
  // Only the applications the caller may READ (all when authorization is
  // off).
  absl::StatusOr<std::shared_ptr<const fiat::v1::UserPermission>> permission =
      CallerPermission(b);
  if (!permission.ok()) return ErrorResponse(permission.status(), r);
  auto readable = [&permission](const std::string& name) {
    return fiat::Allows(**permission, fiat::v1::RESOURCE_TYPE_APPLICATION, name,
                        fiat::v1::AUTHORIZATION_READ);
  };
  // An application created in the last minute may be missing from the
  // cached set: fiat itself is asked about those few (its creator sees it at
  // once), never about the many a user may simply not read.
  const int64_t recent_ms = absl::ToUnixMillis(absl::Now()) - 60000;
  auto readable_app = [&](const f50::Application& a, const std::string& key) {
    if (readable(key)) return true;
    if (!b.authorizer->enabled() || a.audit().created_at_ms() < recent_ms) {
      return false;
    }
    return b.authorizer
        ->Check(CurrentCallContext().user, fiat::v1::RESOURCE_TYPE_APPLICATION,
                key, fiat::v1::AUTHORIZATION_READ)
        .ok();
  };

  const std::string account = absl::AsciiStrToLower(r.Query("account"));
  const std::string owner = absl::AsciiStrToLower(r.Query("owner"));
  const bool filtered = !account.empty() || !owner.empty();
  std::vector<std::string> items;
  items.reserve(resp.applications_size() + seen.order.size());
  auto add = [&](const Json& attributes) {
    if (!filtered || Matches(attributes, account, owner))
      items.push_back(spinnaker::Dump(attributes));
  };
  for (const f50::Application& a : resp.applications()) {
    const std::string& text = a.attributes().json();
    std::string key = absl::AsciiStrToLower(a.name());
    auto it = seen.by_name.find(key);
    if (!readable_app(a, key)) {
      if (it != seen.by_name.end()) seen.by_name.erase(it);
      continue;
    }
    if (it == seen.by_name.end() && !filtered) {
      // Nothing to merge: front50's text as stored (its name is lower-case).
      items.push_back(text.empty() ? "{}" : text);
      continue;
    }
    const InfrastructureView* view =
        it == seen.by_name.end() ? nullptr : &it->second;
    add(MergeApplicationAttributes(ParseObject(text), view, key));
    if (view != nullptr) seen.by_name.erase(it);
  }
  // Applications only clouddriver knows.
  for (const std::string& key : seen.order) {
    auto it = seen.by_name.find(key);
    if (it == seen.by_name.end() || !readable(key)) continue;
    add(MergeApplicationAttributes(Json::object(), &it->second, key));
  }
  std::string body = "[";
  body += absl::StrJoin(items, ",");
  body += "]";
  return http::Json(200, std::move(body));
}

}  // namespace

InfrastructureView ToInfrastructureView(const cd::Application& application) {
  InfrastructureView view;
  view.name = application.name();
  Json rendered = ParseObject(application.json().json());
  Json attributes = ParseObject(application.attributes().json());
  if (attributes.is_null() && rendered.is_object()) {
    auto it = rendered.find("attributes");
    if (it != rendered.end() && it->is_object()) attributes = *it;
  }
  if (attributes.is_object()) view.attributes = std::move(attributes);
  if (view.name.empty())
    view.name = spinnaker::String(rendered, "name",
                                  spinnaker::String(attributes, "name"));
  for (const cd::Cluster& c : application.clusters()) {
    if (!c.account().empty()) view.accounts.insert(c.account());
  }
  if (view.accounts.empty() && rendered.is_object()) {
    for (const char* key : {"clusters", "clusterNames"}) {
      auto it = rendered.find(key);
      if (it == rendered.end() || !it->is_object()) continue;
      for (const auto& [account, clusters] : it->items()) {
        if (!account.empty()) view.accounts.insert(account);
      }
    }
  }
  return view;
}

Json MergeApplicationAttributes(Json front50,
                                const InfrastructureView* clouddriver,
                                const std::string& name) {
  Json out = front50.is_object() ? std::move(front50) : Json::object();
  if (clouddriver != nullptr) {
    for (const auto& [key, value] : clouddriver->attributes.items()) {
      if (!IsSet(value)) continue;
      auto it = out.find(key);
      if (it == out.end() || !IsSet(*it)) out[key] = value;
    }
    if (!clouddriver->accounts.empty())
      out["accounts"] = absl::StrJoin(clouddriver->accounts, ",");
  }
  out["name"] = name;
  return out;
}

Json ClustersByAccount(
    const google::protobuf::RepeatedPtrField<cd::Cluster>& clusters) {
  std::map<std::string, std::vector<const cd::Cluster*>> by_account;
  for (const cd::Cluster& c : clusters) by_account[c.account()].push_back(&c);
  Json out = Json::object();
  for (auto& [account, list] : by_account) {
    std::stable_sort(list.begin(), list.end(),
                     [](const cd::Cluster* x, const cd::Cluster* y) {
                       return x->name() < y->name();
                     });
    Json views = Json::array();
    for (const cd::Cluster* c : list) {
      Json groups = Json::array();
      for (const std::string& g : c->server_group_names()) groups.push_back(g);
      if (groups.empty()) {
        for (const cd::ServerGroup& g : c->server_groups())
          groups.push_back(g.name());
      }
      Json balancers = Json::array();
      for (const std::string& lb : c->load_balancer_names())
        balancers.push_back(lb);
      Json view = Json::object();
      view["name"] = c->name();
      view["provider"] = c->cloud_provider();
      view["serverGroups"] = std::move(groups);
      view["loadBalancers"] = std::move(balancers);
      views.push_back(std::move(view));
    }
    out[account] = std::move(views);
  }
  return out;
}

void AddApplicationRoutes(std::shared_ptr<const Backends> backends,
                          const AddRoute& add) {
  RouteAdder<Backends> route(add, std::move(backends));
  route("GET", "/applications", ListApplications);
  route("GET", "/applications/{app}", GetApplication);
}

}  // namespace gennaker::gate
