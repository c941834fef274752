// Renders a deployment whose deploymentEnvironment is Kubernetes into the
// Kubernetes objects that run it: the Namespace; per service a ConfigMap with
// its rendered config (no secret values), a Secret with its secret settings
// (as GENNAKER__ environment overrides), a Deployment (image, replicas,
// resources; readiness and start-up on the gRPC health protocol, liveness on
// the admin /livez, which checks no dependency), a Service, and a
// PodDisruptionBudget when it has more than one
// replica; PostgreSQL and Redis in the cluster unless the storage is
// external. Output is deterministic: the same config renders the same bytes
// (the reference manifests in deploy/kubernetes/ rely on it).
//
// Secrets: no secret value is ever in a ConfigMap. Each one at a plain config
// key (store DSN and URL, notification tokens and passwords, LDAP manager
// passwords, the git shared secret) is in the service's Secret as its
// GENNAKER__A__B environment override, loaded with envFrom. One inside a list
// (igor's CI credentials, kayenta's Prometheus password), which no override
// can reach, makes the Secret also hold the whole config file, and the pod
// mounts its config from the Secret. deploy/kubernetes/README.md has the rest.
#ifndef GENNAKER_SERVICES_HALYARD_KUBERNETES_MANIFESTS_H_
#define GENNAKER_SERVICES_HALYARD_KUBERNETES_MANIFESTS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gennaker/halyard/v1/halconfig.pb.h"

namespace gennaker::halyard {

// One rendered object.
struct KubernetesObject {
  std::string api_version;  // "v1", "apps/v1", "policy/v1"
  std::string kind;         // "Deployment", ...
  std::string name;
  std::string namespace_name;  // empty for cluster-scoped (Namespace)
  std::string yaml;            // one YAML document, without "---"
};

struct KubernetesRenderOptions {
  // podman kube play does not implement Services: with this set, each
  // dependency address names a pod (<deployment>-pod-<i>, as podman names a
  // Deployment's replicas) instead of the Service, spreading the consumers of
  // a replicated service over its replicas.
  bool pod_addresses = false;
  // Passwords of the in-cluster PostgreSQL and Redis (storage not external).
  std::string postgres_password;
  std::string redis_password;
  // Key of the pod templates' gennaker.io/config-hash annotations
  // (HMAC-SHA256 over the config and its secrets): without it, anyone who
  // may read Deployments could test guesses of a weak secret offline. 16 to
  // 128 letters, digits, '.', '_', '~' or '-'; the same salt keeps the same
  // hashes (no needless rollout). halyard keeps one per deployment:
  // KubernetesHashSalt (secrets.h).
  std::string hash_salt;
};

// The objects in the order `kubectl apply` must create them: the Namespace,
// then the stores, then the services in dependency order (each service's
// ConfigMap, Secret, Service, Deployment, PodDisruptionBudget together, its
// Deployment last but the budget). INVALID_ARGUMENT when `config` is not a
// valid Kubernetes deployment, or a password or the salt is unusable.
absl::StatusOr<std::vector<KubernetesObject>> RenderKubernetesManifests(
    const v1::Halconfig& config, const KubernetesRenderOptions& options);

// The objects as one multi-document YAML stream ("---" between documents).
std::string JoinManifests(const std::vector<KubernetesObject>& objects);

}  // namespace gennaker::halyard

#endif  // GENNAKER_SERVICES_HALYARD_KUBERNETES_MANIFESTS_H_
