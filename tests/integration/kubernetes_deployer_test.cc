// KubernetesDeployer with the real kubectl against the fake Kubernetes API
// server, on hand-built objects: revisions (the last 10 kept, files pruned),
// rollback twice returns (as `kubectl rollout undo`), rollback after a failed
// apply returns to what ran, pruning keeps Namespaces and
// PersistentVolumeClaims, a corrupt index is DATA_LOSS, only the API server's
// NotFound means a missing Deployment, a spec change not yet observed is not
// rolled out, Diff's unified diff. Also the halyard daemon refusing a
// KUBERNETES halconfig, and RunCaptured's child set-up (how kubectl is run).
#include "services/halyard/kubernetes_deployer.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/process/process.h"
#include "common/testing/test_stores.h"
#include "gennaker/halyard/v1/halyard.grpc.pb.h"
#include "services/halyard/daemon.h"
#include "tests/support/fake_kube_apiserver.h"

namespace gennaker::halyard {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::vector<KubernetesObject> Objects(const std::string& image, int replicas) {
  KubernetesObject ns{"v1", "Namespace", "demo", "",
                      "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: "
                      "demo\n"};
  KubernetesObject cm{"v1", "ConfigMap", "web-config", "demo",
                      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: "
                      "web-config\n  namespace: demo\ndata:\n  a: \"1\"\n"};
  KubernetesObject d{
      "apps/v1", "Deployment", "web", "demo",
      absl::StrCat("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  "
                   "name: web\n  namespace: demo\nspec:\n  replicas: ",
                   replicas,
                   "\n  selector:\n    matchLabels: {app: web}\n  template:\n "
                   "   metadata:\n      labels: {app: web}\n    spec:\n      "
                   "containers:\n      - name: web\n        image: ",
                   image, "\n")};
  return {ns, cm, d};
}

class KubernetesDeployerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto version = process::RunCaptured({"kubectl", "version", "--client"}, "",
                                        absl::Seconds(30));
    ASSERT_TRUE(version.ok() && version->exit_code == 0)
        << "kubectl is required (scripts/install-deps.sh installs it)";
    dir_ = testing::MakeTempDir("k8s-deployer");
    // kubectl's discovery cache goes with the test, not into $HOME.
    setenv("KUBECACHEDIR", (dir_ + "/kube-cache").c_str(), 1);
    testing::FakeKubeApiServer::Options options;
    options.rollout_delay = absl::Milliseconds(100);
    auto fake = testing::FakeKubeApiServer::Start(options);
    ASSERT_TRUE(fake.ok()) << fake.status();
    fake_ = *std::move(fake);
    ASSERT_TRUE(fake_->WriteKubeconfig(dir_ + "/kubeconfig", "fake").ok());
  }

  KubernetesDeployer Deployer(std::vector<std::string>* lines,
                              absl::Duration timeout = absl::Seconds(20)) {
    KubernetesTarget target;
    target.kubeconfig = dir_ + "/kubeconfig";
    target.context = "fake";
    target.poll_interval = absl::Milliseconds(100);
    target.rollout_timeout = timeout;
    return KubernetesDeployer(
        target, dir_ + "/state",
        [lines](const std::string& line) { lines->push_back(line); });
  }

  std::string Image() {
    auto d = fake_->Object("deployments", "demo", "web");
    return d ? (*d)["spec"]["template"]["spec"]["containers"][0].value("image",
                                                                       "")
             : "";
  }

  void TearDown() override {
    fake_.reset();
    if (HasFailure()) {
      std::cerr << "kept for inspection: " << dir_ << "\n";
      return;
    }
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

  std::string dir_;
  std::unique_ptr<testing::FakeKubeApiServer> fake_;
};

TEST_F(KubernetesDeployerTest, KeepsTheLastTenRevisions) {
  std::vector<std::string> lines;
  KubernetesDeployer deployer = Deployer(&lines);
  for (int i = 1; i <= 12; ++i) {
    ASSERT_TRUE(
        deployer
            .Apply(absl::StrCat("v", i), Objects(absl::StrCat("web:", i), 1))
            .ok());
  }
  auto revisions = deployer.Revisions();
  ASSERT_TRUE(revisions.ok()) << revisions.status();
  ASSERT_EQ(revisions->size(), static_cast<size_t>(kKeptRevisions));
  EXPECT_EQ(revisions->front().number, 3);
  EXPECT_EQ(revisions->back().number, 12);
  EXPECT_EQ(revisions->back().version, "v12");
  EXPECT_EQ(revisions->back().objects.size(), 3u);
  EXPECT_THAT(revisions->back().objects[2].yaml, HasSubstr("image: web:12"));
  const std::string kept = dir_ + "/state/kubernetes/revisions/";
  EXPECT_FALSE(std::filesystem::exists(kept + "0002.yaml"));
  EXPECT_TRUE(std::filesystem::exists(kept + "0003.yaml"));
  EXPECT_TRUE(std::filesystem::exists(kept + "0012.yaml"));
  EXPECT_EQ(Image(), "web:12");
}

