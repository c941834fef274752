#include "services/halyard/kubernetes_deployer.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/process/process.h"
#include "common/status/status_macros.h"
#include "nlohmann/json.hpp"

namespace gennaker::halyard {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// kubectl calls other than rollout waits end well within this.
constexpr absl::Duration kKubectlTimeout = absl::Minutes(2);

// Identity of an object across revisions: the API group (not its version: a
// Deployment moved from apps/v1beta2 to apps/v1 is the same object), kind,
// namespace and name.
std::string Key(const KubernetesObject& o) {
  std::string group = o.api_version;
  const size_t slash = group.find('/');
  group = slash == std::string::npos ? "" : group.substr(0, slash);
  return absl::StrCat(group, "|", o.kind, "|", o.namespace_name, "|", o.name);
}

std::string Label(const KubernetesObject& o) {
  return absl::StrCat(o.kind, "/", o.name);
}

std::string Trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

absl::Status WriteFileAtomically(const std::string& path,
                                 const std::string& content) {
  const std::string tmp = absl::StrCat(path, ".tmp");
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    out.flush();
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", tmp));
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot rename ", tmp, ": ", ec.message()));
  }
  return absl::OkStatus();
}

// The documents of a multi-document YAML stream as JoinManifests writes it.
std::vector<std::string> SplitDocuments(const std::string& stream) {
  std::vector<std::string> docs;
  std::string current;
  bool any = false;
  for (absl::string_view line : absl::StrSplit(stream, '\n')) {
    if (line == "---") {
      if (any) docs.push_back(Trimmed(current));
      current.clear();
      any = false;
      continue;
    }
    absl::StrAppend(&current, line, "\n");
    if (!absl::StripAsciiWhitespace(line).empty()) any = true;
  }
  if (any) docs.push_back(Trimmed(current));
  return docs;
}

std::string KubectlError(const process::CapturedRun& run) {
  std::string text = Trimmed(run.err.empty() ? run.out : run.err);
  if (run.timed_out) {
    text = absl::StrCat("timed out after ",
                        absl::FormatDuration(kKubectlTimeout), ". ", text);
  }
  return text;
}

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

// One entry of index.json, with its manifests read from `dir`. May throw
// json::exception (Revisions catches it).
absl::StatusOr<KubernetesRevision> ParseRevision(
    const json& r, const std::string& dir, const std::string& index_path) {
  KubernetesRevision revision;
  revision.number = r.value("number", 0);
  revision.version = r.value("version", "");
  revision.applied_at_ms = r.value("appliedAtMs", int64_t{0});
  revision.note = r.value("note", "");
  // Indexes written before failed attempts were recorded have no status.
  revision.failed = r.value("status", "applied") == "failed";
  const std::string file = r.value("file", "");
  if (file.empty() || file.front() == '/' ||
      file.find("..") != std::string::npos) {
    return absl::DataLossError(absl::StrCat(
        index_path, ": revision ", revision.number, " names no file in ", dir));
  }
  GENNAKER_ASSIGN_OR_RETURN(std::string manifests,
                            ReadFile((fs::path(dir) / file).string()));
  std::vector<std::string> docs = SplitDocuments(manifests);
  const json objects = r.value("objects", json());
  if (!objects.is_array() || objects.size() != docs.size()) {
    return absl::DataLossError(
        absl::StrCat(file, " does not match its entry in ", index_path));
  }
  for (size_t i = 0; i < docs.size(); ++i) {
    KubernetesObject o;
    o.api_version = objects[i].value("apiVersion", "");
    o.kind = objects[i].value("kind", "");
    o.name = objects[i].value("name", "");
    o.namespace_name = objects[i].value("namespace", "");
    o.yaml = docs[i] + "\n";  // as rendered: JoinManifests relies on it
    revision.objects.push_back(std::move(o));
  }
  return revision;
}

// Index of the newest revision that applied completely; -1 when none.
int NewestApplied(const std::vector<KubernetesRevision>& revisions) {
  for (int i = static_cast<int>(revisions.size()) - 1; i >= 0; --i) {
    if (!revisions[i].failed) return i;
  }
  return -1;
}

