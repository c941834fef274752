// End to end: `halyard deploy apply|diff|rollback|status` on a Kubernetes
// deploymentEnvironment, driving the REAL kubectl against the fake Kubernetes
// API server (tests/support/fake_kube_apiserver.h; no real API server can run
// here). The objects are applied in dependency order, each Deployment's
// rollout awaited before the next step; an unchanged apply changes nothing; a
// replica change touches only its Deployment (and `deploy diff` shows it
// first); rollback restores the previous image; a service disabled has its
// objects deleted; a Deployment that never becomes ready fails the apply with
// the timeout message and rollback after it returns to what ran; an invalid
// config sends no mutating request; `deploy render --output` writes a private
// file; `deploy diff` never shows a Secret's data.
//
// kubectl is required (scripts/install-deps.sh installs it): without it the
// test fails, it does not skip.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/process/process.h"
#include "common/testing/test_stores.h"
#include "services/halyard/halconfig.h"
#include "services/halyard/kubernetes_manifests.h"
#include "services/halyard/secrets.h"
#include "tests/support/fake_kube_apiserver.h"

namespace gennaker {
namespace {

using testing::FakeKubeApiServer;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kNamespace[] = "gennaker-e2e";

struct CliResult {
  int code = -1;
  std::string out;
  std::string err;
  absl::Duration elapsed;
};

class HalyardKubernetesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto version = process::RunCaptured({"kubectl", "version", "--client"}, "",
                                        absl::Seconds(30));
    ASSERT_TRUE(version.ok() && version->exit_code == 0)
        << "kubectl is required (the real one: scripts/install-deps.sh "
           "installs it): "
        << (version.ok() ? version->err : version.status().ToString());
    dir_ = testing::MakeTempDir("halyard-k8s");
    // kubectl's discovery cache goes with the test, not into $HOME.
    setenv("KUBECACHEDIR", (dir_ + "/kube-cache").c_str(), 1);
    FakeKubeApiServer::Options options;
    options.rollout_delay = absl::Milliseconds(250);
    auto fake = FakeKubeApiServer::Start(options);
    ASSERT_TRUE(fake.ok()) << fake.status();
    fake_ = *std::move(fake);
    kubeconfig_ = dir_ + "/kubeconfig";
    ASSERT_TRUE(fake_->WriteKubeconfig(kubeconfig_, "fake").ok());
    config_ = dir_ + "/halconfig.yml";
    WriteConfig("1.0.0", {{"orca", 2}, {"gate", 2}}, "");
  }

  // A Kubernetes halconfig with `tag`, the replicas per service and `extra`
  // YAML appended at the top level.
  void WriteConfig(const std::string& tag,
                   const std::vector<std::pair<std::string, int>>& replicas,
                   const std::string& extra) {
    std::string yaml = absl::StrCat(
        "name: k8s\nstateDir: ", dir_,
        "/state\n"
        "deploymentEnvironment:\n"
        "  type: KUBERNETES\n"
        "  context: fake\n"
        "  kubeconfig: ",
        kubeconfig_, "\n  namespace: ", kNamespace, "\n  imageTag: \"", tag,
        "\"\n  rolloutTimeoutSeconds: 10\n  customSizing:\n");
    for (const auto& [service, n] : replicas) {
      absl::StrAppend(&yaml, "    ", service, ": {replicas: ", n, "}\n");
    }
    absl::StrAppend(&yaml, extra);
    std::ofstream(config_, std::ios::trunc) << yaml;
  }

  CliResult Halyard(std::vector<std::string> args) {
    std::vector<std::string> argv = {testing::BinDir() + "/halyard", "--config",
                                     config_};
    argv.insert(argv.end(), args.begin(), args.end());
    const absl::Time start = absl::Now();
    auto run = process::RunCaptured(argv, "", absl::Minutes(5));
    CliResult result;
    result.elapsed = absl::Now() - start;
    if (!run.ok()) {
      result.err = run.status().ToString();
      return result;
    }
    result.code = run->exit_code;
    result.out = run->out;
    result.err = run->err;
    return result;
  }

