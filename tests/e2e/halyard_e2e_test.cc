// End to end: `halyard deploy apply` brings up the whole suite (managed
// PostgreSQL, Redis and Prometheus, ten services) into a temporary state
// directory; every service reports SERVING over the gRPC health protocol and
// gate answers over HTTP; a config change restarts only the services whose
// rendered config changed; rosco gets the build's packer templates and shares
// its image store with clouddriver; an invalid config changes nothing; `deploy
// clean` leaves no process behind.
#include <gmock/gmock.h>
#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/config/config_loader.h"
#include "common/grpc/health_client.h"
#include "common/http/http_client.h"
#include "common/process/process.h"
#include "common/service/defaults.h"
#include "common/testing/test_stores.h"
#include "gennaker/gate/v1/gate.grpc.pb.h"
#include "gennaker/halyard/v1/halyard.grpc.pb.h"
#include "gennaker/rosco/v1/config.pb.h"
#include "nlohmann/json.hpp"
#include "services/halyard/deployer.h"

namespace gennaker {
namespace {

using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class HalyardE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("e2e");
    config_ = dir_ + "/config";
    std::set<int> used;
    auto port = [&] {
      while (true) {
        int p = *process::FreePort();
        if (used.insert(p).second) return p;
      }
    };
    std::string yaml = absl::StrCat(
        "name: e2e\nstateDir: ", dir_, "/state\nbinDir: ", testing::BinDir(),
        "\nstartTimeoutSeconds: 20\n", "storage:\n  postgres: {port: ", port(),
        "}\n  redis: {port: ", port(), "}\n");
    prometheus_port_ = port();
    // gate serves the UI from a bundle dir; a one-file bundle is enough here
    // (the browser test serves the real one).
    ui_port_ = port();
    std::filesystem::create_directories(dir_ + "/deck");
    std::ofstream(dir_ + "/deck/index.html") << "<!doctype html>";
    absl::StrAppend(&yaml, "ui: {port: ", ui_port_, ", bundleDir: ", dir_,
                    "/deck}\n");
    absl::StrAppend(&yaml, "canary:\n  prometheus: {port: ", prometheus_port_,
                    "}\nservices:\n");
    for (absl::string_view name : kServiceNames) {
      int grpc = port(), admin = port();
      ports_[std::string(name)] = grpc;
      absl::StrAppend(&yaml, "  ", name, ": {grpcPort: ", grpc,
                      ", adminPort: ", admin);
      if (name == "gate") {
        gate_http_ = port();
        absl::StrAppend(&yaml, ", httpPort: ", gate_http_);
      }
      // fiat's REST port would otherwise be its gRPC port + 1, which another
      // service may have drawn.
      if (name == "fiat") absl::StrAppend(&yaml, ", httpPort: ", port());
      absl::StrAppend(&yaml, "}\n");
    }
    std::ofstream(config_) << yaml;
  }

  void TearDown() override {
    // Whatever happened, leave nothing running.
    Halyard({"deploy", "clean"});
    testing::RemoveTree(dir_);
  }

  // Runs `halyard --config <config> args...`; returns exit code, output in
  // *out.
  int Halyard(std::vector<std::string> args, std::string* out = nullptr) {
    process::SpawnOptions o;
    o.argv = {testing::BinDir() + "/halyard", "--config", config_};
    o.argv.insert(o.argv.end(), args.begin(), args.end());
    o.log_file = dir_ + "/halyard-cli.log";
    std::filesystem::remove(o.log_file);
    auto rc = process::Run(o);
    std::string text = ReadFile(o.log_file);
    if (out) *out = text;
    return rc.ok() ? *rc : -1;
  }

  std::map<std::string, int> Pids() {
    auto record = halyard::ReadRecord(dir_ + "/state");
    std::map<std::string, int> pids;
    for (const auto& [name, r] : record->services) pids[name] = r.pid;
    return pids;
  }