// What the cluster may hold: the newest applied revision's objects, then the
// objects that only the failed attempts after it added (each once).
std::vector<KubernetesObject> Baseline(
    const std::vector<KubernetesRevision>& revisions) {
  const int applied = NewestApplied(revisions);
  std::vector<KubernetesObject> out;
  std::set<std::string> seen;
  auto add = [&](const KubernetesRevision& r) {
    for (const KubernetesObject& o : r.objects) {
      if (seen.insert(Key(o)).second) out.push_back(o);
    }
  };
  if (applied >= 0) add(revisions[applied]);
  for (size_t i = applied + 1; i < revisions.size(); ++i) add(revisions[i]);
  return out;
}

// Kinds never deleted by pruning: a Namespace takes everything in it along,
// a PersistentVolumeClaim its volume (the database's data).
bool KeptOnPrune(const KubernetesObject& o) {
  return o.kind == "Namespace" || o.kind == "PersistentVolumeClaim";
}

// "persistentvolumeclaim postgres-data -n ns" for `kubectl delete`.
std::string DeleteArgs(const KubernetesObject& o) {
  return absl::StrCat(
      absl::AsciiStrToLower(o.kind), " ", o.name,
      o.namespace_name.empty() ? "" : absl::StrCat(" -n ", o.namespace_name));
}

}  // namespace

bool DeploymentRollout::RolledOut() const {
  // current > updated: old pods are still there (being replaced).
  return found && observed_generation >= generation && updated == replicas &&
         ready == replicas && available == replicas && current <= updated;
}

std::string DeploymentRollout::Summary() const {
  return absl::StrCat(updated, "/", replicas, " replicas updated, ", ready,
                      " ready, ", available, " available");
}

KubernetesDeployer::KubernetesDeployer(KubernetesTarget target,
                                       std::string state_dir, Progress progress)
    : target_(std::move(target)),
      state_dir_(std::move(state_dir)),
      progress_(std::move(progress)) {
  if (!progress_) progress_ = [](const std::string&) {};
}

std::string KubernetesDeployer::Dir() const {
  return (fs::path(state_dir_) / "kubernetes").string();
}

std::vector<std::string> KubernetesDeployer::KubectlBase() const {
  std::vector<std::string> argv = {target_.kubectl};
  if (!target_.kubeconfig.empty()) {
    argv.push_back(absl::StrCat("--kubeconfig=", target_.kubeconfig));
  }
  if (!target_.context.empty()) {
    argv.push_back(absl::StrCat("--context=", target_.context));
  }
  return argv;
}

absl::StatusOr<std::vector<KubernetesRevision>> KubernetesDeployer::Revisions()
    const {
  std::vector<KubernetesRevision> revisions;
  const std::string index_path = (fs::path(Dir()) / "index.json").string();
  auto text = ReadFile(index_path);
  if (!text.ok()) {
    if (!fs::exists(index_path)) return revisions;
    return text.status();
  }
  json index = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!index.is_object() || !index.contains("revisions") ||
      !index["revisions"].is_array()) {
    return absl::DataLossError(absl::StrCat(index_path, " is not an index"));
  }
  // json::value() throws type_error when a field has another type (a
  // corrupt or hand-edited index).
  try {
    for (const json& r : index["revisions"]) {
      if (!r.is_object()) {
        return absl::DataLossError(
            absl::StrCat(index_path, ": a revision is not an object"));
      }
      GENNAKER_ASSIGN_OR_RETURN(KubernetesRevision revision,
                                ParseRevision(r, Dir(), index_path));
      revisions.push_back(std::move(revision));
    }
  } catch (const json::exception& e) {
    return absl::DataLossError(
        absl::StrCat(index_path, " is corrupt (restore it or remove ", Dir(),
                     " to start the revision history over): ", e.what()));
  }
  return revisions;
}