TEST_F(KubernetesDeployerTest, RollbackTwiceReturns) {
  std::vector<std::string> lines;
  KubernetesDeployer deployer = Deployer(&lines);
  EXPECT_TRUE(absl::IsFailedPrecondition(deployer.Rollback()));
  ASSERT_TRUE(deployer.Apply("v1", Objects("web:1", 2)).ok());
  ASSERT_TRUE(deployer.Apply("v2", Objects("web:2", 2)).ok());
  ASSERT_TRUE(deployer.Rollback().ok());
  EXPECT_EQ(Image(), "web:1");
  auto revisions = deployer.Revisions();
  ASSERT_TRUE(revisions.ok());
  ASSERT_EQ(revisions->size(), 3u);
  EXPECT_EQ(revisions->back().note, "rollback to 1");
  EXPECT_EQ(revisions->back().version, "v1");
  ASSERT_TRUE(deployer.Rollback().ok());
  EXPECT_EQ(Image(), "web:2");
  EXPECT_THAT(lines, ::testing::Contains(HasSubstr("web: rolled out (2/2 "
                                                   "ready)")));
}

TEST_F(KubernetesDeployerTest, DiffAgainstTheCurrentRevision) {
  std::vector<std::string> lines;
  KubernetesDeployer deployer = Deployer(&lines);
  auto diff = deployer.Diff(Objects("web:1", 1));
  ASSERT_TRUE(diff.ok());
  EXPECT_EQ(*diff,
            "+ Namespace/demo (new)\n+ ConfigMap/web-config (new)\n"
            "+ Deployment/web (new)\n");
  ASSERT_TRUE(deployer.Apply("v1", Objects("web:1", 1)).ok());
  EXPECT_EQ(*deployer.Diff(Objects("web:1", 1)), "no changes\n");
  std::vector<KubernetesObject> changed = Objects("web:2", 1);
  changed.erase(changed.begin() + 1);  // the ConfigMap goes
  diff = deployer.Diff(changed);
  ASSERT_TRUE(diff.ok());
  EXPECT_EQ(*diff,
            "~ Deployment/web\n"
            "@@ -13,4 +13,4 @@\n"
            "     spec:\n"
            "       containers:\n"
            "       - name: web\n"
            "-        image: web:1\n"
            "+        image: web:2\n"
            "- ConfigMap/web-config (removed)\n");
  // Nothing was applied by Diff.
  EXPECT_EQ(Image(), "web:1");
}

// A namespace `ns` holding a ConfigMap and (when `claim`) a claim.
std::vector<KubernetesObject> NamespacedObjects(const std::string& ns,
                                                bool claim) {
  std::vector<KubernetesObject> out = {
      {"v1", "Namespace", ns, "",
       absl::StrCat("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ", ns,
                    "\n")},
      {"v1", "ConfigMap", "settings", ns,
       absl::StrCat("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: "
                    "settings\n  namespace: ",
                    ns, "\ndata:\n  a: \"1\"\n")}};
  if (claim) {
    out.push_back(
        {"v1", "PersistentVolumeClaim", "postgres-data", ns,
         absl::StrCat("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:"
                      "\n  name: postgres-data\n  namespace: ",
                      ns,
                      "\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n"
                      "    requests: {storage: 1Gi}\n")});
  }
  return out;
}

