// RoscoCore on the in-memory bake store with the fake packer runner
// (fake_packer_runner.h): bake-key reuse, rebake, validation, the concurrency
// cap, restart durability, timeouts, logs, cancel and the per-provider bake
// options and packer command lines. The real packer and Redis run in
// rosco_packer_test.cc.
#include "services/rosco/rosco_core.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_stores.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/rosco/bake_store.h"
#include "services/rosco/fake_packer_runner.h"
#include "services/rosco/rosco_server.h"

namespace gennaker::rosco {
namespace {

namespace fs = std::filesystem;
using ::gennaker::testing::IsOk;
using ::gennaker::testing::StatusIs;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

class RoscoCoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = gennaker::testing::MakeTempDir("rosco-core");
    repo_ = dir_ + "/repo";
    fs::create_directories(repo_);
    AddPackage("hello_1.0.0_all.deb");
    AddPackage("hello_1.2.0_all.deb");
    AddPackage("world-2.0.tar.gz");
    store_ = NewInMemoryBakeStore();
  }
  void TearDown() override {
    core_.reset();
    gennaker::testing::RemoveTree(dir_);
  }

  void AddPackage(const std::string& file) {
    std::ofstream(repo_ + "/" + file) << "package " << file;
  }

  CoreOptions Options() {
    CoreOptions o;
    o.packer_config_dir = GENNAKER_ROSCO_PACKER_DIR;
    o.packer_binary = "/usr/bin/packer";
    o.work_dir = dir_ + "/work";
    o.image_store_dir = dir_ + "/images";
    o.package_repository_dir = repo_;
    o.max_concurrent_bakes = 2;
    o.bake_timeout_seconds = 60;
    o.instance_name = "rosco-test";
    o.now_ms = [] { return int64_t{1796248800000}; };  // 2026-12-02 22:00 UTC
    return o;
  }

  RoscoCore* StartCore(CoreOptions options) {
    core_ =
        std::make_unique<RoscoCore>(std::move(options), store_.get(), &runner_);
    EXPECT_THAT(core_->Start(), IsOk());
    return core_.get();
  }
  RoscoCore* StartCore() { return StartCore(Options()); }

  static v1::CreateBakeRequest Local(const std::string& packages) {
    v1::CreateBakeRequest r;
    r.mutable_bake_request()->set_package_names(packages);
    r.mutable_bake_request()->set_cloud_provider_type(
        v1::CLOUD_PROVIDER_TYPE_LOCAL);
    r.mutable_bake_request()->set_base_os("local");
    r.mutable_bake_request()->set_base_label("release");
    return r;
  }

  // Polls until the bake leaves RUNNING (or 10 s).
  v1::BakeStatus WaitDone(const std::string& status_id) {
    v1::BakeStatus s;
    for (int i = 0; i < 1000; ++i) {
      auto r = core_->GetBakeStatus(status_id);
      EXPECT_THAT(r, IsOk());
      if (!r.ok()) return s;
      s = *r;
      if (s.state() != v1::BAKE_STATE_RUNNING) return s;
      absl::SleepFor(absl::Milliseconds(10));
    }
    ADD_FAILURE() << "bake " << status_id << " still RUNNING";
    return s;
  }

  std::string Logs(const std::string& status_id) {
    v1::GetBakeLogsRequest req;
    req.set_status_id(status_id);
    auto r = core_->GetBakeLogs(req);
    EXPECT_THAT(r, IsOk());
    return r.ok() ? r->logs_content() : "";
  }

  std::string dir_, repo_;
  std::unique_ptr<BakeStore> store_;
  FakePackerRunner runner_;
  std::unique_ptr<RoscoCore> core_;
};

TEST_F(RoscoCoreTest, BakesALocalImageAndReusesItByBakeKey) {
  RoscoCore* core = StartCore();
  auto first = core->CreateBake(Local("hello=1.0.0"), "alice");
  ASSERT_THAT(first, IsOk());
  EXPECT_FALSE(first->reused());
  EXPECT_EQ(first->status().state(), v1::BAKE_STATE_RUNNING);
  EXPECT_EQ(first->status().region(), "localhost");
  EXPECT_EQ(first->status().bake_key(), "bake:local:local:hello=1.0.0");

  const v1::BakeStatus done = WaitDone(first->status().id());
  ASSERT_EQ(done.state(), v1::BAKE_STATE_COMPLETED);
  ASSERT_EQ(done.result(), v1::BAKE_RESULT_SUCCESS) << done.failure_message();
  // Spinnaker's rosco: the bake id (resource_id) is the status id.
  EXPECT_EQ(done.resource_id(), done.id());
  auto bake = core->GetBake(done.resource_id());
  ASSERT_THAT(bake, IsOk());
  EXPECT_EQ(bake->id(), done.id());
  EXPECT_EQ(bake->image_name(), "hello-1.0.0-all-20261202220000-local");
  EXPECT_TRUE(absl::StartsWith(bake->artifact().reference(), "sha256:"));
  EXPECT_EQ(bake->artifact().type(), "local/image");
  EXPECT_EQ(bake->artifact().name(), bake->image_name());
  EXPECT_EQ(bake->artifact().location(), "localhost");
  EXPECT_EQ(bake->cloud_provider_type(), v1::CLOUD_PROVIDER_TYPE_LOCAL);
  EXPECT_THAT(bake->regions(), Contains("localhost"));

  // packer ran local.json with the resolved package and the image store.
  ASSERT_EQ(runner_.runs(), 1);
  const PackerInvocation inv = runner_.invocations()[0];
  EXPECT_EQ(inv.argv[0], "/usr/bin/packer");
  EXPECT_EQ(inv.argv[1], "build");
  EXPECT_THAT(inv.argv, Contains("-machine-readable"));
  EXPECT_EQ(inv.argv.back(),
            std::string(GENNAKER_ROSCO_PACKER_DIR) + "/local.json");
  auto vars = FakePackerRunner::Vars(inv);
  EXPECT_EQ(vars["packages"], "hello=1.0.0");
  EXPECT_EQ(vars["repository"], repo_);
  EXPECT_EQ(vars["image_store"], dir_ + "/images");
  EXPECT_EQ(vars["image_name"], bake->image_name());
  EXPECT_EQ(vars["appversion"], "hello-1.0.0");
  EXPECT_THAT(inv.env, Contains(std::pair<std::string, std::string>(
                           kBakeEnvName, first->status().id())));
  EXPECT_EQ(inv.timeout, absl::Seconds(60));

  // The same inputs (base_label is not in the key): the same status, no
  // second packer run.
  v1::CreateBakeRequest again = Local("hello=1.0.0");
  again.mutable_bake_request()->set_base_label("candidate");
  auto second = core->CreateBake(again, "bob");
  ASSERT_THAT(second, IsOk());
  EXPECT_TRUE(second->reused());
  EXPECT_EQ(second->status().id(), first->status().id());
  EXPECT_EQ(second->status().resource_id(), done.resource_id());
  EXPECT_EQ(runner_.runs(), 1);

  // A different package version is a different key.
  auto other = core->CreateBake(Local("hello=1.2.0"), "alice");
  ASSERT_THAT(other, IsOk());
  EXPECT_FALSE(other->reused());
  EXPECT_NE(other->status().id(), first->status().id());
  EXPECT_EQ(WaitDone(other->status().id()).result(), v1::BAKE_RESULT_SUCCESS);
  EXPECT_EQ(runner_.runs(), 2);
}