absl::Status KubernetesDeployer::Record(
    const std::string& version, const std::string& note, bool failed,
    const std::vector<KubernetesObject>& objects) {
  GENNAKER_ASSIGN_OR_RETURN(std::vector<KubernetesRevision> revisions,
                            Revisions());
  const int number = revisions.empty() ? 1 : revisions.back().number + 1;
  GENNAKER_RETURN_IF_ERROR(
      process::MakeDirs((fs::path(Dir()) / "revisions").string()));
  const std::string file = absl::StrFormat("revisions/%04d.yaml", number);
  // Manifests may hold the store passwords (Secrets): owner only.
  GENNAKER_RETURN_IF_ERROR(process::WritePrivateFile(
      (fs::path(Dir()) / file).string(), JoinManifests(objects)));
  KubernetesRevision added;
  added.number = number;
  added.version = version;
  added.applied_at_ms = NowMs();
  added.note = note;
  added.failed = failed;
  added.objects = objects;
  revisions.push_back(std::move(added));
  // The oldest go first, but never the newest applied revision: a run of
  // failed attempts must leave something to roll back to.
  size_t i = 0;
  while (revisions.size() > static_cast<size_t>(kKeptRevisions) &&
         i < revisions.size()) {
    if (static_cast<int>(i) == NewestApplied(revisions)) {
      ++i;
      continue;
    }
    std::error_code ec;
    fs::remove(fs::path(Dir()) /
                   absl::StrFormat("revisions/%04d.yaml", revisions[i].number),
               ec);
    revisions.erase(revisions.begin() + static_cast<ptrdiff_t>(i));
  }
  json index = {{"revisions", json::array()}};
  for (const KubernetesRevision& r : revisions) {
    json objs = json::array();
    for (const KubernetesObject& o : r.objects) {
      objs.push_back({{"apiVersion", o.api_version},
                      {"kind", o.kind},
                      {"name", o.name},
                      {"namespace", o.namespace_name}});
    }
    index["revisions"].push_back(
        {{"number", r.number},
         {"version", r.version},
         {"appliedAtMs", r.applied_at_ms},
         {"status", r.failed ? "failed" : "applied"},
         {"note", r.note},
         {"file", absl::StrFormat("revisions/%04d.yaml", r.number)},
         {"objects", std::move(objs)}});
  }
  return WriteFileAtomically((fs::path(Dir()) / "index.json").string(),
                             index.dump(2) + "\n");
}

absl::StatusOr<DeploymentRollout> KubernetesDeployer::GetRollout(
    const std::string& name, const std::string& ns) const {
  std::vector<std::string> argv = KubectlBase();
  argv.insert(argv.end(), {"get", "deployment", name, "-o", "json"});
  if (!ns.empty()) argv.insert(argv.end(), {"-n", ns});
  GENNAKER_ASSIGN_OR_RETURN(process::CapturedRun run,
                            process::RunCaptured(argv, "", kKubectlTimeout));
  DeploymentRollout rollout;
  rollout.name = name;
  rollout.namespace_name = ns;
  if (run.exit_code != 0) {
    // Only the API server's answer means the Deployment is missing; "not
    // found" alone is also how kubectl reports a missing context or exec
    // credential plugin.
    if (absl::StrContains(run.err, "Error from server (NotFound)")) {
      return rollout;
    }
    return absl::UnavailableError(absl::StrCat("kubectl get deployment ", name,
                                               " failed: ", KubectlError(run)));
  }
  json d = json::parse(run.out, nullptr, /*allow_exceptions=*/false);
  if (!d.is_object()) {
    return absl::InternalError(
        absl::StrCat("kubectl get deployment ", name, " printed no JSON"));
  }
  rollout.found = true;
  const json& meta = d.value("metadata", json::object());
  const json& spec = d.value("spec", json::object());
  const json& status = d.value("status", json::object());
  rollout.generation = meta.value("generation", int64_t{0});
  rollout.replicas = spec.value("replicas", 1);
  rollout.observed_generation = status.value("observedGeneration", int64_t{0});
  rollout.current = status.value("replicas", 0);
  rollout.updated = status.value("updatedReplicas", 0);
  rollout.ready = status.value("readyReplicas", 0);
  rollout.available = status.value("availableReplicas", 0);
  return rollout;
}

