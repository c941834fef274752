// FakeKubeApiServer: a protocol-faithful FAKE of a Kubernetes API server,
// because no real one can run here. An in-process HTTP server (plain http, no
// authentication) on a random loopback port that answers what the real
// kubectl sends for `apply --server-side`, `get`, `delete` and `describe`,
// with the API server's shapes:
//   GET /version                               version.Info
//   GET /api, /apis                            APIVersions, APIGroupList
//                                              (legacy discovery: answered
//                                              as plain application/json, so
//                                              kubectl does not use the
//                                              aggregated form)
//   GET /api/v1, /apis/<g>/<v>                 APIResourceList (core v1,
//                                              apps/v1, policy/v1,
//                                              batch/v1)
//   GET /openapi/v3, /openapi/v3/<gv path>     the OpenAPI v3 index and, per
//                                              group version, its PATCH
//                                              operations with their
//                                              x-kubernetes-group-version-kind
//                                              and the fieldValidation
//                                              parameter (kubectl checks it to
//                                              leave validation to the server)
//   GET /openapi/v2                            the v2 document (protobuf
//                                              when asked, as kubectl < 1.27
//                                              does), without definitions:
//                                              kubectl then skips client-side
//                                              validation. No field is
//                                              validated by the fake either.
//   PATCH .../<resource>/<name>                server-side apply
//        (application/apply-patch+yaml; fieldManager required): creates the
//        object or replaces its fields with the applied ones (one field
//        manager; status kept). metadata.uid, creationTimestamp,
//        resourceVersion (bumped only on a real change), generation (bumped
//        when the spec changes, for kinds that have one), managedFields.
//   GET .../<resource>[/<name>]                object or List (fieldSelector
//                                              metadata.name and
//                                              labelSelector a=b honoured)
//   DELETE .../<resource>/<name>               Status Success (a Namespace
//                                              takes its objects with it)
// Errors are Status objects with code, reason, message and details, as the
// API server's (NotFound, AlreadyExists, BadRequest, UnsupportedMediaType,
// MethodNotAllowed, Invalid); a namespaced object in a namespace that does
// not exist is NotFound "namespaces \"x\" not found".
//
// The Deployment controller is simulated: `rollout_delay` after a
// Deployment's spec changes (or it is created), its status says rolled out
// (observedGeneration, replicas, updatedReplicas, readyReplicas,
// availableReplicas, conditions); before that its new replicas are not ready.
// As the real controller, it sees a spec change late: for
// `observed_generation_lag` the status is still the previous generation's
// (observedGeneration = generation - 1, and the old replicas' counts, so
// updated == ready == replicas may hold while the change is not rolled out).
// While new pods start, the old ones still run and count in readyReplicas
// and status.replicas (old + new), as the real controller's surge.
// HoldUnready(name) keeps a Deployment's replicas unready until released.
//
// Every mutating request is recorded (verb, kind, namespace, name, whether it
// changed the object), so a test can assert order and no-ops.
//
// Thread-safe.
#ifndef GENNAKER_TESTS_SUPPORT_FAKE_KUBE_APISERVER_H_
#define GENNAKER_TESTS_SUPPORT_FAKE_KUBE_APISERVER_H_

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace gennaker::http {
class Server;
struct Request;
struct Response;
}  // namespace gennaker::http

namespace gennaker::testing {

struct FakeKubeApiServerOptions {
  // Time from a Deployment's spec change to its rollout.
  absl::Duration rollout_delay = absl::Milliseconds(1500);
  // Time before the controller observes a new generation; negative: a
  // quarter of rollout_delay.
  absl::Duration observed_generation_lag = absl::Milliseconds(-1);
  // What /version reports.
  std::string git_version = "v1.32.0";
  int port = 0;  // 0: a free loopback port
};

class FakeKubeApiServer {
 public:
  using Options = FakeKubeApiServerOptions;

  // One mutating request that reached an object.
  struct Mutation {
    std::string verb;  // "apply" (PATCH), "create", "update", "delete"
    std::string kind;  // "Deployment", ...
    std::string namespace_name;
    std::string name;
    bool created = false;
    bool changed = false;  // false for an apply that changed nothing
  };

  static absl::StatusOr<std::unique_ptr<FakeKubeApiServer>> Start(
      Options options = {});
  ~FakeKubeApiServer();

  // "http://127.0.0.1:<port>"
  std::string url() const;
  // Writes a kubeconfig whose current context `context` names this server.
  absl::Status WriteKubeconfig(const std::string& path,
                               const std::string& context) const;

  // Keeps (or stops keeping) the Deployment `name` (any namespace) unready.
  void HoldUnready(const std::string& name, bool hold = true);

  std::vector<Mutation> Mutations() const;
  // Only those with changed (or created) set.
  std::vector<Mutation> Changes() const;
  void ClearMutations();
  // Every request as "METHOD path?query", oldest first.
  std::vector<std::string> Requests() const;

  // The stored object (with its simulated status), if any. `resource` is the
  // plural resource name ("deployments"), `ns` empty for cluster-scoped.
  std::optional<nlohmann::json> Object(const std::string& resource,
                                       const std::string& ns,
                                       const std::string& name) const;
  // Names of the stored objects of `resource` in `ns`.
  std::vector<std::string> Names(const std::string& resource,
                                 const std::string& ns) const;

  struct ResourceType;

 private:
  struct Stored {
    nlohmann::json object;
    absl::Time rollout_started;
    int ready_before = 0;    // ready replicas when the rollout began
    int updated_before = 0;  // updated replicas when the rollout began
  };
  explicit FakeKubeApiServer(Options options);
  http::Response Handle(const http::Request& r);
  http::Response HandleLocked(const http::Request& r)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  http::Response Apply(const ResourceType& type, const std::string& ns,
                       const std::string& name, const http::Request& r)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  http::Response Delete(const ResourceType& type, const std::string& ns,
                        const std::string& name)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The object with its simulated status.
  nlohmann::json View(const ResourceType& type, const Stored& stored) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string NextResourceVersion() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  std::unique_ptr<http::Server> server_;
  std::string url_;
  mutable absl::Mutex mu_;
  // "resource|namespace|name" -> object
  std::map<std::string, Stored> objects_ ABSL_GUARDED_BY(mu_);
  int64_t resource_version_ ABSL_GUARDED_BY(mu_) = 1000;
  int64_t uid_counter_ ABSL_GUARDED_BY(mu_) = 0;
  std::set<std::string> held_ ABSL_GUARDED_BY(mu_);
  std::vector<Mutation> mutations_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> requests_ ABSL_GUARDED_BY(mu_);
};

}  // namespace gennaker::testing

#endif  // GENNAKER_TESTS_SUPPORT_FAKE_KUBE_APISERVER_H_