TEST_F(RoscoCoreTest, UnversionedPackageKeysOnTheNewestVersionInTheRepo) {
  RoscoCore* core = StartCore();
  auto a = core->CreateBake(Local("hello"), "alice");
  ASSERT_THAT(a, IsOk());
  EXPECT_EQ(a->status().bake_key(), "bake:local:local:hello=1.2.0");
  ASSERT_EQ(WaitDone(a->status().id()).result(), v1::BAKE_RESULT_SUCCESS);
  // Same newest version: reused.
  auto b = core->CreateBake(Local("hello"), "alice");
  ASSERT_THAT(b, IsOk());
  EXPECT_TRUE(b->reused());
  // A newer package lands: a new bake, not the old image.
  AddPackage("hello_1.10.0_all.deb");
  auto c = core->CreateBake(Local("hello"), "alice");
  ASSERT_THAT(c, IsOk());
  EXPECT_FALSE(c->reused());
  EXPECT_EQ(c->status().bake_key(), "bake:local:local:hello=1.10.0");
  EXPECT_EQ(WaitDone(c->status().id()).result(), v1::BAKE_RESULT_SUCCESS);
  EXPECT_EQ(runner_.runs(), 2);
}

TEST_F(RoscoCoreTest, RebakeRunsPackerAgainAndCancelsARunningBake) {
  RoscoCore* core = StartCore();
  auto first = core->CreateBake(Local("hello=1.0.0"), "alice");
  ASSERT_THAT(first, IsOk());
  const v1::BakeStatus done = WaitDone(first->status().id());
  ASSERT_EQ(done.result(), v1::BAKE_RESULT_SUCCESS);

  v1::CreateBakeRequest rebake = Local("hello=1.0.0");
  rebake.set_rebake(true);
  auto second = core->CreateBake(rebake, "alice");
  ASSERT_THAT(second, IsOk());
  EXPECT_FALSE(second->reused());
  EXPECT_NE(second->status().id(), first->status().id());
  const v1::BakeStatus done2 = WaitDone(second->status().id());
  EXPECT_EQ(done2.result(), v1::BAKE_RESULT_SUCCESS);
  EXPECT_NE(done2.resource_id(), done.resource_id());
  EXPECT_EQ(runner_.runs(), 2);
  // The first bake's details are kept.
  EXPECT_THAT(core->GetBake(done.resource_id()), IsOk());
  // Later identical requests reuse the rebake.
  auto third = core->CreateBake(Local("hello=1.0.0"), "alice");
  ASSERT_THAT(third, IsOk());
  EXPECT_TRUE(third->reused());
  EXPECT_EQ(third->status().id(), second->status().id());

  // A rebake while the key's bake runs cancels that bake.
  runner_.hold();
  auto running = core->CreateBake(Local("hello=1.2.0"), "alice");
  ASSERT_THAT(running, IsOk());
  ASSERT_TRUE(runner_.WaitRunning(1));
  // Identical request while it runs: the running status is reused.
  auto joined = core->CreateBake(Local("hello=1.2.0"), "bob");
  ASSERT_THAT(joined, IsOk());
  EXPECT_TRUE(joined->reused());
  EXPECT_EQ(joined->status().id(), running->status().id());
  v1::CreateBakeRequest rebake2 = Local("hello=1.2.0");
  rebake2.set_rebake(true);
  auto replaced = core->CreateBake(rebake2, "alice");
  ASSERT_THAT(replaced, IsOk());
  auto old = core->GetBakeStatus(running->status().id());
  ASSERT_THAT(old, IsOk());
  EXPECT_EQ(old->state(), v1::BAKE_STATE_CANCELED);
  runner_.release();
  EXPECT_EQ(WaitDone(replaced->status().id()).result(),
            v1::BAKE_RESULT_SUCCESS);
  EXPECT_EQ(WaitDone(running->status().id()).state(), v1::BAKE_STATE_CANCELED);
  EXPECT_THAT(Logs(running->status().id()),
              HasSubstr("canceled by a rebake of the same key"));
}