absl::Status KubernetesDeployer::WaitForRollout(
    const KubernetesObject& deployment) {
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + target_.rollout_timeout;
  std::string last;
  DeploymentRollout rollout;
  // Most rollouts of an unchanged or small service finish in well under a
  // second: poll quickly at first, then every poll_interval.
  absl::Duration pause =
      std::min(absl::Milliseconds(200), target_.poll_interval);
  while (true) {
    GENNAKER_ASSIGN_OR_RETURN(
        rollout, GetRollout(deployment.name, deployment.namespace_name));
    if (rollout.RolledOut()) {
      progress_(absl::StrFormat("%s: rolled out (%d/%d ready) in %.1f s",
                                deployment.name, rollout.ready,
                                rollout.replicas,
                                absl::ToDoubleSeconds(absl::Now() - start)));
      return absl::OkStatus();
    }
    const std::string summary =
        rollout.found ? rollout.Summary() : "not found yet";
    if (summary != last) {
      progress_(absl::StrCat(deployment.name, ": ", summary));
      last = summary;
    }
    if (absl::Now() >= deadline) break;
    absl::SleepFor(
        std::min(pause, deadline - absl::Now() + absl::Milliseconds(1)));
    pause = std::min(pause * 2, target_.poll_interval);
  }
  const std::string ns_flag =
      deployment.namespace_name.empty()
          ? ""
          : absl::StrCat(" -n ", deployment.namespace_name);
  return absl::DeadlineExceededError(absl::StrCat(
      "deployment ", deployment.name,
      deployment.namespace_name.empty()
          ? ""
          : absl::StrCat(" in namespace ", deployment.namespace_name),
      " did not roll out within ",
      absl::FormatDuration(target_.rollout_timeout), ": ",
      rollout.found ? rollout.Summary() : "not found",
      absl::StrCat(" (generation ", rollout.generation, ", observed ",
                   rollout.observed_generation, ")"),
      "; see `kubectl describe deployment ", deployment.name, ns_flag,
      "` and its pods' events"));
}

absl::Status KubernetesDeployer::ApplyObjects(
    const std::vector<KubernetesObject>& objects) {
  // Steps: up to and including a Deployment, with the budgets right after it.
  std::vector<std::vector<const KubernetesObject*>> steps(1);
  for (size_t i = 0; i < objects.size(); ++i) {
    steps.back().push_back(&objects[i]);
    if (objects[i].kind != "Deployment") continue;
    while (i + 1 < objects.size() &&
           objects[i + 1].kind == "PodDisruptionBudget") {
      steps.back().push_back(&objects[++i]);
    }
    steps.emplace_back();
  }
  if (steps.back().empty()) steps.pop_back();

  for (const auto& step : steps) {
    const KubernetesObject* deployment = nullptr;
    std::vector<KubernetesObject> batch;
    for (const KubernetesObject* o : step) {
      if (o->kind == "Deployment") deployment = o;
      batch.push_back(*o);
    }
    progress_(absl::StrCat(
        "applying ", batch.size(), batch.size() == 1 ? " object" : " objects",
        deployment ? absl::StrCat(" for ", deployment->name)
                   : absl::StrCat(" (",
                                  absl::StrJoin(batch, ", ",
                                                [](std::string* out,
                                                   const KubernetesObject& o) {
                                                  out->append(Label(o));
                                                }),
                                  ")")));
    std::vector<std::string> argv = KubectlBase();
    argv.insert(argv.end(),
                {"apply", "--server-side", "--field-manager=halyard",
                 "--force-conflicts", "-f", "-"});
    GENNAKER_ASSIGN_OR_RETURN(
        process::CapturedRun run,
        process::RunCaptured(argv, JoinManifests(batch) + "\n",
                             kKubectlTimeout));
    if (run.exit_code != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("kubectl apply failed (",
                       deployment ? deployment->name : Label(*step.front()),
                       "): ", KubectlError(run)));
    }
    if (deployment != nullptr) {
      GENNAKER_RETURN_IF_ERROR(WaitForRollout(*deployment));
    }
  }
  return absl::OkStatus();
}

absl::Status KubernetesDeployer::Apply(
    const std::string& version, const std::vector<KubernetesObject>& objects) {
  return Deploy(version, "", objects);
}

absl::Status KubernetesDeployer::Deploy(
    const std::string& version, const std::string& note,
    const std::vector<KubernetesObject>& objects) {
  if (objects.empty()) {
    return absl::InvalidArgumentError("nothing to apply: no objects");
  }
  GENNAKER_ASSIGN_OR_RETURN(std::vector<KubernetesRevision> revisions,
                            Revisions());
  absl::Status applied = ApplyObjects(objects);
  if (!applied.ok()) {
    // The steps before the failure are in the cluster: recorded as a failed
    // attempt, so that rollback returns to what ran before it and the next
    // apply prunes what it added.
    const std::string first_line(
        applied.message().substr(0, applied.message().find('\n')));
    absl::Status recorded =
        Record(version,
               absl::StrCat(note.empty() ? "" : absl::StrCat(note, "; "),
                            "failed: ", first_line),
               /*failed=*/true, objects);
    if (!recorded.ok()) {
      progress_(absl::StrCat("could not record the failed attempt: ",
                             recorded.message()));
    }
    return applied;
  }
  GENNAKER_RETURN_IF_ERROR(Prune(Baseline(revisions), objects));
  GENNAKER_RETURN_IF_ERROR(Record(version, note, /*failed=*/false, objects));
  progress_(absl::StrCat("applied ", objects.size(), " objects"));
  return absl::OkStatus();
}

