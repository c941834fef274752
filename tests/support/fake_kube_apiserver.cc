#include "tests/support/fake_kube_apiserver.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/http/http.h"
#include "common/http/http_server.h"
#include "yaml-cpp/yaml.h"

namespace gennaker::testing {

using nlohmann::json;

// A resource type the fake serves.
struct FakeKubeApiServer::ResourceType {
  const char* group;    // "" for core
  const char* version;  // "v1"
  const char* resource;
  const char* singular;
  const char* kind;
  bool namespaced;
  // Whether metadata.generation tracks spec changes.
  bool has_generation;
  const char* short_names;  // comma separated
};

namespace {

using Type = FakeKubeApiServer::ResourceType;

constexpr Type kTypes[] = {
    {"", "v1", "namespaces", "namespace", "Namespace", false, false, "ns"},
    {"", "v1", "configmaps", "configmap", "ConfigMap", true, false, "cm"},
    {"", "v1", "secrets", "secret", "Secret", true, false, ""},
    {"", "v1", "services", "service", "Service", true, false, "svc"},
    {"", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", true,
     false, "sa"},
    {"", "v1", "persistentvolumeclaims", "persistentvolumeclaim",
     "PersistentVolumeClaim", true, false, "pvc"},
    {"", "v1", "pods", "pod", "Pod", true, false, "po"},
    {"", "v1", "events", "event", "Event", true, false, "ev"},
    {"apps", "v1", "deployments", "deployment", "Deployment", true, true,
     "deploy"},
    {"apps", "v1", "statefulsets", "statefulset", "StatefulSet", true, true,
     "sts"},
    {"apps", "v1", "replicasets", "replicaset", "ReplicaSet", true, true, "rs"},
    {"policy", "v1", "poddisruptionbudgets", "poddisruptionbudget",
     "PodDisruptionBudget", true, true, "pdb"},
    {"batch", "v1", "jobs", "job", "Job", true, true, ""},
};

std::string GroupVersion(const Type& t) {
  return t.group[0] == '\0' ? std::string(t.version)
                            : absl::StrCat(t.group, "/", t.version);
}

const Type* FindType(absl::string_view group, absl::string_view version,
                     absl::string_view resource) {
  for (const Type& t : kTypes) {
    if (group == t.group && version == t.version && resource == t.resource) {
      return &t;
    }
  }
  return nullptr;
}

http::Response JsonResponse(int code, const json& body) {
  http::Response r;
  r.status = code;
  r.content_type = "application/json";
  r.body = body.dump();
  return r;
}

// The API server's error object.
http::Response StatusError(int code, const std::string& reason,
                           const std::string& message, json details = nullptr) {
  json status = {
      {"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", json::object()},
      {"status", "Failure"}, {"message", message}, {"reason", reason},
      {"code", code}};
  if (!details.is_null()) status["details"] = std::move(details);
  return JsonResponse(code, status);
}

std::string QualifiedResource(const Type& t) {
  return t.group[0] == '\0' ? std::string(t.resource)
                            : absl::StrCat(t.resource, ".", t.group);
}

http::Response NotFound(const Type& t, const std::string& name) {
  return StatusError(
      404, "NotFound",
      absl::StrCat(QualifiedResource(t), " \"", name, "\" not found"),
      {{"name", name}, {"group", t.group}, {"kind", t.resource}});
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

// YAML (a superset of JSON) to JSON, scalars typed as YAML 1.2's core schema.
json YamlToJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      json out = json::object();
      for (const auto& kv : node) {
        out[kv.first.as<std::string>()] = YamlToJson(kv.second);
      }
      return out;
    }
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const auto& item : node) out.push_back(YamlToJson(item));
      return out;
    }
    case YAML::NodeType::Scalar: {
      const std::string s = node.Scalar();
      if (node.Tag() == "!") return s;  // quoted
      if (s == "true" || s == "True") return true;
      if (s == "false" || s == "False") return false;
      if (s == "null" || s == "~") return nullptr;
      int64_t i;
      if (absl::SimpleAtoi(s, &i)) return i;
      double d;
      if (s.find_first_of(".eE") != std::string::npos &&
          absl::SimpleAtod(s, &d)) {
        return d;
      }
      return s;
    }
    default:
      return nullptr;
  }
}