  // What the config renders now, in apply order (with the passwords halyard
  // generated into the state directory).
  std::vector<halyard::KubernetesObject> Rendered() {
    auto loaded = halyard::LoadHalconfig(config_);
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    if (!loaded.ok()) return {};
    const halyard::v1::Halconfig& config = *loaded;
    auto secrets = halyard::EnsureStoreSecrets(dir_ + "/state");
    EXPECT_TRUE(secrets.ok()) << secrets.status();
    halyard::KubernetesRenderOptions options;
    options.postgres_password = secrets->postgres_password;
    options.redis_password = secrets->redis_password;
    auto salt = halyard::KubernetesHashSalt(dir_ + "/state");
    EXPECT_TRUE(salt.ok()) << salt.status();
    options.hash_salt = salt.ok() ? *salt : "";
    auto objects = halyard::RenderKubernetesManifests(config, options);
    EXPECT_TRUE(objects.ok()) << objects.status();
    return objects.ok() ? *objects : std::vector<halyard::KubernetesObject>{};
  }

  std::string Image(const std::string& deployment) {
    auto d = fake_->Object("deployments", kNamespace, deployment);
    if (!d) return "";
    return (*d)["spec"]["template"]["spec"]["containers"][0].value("image", "");
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

  std::string dir_, kubeconfig_, config_;
  std::unique_ptr<FakeKubeApiServer> fake_;
};

std::string Describe(const std::vector<FakeKubeApiServer::Mutation>& ms) {
  std::string out;
  for (const auto& m : ms) {
    absl::StrAppend(&out, m.verb, " ", m.kind, "/", m.name,
                    m.changed ? " (changed)" : "", "\n");
  }
  return out;
}

TEST_F(HalyardKubernetesTest, ApplyDiffRollback) {
  // `deploy diff` before anything was applied: everything is new.
  CliResult diff = Halyard({"deploy", "diff"});
  ASSERT_EQ(diff.code, 0) << diff.err;
  EXPECT_THAT(diff.out, HasSubstr("+ Namespace/gennaker-e2e (new)"));
  EXPECT_THAT(diff.out, HasSubstr("+ Deployment/orca (new)"));
  EXPECT_TRUE(fake_->Mutations().empty()) << "diff must not touch the cluster";

  CliResult apply = Halyard({"deploy", "apply"});
  ASSERT_EQ(apply.code, 0) << apply.out << apply.err;
  EXPECT_THAT(apply.out, HasSubstr("objects for orca"));
  EXPECT_THAT(apply.out, HasSubstr("orca: rolled out (2/2 ready) in "));
  EXPECT_THAT(apply.out, HasSubstr("gate: rolled out (2/2 ready) in "));

  // Everything rendered was created, in the rendered (dependency) order.
  const std::vector<halyard::KubernetesObject> rendered = Rendered();
  ASSERT_FALSE(rendered.empty());
  std::vector<FakeKubeApiServer::Mutation> changes = fake_->Changes();
  ASSERT_EQ(changes.size(), rendered.size()) << Describe(changes);
  for (size_t i = 0; i < rendered.size(); ++i) {
    EXPECT_EQ(changes[i].kind, rendered[i].kind) << i;
    EXPECT_EQ(changes[i].name, rendered[i].name) << i;
    EXPECT_TRUE(changes[i].created) << i;
  }
  EXPECT_EQ(changes.front().kind, "Namespace");

  // Each Deployment's rollout was awaited (a GET of it) before anything
  // after it was applied.
  const std::vector<std::string> requests = fake_->Requests();
  std::vector<std::string> deployments;
  for (const auto& o : rendered) {
    if (o.kind == "Deployment") deployments.push_back(o.name);
  }
  ASSERT_GE(deployments.size(), 3u);
  for (size_t d = 0; d + 1 < deployments.size(); ++d) {
    const std::string path =
        absl::StrCat("/apis/apps/v1/namespaces/", kNamespace, "/deployments/",
                     deployments[d]);
    const std::string next =
        absl::StrCat("/apis/apps/v1/namespaces/", kNamespace, "/deployments/",
                     deployments[d + 1]);
    size_t patched = requests.size(), got = requests.size(),
           next_patched = requests.size();
    for (size_t i = 0; i < requests.size(); ++i) {
      if (patched == requests.size() &&
          absl::StartsWith(requests[i], "PATCH " + path + "?")) {
        patched = i;
      }
      if (patched < i && got == requests.size() &&
          absl::StartsWith(requests[i], "GET " + path)) {
        got = i;
      }
      if (next_patched == requests.size() &&
          absl::StartsWith(requests[i], "PATCH " + next + "?")) {
        next_patched = i;
      }
    }
    EXPECT_LT(patched, got) << deployments[d];
    EXPECT_LT(got, next_patched)
        << deployments[d] << " before " << deployments[d + 1];
  }
  const std::string first_image = Image("orca");
  EXPECT_THAT(first_image, HasSubstr(":1.0.0"));

  // `deploy status`: every Deployment rolled out.
  CliResult status = Halyard({"deploy", "status"});
  EXPECT_EQ(status.code, 0) << status.out << status.err;
  EXPECT_THAT(status.out, HasSubstr("orca"));
  EXPECT_THAT(status.out, HasSubstr("2/2"));
  EXPECT_THAT(status.out, Not(HasSubstr("MISSING")));

  // Unchanged: applied again (server-side apply is idempotent), nothing
  // changed, quicker than the first.
  EXPECT_THAT(Halyard({"deploy", "diff"}).out, HasSubstr("no changes"));
  fake_->ClearMutations();
  CliResult again = Halyard({"deploy", "apply"});
  ASSERT_EQ(again.code, 0) << again.out << again.err;
  EXPECT_FALSE(fake_->Mutations().empty());
  EXPECT_TRUE(fake_->Changes().empty()) << Describe(fake_->Changes());
  EXPECT_LT(again.elapsed, apply.elapsed);

  // Three orca replicas: the diff names only orca's Deployment, and the
  // apply changes only it.
  WriteConfig("1.0.0", {{"orca", 3}, {"gate", 2}}, "");
  diff = Halyard({"deploy", "diff"});
  ASSERT_EQ(diff.code, 0) << diff.err;
  EXPECT_THAT(diff.out, HasSubstr("~ Deployment/orca\n"));
  EXPECT_THAT(diff.out, HasSubstr("-  replicas: 2\n+  replicas: 3\n"));
  EXPECT_THAT(diff.out, Not(HasSubstr("~ Deployment/gate")));
  EXPECT_THAT(diff.out, Not(HasSubstr("(new)")));
  fake_->ClearMutations();
  apply = Halyard({"deploy", "apply"});
  ASSERT_EQ(apply.code, 0) << apply.out << apply.err;
  changes = fake_->Changes();
  ASSERT_EQ(changes.size(), 1u) << Describe(changes);
  EXPECT_EQ(changes[0].kind, "Deployment");
  EXPECT_EQ(changes[0].name, "orca");
  EXPECT_EQ((*fake_->Object("deployments", kNamespace, "orca"))["spec"].value(
                "replicas", 0),
            3);
  EXPECT_THAT(apply.out, HasSubstr("orca: rolled out (3/3 ready)"));

  // A new image tag, then rollback: the previous tag is back.
  WriteConfig("1.1.0", {{"orca", 3}, {"gate", 2}}, "");
  apply = Halyard({"deploy", "apply"});
  ASSERT_EQ(apply.code, 0) << apply.out << apply.err;
  EXPECT_THAT(Image("orca"), HasSubstr(":1.1.0"));
  CliResult rollback = Halyard({"deploy", "rollback"});
  ASSERT_EQ(rollback.code, 0) << rollback.out << rollback.err;
  EXPECT_THAT(rollback.out, HasSubstr("rolling back from revision 4 to "
                                      "revision 3"));
  EXPECT_THAT(rollback.out, HasSubstr("orca: rolled out (3/3 ready)"));
  EXPECT_THAT(Image("orca"), HasSubstr(":1.0.0"));
  EXPECT_THAT(Image("gate"), HasSubstr(":1.0.0"));
  // The rollback is the current revision: the config (1.1.0) differs from it.
  EXPECT_THAT(Halyard({"deploy", "diff"}).out, HasSubstr("~ Deployment/orca"));
}

TEST_F(HalyardKubernetesTest, DisabledServiceIsDeleted) {
  ASSERT_EQ(Halyard({"deploy", "apply"}).code, 0);
  ASSERT_TRUE(fake_->Object("deployments", kNamespace, "kayenta").has_value());
  WriteConfig("1.0.0", {{"orca", 2}, {"gate", 2}},
              "services:\n  kayenta: {enabled: false}\n");
  CliResult diff = Halyard({"deploy", "diff"});
  EXPECT_THAT(diff.out, HasSubstr("- Deployment/kayenta (removed)"));
  fake_->ClearMutations();
  CliResult apply = Halyard({"deploy", "apply"});
  ASSERT_EQ(apply.code, 0) << apply.out << apply.err;
  EXPECT_THAT(apply.out, HasSubstr("deleting Deployment/kayenta"));
  EXPECT_FALSE(fake_->Object("deployments", kNamespace, "kayenta").has_value());
  // Deleted after the applies, the Deployment before its Service and config.
  const auto mutations = fake_->Mutations();
  int deployment_at = -1, service_at = -1;
  for (size_t i = 0; i < mutations.size(); ++i) {
    if (mutations[i].verb != "delete") {
      EXPECT_EQ(deployment_at, -1) << "apply after a delete";
      continue;
    }
    EXPECT_THAT(mutations[i].name, HasSubstr("kayenta"));
    if (mutations[i].kind == "Deployment") deployment_at = static_cast<int>(i);
    if (mutations[i].kind == "Service") service_at = static_cast<int>(i);
  }
  EXPECT_GE(deployment_at, 0);
  EXPECT_GT(service_at, deployment_at);
}

TEST_F(HalyardKubernetesTest, UnreadyDeploymentFailsAfterTheTimeout) {
  fake_->HoldUnready("orca");
  CliResult apply = Halyard({"deploy", "apply"});
  EXPECT_EQ(apply.code, 1) << apply.out;
  EXPECT_THAT(apply.err, HasSubstr("deployment orca in namespace "
                                   "gennaker-e2e did not roll out within 10s"));
  EXPECT_THAT(apply.err, HasSubstr("2/2 replicas updated, 0 ready"));
  EXPECT_THAT(apply.err,
              HasSubstr("kubectl describe deployment orca -n gennaker-e2e"));
  EXPECT_GE(apply.elapsed, absl::Seconds(10));
  // Nothing after orca's step was applied; the attempt is recorded as failed
  // (the cluster holds part of it), and with no completed apply there is
  // nothing to roll back to.
  bool after_orca = false;
  for (const auto& o : Rendered()) {
    if (after_orca && o.kind == "Deployment") {
      EXPECT_FALSE(fake_->Object("deployments", kNamespace, o.name))
          << o.name << " applied after orca failed";
    }
    if (o.kind == "Deployment" && o.name == "orca") after_orca = true;
  }
  EXPECT_TRUE(after_orca);
  std::ifstream index(dir_ + "/state/kubernetes/index.json");
  std::string text((std::istreambuf_iterator<char>(index)),
                   std::istreambuf_iterator<char>());
  EXPECT_THAT(text, HasSubstr("\"status\": \"failed\""));
  EXPECT_THAT(text, Not(HasSubstr("\"status\": \"applied\"")));
  CliResult rollback = Halyard({"deploy", "rollback"});
  EXPECT_EQ(rollback.code, 1);
  EXPECT_THAT(rollback.err, HasSubstr("no previous revision"));
  EXPECT_THAT(rollback.err, HasSubstr("no apply has completed yet"));
}

TEST_F(HalyardKubernetesTest, RollbackAfterAFailedApplyReturnsToWhatRan) {
  CliResult apply = Halyard({"deploy", "apply"});
  ASSERT_EQ(apply.code, 0) << apply.out << apply.err;
  EXPECT_THAT(Image("orca"), HasSubstr(":1.0.0"));
  // v2's orca never becomes ready: the apply fails half-way, orca on 1.1.0.
  WriteConfig("1.1.0", {{"orca", 2}, {"gate", 2}}, "");
  fake_->HoldUnready("orca");
  apply = Halyard({"deploy", "apply"});
  ASSERT_EQ(apply.code, 1) << apply.out << apply.err;
  EXPECT_THAT(apply.err, HasSubstr("deployment orca"));
  EXPECT_THAT(Image("orca"), HasSubstr(":1.1.0"));
  // The fixed (old) image would become ready.
  fake_->HoldUnready("orca", false);
  CliResult rollback = Halyard({"deploy", "rollback"});
  ASSERT_EQ(rollback.code, 0) << rollback.out << rollback.err;
  EXPECT_THAT(rollback.out, HasSubstr("rolling back from revision 2 (failed) "
                                      "to revision 1"));
  EXPECT_THAT(rollback.out, HasSubstr("orca: rolled out (2/2 ready)"));
  EXPECT_THAT(Image("orca"), HasSubstr(":1.0.0"));
  EXPECT_THAT(Image("gate"), HasSubstr(":1.0.0"));
}

TEST_F(HalyardKubernetesTest, DiffNeverShowsASecretsData) {
  ASSERT_EQ(Halyard({"deploy", "apply"}).code, 0);
  const std::string path = halyard::PostgresPasswordPath(dir_ + "/state");
  std::ifstream in(path);
  std::string old_password;
  std::getline(in, old_password);
  ASSERT_GE(old_password.size(), 16u);
  const std::string new_password = "Zq9ChangedPostgresPassword0042";
  ASSERT_TRUE(process::WritePrivateFile(path, new_password + "\n").ok());
  CliResult diff = Halyard({"deploy", "diff"});
  ASSERT_EQ(diff.code, 0) << diff.err;
  EXPECT_THAT(diff.out, HasSubstr("~ Secret/"));
  EXPECT_THAT(diff.out, HasSubstr(" (its data changed; not shown)\n"));
  for (const std::string& secret : {old_password, new_password}) {
    for (const std::string& form : {secret, absl::Base64Escape(secret),
                                    absl::Base64Escape(secret).substr(0, 16)}) {
      EXPECT_THAT(diff.out, Not(HasSubstr(form))) << form;
      EXPECT_THAT(diff.err, Not(HasSubstr(form))) << form;
    }
  }
}

TEST_F(HalyardKubernetesTest, InvalidConfigAppliesNothing) {
  WriteConfig("1.0.0", {{"orca", 0}}, "");
  CliResult apply = Halyard({"deploy", "apply"});
  EXPECT_EQ(apply.code, 2);
  EXPECT_THAT(apply.err, HasSubstr("nothing was changed"));
  EXPECT_THAT(apply.err, HasSubstr("replicas"));
  EXPECT_TRUE(fake_->Mutations().empty()) << Describe(fake_->Mutations());
  for (const std::string& r : fake_->Requests()) {
    EXPECT_FALSE(absl::StartsWith(r, "PATCH") ||
                 absl::StartsWith(r, "DELETE") || absl::StartsWith(r, "POST") ||
                 absl::StartsWith(r, "PUT"))
        << r;
  }
}

TEST_F(HalyardKubernetesTest, RollbackNeedsAPreviousRevision) {
  CliResult rollback = Halyard({"deploy", "rollback"});
  EXPECT_EQ(rollback.code, 1);
  EXPECT_THAT(rollback.err, HasSubstr("no previous revision to roll back to"));
  EXPECT_TRUE(fake_->Mutations().empty());
}

TEST_F(HalyardKubernetesTest, RenderWritesTheManifests) {
  const std::string out = dir_ + "/manifests.yaml";
  // An existing world-readable file is made private too.
  std::ofstream(out, std::ios::trunc) << "old\n";
  std::filesystem::permissions(out, std::filesystem::perms(0644));
  CliResult render = Halyard({"deploy", "render", "--output", out});
  ASSERT_EQ(render.code, 0) << render.err;
  // It holds the Secrets (the store passwords): owner only.
  EXPECT_EQ(
      std::filesystem::status(out).permissions() & std::filesystem::perms::all,
      std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  const std::string fresh = dir_ + "/fresh.yaml";
  ASSERT_EQ(Halyard({"deploy", "render", "--output", fresh}).code, 0);
  EXPECT_EQ(
      std::filesystem::status(fresh).permissions() &
          std::filesystem::perms::all,
      std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  std::ifstream in(out);
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  EXPECT_EQ(text, halyard::JoinManifests(Rendered()));
  EXPECT_TRUE(fake_->Requests().empty()) << "render must not touch a cluster";
}

TEST_F(HalyardKubernetesTest, KubernetesCommandsNeedAKubernetesEnvironment) {
  std::ofstream(config_, std::ios::trunc)
      << "name: local\nstateDir: " << dir_ << "/state\n";
  for (const char* command : {"diff", "rollback", "render"}) {
    CliResult r = Halyard({"deploy", command});
    EXPECT_EQ(r.code, 2) << command;
    EXPECT_THAT(r.err, HasSubstr("needs a Kubernetes deploymentEnvironment"))
        << command;
  }
}

}  // namespace
}  // namespace gennaker