TEST_F(KubernetesDeployerTest, RollbackAfterAFailedApplyReturnsToWhatRan) {
  std::vector<std::string> lines;
  KubernetesDeployer deployer = Deployer(&lines, absl::Seconds(1));
  ASSERT_TRUE(deployer.Apply("v1", Objects("web:1", 2)).ok());
  ASSERT_TRUE(deployer.Apply("v2", Objects("web:2", 2)).ok());
  fake_->HoldUnready("web");
  absl::Status failed = deployer.Apply("v3", Objects("web:3", 2));
  ASSERT_TRUE(absl::IsDeadlineExceeded(failed)) << failed;
  EXPECT_EQ(Image(), "web:3");  // half-applied: the cluster holds v3's web
  auto revisions = deployer.Revisions();
  ASSERT_TRUE(revisions.ok()) << revisions.status();
  ASSERT_EQ(revisions->size(), 3u);
  EXPECT_TRUE(revisions->back().failed);
  EXPECT_EQ(revisions->back().version, "v3");
  EXPECT_THAT(revisions->back().note, HasSubstr("failed: deployment web"));
  // Diff is against what ran (v2), and says the last attempt failed.
  auto diff = deployer.Diff(Objects("web:2", 2));
  ASSERT_TRUE(diff.ok());
  EXPECT_EQ(*diff,
            "note: revision 3 failed to apply; the cluster may hold part of "
            "it\nno changes\n");

  fake_->HoldUnready("web", false);
  ASSERT_TRUE(deployer.Rollback().ok());
  EXPECT_EQ(Image(), "web:2");  // what ran before the failed attempt
  EXPECT_THAT(lines, ::testing::Contains(
                         "rolling back from revision 3 (failed) to revision 2 "
                         "(version v2)"));
  revisions = deployer.Revisions();
  ASSERT_TRUE(revisions.ok());
  ASSERT_EQ(revisions->size(), 4u);
  EXPECT_FALSE(revisions->back().failed);
  EXPECT_EQ(revisions->back().note, "rollback to 2");
  // The cluster now runs v2: the next rollback goes to the one before (v1),
  // skipping the failed attempt and v2 itself.
  ASSERT_TRUE(deployer.Rollback().ok());
  EXPECT_EQ(Image(), "web:1");
}

TEST_F(KubernetesDeployerTest, RollbackAfterAFailedSecondApply) {
  std::vector<std::string> lines;
  KubernetesDeployer deployer = Deployer(&lines, absl::Seconds(1));
  ASSERT_TRUE(deployer.Apply("v1", Objects("web:1", 1)).ok());
  fake_->HoldUnready("web");
  ASSERT_FALSE(deployer.Apply("v2", Objects("web:2", 1)).ok());
  EXPECT_EQ(Image(), "web:2");
  fake_->HoldUnready("web", false);
  absl::Status rolled_back = deployer.Rollback();
  ASSERT_TRUE(rolled_back.ok()) << rolled_back;
  EXPECT_EQ(Image(), "web:1");
}

TEST_F(KubernetesDeployerTest, OnlyFailedAttemptsLeaveNothingToRollBackTo) {
  std::vector<std::string> lines;
  KubernetesDeployer deployer = Deployer(&lines, absl::Seconds(1));
  fake_->HoldUnready("web");
  ASSERT_FALSE(deployer.Apply("v1", Objects("web:1", 1)).ok());
  absl::Status rollback = deployer.Rollback();
  EXPECT_TRUE(absl::IsFailedPrecondition(rollback)) << rollback;
  EXPECT_THAT(rollback.message(), HasSubstr("no apply has completed yet"));
}

TEST_F(KubernetesDeployerTest, PruningKeepsNamespacesAndClaims) {
  std::vector<std::string> lines;
  KubernetesDeployer deployer = Deployer(&lines);
  ASSERT_TRUE(deployer.Apply("v1", NamespacedObjects("old", true)).ok());
  ASSERT_TRUE(fake_->Object("persistentvolumeclaims", "old", "postgres-data"));
  // The namespace changes and the claim is not rendered any more (storage
  // moved to EXTERNAL).
  const std::vector<KubernetesObject> next = NamespacedObjects("new", false);
  auto diff = deployer.Diff(next);
  ASSERT_TRUE(diff.ok());
  EXPECT_THAT(*diff, HasSubstr("- Namespace/old (removed; apply keeps it)\n"));
  EXPECT_THAT(*diff, HasSubstr("- PersistentVolumeClaim/postgres-data "
                               "(removed; apply keeps it)\n"));
  EXPECT_THAT(*diff, HasSubstr("- ConfigMap/settings (removed)\n"));
  fake_->ClearMutations();
  ASSERT_TRUE(deployer.Apply("v2", next).ok());
  EXPECT_TRUE(fake_->Object("namespaces", "", "old").has_value());
  EXPECT_TRUE(fake_->Object("persistentvolumeclaims", "old", "postgres-data"));
  EXPECT_FALSE(fake_->Object("configmaps", "old", "settings").has_value());
  EXPECT_TRUE(fake_->Object("configmaps", "new", "settings").has_value());
  for (const auto& m : fake_->Mutations()) {
    if (m.verb != "delete") continue;
    EXPECT_NE(m.kind, "Namespace");
    EXPECT_NE(m.kind, "PersistentVolumeClaim");
  }
  const std::string kubectl =
      absl::StrCat("kubectl --kubeconfig=", dir_, "/kubeconfig --context=fake");
  EXPECT_THAT(lines, ::testing::Contains(::testing::AllOf(
                         HasSubstr("kept Namespace/old"),
                         HasSubstr("deletes everything in it"),
                         HasSubstr(kubectl + " delete namespace old"))));
  EXPECT_THAT(lines, ::testing::Contains(::testing::AllOf(
                         HasSubstr("kept PersistentVolumeClaim/postgres-data"),
                         HasSubstr(kubectl + " delete persistentvolumeclaim "
                                             "postgres-data -n old"))));
  EXPECT_THAT(lines,
              ::testing::Contains(
                  "deleting ConfigMap/settings (not rendered any more)"));
}