  void ExpectAllServing() {
    for (const auto& [name, port] : ports_) {
      auto serving = CheckServing(absl::StrCat("127.0.0.1:", port),
                                  std::chrono::seconds(2));
      ASSERT_TRUE(serving.ok()) << name << ": " << serving.status();
      EXPECT_TRUE(*serving) << name;
    }
  }

  std::string dir_, config_;
  std::map<std::string, int> ports_;
  int gate_http_ = 0;
  int prometheus_port_ = 0;
  int ui_port_ = 0;
};

TEST_F(HalyardE2eTest, ApplyStatusReapplyInvalidConfigAndClean) {
  std::string out;
  ASSERT_EQ(Halyard({"deploy", "apply"}, &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("10 started, 0 unchanged"));
  EXPECT_THAT(out,
              HasSubstr(absl::StrCat("gate: http://127.0.0.1:", gate_http_)));
  EXPECT_THAT(out,
              HasSubstr(absl::StrCat("deck: http://127.0.0.1:", ui_port_)));
  ExpectAllServing();
  {
    // Deck's settings point the browser at this deployment's gate.
    http::ClientRequest get;
    get.url = absl::StrCat("http://127.0.0.1:", ui_port_, "/settings.js");
    auto settings = http::Fetch(get);
    ASSERT_TRUE(settings.ok()) << settings.status();
    EXPECT_EQ(settings->status, 200);
    EXPECT_THAT(settings->body,
                HasSubstr(absl::StrCat(
                    "\"gateUrl\":\"http://127.0.0.1:", gate_http_, "\"")));
  }

  // The managed stores have generated passwords, kept private; the rendered
  // configs that carry them are private too, and nothing printed shows them.
  {
    const std::string state = dir_ + "/state";
    for (const std::string& file :
         {state + "/secrets/postgres.password",
          state + "/secrets/redis.password", state + "/config/orca.yml",
          state + "/config/gate.yml"}) {
      std::error_code ec;
      auto perms = std::filesystem::status(file, ec).permissions();
      ASSERT_FALSE(ec) << file;
      EXPECT_EQ(perms & std::filesystem::perms::all,
                std::filesystem::perms::owner_read |
                    std::filesystem::perms::owner_write)
          << file;
    }
    std::string pg_password = ReadFile(state + "/secrets/postgres.password");
    pg_password.erase(pg_password.find_last_not_of("\n") + 1);
    ASSERT_EQ(pg_password.size(), 32u);
    EXPECT_THAT(ReadFile(state + "/config/orca.yml"),
                HasSubstr(absl::StrCat("password=", pg_password)));
    EXPECT_THAT(out, ::testing::Not(HasSubstr(pg_password)));
    std::string shown;
    ASSERT_EQ(Halyard({"deploy", "status"}, &shown), 0) << shown;
    EXPECT_THAT(shown, ::testing::Not(HasSubstr(pg_password)));
  }

  // The managed Prometheus: ready on loopback, scraping the local account's
  // file_sd file (which clouddriver wrote), and kayenta reads it.
  {
    const std::string state = dir_ + "/state";
    const std::string base =
        absl::StrCat("http://127.0.0.1:", prometheus_port_);
    EXPECT_THAT(out, HasSubstr(absl::StrCat("prometheus: ready on ",
                                            "127.0.0.1:", prometheus_port_)));
    auto rec = halyard::ReadRecord(state);
    ASSERT_TRUE(rec.ok());
    EXPECT_TRUE(halyard::Running(rec->prometheus));
    http::ClientRequest ready;
    ready.url = base + "/-/ready";
    auto r = http::Fetch(ready);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 200);
    const std::string file_sd =
        state + "/data/clouddriver/local/local/prometheus-targets.json";
    http::ClientRequest conf;
    conf.url = base + "/api/v1/status/config";
    auto c = http::Fetch(conf);
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_THAT(c->body, HasSubstr("job_name: gennaker"));
    EXPECT_THAT(c->body, HasSubstr(file_sd));
    EXPECT_TRUE(std::filesystem::exists(file_sd)) << file_sd;
    const std::string kayenta = ReadFile(state + "/config/kayenta.yml");
    EXPECT_THAT(kayenta, HasSubstr(absl::StrCat("\"", base, "\"")));
    EXPECT_THAT(kayenta, HasSubstr(absl::StrCat("\"", base, "/\"")));
  }

  // gate over HTTP.
  http::ClientRequest health;
  health.url = absl::StrCat("http://127.0.0.1:", gate_http_, "/health");
  auto h = http::Fetch(health);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(h->headers["content-type"], "application/json");
  EXPECT_EQ(nlohmann::json::parse(h->body)["status"], "UP");
  http::ClientRequest version = health;
  version.url = absl::StrCat("http://127.0.0.1:", gate_http_, "/version");
  auto v = http::Fetch(version);
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(
      nlohmann::json::parse(v->body)["version"].get<std::string>().empty());

  // gate reaches front50 in the deployed suite.
  http::ClientRequest apps = health;
  apps.url = absl::StrCat("http://127.0.0.1:", gate_http_, "/applications");
  auto listed = http::Fetch(apps);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->status, 200) << listed->body;
  EXPECT_EQ(listed->body, "[]");
  http::ClientRequest save = health;
  save.method = "POST";
  save.url = absl::StrCat("http://127.0.0.1:", gate_http_, "/pipelines");
  save.body = R"({"application":"ghost","name":"p"})";
  save.headers.emplace_back("Content-Type", "application/json");
  auto refused = http::Fetch(save);
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 400);
  EXPECT_THAT(refused->body, HasSubstr("'ghost' does not exist"));

  // The deployed binaries run a pipeline end to end: an application created
  // by a task (as spin does), a saved pipeline, triggered over gate's gRPC
  // API and followed until it succeeds.
  auto rest = [&](const std::string& method, const std::string& path,
                  const std::string& body) {
    http::ClientRequest r;
    r.method = method;
    r.url = absl::StrCat("http://127.0.0.1:", gate_http_, path);
    r.body = body;
    r.headers = {{"Content-Type", "application/json"}};
    auto resp = http::Fetch(r);
    EXPECT_TRUE(resp.ok());
    return resp.ok() ? *resp : http::ClientResponse{};
  };
  auto task =
      rest("POST", "/tasks",
           R"({"application":"e2e","description":"Create Application: e2e",)"
           R"("job":[{"type":"createApplication","application":)"
           R"({"name":"e2e","email":"e2e@example.com"}}]})");
  ASSERT_EQ(task.status, 200) << task.body;
  std::string task_ref = nlohmann::json::parse(task.body)["ref"];
  std::string task_status;
  for (int i = 0; i < 100 && task_status != "SUCCEEDED"; ++i) {
    absl::SleepFor(absl::Milliseconds(50));
    auto t = rest("GET", task_ref, "");
    if (t.status == 200) task_status = nlohmann::json::parse(t.body)["status"];
  }
  ASSERT_EQ(task_status, "SUCCEEDED");
  ASSERT_EQ(
      rest(
          "POST", "/pipelines",
          R"({"application":"e2e","name":"two waits","stages":[)"
          R"({"refId":"1","type":"wait","waitTime":0},)"
          R"({"refId":"2","type":"wait","waitTime":0,"requisiteStageRefIds":["1"]}]})")
          .status,
      200);
  auto gate = gate::v1::GateService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", ports_["gate"]),
                          grpc::InsecureChannelCredentials()));
  gate::v1::TriggerPipelineRequest trigger;
  trigger.set_application("e2e");
  trigger.set_pipeline_name_or_id("two waits");
  gate::v1::TriggerPipelineResponse triggered;
  {
    grpc::ClientContext tctx;
    grpc::Status ts = gate->TriggerPipeline(&tctx, trigger, &triggered);
    ASSERT_TRUE(ts.ok()) << ts.error_message();
  }
  std::string execution_id = triggered.execution().id();
  ASSERT_FALSE(execution_id.empty());
  orca::v1::ExecutionStatus final_status = orca::v1::EXECUTION_STATUS_RUNNING;
  for (int i = 0; i < 100; ++i) {
    grpc::ClientContext gctx;
    gate::v1::GetExecutionRequest get;
    get.set_id(execution_id);
    gate::v1::GetExecutionResponse got;
    ASSERT_TRUE(gate->GetExecution(&gctx, get, &got).ok());
    final_status = got.execution().status();
    if (final_status == orca::v1::EXECUTION_STATUS_SUCCEEDED) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(final_status, orca::v1::EXECUTION_STATUS_SUCCEEDED);

  // halyard gave clouddriver its default local account, and an
  // infrastructure task goes gate -> orca -> clouddriver and shows in reads.
  auto credentials = rest("GET", "/credentials", "");
  ASSERT_EQ(credentials.status, 200);
  EXPECT_EQ(nlohmann::json::parse(credentials.body)[0]["name"], "local");
  auto sg =
      rest("POST", "/tasks",
           R"({"application":"e2e","description":"Create Security Group",)"
           R"("job":[{"type":"upsertSecurityGroup","credentials":"local",)"
           R"("cloudProvider":"local","name":"e2e-web","inboundRules":[)"
           R"({"range":{"ip":"10.0.0.0","cidr":"/8"},)"
           R"("portRanges":[{"startPort":80,"endPort":80}]}]}]})");
  ASSERT_EQ(sg.status, 200) << sg.body;
  std::string sg_ref = nlohmann::json::parse(sg.body)["ref"];
  std::string sg_status;
  for (int i = 0; i < 100 && sg_status != "SUCCEEDED"; ++i) {
    absl::SleepFor(absl::Milliseconds(50));
    auto t = rest("GET", sg_ref, "");
    if (t.status == 200) sg_status = nlohmann::json::parse(t.body)["status"];
  }
  ASSERT_EQ(sg_status, "SUCCEEDED");
  auto groups = rest("GET", "/securityGroups", "");
  ASSERT_EQ(groups.status, 200);
  EXPECT_EQ(nlohmann::json::parse(
                groups.body)["local"]["local"]["localhost"][0]["name"],
            "e2e-web")
      << groups.body;

  // The bakery: rosco runs with the build's packer templates
  // (<binDir>/../share/rosco/packer), bakes into the image store clouddriver's
  // local account deploys from, and gate serves Deck's bake options and image
  // search through rosco and clouddriver.
  {
    const std::string state = dir_ + "/state";
    rosco::v1::RoscoConfig rosco;
    ASSERT_TRUE(config::MergeYaml(ReadFile(state + "/config/rosco.yml"),
                                  "rosco", &rosco)
                    .ok());
    EXPECT_EQ(rosco.packer_config_dir(),
              (std::filesystem::path(testing::BinDir()) / ".." / "share" /
               "rosco" / "packer")
                  .lexically_normal()
                  .string());
    EXPECT_EQ(rosco.image_store_dir(), state + "/data/images");
    EXPECT_EQ(rosco.package_repository_dir(), state + "/data/packages");
    EXPECT_EQ(rosco.services().clouddriver().address(),
              absl::StrCat("127.0.0.1:", ports_["clouddriver"]));
    EXPECT_TRUE(std::filesystem::is_directory(state + "/data/images"));
    EXPECT_THAT(ReadFile(state + "/config/clouddriver.yml"),
                HasSubstr(state + "/data/images"));
    EXPECT_THAT(ReadFile(state + "/config/orca.yml"),
                HasSubstr(absl::StrCat("127.0.0.1:", ports_["rosco"])));
    auto options = rest("GET", "/bakery/options", "");
    ASSERT_EQ(options.status, 200) << options.body;
    EXPECT_THAT(options.body, HasSubstr("\"cloudProvider\":\"local\""));
    auto local = rest("GET", "/bakery/options/local", "");
    EXPECT_EQ(local.status, 200) << local.body;
    auto images = rest("GET", "/images/find?provider=local", "");
    EXPECT_EQ(images.status, 200) << images.body;
    EXPECT_EQ(images.body, "[]");
  }

  // Status from the CLI and from the daemon.
  ASSERT_EQ(Halyard({"deploy", "status"}, &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("orca"));
  auto stub = halyard::v1::HalyardService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", ports_["halyard"]),
                          grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  halyard::v1::GetDeploymentStatusResponse status;
  ASSERT_TRUE(stub->GetDeploymentStatus(&ctx, {}, &status).ok());
  ASSERT_EQ(status.services_size(), 10);
  for (const auto& s : status.services()) {
    EXPECT_EQ(s.health(), halyard::v1::SERVICE_HEALTH_SERVING) << s.name();
  }
  grpc::ClientContext vctx;
  halyard::v1::GetVersionsResponse versions;
  ASSERT_TRUE(stub->GetVersions(&vctx, {}, &versions).ok());
  EXPECT_EQ(versions.service_versions().at("orca"),
            versions.deployment_version());

  // Re-apply unchanged: nothing restarts.
  auto before = Pids();
  ASSERT_EQ(Halyard({"deploy", "apply"}, &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("0 started, 10 unchanged"));
  EXPECT_THAT(out, HasSubstr("prometheus: running (pid "));
  EXPECT_EQ(Pids(), before);

  // Move orca: orca, the services that call it (echo, gate) and kayenta and
  // igor, whose outbound policies refuse the deployment's ports (orca's among
  // them), restart; nothing else does, the managed Prometheus included.
  int new_port = *process::FreePort();
  ASSERT_EQ(Halyard({"config", "set", "services.orca.grpcPort",
                     absl::StrCat(new_port)},
                    &out),
            0)
      << out;
  ASSERT_EQ(Halyard({"deploy", "apply"}, &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("5 started, 5 unchanged"));
  EXPECT_THAT(out, HasSubstr("prometheus: running (pid "));
  auto after = Pids();
  for (const auto& [name, pid] : before) {
    bool changed = name == "orca" || name == "echo" || name == "gate" ||
                   name == "kayenta" || name == "igor";
    EXPECT_EQ(after[name] != pid, changed) << name;
  }
  ports_["orca"] = new_port;
  ExpectAllServing();

  // Invalid edits are refused and the deployment is untouched.
  std::string saved = ReadFile(config_);
  EXPECT_EQ(Halyard({"config", "set", "services.orca.grpcPort",
                     absl::StrCat(ports_["front50"])},
                    &out),
            2);
  EXPECT_THAT(out, HasSubstr("is also used by"));
  EXPECT_EQ(ReadFile(config_), saved);
  std::ofstream(config_, std::ios::app) << "services: [not, a, mapping\n";
  EXPECT_EQ(Halyard({"deploy", "apply"}, &out), 2);
  EXPECT_THAT(out, HasSubstr("invalid YAML"));
  EXPECT_EQ(Pids(), after);
  ExpectAllServing();
  std::ofstream(config_, std::ios::trunc) << saved;
  EXPECT_EQ(
      Halyard({"config", "bakery", "edit", "--max-concurrent-bakes", "100"},
              &out),
      2);
  EXPECT_THAT(out, HasSubstr("bakery.maxConcurrentBakes: must be in 1..64"));
  EXPECT_EQ(ReadFile(config_), saved);

  // A bakery edit restarts rosco only.
  ASSERT_EQ(Halyard({"config", "bakery", "edit", "--max-concurrent-bakes", "3"},
                    &out),
            0)
      << out;
  ASSERT_EQ(Halyard({"deploy", "apply"}, &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("1 started, 9 unchanged"));
  {
    auto edited = Pids();
    for (const auto& [name, pid] : after) {
      EXPECT_EQ(edited[name] != pid, name == "rosco") << name;
    }
    rosco::v1::RoscoConfig rosco;
    ASSERT_TRUE(config::MergeYaml(ReadFile(dir_ + "/state/config/rosco.yml"),
                                  "rosco", &rosco)
                    .ok());
    EXPECT_EQ(rosco.max_concurrent_bakes(), 3);
  }
  ExpectAllServing();

  // Losing Redis: its services report NOT_SERVING; re-applying restarts Redis,
  // and they reconnect and report SERVING again, without being restarted
  // themselves.
  {
    auto before_loss = Pids();
    auto rec = halyard::ReadRecord(dir_ + "/state");
    ASSERT_TRUE(process::Terminate(rec->redis.pid, absl::Seconds(5)).ok());
    auto fiat_is = [&](bool want) {
      for (int i = 0; i < 100; ++i) {
        auto s = CheckServing(absl::StrCat("127.0.0.1:", ports_["fiat"]),
                              std::chrono::seconds(1));
        if (s.ok() && *s == want) return true;
        absl::SleepFor(absl::Milliseconds(100));
      }
      return false;
    };
    EXPECT_TRUE(fiat_is(false));
    ASSERT_EQ(Halyard({"deploy", "apply"}, &out), 0) << out;
    EXPECT_THAT(out, HasSubstr("redis: ready"));
    EXPECT_TRUE(fiat_is(true));
    EXPECT_EQ(Pids(), before_loss);
  }

  // Clean stops everything, stores included.
  auto record = halyard::ReadRecord(dir_ + "/state");
  ASSERT_TRUE(record.ok());
  std::vector<int> all_pids = {record->postgres.pid, record->redis.pid,
                               record->prometheus.pid};
  ASSERT_NE(record->prometheus.pid, 0);
  for (const auto& [name, r] : record->services) all_pids.push_back(r.pid);
  ASSERT_EQ(Halyard({"deploy", "clean"}, &out), 0) << out;
  for (int pid : all_pids) EXPECT_FALSE(process::IsAlive(pid)) << pid;
  EXPECT_THAT(out, HasSubstr(absl::StrCat("prometheus: stopping pid ",
                                          record->prometheus.pid)));
  {
    http::ClientRequest ready;
    ready.url = absl::StrCat("http://127.0.0.1:", prometheus_port_, "/-/ready");
    ready.timeout_ms = 1000;
    auto gone = http::Fetch(ready);
    EXPECT_FALSE(gone.ok() && gone->status == 200);
  }
  // No process anywhere still refers to the deployment's state directory.
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::string cmdline = ReadFile(entry.path().string() + "/cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find(dir_ + "/state") != std::string::npos) {
      ADD_FAILURE() << "left behind: " << entry.path() << " " << cmdline;
    }
  }
}

TEST_F(HalyardE2eTest, ServiceWithUnreachableStoreFailsClearly) {
  // Point the suite at stores that do not exist: the first service must exit
  // with a clear message (password redacted), and apply must report it instead
  // of hanging.
  std::string out;
  int dead_port = *process::FreePort();
  ASSERT_EQ(Halyard({"config", "storage", "--postgres-dsn",
                     absl::StrCat("host=127.0.0.1 port=", dead_port,
                                  " dbname=x user=postgres password=hunter2"),
                     "--redis-url", "redis://127.0.0.1:1"},
                    &out),
            0)
      << out;
  const auto started = absl::Now();
  EXPECT_EQ(Halyard({"deploy", "apply"}, &out), 1);
  // The service waits for its store (as in a container); halyard sees it in
  // the log and stops it, well before the start timeout.
  EXPECT_THAT(out, HasSubstr("cannot reach its store"));
  EXPECT_THAT(out, HasSubstr("cannot connect"));
  EXPECT_LT(absl::Now() - started, absl::Seconds(15));
  EXPECT_THAT(out, ::testing::Not(HasSubstr("hunter2")));
  // Showing the config does not show the password either.
  ASSERT_EQ(Halyard({"config", "show"}, &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("password=***"));
  EXPECT_THAT(out, ::testing::Not(HasSubstr("hunter2")));
  ASSERT_EQ(Halyard({"config", "get", "storage.postgres.dsn"}, &out), 0);
  EXPECT_THAT(out, ::testing::Not(HasSubstr("hunter2")));
}

}  // namespace
}  // namespace gennaker