// What an apply owns of an object: everything but the fields the server
// manages.
json Owned(json object) {
  object.erase("status");
  if (object.contains("metadata") && object["metadata"].is_object()) {
    json& m = object["metadata"];
    for (const char* f :
         {"uid", "resourceVersion", "generation", "creationTimestamp",
          "managedFields", "selfLink", "deletionTimestamp"}) {
      m.erase(f);
    }
  }
  return object;
}

// Defaults the API server fills in (the ones kubectl and halyard read).
void ApplyDefaults(const Type& t, json* object) {
  if (std::string(t.kind) == "Deployment" ||
      std::string(t.kind) == "StatefulSet") {
    json& spec = (*object)["spec"];
    if (!spec.is_object()) spec = json::object();
    if (!spec.contains("replicas")) spec["replicas"] = 1;
  }
  if (std::string(t.kind) == "Service") {
    json& spec = (*object)["spec"];
    if (!spec.is_object()) spec = json::object();
    if (!spec.contains("type")) spec["type"] = "ClusterIP";
  }
  if (std::string(t.kind) == "Namespace") {
    (*object)["status"] = {{"phase", "Active"}};
  }
}

}  // namespace

FakeKubeApiServer::FakeKubeApiServer(Options options)
    : options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<FakeKubeApiServer>> FakeKubeApiServer::Start(
    Options options) {
  std::unique_ptr<FakeKubeApiServer> f(
      new FakeKubeApiServer(std::move(options)));
  http::Router router;
  FakeKubeApiServer* self = f.get();
  for (const char* m : {"GET", "POST", "PUT", "PATCH", "DELETE"}) {
    router.Add(m, "/**",
               [self](const http::Request& r) { return self->Handle(r); });
  }
  http::ServerOptions so;
  so.host = "127.0.0.1";
  so.port = f->options_.port;
  so.threads = 2;
  auto server = http::Server::Start(so, std::move(router));
  if (!server.ok()) return server.status();
  f->server_ = *std::move(server);
  f->url_ = absl::StrCat("http://127.0.0.1:", f->server_->port());
  return f;
}

FakeKubeApiServer::~FakeKubeApiServer() {
  if (server_) server_->Stop();
}

std::string FakeKubeApiServer::url() const { return url_; }