TEST_F(KubernetesDeployerTest, CorruptIndexIsDataLoss) {
  std::vector<std::string> lines;
  KubernetesDeployer deployer = Deployer(&lines);
  ASSERT_TRUE(deployer.Apply("v1", Objects("web:1", 1)).ok());
  const std::string index = dir_ + "/state/kubernetes/index.json";
  // Hand-edited: a number where a string belongs, a string for a number.
  for (const char* text :
       {R"({"revisions": [{"number": "one", "file": "revisions/0001.yaml"}]})",
        R"({"revisions": [{"number": 1, "version": 2}]})",
        R"({"revisions": [{"number": 1, "file": "revisions/0001.yaml",
             "objects": [1, 2, 3]}]})",
        R"({"revisions": {}})", R"([1])", R"({"revisions": [7]})"}) {
    std::ofstream(index, std::ios::trunc) << text;
    auto revisions = deployer.Revisions();
    ASSERT_FALSE(revisions.ok()) << text;
    EXPECT_TRUE(absl::IsDataLoss(revisions.status()))
        << text << ": " << revisions.status();
    EXPECT_THAT(revisions.status().message(), HasSubstr(index)) << text;
    fake_->ClearMutations();
    EXPECT_TRUE(absl::IsDataLoss(deployer.Apply("v2", Objects("web:2", 1))));
    EXPECT_TRUE(absl::IsDataLoss(deployer.Rollback()));
    EXPECT_TRUE(absl::IsDataLoss(deployer.Diff(Objects("web:2", 1)).status()));
    EXPECT_TRUE(fake_->Mutations().empty()) << text;
  }
  EXPECT_EQ(Image(), "web:1");
}

TEST_F(KubernetesDeployerTest, OnlyTheServersNotFoundMeansMissing) {
  std::vector<std::string> lines;
  KubernetesDeployer deployer = Deployer(&lines);
  // Nothing applied: the API server's NotFound, a missing Deployment.
  auto status = deployer.Status(Objects("web:1", 1));
  ASSERT_TRUE(status.ok()) << status.status();
  ASSERT_EQ(status->size(), 1u);
  EXPECT_FALSE((*status)[0].found);
  // A context the kubeconfig does not have: kubectl says "Error in
  // configuration: context was not found for specified context" (without
  // -n; "does not exist" with it), which is no answer about the Deployment.
  KubernetesTarget target;
  target.kubeconfig = dir_ + "/kubeconfig";
  target.context = "gennaker-no-such-context";
  KubernetesDeployer broken(target, dir_ + "/state-other", nullptr);
  KubernetesObject web = Objects("web:1", 1)[2];
  web.namespace_name.clear();  // kubeconfig's namespace: no -n
  status = broken.Status({web});
  ASSERT_FALSE(status.ok()) << "taken as a missing Deployment";
  EXPECT_TRUE(absl::IsUnavailable(status.status())) << status.status();
  EXPECT_THAT(status.status().message(), HasSubstr("gennaker-no-such-context"));
}