absl::Status KubernetesDeployer::Prune(
    const std::vector<KubernetesObject>& baseline,
    const std::vector<KubernetesObject>& objects) {
  // What the baseline had and `objects` does not: deleted, the dependents
  // first.
  std::set<std::string> rendered;
  for (const KubernetesObject& o : objects) rendered.insert(Key(o));
  std::string base_command = absl::StrJoin(KubectlBase(), " ");
  for (auto it = baseline.rbegin(); it != baseline.rend(); ++it) {
    const KubernetesObject& o = *it;
    if (rendered.count(Key(o))) continue;
    if (KeptOnPrune(o)) {
      progress_(absl::StrCat(
          "kept ", Label(o), " (not rendered any more, but deleting it ",
          o.kind == "Namespace" ? "deletes everything in it"
                                : "deletes its volume and the data on it",
          "); delete it by hand when it is no longer needed: ", base_command,
          " delete ", DeleteArgs(o)));
      continue;
    }
    progress_(absl::StrCat("deleting ", Label(o), " (not rendered any more)"));
    std::vector<std::string> argv = KubectlBase();
    argv.insert(argv.end(),
                {"delete", "--ignore-not-found", "--wait=false", "-f", "-"});
    GENNAKER_ASSIGN_OR_RETURN(
        process::CapturedRun run,
        process::RunCaptured(argv, o.yaml + "\n", kKubectlTimeout));
    if (run.exit_code != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "kubectl delete ", Label(o), " failed: ", KubectlError(run)));
    }
  }
  return absl::OkStatus();
}

absl::Status KubernetesDeployer::Rollback() {
  GENNAKER_ASSIGN_OR_RETURN(std::vector<KubernetesRevision> revisions,
                            Revisions());
  if (revisions.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no previous revision to roll back to (nothing was applied yet; "
        "revisions are kept in ",
        Dir(), ")"));
  }
  const KubernetesRevision& current = revisions.back();
  const KubernetesRevision* target = nullptr;
  if (current.failed) {
    // The cluster holds part of the failed attempt: back to what ran.
    const int applied = NewestApplied(revisions);
    if (applied >= 0) target = &revisions[applied];
  } else {
    const std::string holds = JoinManifests(current.objects);
    for (size_t i = revisions.size() - 1; i-- > 0;) {
      if (!revisions[i].failed &&
          JoinManifests(revisions[i].objects) != holds) {
        target = &revisions[i];
        break;
      }
    }
  }
  if (target == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no previous revision to roll back to (",
        current.failed ? "no apply has completed yet"
                       : "no earlier completed revision differs from the "
                         "current one",
        "; revisions are kept in ", Dir(), ")"));
  }
  progress_(absl::StrCat(
      "rolling back from revision ", current.number,
      current.failed ? " (failed)" : "", " to revision ", target->number,
      target->version.empty()
          ? ""
          : absl::StrCat(" (version ", target->version, ")")));
  // Recorded as a new revision, which becomes current.
  const KubernetesRevision copy = *target;
  return Deploy(copy.version, absl::StrCat("rollback to ", copy.number),
                copy.objects);
}