TEST_F(RoscoCoreTest, InvalidRequestsAreInvalidArgumentAndStoreNothing) {
  RoscoCore* core = StartCore();
  struct Case {
    std::string what;
    std::function<void(v1::CreateBakeRequest*)> edit;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"no package",
       [](auto* r) { r->mutable_bake_request()->clear_package_names(); },
       "package is required"},
      {"unknown package",
       [](auto* r) { r->mutable_bake_request()->set_package_names("nosuch"); },
       "is not in the package repository"},
      {"unknown version",
       [](auto* r) {
         r->mutable_bake_request()->set_package_names("hello=9.9.9");
       },
       "version '9.9.9'"},
      {"bad package name",
       [](auto* r) { r->mutable_bake_request()->set_package_names("hel$lo"); },
       "not a valid package name"},
      {"unknown base os",
       [](auto* r) { r->mutable_bake_request()->set_base_os("plan9"); },
       "base_os 'plan9'"},
      {"bad base label",
       [](auto* r) { r->mutable_bake_request()->set_base_label("nightly"); },
       "base_label"},
      {"bad vm type",
       [](auto* r) { r->mutable_bake_request()->set_vm_type("xen"); },
       "vm_type"},
      {"bad store type",
       [](auto* r) { r->mutable_bake_request()->set_store_type("tape"); },
       "store_type"},
      {"template path",
       [](auto* r) {
         r->mutable_bake_request()->set_template_file_name("../etc/passwd");
       },
       "plain file name"},
      {"unknown template",
       [](auto* r) {
         r->mutable_bake_request()->set_template_file_name("nosuch.json");
       },
       "is not a packer template"},
      {"unconfigured provider",
       [](auto* r) {
         r->mutable_bake_request()->set_cloud_provider_type(
             v1::CLOUD_PROVIDER_TYPE_GCE);
       },
       "'gce' is not configured"},
      {"aws without region",
       [](auto* r) {
         r->mutable_bake_request()->set_cloud_provider_type(
             v1::CLOUD_PROVIDER_TYPE_AWS);
         r->mutable_bake_request()->set_base_os("jammy");
       },
       "region is required"},
      {"bad region", [](auto* r) { r->set_region("us/east"); }, "region"},
      {"bad ami name",
       [](auto* r) { r->mutable_bake_request()->set_ami_name("a b"); },
       "ami_name"},
      {"extended attributes not an object",
       [](auto* r) {
         r->mutable_bake_request()->mutable_extended_attributes()->set_json(
             "[1]");
       },
       "extended_attributes"},
      {"bad extended attribute key",
       [](auto* r) {
         r->mutable_bake_request()->mutable_extended_attributes()->set_json(
             R"({"a b": "c"})");
       },
       "not a packer variable name"},
      {"extended attribute overriding rosco's configDir",
       [](auto* r) {
         r->mutable_bake_request()->mutable_extended_attributes()->set_json(
             R"({"configDir": "/tmp/evil"})");
       },
       "'configDir' is a packer variable rosco sets itself"},
      {"packer template in an extended attribute",
       [](auto* r) {
         r->mutable_bake_request()->mutable_extended_attributes()->set_json(
             R"({"custom": "{{env `HOME`}}"})");
       },
       "extended_attributes.custom must not contain '{{'"},
      {"packer template in build_host",
       [](auto* r) {
         r->mutable_bake_request()->set_build_host("{{vault `a` `b`}}");
       },
       "build_host must not contain '{{'"},
      {"packer template in base_ami",
       [](auto* r) {
         r->mutable_bake_request()->set_base_ami("{{env `AWS_SECRET`}}");
       },
       "base_ami must not contain '{{'"},
      {"unbalanced quote in the command",
       [](auto* r) {
         r->mutable_bake_request()->mutable_extended_attributes()->set_json(
             R"({"command": "usr/bin/app 'a b"})");
       },
       "unbalanced single quote"},
      {"command JSON array of non-strings",
       [](auto* r) {
         r->mutable_bake_request()->mutable_extended_attributes()->set_json(
             R"({"command": ["usr/bin/app", 1]})");
       },
       "must hold strings"},
      {"file artifact outside the repository",
       [](auto* r) {
         auto* a = r->mutable_bake_request()->add_package_artifacts();
         a->set_type("file");
         a->set_name("passwd.deb");
         a->set_reference("/etc/passwd");
       },
       "outside the package repository"},
      {"file:// artifact outside the repository",
       [](auto* r) {
         auto* a = r->mutable_bake_request()->add_package_artifacts();
         a->set_type("http/file");
         a->set_name("hostname.deb");
         a->set_reference("file:///etc/hostname");
       },
       "outside the package repository"},
      {"file artifact escaping the repository through ..",
       [this](auto* r) {
         auto* a = r->mutable_bake_request()->add_package_artifacts();
         a->set_type("file");
         a->set_name("passwd.deb");
         a->set_reference(repo_ + "/../../../../../../etc/passwd");
       },
       "outside the package repository"},
      {"file artifact through a symlink out of the repository",
       [this](auto* r) {
         std::error_code ec;
         fs::create_symlink("/etc/passwd", repo_ + "/link_1.0_all.deb", ec);
         auto* a = r->mutable_bake_request()->add_package_artifacts();
         a->set_type("file");
         a->set_reference(repo_ + "/link_1.0_all.deb");
       },
       "outside the package repository"},
      {"http artifact that is no http URL",
       [](auto* r) {
         auto* a = r->mutable_bake_request()->add_package_artifacts();
         a->set_type("http/file");
         a->set_name("x.deb");
         a->set_reference("gopher://host/x.deb");
       },
       "must be an http(s) URL"},
      {"bad artifact type",
       [](auto* r) {
         auto* a = r->mutable_bake_request()->add_package_artifacts();
         a->set_type("s3/object");
         a->set_reference("s3://b/k.deb");
       },
       "is not supported"},
  };
  for (const Case& c : cases) {
    v1::CreateBakeRequest r = Local("hello=1.0.0");
    r.set_idempotency_key("key-" + c.what);
    c.edit(&r);
    EXPECT_THAT(
        core->CreateBake(r, "alice"),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)))
        << c.what;
    EXPECT_THAT(store_->GetIdempotency("key-" + c.what),
                gennaker::testing::IsOkAndHolds(""))
        << c.what;
  }
  EXPECT_THAT(store_->ListIncomplete("rosco-test"),
              gennaker::testing::IsOkAndHolds(::testing::IsEmpty()));
  EXPECT_EQ(runner_.runs(), 0);
  EXPECT_THAT(core->GetBakeStatus(""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(core->GetBakeStatus("nosuch"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(core->GetBake("nosuch"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(RoscoCoreTest, ConcurrentBakesAreCappedTheRestWaitQueued) {
  CoreOptions o = Options();
  o.max_concurrent_bakes = 2;
  RoscoCore* core = StartCore(o);
  runner_.hold();
  std::vector<std::string> ids;
  for (const char* pkg :
       {"hello=1.0.0", "hello=1.2.0", "world=2.0", "hello=1.0.0 world=2.0"}) {
    auto r = core->CreateBake(Local(pkg), "alice");
    ASSERT_THAT(r, IsOk()) << pkg;
    ids.push_back(r->status().id());
  }
  ASSERT_TRUE(runner_.WaitRunning(2));
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(runner_.running(), 2);
  EXPECT_EQ(runner_.runs(), 2);
  // The waiting ones are RUNNING, and say so in their logs.
  for (int i = 2; i < 4; ++i) {
    auto s = core->GetBakeStatus(ids[i]);
    ASSERT_THAT(s, IsOk());
    EXPECT_EQ(s->state(), v1::BAKE_STATE_RUNNING);
    EXPECT_THAT(Logs(ids[i]), HasSubstr("queued: waiting for a packer slot"));
  }
  runner_.release();
  for (const std::string& id : ids) {
    EXPECT_EQ(WaitDone(id).result(), v1::BAKE_RESULT_SUCCESS) << id;
  }
  EXPECT_EQ(runner_.runs(), 4);
  EXPECT_EQ(runner_.max_running(), 2);
}

TEST_F(RoscoCoreTest, RestartResumesInterruptedAndQueuedBakes) {
  CoreOptions o = Options();
  o.max_concurrent_bakes = 1;
  RoscoCore* core = StartCore(o);
  runner_.hold();
  auto running = core->CreateBake(Local("hello=1.0.0"), "alice");
  auto queued = core->CreateBake(Local("hello=1.2.0"), "alice");
  ASSERT_THAT(running, IsOk());
  ASSERT_THAT(queued, IsOk());
  ASSERT_TRUE(runner_.WaitRunning(1));
  // rosco stops mid-bake: packer is killed, both bakes stay RUNNING and in
  // the instance's incomplete set.
  core_->Stop();
  core_.reset();
  for (const auto* r : {&running, &queued}) {
    auto rec = store_->GetRecord((*r)->status().id());
    ASSERT_THAT(rec, IsOk());
    ASSERT_TRUE(rec->has_value());
    EXPECT_EQ((*rec)->status.state(), v1::BAKE_STATE_RUNNING);
  }
  auto incomplete = store_->ListIncomplete("rosco-test");
  ASSERT_THAT(incomplete, IsOk());
  EXPECT_EQ(incomplete->size(), 2u);

  // The next rosco of the same instance runs both again.
  runner_.release();
  core = StartCore(o);
  const v1::BakeStatus a = WaitDone(running->status().id());
  const v1::BakeStatus b = WaitDone(queued->status().id());
  EXPECT_EQ(a.result(), v1::BAKE_RESULT_SUCCESS) << a.failure_message();
  EXPECT_EQ(b.result(), v1::BAKE_RESULT_SUCCESS) << b.failure_message();
  EXPECT_THAT(Logs(running->status().id()),
              HasSubstr("rosco restarted during the bake"));
  EXPECT_THAT(Logs(queued->status().id()),
              HasSubstr("the queued bake is resumed"));
  EXPECT_EQ(runner_.runs(), 3);  // interrupted run + 2
  EXPECT_THAT(store_->ListIncomplete("rosco-test"),
              gennaker::testing::IsOkAndHolds(::testing::IsEmpty()));
  // The image name chosen at creation survives the restart.
  auto bake = core->GetBake(a.resource_id());
  ASSERT_THAT(bake, IsOk());
  EXPECT_EQ(bake->image_name(), "hello-1.0.0-all-20261202220000-local");
}

TEST_F(RoscoCoreTest, RestartFailsBakesThatCannotRunAgainClearly) {
  CoreOptions o = Options();
  // Interrupted kMaxAttempts times already.
  BakeRecord worn;
  worn.status.set_id("worn-out");
  worn.status.set_state(v1::BAKE_STATE_RUNNING);
  worn.status.set_bake_key("bake:local:local:hello=1.0.0");
  worn.request = Local("hello=1.0.0");
  worn.image_name = "hello-1.0.0-all-x-local";
  worn.attempts = kMaxAttempts;
  // Its package left the repository.
  BakeRecord gone = worn;
  gone.status.set_id("package-gone");
  gone.attempts = 1;
  gone.request = Local("vanished=1.0");
  for (const BakeRecord* r : {&worn, &gone}) {
    ASSERT_THAT(store_->PutRecord(*r), IsOk());
    ASSERT_THAT(store_->AddIncomplete("rosco-test", r->status.id()), IsOk());
    // The interrupted run's work directory.
    fs::create_directories(o.work_dir + "/" + r->status.id() + "/artifacts");
  }
  StartCore(o);
  const v1::BakeStatus w = WaitDone("worn-out");
  EXPECT_EQ(w.state(), v1::BAKE_STATE_COMPLETED);
  EXPECT_EQ(w.result(), v1::BAKE_RESULT_FAILURE);
  EXPECT_THAT(w.failure_message(),
              HasSubstr("rosco restarted during the bake"));
  EXPECT_THAT(w.failure_message(), HasSubstr("not retried again"));
  const v1::BakeStatus g = WaitDone("package-gone");
  EXPECT_EQ(g.result(), v1::BAKE_RESULT_FAILURE);
  EXPECT_THAT(g.failure_message(), HasSubstr("cannot run again"));
  EXPECT_THAT(g.failure_message(), HasSubstr("vanished"));
  EXPECT_EQ(runner_.runs(), 0);
  EXPECT_THAT(store_->ListIncomplete("rosco-test"),
              gennaker::testing::IsOkAndHolds(::testing::IsEmpty()));
  EXPECT_THAT(Logs("worn-out"), HasSubstr("bake failed"));
  EXPECT_FALSE(fs::exists(o.work_dir + "/worn-out"));
  EXPECT_FALSE(fs::exists(o.work_dir + "/package-gone"));
}

TEST_F(RoscoCoreTest, PackerRunningPastTheTimeoutFailsTheBake) {
  CoreOptions o = Options();
  o.bake_timeout_seconds = 1;
  RoscoCore* core = StartCore(o);
  runner_.hold();
  auto r = core->CreateBake(Local("hello=1.0.0"), "alice");
  ASSERT_THAT(r, IsOk());
  const v1::BakeStatus s = WaitDone(r->status().id());
  runner_.release();
  EXPECT_EQ(s.state(), v1::BAKE_STATE_COMPLETED);
  EXPECT_EQ(s.result(), v1::BAKE_RESULT_FAILURE);
  EXPECT_THAT(s.failure_message(), HasSubstr("bake_timeout_seconds (1 s)"));
  EXPECT_EQ(runner_.invocations()[0].timeout, absl::Seconds(1));
  // A failed bake is not reused.
  auto again = core->CreateBake(Local("hello=1.0.0"), "alice");
  ASSERT_THAT(again, IsOk());
  EXPECT_FALSE(again->reused());
  EXPECT_EQ(WaitDone(again->status().id()).result(), v1::BAKE_RESULT_SUCCESS);
}

TEST_F(RoscoCoreTest, LogsAreKeptByStatusAndByImage) {
  RoscoCore* core = StartCore();
  auto r = core->CreateBake(Local("hello=1.0.0"), "alice");
  ASSERT_THAT(r, IsOk());
  const v1::BakeStatus s = WaitDone(r->status().id());
  ASSERT_EQ(s.result(), v1::BAKE_RESULT_SUCCESS);
  auto bake = core->GetBake(s.resource_id());
  ASSERT_THAT(bake, IsOk());

  v1::GetBakeLogsRequest req;
  req.set_status_id(s.id());
  auto logs = core->GetBakeLogs(req);
  ASSERT_THAT(logs, IsOk());
  EXPECT_TRUE(logs->complete());
  EXPECT_EQ(logs->status_id(), s.id());
  // packer's human-readable text, not its machine-readable lines.
  EXPECT_THAT(logs->logs_content(),
              HasSubstr("==> null: Running local shell script"));
  EXPECT_THAT(logs->logs_content(),
              HasSubstr("Image: " + bake->artifact().reference()));
  EXPECT_THAT(logs->logs_content(), Not(HasSubstr("artifact-count")));
  EXPECT_THAT(logs->logs_content(), HasSubstr("bake succeeded"));

  v1::GetBakeLogsRequest by_image;
  by_image.set_image_id(bake->artifact().reference());
  auto logs2 = core->GetBakeLogs(by_image);
  ASSERT_THAT(logs2, IsOk());
  EXPECT_EQ(logs2->status_id(), s.id());
  by_image.set_image_id(bake->image_name());
  EXPECT_THAT(core->GetBakeLogs(by_image), IsOk());
  by_image.set_image_id("sha256:nosuch");
  EXPECT_THAT(core->GetBakeLogs(by_image),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(core->GetBakeLogs(v1::GetBakeLogsRequest()),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(RoscoCoreTest, PackerFailureFailsTheBakeWithItsFirstError) {
  RoscoCore* core = StartCore();
  runner_.fail(true);
  auto r = core->CreateBake(Local("hello=1.0.0"), "alice");
  ASSERT_THAT(r, IsOk());
  const v1::BakeStatus s = WaitDone(r->status().id());
  EXPECT_EQ(s.result(), v1::BAKE_RESULT_FAILURE);
  EXPECT_THAT(s.failure_message(), HasSubstr("packer exited with status 1"));
  EXPECT_THAT(s.failure_message(), HasSubstr("local-image: package"));
  EXPECT_THAT(Logs(s.id()), HasSubstr("Builds finished but no artifacts"));
  EXPECT_TRUE(s.resource_id().empty());
}

TEST_F(RoscoCoreTest, CancelStopsARunningBakeAndIsIdempotent) {
  RoscoCore* core = StartCore();
  runner_.hold();
  auto r = core->CreateBake(Local("hello=1.0.0"), "alice");
  ASSERT_THAT(r, IsOk());
  ASSERT_TRUE(runner_.WaitRunning(1));
  auto c = core->CancelBake(r->status().id());
  ASSERT_THAT(c, IsOk());
  EXPECT_TRUE(c->canceled());
  EXPECT_EQ(c->status().state(), v1::BAKE_STATE_CANCELED);
  // The fake sees should_stop and ends.
  for (int i = 0; i < 500 && runner_.running() > 0; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(runner_.running(), 0);
  auto again = core->CancelBake(r->status().id());
  ASSERT_THAT(again, IsOk());
  EXPECT_FALSE(again->canceled());
  EXPECT_THAT(core->CancelBake("nosuch"),
              StatusIs(absl::StatusCode::kNotFound));
  // A cancelled bake is not reused.
  runner_.release();
  auto next = core->CreateBake(Local("hello=1.0.0"), "alice");
  ASSERT_THAT(next, IsOk());
  EXPECT_FALSE(next->reused());
  EXPECT_EQ(WaitDone(next->status().id()).result(), v1::BAKE_RESULT_SUCCESS);
}

TEST_F(RoscoCoreTest, IdempotencyKeyReturnsTheFirstAnswer) {
  RoscoCore* core = StartCore();
  v1::CreateBakeRequest r = Local("hello=1.0.0");
  r.set_idempotency_key("k1");
  auto a = core->CreateBake(r, "alice");
  ASSERT_THAT(a, IsOk());
  r.set_rebake(true);  // a retry of the same call, not a new rebake
  auto b = core->CreateBake(r, "alice");
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(b->status().id(), a->status().id());
  EXPECT_EQ(b->reused(), a->reused());
  WaitDone(a->status().id());
  EXPECT_EQ(runner_.runs(), 1);
}

TEST_F(RoscoCoreTest, BakeOptionsPerProvider) {
  RoscoCore* core = StartCore();
  const v1::ListBakeOptionsResponse all = core->ListBakeOptions();
  std::vector<v1::CloudProviderType> providers;
  for (const auto& o : all.options())
    providers.push_back(o.cloud_provider_type());
  EXPECT_THAT(providers, ::testing::ElementsAre(v1::CLOUD_PROVIDER_TYPE_LOCAL,
                                                v1::CLOUD_PROVIDER_TYPE_DOCKER,
                                                v1::CLOUD_PROVIDER_TYPE_AWS));
  auto aws = core->GetBakeOptions(v1::CLOUD_PROVIDER_TYPE_AWS);
  ASSERT_THAT(aws, IsOk());
  ASSERT_GE(aws->base_images_size(), 1);
  EXPECT_EQ(aws->base_images(0).id(), "jammy");
  EXPECT_EQ(aws->base_images(0).template_file(), "aws-ebs.json");
  auto local = core->GetBaseImage(v1::CLOUD_PROVIDER_TYPE_LOCAL, "local");
  ASSERT_THAT(local, IsOk());
  EXPECT_EQ(local->package_type(), v1::PACKAGE_TYPE_DEB);
  EXPECT_THAT(core->GetBaseImage(v1::CLOUD_PROVIDER_TYPE_LOCAL, "plan9"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(core->GetBakeOptions(v1::CLOUD_PROVIDER_TYPE_GCE),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(core->GetBakeOptions(v1::CLOUD_PROVIDER_TYPE_UNSPECIFIED),
              StatusIs(absl::StatusCode::kInvalidArgument));

  // Configured providers replace the built-in ones.
  CoreOptions o = Options();
  v1::ProviderBakeConfig docker;
  docker.set_cloud_provider_type(v1::CLOUD_PROVIDER_TYPE_DOCKER);
  docker.set_template_file("docker.json");
  docker.add_base_images()->set_id("alpine");
  o.providers = {docker};
  o.default_cloud_provider = v1::CLOUD_PROVIDER_TYPE_DOCKER;
  RoscoCore custom(o, store_.get(), &runner_);
  ASSERT_EQ(custom.ListBakeOptions().options_size(), 1);
  EXPECT_EQ(custom.ListBakeOptions().options(0).base_images(0).id(), "alpine");
}

TEST_F(RoscoCoreTest, PackerCommandLinePerProvider) {
  CoreOptions o = Options();
  o.templates_needing_root = {"aws-ebs.json"};
  RoscoCore core(o, store_.get(), &runner_);

  // AWS: region, vm type default, source AMI from the base image's
  // virtualization settings, target AMI = image name, sudo for the template.
  v1::CreateBakeRequest aws;
  aws.set_region("us-east-1");
  auto* br = aws.mutable_bake_request();
  br->set_cloud_provider_type(v1::CLOUD_PROVIDER_TYPE_AWS);
  br->set_package_names("kato");
  br->set_base_os("jammy");
  br->set_enhanced_networking(true);
  br->mutable_extended_attributes()->set_json(
      R"({"copy_to": "111, 222", "aws_spot_price": "0.5", "n": 3})");
  auto recipe = core.Prepare(&aws, "", "");
  ASSERT_THAT(recipe, IsOk());
  EXPECT_EQ(recipe->argv[0], "sudo");
  EXPECT_EQ(recipe->argv[1], "/usr/bin/packer");
  EXPECT_EQ(recipe->template_file, "aws-ebs.json");
  EXPECT_EQ(recipe->image_name, "kato-all-1796248800000-jammy");
  EXPECT_EQ(recipe->base_ami, "ami-0557a15b87f6559cf");
  EXPECT_EQ(aws.bake_request().vm_type(), "hvm");
  std::map<std::string, std::string> vars(recipe->variables.begin(),
                                          recipe->variables.end());
  EXPECT_EQ(vars["aws_region"], "us-east-1");
  EXPECT_EQ(vars["aws_source_ami"], "ami-0557a15b87f6559cf");
  EXPECT_EQ(vars["aws_target_ami"], "kato-all-1796248800000-jammy");
  EXPECT_EQ(vars["aws_instance_type"], "t3.small");
  EXPECT_EQ(vars["aws_ssh_username"], "ubuntu");
  EXPECT_EQ(vars["aws_ena_support"], "true");
  EXPECT_EQ(vars["aws_spot_price"], "0.5");
  EXPECT_EQ(vars["copy_to_1"], "111");
  EXPECT_EQ(vars["copy_to_2"], "222");
  EXPECT_EQ(vars["n"], "3");
  EXPECT_EQ(vars["packages"], "kato");
  EXPECT_EQ(vars["package_type"], "deb");
  EXPECT_EQ(vars.count("copy_to"), 0u);
  // A region without a base AMI: say so.
  aws.set_region("eu-north-1");
  EXPECT_THAT(
      core.Prepare(&aws, "", ""),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no base AMI")));

  // Docker: source image from the base image, tag from the commit.
  v1::CreateBakeRequest docker;
  br = docker.mutable_bake_request();
  br->set_cloud_provider_type(v1::CLOUD_PROVIDER_TYPE_DOCKER);
  br->set_package_names("hello=1.0.0");
  br->set_commit_hash("abc123");
  br->set_organization("acme");
  recipe = core.Prepare(&docker, "", "");
  ASSERT_THAT(recipe, IsOk());
  EXPECT_EQ(recipe->argv[0], "/usr/bin/packer");
  EXPECT_EQ(recipe->template_file, "docker.json");
  EXPECT_EQ(docker.region(), "global");
  EXPECT_EQ(docker.bake_request().base_os(), "jammy");
  vars = {recipe->variables.begin(), recipe->variables.end()};
  EXPECT_EQ(vars["docker_source_image"], "ubuntu:22.04");
  EXPECT_EQ(vars["docker_target_image"], "acme/hello");
  EXPECT_EQ(vars["docker_target_image_tag"], "abc123");
  EXPECT_EQ(vars["docker_target_repository"], "localhost:5000");

  // Local: the entry command of extendedAttributes is the image's, not a
  // packer variable.
  v1::CreateBakeRequest local = Local("hello");
  local.mutable_bake_request()->mutable_extended_attributes()->set_json(
      R"({"command": "usr/bin/hello --port {{port}}"})");
  recipe = core.Prepare(&local, "", "");
  ASSERT_THAT(recipe, IsOk());
  vars = {recipe->variables.begin(), recipe->variables.end()};
  EXPECT_EQ(vars.count("command"), 0u);
  EXPECT_EQ(vars["packages"], "hello=1.2.0");
  EXPECT_EQ(vars["command_b64"],
            "WyJ1c3IvYmluL2hlbGxvIiwiLS1wb3J0Iiwie3twb3J0fX0iXQ==");
  EXPECT_EQ(recipe->image_name, "hello-1.2.0-all-20261202220000-local");
}

TEST_F(RoscoCoreTest, ExtendedAttributesAddVariablesButNeverReplaceRoscos) {
  RoscoCore* core = StartCore();
  // Every variable rosco computes, for each provider, is refused as an
  // extended attribute (docker_target_image_tag is meant to be set).
  v1::CreateBakeRequest local = Local("hello=1.0.0");
  v1::CreateBakeRequest docker;
  docker.mutable_bake_request()->set_cloud_provider_type(
      v1::CLOUD_PROVIDER_TYPE_DOCKER);
  docker.mutable_bake_request()->set_package_names("hello=1.0.0");
  docker.mutable_bake_request()->set_build_host("http://ci");
  v1::CreateBakeRequest aws;
  aws.set_region("us-east-1");
  aws.mutable_bake_request()->set_cloud_provider_type(
      v1::CLOUD_PROVIDER_TYPE_AWS);
  aws.mutable_bake_request()->set_package_names("hello");
  aws.mutable_bake_request()->set_enhanced_networking(true);
  aws.mutable_bake_request()->set_upgrade(true);
  auto* artifact = local.mutable_bake_request()->add_package_artifacts();
  artifact->set_type("file");
  artifact->set_reference(repo_ + "/world-2.0.tar.gz");
  std::set<std::string> computed;
  for (v1::CreateBakeRequest r : {local, docker, aws}) {
    auto recipe = core->Prepare(&r, "", "/tmp/work");
    ASSERT_THAT(recipe, IsOk());
    for (const auto& [k, v] : recipe->variables) computed.insert(k);
  }
  for (const char* k :
       {"configDir", "command_b64", "image_store", "packages", "aws_source_ami",
        "docker_source_image", "upgrade", "aws_ena_support", "artifact_dir"}) {
    EXPECT_TRUE(computed.contains(k)) << k;
  }
  computed.erase("docker_target_image_tag");
  for (const std::string& k : computed) {
    v1::CreateBakeRequest r = Local("hello=1.0.0");
    r.mutable_bake_request()->mutable_extended_attributes()->set_json(
        absl::StrCat(R"({")", k, R"(": "/tmp/evil"})"));
    EXPECT_THAT(core->CreateBake(r, "alice"),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("rosco sets itself")))
        << k;
  }
  EXPECT_EQ(runner_.runs(), 0);

  // New variables are fine, and so are a local command's "{{port}}".
  v1::CreateBakeRequest r = Local("hello=1.0.0");
  r.mutable_bake_request()->mutable_extended_attributes()->set_json(
      R"({"custom_var": "v", "docker_target_image_tag": "t",
          "command": "usr/bin/hello --port {{port}}"})");
  auto recipe = core->Prepare(&r, "", "");
  ASSERT_THAT(recipe, IsOk());
  std::map<std::string, std::string> vars(recipe->variables.begin(),
                                          recipe->variables.end());
  EXPECT_EQ(vars["custom_var"], "v");
  EXPECT_EQ(vars["configDir"], GENNAKER_ROSCO_PACKER_DIR);
}

TEST_F(RoscoCoreTest, EntryCommandIsSplitLikeAShellOrGivenAsJson) {
  RoscoCore* core = StartCore();
  // The command attribute (a JSON value) -> the image's command.
  auto command = [&](const nlohmann::json& value) -> nlohmann::json {
    v1::CreateBakeRequest r = Local("hello=1.0.0");
    const std::string attrs = nlohmann::json{{"command", value}}.dump();
    r.mutable_bake_request()->mutable_extended_attributes()->set_json(attrs);
    auto recipe = core->Prepare(&r, "", "");
    EXPECT_THAT(recipe, IsOk()) << attrs;
    if (!recipe.ok()) return nullptr;
    std::map<std::string, std::string> vars(recipe->variables.begin(),
                                            recipe->variables.end());
    std::string json;
    EXPECT_TRUE(absl::Base64Unescape(vars["command_b64"], &json));
    return nlohmann::json::parse(json);
  };
  EXPECT_EQ(
      command(R"(usr/bin/app  --name 'a b' "c \"d\"" e\ f --port {{port}})"),
      nlohmann::json::array({"usr/bin/app", "--name", "a b", "c \"d\"", "e f",
                             "--port", "{{port}}"}));
  EXPECT_EQ(command(R"(sh -c 'echo "$HOME" \n' '')"),
            nlohmann::json::array({"sh", "-c", "echo \"$HOME\" \\n", ""}));
  // A JSON array, as a value or as a string.
  EXPECT_EQ(command(nlohmann::json::array({"usr/bin/app", "a b", "{{port}}"})),
            nlohmann::json::array({"usr/bin/app", "a b", "{{port}}"}));
  EXPECT_EQ(command(R"(["usr/bin/app", "x y"])"),
            nlohmann::json::array({"usr/bin/app", "x y"}));
  for (const auto& [in, message] :
       std::vector<std::pair<std::string, std::string>>{
           {R"(usr/bin/app "a)", "unbalanced double quote"},
           {R"(usr/bin/app 'a)", "unbalanced single quote"},
           {R"(usr/bin/app a\)", "unescaped backslash"},
           {R"(["usr/bin/app")", "not a JSON array"}}) {
    v1::CreateBakeRequest r = Local("hello=1.0.0");
    r.mutable_bake_request()->mutable_extended_attributes()->set_json(
        nlohmann::json{{"command", in}}.dump());
    EXPECT_THAT(
        core->Prepare(&r, "", ""),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(message)))
        << in;
  }
}

TEST_F(RoscoCoreTest, ADifferentLocalCommandIsANewBake) {
  RoscoCore* core = StartCore();
  v1::CreateBakeRequest a = Local("hello=1.0.0");
  a.mutable_bake_request()->mutable_extended_attributes()->set_json(
      R"({"command": "usr/bin/hello --port {{port}}"})");
  auto first = core->CreateBake(a, "alice");
  ASSERT_THAT(first, IsOk());
  EXPECT_TRUE(absl::StartsWith(first->status().bake_key(),
                               "bake:local:local:hello=1.0.0:command@sha256:"))
      << first->status().bake_key();
  ASSERT_EQ(WaitDone(first->status().id()).result(), v1::BAKE_RESULT_SUCCESS);
  v1::CreateBakeRequest b = Local("hello=1.0.0");
  b.mutable_bake_request()->mutable_extended_attributes()->set_json(
      R"({"command": "usr/bin/hello --verbose"})");
  auto second = core->CreateBake(b, "alice");
  ASSERT_THAT(second, IsOk());
  EXPECT_FALSE(second->reused());
  ASSERT_EQ(WaitDone(second->status().id()).result(), v1::BAKE_RESULT_SUCCESS);
  EXPECT_EQ(runner_.runs(), 2);
  // The same command again: reused.
  auto third = core->CreateBake(a, "alice");
  ASSERT_THAT(third, IsOk());
  EXPECT_TRUE(third->reused());
  EXPECT_EQ(third->status().id(), first->status().id());
}

TEST_F(RoscoCoreTest, PackageArtifactsFromTheRepositoryOrOutsideUrlsOnly) {
  RoscoCore* core = StartCore();
  // A file inside the package repository is fine.
  v1::CreateBakeRequest r = Local("");
  auto* a = r.mutable_bake_request()->add_package_artifacts();
  a->set_type("file");
  a->set_reference("file://" + repo_ + "/hello_1.0.0_all.deb");
  auto ok = core->CreateBake(r, "alice");
  ASSERT_THAT(ok, IsOk());
  const v1::BakeStatus done = WaitDone(ok->status().id());
  EXPECT_EQ(done.result(), v1::BAKE_RESULT_SUCCESS) << done.failure_message();
  // A URL on loopback is refused by the outbound policy: the bake fails
  // without fetching it and packer never runs for it.
  v1::CreateBakeRequest h = Local("");
  auto* u = h.mutable_bake_request()->add_package_artifacts();
  u->set_type("http/file");
  u->set_reference("http://127.0.0.1:1/app_1.0_all.deb");
  auto refused = core->CreateBake(h, "alice");
  ASSERT_THAT(refused, IsOk());
  const v1::BakeStatus failed = WaitDone(refused->status().id());
  EXPECT_EQ(failed.result(), v1::BAKE_RESULT_FAILURE);
  EXPECT_THAT(failed.failure_message(),
              HasSubstr("package artifact 'app_1.0_all.deb'"));
  EXPECT_THAT(failed.failure_message(), HasSubstr("loopback"));
  EXPECT_EQ(runner_.runs(), 1);
}

TEST_F(RoscoCoreTest, WorkDirsGoWithEveryEndAndLogsAreCapped) {
  RoscoCore* core = StartCore();
  auto gone = [&](const std::string& id) {
    for (int i = 0; i < 500; ++i) {
      if (!fs::exists(dir_ + "/work/" + id)) return true;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return false;
  };
  // Success, with 2 MiB of packer output.
  runner_.chatter(2048, 1024);
  auto ok = core->CreateBake(Local("hello=1.0.0"), "alice");
  ASSERT_THAT(ok, IsOk());
  ASSERT_EQ(WaitDone(ok->status().id()).result(), v1::BAKE_RESULT_SUCCESS);
  EXPECT_TRUE(gone(ok->status().id()));
  const std::string logs = Logs(ok->status().id());
  EXPECT_LT(logs.size(), size_t{1100} << 10);
  EXPECT_GT(logs.size(), size_t{900} << 10);
  EXPECT_THAT(logs, HasSubstr("bytes of packer output omitted"));
  EXPECT_THAT(logs, HasSubstr("null: line 0 "));     // the head
  EXPECT_THAT(logs, HasSubstr("null: line 2047 "));  // the tail
  EXPECT_THAT(logs, HasSubstr("ImageName: "));
  EXPECT_THAT(logs, HasSubstr("bake succeeded"));
  runner_.chatter(0, 0);
  // Failure.
  runner_.fail(true);
  auto failed = core->CreateBake(Local("hello=1.2.0"), "alice");
  ASSERT_THAT(failed, IsOk());
  ASSERT_EQ(WaitDone(failed->status().id()).result(), v1::BAKE_RESULT_FAILURE);
  EXPECT_TRUE(gone(failed->status().id()));
  runner_.fail(false);
  // Cancel.
  runner_.hold();
  auto canceled = core->CreateBake(Local("world=2.0"), "alice");
  ASSERT_THAT(canceled, IsOk());
  ASSERT_TRUE(runner_.WaitRunning(1));
  EXPECT_TRUE(fs::exists(dir_ + "/work/" + canceled->status().id()));
  ASSERT_THAT(core->CancelBake(canceled->status().id()), IsOk());
  EXPECT_TRUE(gone(canceled->status().id()));
  // Stopped for a restart: kept for the next start.
  auto stopped = core->CreateBake(Local("hello=1.0.0 world=2.0"), "alice");
  ASSERT_THAT(stopped, IsOk());
  ASSERT_TRUE(runner_.WaitRunning(1));
  core->Stop();
  EXPECT_TRUE(fs::exists(dir_ + "/work/" + stopped->status().id()));
  runner_.release();
}

TEST(RoscoConfig, InstanceNameDefaultsToHostAndGrpcPort) {
  v1::RoscoConfig config;
  ApplyRoscoDefaults(&config);
  EXPECT_EQ(config.instance_name(), "");
  config.mutable_server()->set_grpc_port(8087);
  char host[256] = {0};
  ASSERT_EQ(gethostname(host, sizeof(host) - 1), 0);
  EXPECT_EQ(OptionsFromConfig(config).instance_name,
            absl::StrCat(host, ":8087"));
  config.mutable_server()->set_grpc_port(9087);
  EXPECT_NE(OptionsFromConfig(config).instance_name,
            absl::StrCat(host, ":8087"));
  config.set_instance_name("rosco-a");
  EXPECT_EQ(OptionsFromConfig(config).instance_name, "rosco-a");
}

TEST(RoscoConfig, DefaultsAndFailFastValidation) {
  v1::RoscoConfig config;
  ApplyRoscoDefaults(&config);
  // Next to the binary: <bin>/../share/rosco/packer.
  EXPECT_TRUE(absl::EndsWith(config.packer_config_dir(), "/share/rosco/packer"))
      << config.packer_config_dir();
  EXPECT_EQ(config.max_concurrent_bakes(), 2);
  EXPECT_EQ(config.bake_timeout_seconds(), 1800);

  config.set_packer_config_dir(GENNAKER_ROSCO_PACKER_DIR);
  config.set_packer_binary("/usr/bin/packer");
  EXPECT_THAT(ValidateConfig(config), IsOk());

  v1::RoscoConfig bad = config;
  bad.set_packer_config_dir("/nonexistent/packer");
  EXPECT_THAT(ValidateConfig(bad),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("packerConfigDir: '/nonexistent/packer'")));
  bad = config;
  bad.set_packer_binary("/nonexistent/packer");
  EXPECT_THAT(ValidateConfig(bad), StatusIs(absl::StatusCode::kInvalidArgument,
                                            HasSubstr("packerBinary")));
  bad = config;
  v1::ProviderBakeConfig* p = bad.add_providers();
  p->set_cloud_provider_type(v1::CLOUD_PROVIDER_TYPE_GCE);
  p->set_template_file("gce.json");
  EXPECT_THAT(ValidateConfig(bad),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("no packer template 'gce.json'")));
  p->set_template_file("aws-ebs.json");
  *bad.add_providers() = *p;
  EXPECT_THAT(ValidateConfig(bad), StatusIs(absl::StatusCode::kInvalidArgument,
                                            HasSubstr("configured twice")));
  bad.mutable_providers()->RemoveLast();
  bad.set_default_cloud_provider(v1::CLOUD_PROVIDER_TYPE_LOCAL);
  EXPECT_THAT(ValidateConfig(bad), StatusIs(absl::StatusCode::kInvalidArgument,
                                            HasSubstr("defaultCloudProvider")));
}

}  // namespace
}  // namespace gennaker::rosco