TEST_F(KubernetesDeployerTest, UnobservedSpecChangeIsNotRolledOut) {
  // A fake whose controller observes a change 3 s late (and rolls out in 4).
  testing::FakeKubeApiServer::Options options;
  options.rollout_delay = absl::Seconds(4);
  options.observed_generation_lag = absl::Seconds(3);
  auto fake = testing::FakeKubeApiServer::Start(options);
  ASSERT_TRUE(fake.ok()) << fake.status();
  fake_ = *std::move(fake);
  ASSERT_TRUE(fake_->WriteKubeconfig(dir_ + "/kubeconfig", "fake").ok());
  std::vector<std::string> lines;
  KubernetesDeployer deployer = Deployer(&lines);
  ASSERT_TRUE(deployer.Apply("v1", Objects("web:1", 2)).ok());
  // v2 changes only the image: the replica counts stay 2/2/2 while the
  // controller has not observed generation 2.
  const absl::Time applied = absl::Now();
  auto run = process::RunCaptured(
      {"kubectl", "--kubeconfig=" + dir_ + "/kubeconfig", "--context=fake",
       "apply", "--server-side", "--field-manager=test", "-f", "-"},
      Objects("web:2", 2)[2].yaml, absl::Seconds(30));
  ASSERT_TRUE(run.ok() && run->exit_code == 0)
      << (run.ok() ? run->err : run.status().ToString());
  auto status = deployer.Status(Objects("web:2", 2));
  ASSERT_TRUE(status.ok()) << status.status();
  ASSERT_LT(absl::Now() - applied, absl::Seconds(3))
      << "too slow to see the unobserved state";
  ASSERT_EQ(status->size(), 1u);
  const DeploymentRollout& web = (*status)[0];
  EXPECT_TRUE(web.found);
  EXPECT_EQ(web.generation, 2);
  EXPECT_EQ(web.observed_generation, 1);
  EXPECT_EQ(web.replicas, 2);
  EXPECT_EQ(web.updated, 2);
  EXPECT_EQ(web.ready, 2);
  EXPECT_EQ(web.available, 2);
  EXPECT_FALSE(web.RolledOut()) << web.Summary();
  // And the apply of the same change waits for the real rollout.
  const absl::Time start = absl::Now();
  ASSERT_TRUE(deployer.Apply("v2", Objects("web:2", 2)).ok());
  EXPECT_GE(absl::Now() - applied, absl::Seconds(4));
  EXPECT_GT(absl::Now() - start, absl::ZeroDuration());
}

TEST(DeploymentRolloutTest, RolledOutNeedsTheGenerationObserved) {
  DeploymentRollout r;
  r.found = true;
  r.generation = 3;
  r.observed_generation = 2;
  r.replicas = r.current = r.updated = r.ready = r.available = 2;
  EXPECT_FALSE(r.RolledOut());
  r.observed_generation = 3;
  EXPECT_TRUE(r.RolledOut());
  r.current = 4;  // the old pods still run
  EXPECT_FALSE(r.RolledOut());
  r.current = 2;
  r.available = 1;
  EXPECT_FALSE(r.RolledOut());
  r.available = 2;
  r.found = false;
  EXPECT_FALSE(r.RolledOut());
}

TEST(HalyardDaemonTest, RefusesAKubernetesHalconfig) {
  const std::string dir = testing::MakeTempDir("halyard-daemon-k8s");
  const std::string path = dir + "/halconfig.yml";
  std::ofstream(path, std::ios::trunc)
      << "name: k8s\nstateDir: " << dir
      << "/state\ndeploymentEnvironment:\n  type: KUBERNETES\n"
      << "  namespace: demo\n";
  v1::HalyardConfig config;
  config.set_halconfig_path(path);
  auto daemon = BuildDaemon(config, nullptr);
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  auto services = (*daemon)->GrpcServices();
  ASSERT_EQ(services.size(), 1u);
  auto* service = dynamic_cast<v1::HalyardService::Service*>(services[0]);
  ASSERT_NE(service, nullptr);
  {
    v1::GetDeploymentStatusRequest request;
    v1::GetDeploymentStatusResponse response;
    grpc::Status s = service->GetDeploymentStatus(nullptr, &request, &response);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
        << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr("KUBERNETES"));
    EXPECT_THAT(s.error_message(), HasSubstr("halyard deploy status"));
  }
  {
    v1::GetVersionsRequest request;
    v1::GetVersionsResponse response;
    grpc::Status s = service->GetVersions(nullptr, &request, &response);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
        << s.error_message();
    EXPECT_TRUE(response.service_versions().empty());
  }
  {
    v1::ApplyDeploymentRequest request;
    v1::ApplyDeploymentResponse response;
    grpc::Status s = service->ApplyDeployment(nullptr, &request, &response);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
        << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr("halyard deploy apply"));
  }
  // A LOCAL halconfig is still served as before.
  std::ofstream(path, std::ios::trunc)
      << "name: local\nstateDir: " << dir << "/state\n";
  {
    v1::ApplyDeploymentRequest request;
    v1::ApplyDeploymentResponse response;
    grpc::Status s = service->ApplyDeployment(nullptr, &request, &response);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED);
    v1::GetDeploymentStatusRequest status_request;
    v1::GetDeploymentStatusResponse status_response;
    s = service->GetDeploymentStatus(nullptr, &status_request,
                                     &status_response);
    EXPECT_NE(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
        << s.error_message();
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

// The value of a "Name:\t<hex>" line of /proc/<pid>/status in `text`.
uint64_t StatusMask(const std::string& text, absl::string_view name) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::ConsumePrefix(&line, name) && absl::ConsumePrefix(&line, ":")) {
      uint64_t mask = 0;
      if (absl::SimpleHexAtoi(absl::StripAsciiWhitespace(line), &mask)) {
        return mask;
      }
    }
  }
  ADD_FAILURE() << "no " << name << " in " << text;
  return ~uint64_t{0};
}