absl::StatusOr<std::string> KubernetesDeployer::Diff(
    const std::vector<KubernetesObject>& objects) const {
  GENNAKER_ASSIGN_OR_RETURN(std::vector<KubernetesRevision> revisions,
                            Revisions());
  const std::vector<KubernetesObject> baseline = Baseline(revisions);
  std::map<std::string, const KubernetesObject*> current;
  for (const KubernetesObject& o : baseline) current[Key(o)] = &o;
  std::string out;
  if (!revisions.empty() && revisions.back().failed) {
    absl::StrAppend(&out, "note: revision ", revisions.back().number,
                    " failed to apply; the cluster may hold part of it\n");
  }
  std::set<std::string> rendered;
  bool changes = false;
  for (const KubernetesObject& o : objects) {
    rendered.insert(Key(o));
    auto it = current.find(Key(o));
    if (it == current.end()) {
      absl::StrAppend(&out, "+ ", Label(o), " (new)\n");
      changes = true;
      continue;
    }
    const std::string diff =
        UnifiedDiff(Trimmed(it->second->yaml) + "\n", Trimmed(o.yaml) + "\n");
    if (diff.empty()) continue;
    changes = true;
    // A Secret's lines are passwords: that it changed is enough.
    absl::StrAppend(&out, "~ ", Label(o),
                    o.kind == "Secret" ? " (its data changed; not shown)\n"
                                       : absl::StrCat("\n", diff));
  }
  for (const KubernetesObject& o : baseline) {
    if (!rendered.count(Key(o))) {
      absl::StrAppend(
          &out, "- ", Label(o),
          KeptOnPrune(o) ? " (removed; apply keeps it)\n" : " (removed)\n");
      changes = true;
    }
  }
  if (!changes) absl::StrAppend(&out, "no changes\n");
  return out;
}

absl::StatusOr<std::vector<DeploymentRollout>> KubernetesDeployer::Status(
    const std::vector<KubernetesObject>& objects) const {
  std::vector<DeploymentRollout> out;
  for (const KubernetesObject& o : objects) {
    if (o.kind != "Deployment") continue;
    GENNAKER_ASSIGN_OR_RETURN(DeploymentRollout r,
                              GetRollout(o.name, o.namespace_name));
    out.push_back(std::move(r));
  }
  return out;
}

std::string UnifiedDiff(const std::string& before, const std::string& after) {
  if (before == after) return "";
  std::vector<std::string> a = absl::StrSplit(before, '\n');
  std::vector<std::string> b = absl::StrSplit(after, '\n');
  // Both end with "\n": drop the empty last element.
  if (!a.empty() && a.back().empty()) a.pop_back();
  if (!b.empty() && b.back().empty()) b.pop_back();
  const size_t n = a.size(), m = b.size();
  // Longest common subsequence table (manifests are small).
  std::vector<std::vector<int>> lcs(n + 1, std::vector<int>(m + 1, 0));
  for (size_t i = n; i-- > 0;) {
    for (size_t j = m; j-- > 0;) {
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1
                               : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  // The edit script: ' ', '-', '+' with line indices in a and b.
  struct Edit {
    char op;
    size_t ai, bi;
  };
  std::vector<Edit> edits;
  size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] == b[j]) {
      edits.push_back({' ', i++, j++});
    } else if (i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1])) {
      edits.push_back({'-', i++, j});  // removals first, as diff -u
    } else {
      edits.push_back({'+', i, j++});
    }
  }
  constexpr size_t kContext = 3;
  std::string out;
  size_t k = 0;
  while (k < edits.size()) {
    if (edits[k].op == ' ') {
      ++k;
      continue;
    }
    // A hunk: from kContext lines before this change to kContext after the
    // last change that is within 2*kContext of the previous one.
    size_t start = k >= kContext ? k - kContext : 0;
    size_t end = k;
    while (true) {
      size_t next = end + 1;
      while (next < edits.size() && edits[next].op == ' ') ++next;
      if (next < edits.size() && next - end - 1 <= 2 * kContext) {
        end = next;
        continue;
      }
      break;
    }
    const size_t stop = std::min(edits.size(), end + kContext + 1);
    size_t a_count = 0, b_count = 0;
    for (size_t e = start; e < stop; ++e) {
      if (edits[e].op != '+') ++a_count;
      if (edits[e].op != '-') ++b_count;
    }
    const size_t a_start = edits[start].ai + (a_count ? 1 : 0);
    const size_t b_start = edits[start].bi + (b_count ? 1 : 0);
    absl::StrAppend(&out, "@@ -", a_start, ",", a_count, " +", b_start, ",",
                    b_count, " @@\n");
    for (size_t e = start; e < stop; ++e) {
      const Edit& ed = edits[e];
      absl::StrAppend(&out, std::string(1, ed.op),
                      ed.op == '+' ? b[ed.bi] : a[ed.ai], "\n");
    }
    k = stop;
  }
  return out;
}

}  // namespace gennaker::halyard