absl::Status FakeKubeApiServer::WriteKubeconfig(
    const std::string& path, const std::string& context) const {
  std::ofstream out(path, std::ios::trunc);
  out << "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n"
      << "    server: " << url_ << "\ncontexts:\n- name: " << context
      << "\n  context:\n    cluster: fake\n    user: fake\n"
      << "current-context: " << context
      << "\nusers:\n- name: fake\n  user: {}\n";
  out.flush();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

void FakeKubeApiServer::HoldUnready(const std::string& name, bool hold) {
  absl::MutexLock l(&mu_);
  if (hold) {
    held_.insert(name);
  } else {
    held_.erase(name);
  }
}

std::vector<FakeKubeApiServer::Mutation> FakeKubeApiServer::Mutations() const {
  absl::MutexLock l(&mu_);
  return mutations_;
}

std::vector<FakeKubeApiServer::Mutation> FakeKubeApiServer::Changes() const {
  absl::MutexLock l(&mu_);
  std::vector<Mutation> out;
  for (const Mutation& m : mutations_) {
    if (m.changed || m.created) out.push_back(m);
  }
  return out;
}

void FakeKubeApiServer::ClearMutations() {
  absl::MutexLock l(&mu_);
  mutations_.clear();
}

std::vector<std::string> FakeKubeApiServer::Requests() const {
  absl::MutexLock l(&mu_);
  return requests_;
}

std::optional<json> FakeKubeApiServer::Object(const std::string& resource,
                                              const std::string& ns,
                                              const std::string& name) const {
  absl::MutexLock l(&mu_);
  auto it = objects_.find(absl::StrCat(resource, "|", ns, "|", name));
  if (it == objects_.end()) return std::nullopt;
  for (const Type& t : kTypes) {
    if (resource == t.resource) return View(t, it->second);
  }
  return it->second.object;
}

std::vector<std::string> FakeKubeApiServer::Names(const std::string& resource,
                                                  const std::string& ns) const {
  absl::MutexLock l(&mu_);
  std::vector<std::string> out;
  const std::string prefix = absl::StrCat(resource, "|", ns, "|");
  for (const auto& [key, stored] : objects_) {
    if (absl::StartsWith(key, prefix)) out.push_back(key.substr(prefix.size()));
  }
  return out;
}

std::string FakeKubeApiServer::NextResourceVersion() {
  return std::to_string(++resource_version_);
}

json FakeKubeApiServer::View(const Type& type, const Stored& stored) const {
  json object = stored.object;
  if (std::string(type.kind) != "Deployment") return object;
  // The Deployment controller, as of now.
  const json& meta = object["metadata"];
  const int64_t generation = meta.value("generation", int64_t{1});
  const int replicas = object["spec"].value("replicas", 1);
  const bool held = held_.count(meta.value("name", "")) > 0;
  const absl::Duration since = absl::Now() - stored.rollout_started;
  const absl::Duration lag =
      options_.observed_generation_lag < absl::ZeroDuration()
          ? options_.rollout_delay / 4
          : options_.observed_generation_lag;
  int64_t observed = generation;
  int updated, ready;
  int total = replicas;  // status.replicas: the pods of old and new sets
  if (since < lag) {
    // Not observed yet: the previous generation's status (nothing for a
    // new Deployment).
    observed = generation - 1;
    updated = std::min(stored.updated_before, replicas);
    ready = std::min(stored.ready_before, replicas);
    total = std::max(updated, ready);
  } else if (held) {
    updated = replicas;
    ready = 0;
  } else if (since >= options_.rollout_delay) {
    updated = replicas;
    ready = replicas;
  } else {
    // New pods are created first, then become ready all at once.
    updated = since >= options_.rollout_delay / 2 ? replicas : 0;
    ready = std::min(stored.ready_before, replicas);
    // The old pods (counted in ready) run until the new ones are ready.
    total = updated + ready;
  }
  const bool complete =
      observed == generation && updated == replicas && ready == replicas;
  const std::string now = Rfc3339(absl::Now());
  object["status"] = {
      {"observedGeneration", observed},
      {"replicas", total},
      {"updatedReplicas", updated},
      {"readyReplicas", ready},
      {"availableReplicas", ready},
      {"conditions",
       json::array(
           {{{"type", "Available"},
             {"status", ready == replicas ? "True" : "False"},
             {"reason", ready == replicas ? "MinimumReplicasAvailable"
                                          : "MinimumReplicasUnavailable"},
             {"lastUpdateTime", now},
             {"lastTransitionTime", now}},
            {{"type", "Progressing"},
             {"status", "True"},
             {"reason",
              complete ? "NewReplicaSetAvailable" : "ReplicaSetUpdated"},
             {"lastUpdateTime", now},
             {"lastTransitionTime", now}}})}};
  if (ready < replicas) {
    object["status"]["unavailableReplicas"] = replicas - ready;
  }
  // readyReplicas/availableReplicas are omitted when zero (omitempty).
  if (ready == 0) {
    object["status"].erase("readyReplicas");
    object["status"].erase("availableReplicas");
  }
  if (updated == 0) object["status"].erase("updatedReplicas");
  if (observed == 0) object["status"].erase("observedGeneration");
  return object;
}

http::Response FakeKubeApiServer::Handle(const http::Request& r) {
  absl::MutexLock l(&mu_);
  std::string line = absl::StrCat(r.method, " ", r.path);
  bool first = true;
  for (const auto& [k, v] : r.query) {
    absl::StrAppend(&line, first ? "?" : "&", k, "=", v);
    first = false;
  }
  requests_.push_back(std::move(line));
  return HandleLocked(r);
}

http::Response FakeKubeApiServer::HandleLocked(const http::Request& r) {
  std::vector<std::string> parts =
      absl::StrSplit(r.path, '/', absl::SkipEmpty());
  for (std::string& p : parts) p = http::PercentDecode(p);

  // Discovery.
  if (r.method == "GET") {
    if (parts.size() == 1 && parts[0] == "version") {
      return JsonResponse(200, {{"major", "1"},
                                {"minor", "32"},
                                {"gitVersion", options_.git_version},
                                {"gitCommit", "fake"},
                                {"gitTreeState", "clean"},
                                {"buildDate", "2026-01-01T00:00:00Z"},
                                {"goVersion", "go1.23"},
                                {"compiler", "gc"},
                                {"platform", "linux/amd64"}});
    }
    if (parts.size() == 1 && parts[0] == "api") {
      return JsonResponse(
          200, {{"kind", "APIVersions"},
                {"versions", {"v1"}},
                {"serverAddressByClientCIDRs",
                 {{{"clientCIDR", "0.0.0.0/0"},
                   {"serverAddress", url_.substr(strlen("http://"))}}}}});
    }
    if (parts.size() == 1 && parts[0] == "apis") {
      json groups = json::array();
      std::set<std::string> seen;
      for (const Type& t : kTypes) {
        if (t.group[0] == '\0' || !seen.insert(t.group).second) continue;
        json gv = {{"groupVersion", GroupVersion(t)}, {"version", t.version}};
        groups.push_back({{"name", t.group},
                          {"versions", json::array({gv})},
                          {"preferredVersion", gv}});
      }
      return JsonResponse(
          200,
          {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", groups}});
    }
    const bool core_list = parts.size() == 2 && parts[0] == "api";
    const bool group_list = parts.size() == 3 && parts[0] == "apis";
    if (core_list || group_list) {
      const std::string group = core_list ? "" : parts[1];
      const std::string version = core_list ? parts[1] : parts[2];
      json resources = json::array();
      for (const Type& t : kTypes) {
        if (group != t.group || version != t.version) continue;
        json shorts = json::array();
        for (absl::string_view s :
             absl::StrSplit(t.short_names, ',', absl::SkipEmpty())) {
          shorts.push_back(std::string(s));
        }
        json res = {{"name", t.resource},
                    {"singularName", t.singular},
                    {"namespaced", t.namespaced},
                    {"kind", t.kind},
                    {"verbs",
                     {"create", "delete", "deletecollection", "get", "list",
                      "patch", "update", "watch"}}};
        if (!shorts.empty()) res["shortNames"] = shorts;
        resources.push_back(res);
        if (t.has_generation || std::string(t.kind) == "Namespace" ||
            std::string(t.kind) == "Service") {
          resources.push_back({{"name", absl::StrCat(t.resource, "/status")},
                               {"singularName", ""},
                               {"namespaced", t.namespaced},
                               {"kind", t.kind},
                               {"verbs", {"get", "patch", "update"}}});
        }
      }
      if (resources.empty()) {
        return StatusError(404, "NotFound",
                           "the server could not find the requested resource");
      }
      return JsonResponse(
          200, {{"kind", "APIResourceList"},
                {"apiVersion", "v1"},
                {"groupVersion",
                 group.empty() ? version : absl::StrCat(group, "/", version)},
                {"resources", resources}});
    }
    if (!parts.empty() && parts[0] == "openapi") {
      if (parts.size() == 2 && parts[1] == "v2") {
        // kubectl before 1.27 validates with v2, asking for gnostic's
        // protobuf form. The document has no definitions: kubectl skips the
        // client-side validation of a kind it has no schema for (and this
        // fake validates no fields either).
        if (absl::StrContains(r.Header("accept"), "protobuf")) {
          auto field = [](int number, const std::string& bytes) {
            std::string out(1, static_cast<char>((number << 3) | 2));
            out.push_back(static_cast<char>(bytes.size()));  // < 128 here
            return out + bytes;
          };
          http::Response pb;
          // As kube-openapi answers it (the media type asked for has an
          // '@', which Go's mime parser rejects).
          pb.content_type = "application/octet-stream";
          // openapi_v2.Document{swagger: "2.0", info: {title, version}}
          pb.body =
              field(1, "2.0") +
              field(2, field(1, "Kubernetes") + field(2, options_.git_version));
          return pb;
        }
        return JsonResponse(
            200,
            {{"swagger", "2.0"},
             {"info",
              {{"title", "Kubernetes"}, {"version", options_.git_version}}},
             {"paths", json::object()}});
      }
      if (parts.size() == 2 && parts[1] == "v3") {
        json paths = json::object();
        for (const Type& t : kTypes) {
          const std::string p = t.group[0] == '\0'
                                    ? absl::StrCat("api/", t.version)
                                    : absl::StrCat("apis/", GroupVersion(t));
          paths[p] = {{"serverRelativeURL",
                       absl::StrCat("/openapi/v3/", p, "?hash=FAKE")}};
        }
        return JsonResponse(200, {{"paths", paths}});
      }
      if (parts.size() >= 4 && parts[1] == "v3") {
        // /openapi/v3/api/v1 or /openapi/v3/apis/<g>/<v>
        const bool core = parts[2] == "api";
        const std::string group = core ? "" : parts[3];
        const std::string version =
            core ? parts[3] : (parts.size() > 4 ? parts[4] : "");
        json paths = json::object();
        for (const Type& t : kTypes) {
          if (group != t.group || version != t.version) continue;
          const std::string base =
              t.group[0] == '\0' ? absl::StrCat("/api/", t.version)
                                 : absl::StrCat("/apis/", GroupVersion(t));
          const std::string item =
              t.namespaced ? absl::StrCat(base, "/namespaces/{namespace}/",
                                          t.resource, "/{name}")
                           : absl::StrCat(base, "/", t.resource, "/{name}");
          json gvk = {
              {"group", t.group}, {"version", t.version}, {"kind", t.kind}};
          auto query = [](const char* name) {
            return json{
                {"name", name},
                {"in", "query"},
                {"schema", {{"type", "string"}, {"uniqueItems", true}}}};
          };
          paths[item] = {{"patch",
                          {{"operationId", absl::StrCat("patch", t.kind)},
                           {"parameters",
                            {query("dryRun"), query("fieldManager"),
                             query("fieldValidation"), query("force")}},
                           {"x-kubernetes-action", "patch"},
                           {"x-kubernetes-group-version-kind", gvk}}},
                         {"get",
                          {{"operationId", absl::StrCat("read", t.kind)},
                           {"x-kubernetes-action", "get"},
                           {"x-kubernetes-group-version-kind", gvk}}},
                         {"parameters",
                          json::array({{{"name", "name"},
                                        {"in", "path"},
                                        {"required", true},
                                        {"schema", {{"type", "string"}}}}})}};
        }
        if (paths.empty()) {
          return StatusError(
              404, "NotFound",
              "the server could not find the requested resource");
        }
        return JsonResponse(
            200,
            {{"openapi", "3.0.0"},
             {"info",
              {{"title", "Kubernetes"}, {"version", options_.git_version}}},
             {"paths", paths},
             {"components", {{"schemas", json::object()}}}});
      }
    }
  }

  // Resources: /api/v1/... or /apis/<g>/<v>/...
  size_t i = 0;
  std::string group, version;
  if (parts.size() >= 2 && parts[0] == "api") {
    version = parts[1];
    i = 2;
  } else if (parts.size() >= 3 && parts[0] == "apis") {
    group = parts[1];
    version = parts[2];
    i = 3;
  } else {
    return StatusError(404, "NotFound",
                       "the server could not find the requested resource");
  }
  std::string ns;
  std::vector<std::string> rest(parts.begin() + i, parts.end());
  // namespaces/<ns>/<resource>[/<name>]; namespaces[/<name>] is the
  // Namespace resource itself.
  if (rest.size() >= 3 && rest[0] == "namespaces") {
    ns = rest[1];
    rest.erase(rest.begin(), rest.begin() + 2);
  }
  if (rest.empty() || rest.size() > 2) {
    return StatusError(404, "NotFound",
                       "the server could not find the requested resource");
  }
  const Type* type = FindType(group, version, rest[0]);
  if (type == nullptr) {
    return StatusError(404, "NotFound",
                       "the server could not find the requested resource");
  }
  const std::string name = rest.size() == 2 ? rest[1] : "";
  if (!type->namespaced) ns.clear();

  if (r.method == "GET") {
    if (!name.empty()) {
      auto it = objects_.find(absl::StrCat(type->resource, "|", ns, "|", name));
      if (it == objects_.end()) return NotFound(*type, name);
      return JsonResponse(200, View(*type, it->second));
    }
    // A list, filtered by metadata.name and simple label equality.
    std::string field_name;
    for (absl::string_view sel :
         absl::StrSplit(r.Query("fieldSelector"), ',', absl::SkipEmpty())) {
      if (absl::ConsumePrefix(&sel, "metadata.name=")) {
        field_name = std::string(sel);
      }
    }
    std::map<std::string, std::string> labels;
    for (absl::string_view sel :
         absl::StrSplit(r.Query("labelSelector"), ',', absl::SkipEmpty())) {
      std::pair<std::string, std::string> kv = absl::StrSplit(sel, '=');
      labels[kv.first] = kv.second;
    }
    json items = json::array();
    for (const auto& [key, stored] : objects_) {
      std::vector<std::string> k = absl::StrSplit(key, '|');
      if (k[0] != type->resource) continue;
      if (type->namespaced && !ns.empty() && k[1] != ns) continue;
      if (!field_name.empty() && k[2] != field_name) continue;
      bool match = true;
      for (const auto& [lk, lv] : labels) {
        const json& ol = stored.object["metadata"].value("labels", json());
        if (!ol.is_object() || ol.value(lk, "") != lv) match = false;
      }
      if (match) items.push_back(View(*type, stored));
    }
    return JsonResponse(
        200,
        {{"kind", absl::StrCat(type->kind, "List")},
         {"apiVersion", GroupVersion(*type)},
         {"metadata", {{"resourceVersion", std::to_string(resource_version_)}}},
         {"items", items}});
  }
  if (name.empty()) {
    return StatusError(405, "MethodNotAllowed",
                       absl::StrCat("the server does not allow this method on "
                                    "the requested resource"));
  }
  if (r.method == "PATCH") return Apply(*type, ns, name, r);
  if (r.method == "DELETE") return Delete(*type, ns, name);
  return StatusError(405, "MethodNotAllowed",
                     "the server does not allow this method on the requested "
                     "resource");
}

http::Response FakeKubeApiServer::Apply(const Type& type, const std::string& ns,
                                        const std::string& name,
                                        const http::Request& r) {
  const std::string content_type = r.Header("content-type");
  if (!absl::StartsWith(content_type, "application/apply-patch+yaml")) {
    return StatusError(
        415, "UnsupportedMediaType",
        absl::StrCat("the body of the request was in an unknown format - "
                     "accepted media types include: application/json-patch+"
                     "json, application/merge-patch+json, "
                     "application/apply-patch+yaml (this fake: only "
                     "server-side apply), got ",
                     content_type));
  }
  const std::string manager = r.Query("fieldManager");
  if (manager.empty()) {
    return StatusError(422, "Invalid",
                       "PatchOptions.meta.k8s.io \"\" is invalid: "
                       "fieldManager: Required value: is required for apply "
                       "patch");
  }
  json applied = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (applied.is_discarded()) {
    try {
      applied = YamlToJson(YAML::Load(r.body));
    } catch (const YAML::Exception& e) {
      return StatusError(400, "BadRequest",
                         absl::StrCat("error decoding YAML: ", e.what()));
    }
  }
  if (!applied.is_object()) {
    return StatusError(400, "BadRequest", "the body is not an object");
  }
  if (applied.value("apiVersion", "") != GroupVersion(type) ||
      applied.value("kind", "") != type.kind) {
    return StatusError(
        400, "BadRequest",
        absl::StrCat(
            "the API version in the data (", applied.value("apiVersion", ""),
            ") does not match the expected API version (", GroupVersion(type),
            ") or kind ", applied.value("kind", ""), " is not ", type.kind));
  }
  if (!applied["metadata"].is_object() ||
      applied["metadata"].value("name", "") != name) {
    return StatusError(
        400, "BadRequest",
        absl::StrCat("the name of the object (",
                     applied["metadata"].is_object()
                         ? applied["metadata"].value("name", "")
                         : "",
                     ") does not match the name on the URL (", name, ")"));
  }
  json& meta = applied["metadata"];
  if (type.namespaced) {
    if (meta.contains("namespace") && meta.value("namespace", "") != ns) {
      return StatusError(400, "BadRequest",
                         "the namespace of the provided object does not "
                         "match the namespace sent on the request");
    }
    meta["namespace"] = ns;
    if (!objects_.count(absl::StrCat("namespaces||", ns))) {
      return StatusError(404, "NotFound",
                         absl::StrCat("namespaces \"", ns, "\" not found"),
                         {{"name", ns}, {"kind", "namespaces"}});
    }
  }
  ApplyDefaults(type, &applied);
  json owned = Owned(applied);
  const std::string key = absl::StrCat(type.resource, "|", ns, "|", name);
  const std::string now = Rfc3339(absl::Now());
  json managed = json::array({{{"manager", manager},
                               {"operation", "Apply"},
                               {"apiVersion", GroupVersion(type)},
                               {"time", now},
                               {"fieldsType", "FieldsV1"},
                               {"fieldsV1", json::object()}}});
  Mutation mutation{"apply", type.kind, ns, name, false, false};
  auto it = objects_.find(key);
  int code = 200;
  if (it == objects_.end()) {
    Stored stored;
    stored.object = applied;
    json& m = stored.object["metadata"];
    m["uid"] = absl::StrFormat("00000000-0000-4000-8000-%012d", ++uid_counter_);
    m["resourceVersion"] = NextResourceVersion();
    m["creationTimestamp"] = now;
    m["managedFields"] = managed;
    if (type.has_generation) m["generation"] = 1;
    stored.rollout_started = absl::Now();
    it = objects_.emplace(key, std::move(stored)).first;
    mutation.created = mutation.changed = true;
    code = 201;
  } else {
    json& old = it->second.object;
    json old_owned = Owned(old);
    if (old_owned != owned) {
      const bool spec_changed =
          old_owned.value("spec", json()) != owned.value("spec", json());
      // The previous rollout's ready count carries over to the new one.
      const json view = View(type, it->second);
      const bool has_status =
          view.contains("status") && view["status"].is_object();
      const int ready_before =
          has_status ? view["status"].value("readyReplicas", 0) : 0;
      const int updated_before =
          has_status ? view["status"].value("updatedReplicas", 0) : 0;
      json next = applied;
      json& m = next["metadata"];
      for (const char* f : {"uid", "creationTimestamp", "generation"}) {
        if (old["metadata"].contains(f)) m[f] = old["metadata"][f];
      }
      if (old.contains("status") && !next.contains("status")) {
        next["status"] = old["status"];
      }
      m["resourceVersion"] = NextResourceVersion();
      m["managedFields"] = managed;
      if (type.has_generation && spec_changed) {
        m["generation"] = old["metadata"].value("generation", int64_t{1}) + 1;
        it->second.rollout_started = absl::Now();
        it->second.ready_before = ready_before;
        it->second.updated_before = updated_before;
      }
      old = std::move(next);
      mutation.changed = true;
    }
  }
  mutations_.push_back(mutation);
  return JsonResponse(code, View(type, it->second));
}

http::Response FakeKubeApiServer::Delete(const Type& type,
                                         const std::string& ns,
                                         const std::string& name) {
  const std::string key = absl::StrCat(type.resource, "|", ns, "|", name);
  auto it = objects_.find(key);
  if (it == objects_.end()) return NotFound(type, name);
  json object = View(type, it->second);
  objects_.erase(it);
  mutations_.push_back({"delete", type.kind, ns, name, false, true});
  if (std::string(type.kind) == "Namespace") {
    // The namespace controller removes what it held (at once here).
    for (auto o = objects_.begin(); o != objects_.end();) {
      std::vector<std::string> k = absl::StrSplit(o->first, '|');
      if (k[1] == name) {
        o = objects_.erase(o);
      } else {
        ++o;
      }
    }
    object["status"] = {{"phase", "Terminating"}};
    object["metadata"]["deletionTimestamp"] = Rfc3339(absl::Now());
    return JsonResponse(200, object);
  }
  return JsonResponse(200, {{"kind", "Status"},
                            {"apiVersion", "v1"},
                            {"metadata", json::object()},
                            {"status", "Success"},
                            {"details",
                             {{"name", name},
                              {"group", type.group},
                              {"kind", type.resource},
                              {"uid", object["metadata"].value("uid", "")}}}});
}

}  // namespace gennaker::testing