// kubectl must not inherit a service's blocked SIGTERM/SIGINT, its ignored
// SIGPIPE, or its descriptors; RunCaptured must not change this process's
// SIGPIPE disposition, yet survive a child that does not read its input.
TEST(RunCapturedTest, ChildGetsSpawnsSetUp) {
  sigset_t blocked, saved_mask;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGTERM);
  sigaddset(&blocked, SIGINT);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &blocked, &saved_mask), 0);
  struct sigaction ignore {
  }, saved_pipe{};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(sigaction(SIGPIPE, &ignore, &saved_pipe), 0);
  const int leaked = open("/dev/null", O_RDONLY);  // no O_CLOEXEC
  ASSERT_GE(leaked, 3);

  auto run = process::RunCaptured(
      {"sh", "-c",
       absl::StrCat("cat /proc/$$/status; if [ -e /proc/$$/fd/", leaked,
                    " ]; then echo fd-leaked; else echo fd-closed; fi")},
      "", absl::Seconds(30));

  close(leaked);
  sigaction(SIGPIPE, &saved_pipe, nullptr);
  pthread_sigmask(SIG_SETMASK, &saved_mask, nullptr);
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_EQ(run->exit_code, 0) << run->err;
  EXPECT_EQ(StatusMask(run->out, "SigBlk"), 0u) << "signals blocked in child";
  EXPECT_EQ(StatusMask(run->out, "SigIgn") & (uint64_t{1} << (SIGPIPE - 1)), 0u)
      << "SIGPIPE ignored in child";
  EXPECT_THAT(run->out, HasSubstr("fd-closed"));

  // SIGPIPE at its default (kills the process): a child that exits without
  // reading 4 MiB of input must not kill us, and the default stays.
  struct sigaction dfl {
  }, before{};
  dfl.sa_handler = SIG_DFL;
  ASSERT_EQ(sigaction(SIGPIPE, &dfl, &before), 0);
  auto early = process::RunCaptured({"true"}, std::string(4 << 20, 'x'),
                                    absl::Seconds(30));
  struct sigaction after {};
  sigaction(SIGPIPE, nullptr, &after);
  sigaction(SIGPIPE, &before, nullptr);
  ASSERT_TRUE(early.ok()) << early.status();
  EXPECT_EQ(early->exit_code, 0);
  EXPECT_EQ(after.sa_handler, SIG_DFL) << "RunCaptured changed SIGPIPE";
  sigset_t pending;
  sigpending(&pending);
  EXPECT_EQ(sigismember(&pending, SIGPIPE), 0) << "a SIGPIPE left pending";
}

TEST(UnifiedDiffTest, Hunks) {
  EXPECT_EQ(UnifiedDiff("a\nb\n", "a\nb\n"), "");
  EXPECT_EQ(UnifiedDiff("a\n", "a\nb\n"), "@@ -1,1 +1,2 @@\n a\n+b\n");
  EXPECT_EQ(UnifiedDiff("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n",
                        "1\nX\n3\n4\n5\n6\n7\n8\n9\nY\n"),
            "@@ -1,5 +1,5 @@\n 1\n-2\n+X\n 3\n 4\n 5\n"
            "@@ -7,4 +7,4 @@\n 7\n 8\n 9\n-10\n+Y\n");
}

}  // namespace
}  // namespace gennaker::halyard
