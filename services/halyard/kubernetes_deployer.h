// The Kubernetes deployer: applies the objects RenderKubernetesManifests
// rendered to a cluster with the real kubectl, and keeps the applied
// revisions for diff and rollback.
//
// Contract:
// - Apply runs `kubectl [--kubeconfig K] [--context C] apply --server-side
//   --field-manager=halyard --force-conflicts -f -` once per step, the objects
//   on stdin, in the given order. A step is the objects up to and including a
//   Deployment (plus the PodDisruptionBudgets right after it, which belong to
//   it); after each step it waits for that Deployment's rollout (polling
//   `kubectl get deployment`) before the next step. Rolled out means
//   status.observedGeneration >= metadata.generation, updated == ready ==
//   available == spec.replicas, and no old pods left (status.replicas <=
//   updated), as `kubectl rollout status`. After rollout_timeout the apply
//   fails naming the Deployment, its status and a `kubectl describe` hint.
// - Every attempt is recorded as a revision under <stateDir>/kubernetes/:
//   revisions/NNNN.yaml (the manifests) and index.json (number, version,
//   time, status "applied" or "failed", the objects' identities). A failed
//   attempt may have left the cluster half-applied: it is recorded as failed
//   so that rollback and pruning know. The last kKeptRevisions are kept (and
//   always the newest applied one).
// - The baseline is the newest applied revision plus the objects of the
//   failed attempts after it (what the cluster may hold). After a successful
//   apply, baseline objects not rendered any more are deleted (reverse
//   order), except Namespaces and PersistentVolumeClaims: deleting those
//   deletes everything in them / the data (a changed namespace, a database
//   moved to EXTERNAL). They are kept, with a progress line giving the
//   kubectl command to delete them by hand.
// - Rollback re-applies the newest applied revision that is not what the
//   cluster now holds: when the newest revision failed, the newest applied
//   one (what ran before); otherwise the newest applied one before the
//   current whose manifests differ from it. It runs as Apply (progress,
//   waiting) and is recorded as a new revision, which becomes current (as
//   `kubectl rollout undo`: a second rollback returns).
// - Diff compares objects with the baseline, offline.
#ifndef GENNAKER_SERVICES_HALYARD_KUBERNETES_DEPLOYER_H_
#define GENNAKER_SERVICES_HALYARD_KUBERNETES_DEPLOYER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/halyard/kubernetes_manifests.h"

namespace gennaker::halyard {

inline constexpr int kKeptRevisions = 10;

struct KubernetesTarget {
  std::string kubectl = "kubectl";  // program, looked up in PATH
  std::string kubeconfig;           // empty: kubectl's default
  std::string context;              // empty: the kubeconfig's current one
  absl::Duration rollout_timeout = absl::Minutes(5);
  absl::Duration poll_interval = absl::Seconds(1);
};

// One recorded revision.
struct KubernetesRevision {
  int number = 0;
  std::string version;  // the halconfig's version when applied
  int64_t applied_at_ms = 0;
  std::string note;     // e.g. "rollback to 3", or why it failed
  bool failed = false;  // the apply did not complete
  std::vector<KubernetesObject> objects;
};

// A Deployment's rollout state as kubectl get shows it.
struct DeploymentRollout {
  std::string name;
  std::string namespace_name;
  bool found = false;
  int64_t generation = 0;
  int64_t observed_generation = 0;
  int replicas = 0;  // spec.replicas
  int current = 0;   // status.replicas: old and new pods
  int updated = 0;
  int ready = 0;
  int available = 0;
  bool RolledOut() const;
  // "1/2 replicas updated, 0 ready, 0 available"
  std::string Summary() const;
};

class KubernetesDeployer {
 public:
  using Progress = std::function<void(const std::string& line)>;

  KubernetesDeployer(KubernetesTarget target, std::string state_dir,
                     Progress progress);

  // Applies `objects` (in apply order) and records them as a revision of
  // `version`.
  absl::Status Apply(const std::string& version,
                     const std::vector<KubernetesObject>& objects);

  // Re-applies the newest applied revision that is not what the cluster now
  // holds (see the contract). FAILED_PRECONDITION when there is none.
  absl::Status Rollback();

  // What Apply(objects) would change against the baseline: lines
  // "+ Kind/name (new)", "- Kind/name (removed)", "~ Kind/name" followed by a
  // unified diff of its YAML (not for a Secret, whose values are never
  // shown); "no changes" when equal; with no revision yet, every object is
  // new.
  absl::StatusOr<std::string> Diff(
      const std::vector<KubernetesObject>& objects) const;

  // Each Deployment of `objects` as the cluster reports it.
  absl::StatusOr<std::vector<DeploymentRollout>> Status(
      const std::vector<KubernetesObject>& objects) const;

  // The recorded revisions, oldest first.
  absl::StatusOr<std::vector<KubernetesRevision>> Revisions() const;

 private:
  // Apply, recording `note` with the revision.
  absl::Status Deploy(const std::string& version, const std::string& note,
                      const std::vector<KubernetesObject>& objects);
  absl::Status ApplyObjects(const std::vector<KubernetesObject>& objects);
  absl::Status WaitForRollout(const KubernetesObject& deployment);
  absl::StatusOr<DeploymentRollout> GetRollout(const std::string& name,
                                               const std::string& ns) const;
  absl::Status Record(const std::string& version, const std::string& note,
                      bool failed,
                      const std::vector<KubernetesObject>& objects);
  // Deletes what `baseline` has and `objects` does not (see the contract).
  absl::Status Prune(const std::vector<KubernetesObject>& baseline,
                     const std::vector<KubernetesObject>& objects);
  std::vector<std::string> KubectlBase() const;
  std::string Dir() const;

  KubernetesTarget target_;
  std::string state_dir_;
  Progress progress_;
};

// A unified diff (3 lines of context, "@@ -a,b +c,d @@" hunks) of two texts;
// "" when equal.
std::string UnifiedDiff(const std::string& before, const std::string& after);

}  // namespace gennaker::halyard

#endif  // GENNAKER_SERVICES_HALYARD_KUBERNETES_DEPLOYER_H_
