// The deployer's managed stores on real PostgreSQL and Redis: each requires the
// deployment's generated password and listens on loopback only, a deployment
// whose stores predate passwords gets them at the next apply, and `deploy
// clean` stops what works on the state directory even when halyard did not
// start it.
#include "services/halyard/deployer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/config/config_loader.h"
#include "common/http/http_client.h"
#include "common/http/http_server.h"
#include "common/http/outbound.h"
#include "common/http/outbound_config.h"
#include "common/pg/pg.h"
#include "common/process/local_stores.h"
#include "common/process/process.h"
#include "common/redis/redis.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_stores.h"
#include "gennaker/kayenta/v1/config.pb.h"
#include "services/halyard/halconfig.h"
#include "services/halyard/render.h"
#include "services/halyard/secrets.h"

namespace gennaker::halyard {
namespace {

using ::gennaker::testing::IsOk;
using ::gennaker::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

int Mode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

// Local addresses (hex, as in /proc/net/tcp*) with a socket listening on
// `port`.
std::set<std::string> ListenAddresses(int port) {
  std::set<std::string> out;
  for (const char* file : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::istringstream lines(ReadFile(file));
    std::string line;
    std::getline(lines, line);  // header
    while (std::getline(lines, line)) {
      std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (f.size() < 4 || f[3] != "0A") continue;  // 0A: LISTEN
      std::vector<std::string> local = absl::StrSplit(f[1], ':');
      if (local.size() == 2 && std::stoi(local[1], nullptr, 16) == port) {
        out.insert(local[0]);
      }
    }
  }
  return out;
}

// True when some live process other than us works in (or below) `dir`.
bool SomethingWorksUnder(const std::string& dir) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    std::string name = entry.path().filename().string();
    if (name.empty() || !absl::ascii_isdigit(name[0])) continue;
    pid_t pid = std::stoi(name);
    if (pid == getpid() || !process::IsAlive(pid)) continue;
    std::error_code cwd_ec;
    auto cwd = std::filesystem::read_symlink(entry.path() / "cwd", cwd_ec);
    if (!cwd_ec && absl::StartsWith(cwd.string() + "/", dir + "/")) return true;
  }
  return false;
}

class DeployerStoresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("halyard-stores");
    state_ = dir_ + "/state";
    config_ = DefaultHalconfig();
    config_.set_name("stores");
    config_.set_state_dir(state_);
    pg_port_ = *process::FreePort();
    redis_port_ = *process::FreePort();
    while (redis_port_ == pg_port_) redis_port_ = *process::FreePort();
    config_.mutable_storage()->mutable_postgres()->set_port(pg_port_);
    config_.mutable_storage()->mutable_redis()->set_port(redis_port_);
    deployer_ = std::make_unique<LocalDeployer>(
        dir_ + "/config",
        [this](const std::string& line) { progress_ += line + "\n"; });
  }

  void TearDown() override {
    EXPECT_THAT(deployer_->Clean(config_, /*delete_data=*/true), IsOk());
    EXPECT_FALSE(SomethingWorksUnder(state_));
    testing::RemoveTree(dir_);
  }

  std::string PostgresPassword() {
    return std::string(
        absl::StripAsciiWhitespace(ReadFile(PostgresPasswordPath(state_))));
  }
  std::string RedisPassword() {
    return std::string(
        absl::StripAsciiWhitespace(ReadFile(RedisPasswordPath(state_))));
  }

  absl::Status PostgresLogin(const std::string& password) {
    return pg::Connection::Open(
               process::LocalPostgresDsn(pg_port_, "postgres", password), 5)
        .status();
  }

  absl::Status RedisPing(const std::string& password) {
    redis::Options o;
    o.port = redis_port_;
    o.password = password;
    o.pool_size = 1;
    auto client = redis::Client::Connect(o);
    if (!client.ok()) return client.status();
    return (*client)->Command({"PING"}).status();
  }

  std::string dir_, state_, progress_;
  int pg_port_ = 0, redis_port_ = 0;
  v1::Halconfig config_;
  std::unique_ptr<LocalDeployer> deployer_;
};

TEST_F(DeployerStoresTest, ManagedStoresRequireTheGeneratedPasswords) {
  auto endpoints = deployer_->EnsureStores(config_);
  ASSERT_THAT(endpoints, IsOk()) << progress_;
  const std::string pg_password = PostgresPassword();
  const std::string redis_password = RedisPassword();
  ASSERT_EQ(pg_password.size(), 32u);
  ASSERT_EQ(redis_password.size(), 32u);
  EXPECT_EQ(Mode(state_ + "/secrets"), 0700);
  EXPECT_EQ(Mode(PostgresPasswordPath(state_)), 0600);
  EXPECT_EQ(Mode(RedisPasswordPath(state_)), 0600);

  // PostgreSQL: no password, or a wrong one, is refused.
  EXPECT_THAT(PostgresLogin(""), Not(IsOk()));
  EXPECT_THAT(PostgresLogin("wrong0password"), Not(IsOk()));
  EXPECT_THAT(PostgresLogin(pg_password), IsOk());
  EXPECT_THAT(endpoints->postgres_dsn,
              HasSubstr(absl::StrCat("password=", pg_password)));
  EXPECT_THAT(pg::Connection::Open(endpoints->postgres_dsn, 5), IsOk());

  // Redis: commands without AUTH are refused with NOAUTH.
  EXPECT_THAT(RedisPing(""), StatusIs(absl::StatusCode::kFailedPrecondition,
                                      HasSubstr("NOAUTH")));
  EXPECT_THAT(RedisPing("wrong0password"), Not(IsOk()));
  EXPECT_THAT(RedisPing(redis_password), IsOk());
  EXPECT_EQ(endpoints->redis_url, absl::StrCat("redis://:", redis_password,
                                               "@127.0.0.1:", redis_port_));
  // The Redis password is not on its command line (world-readable).
  auto record = ReadRecord(state_);
  ASSERT_THAT(record, IsOk());
  EXPECT_THAT(ReadFile(absl::StrCat("/proc/", record->redis.pid, "/cmdline")),
              Not(HasSubstr(redis_password)));

  // Both listen on 127.0.0.1 only.
  EXPECT_EQ(ListenAddresses(pg_port_), std::set<std::string>{"0100007F"});
  EXPECT_EQ(ListenAddresses(redis_port_), std::set<std::string>{"0100007F"});

  // A second apply keeps the servers and the passwords.
  ASSERT_THAT(deployer_->EnsureStores(config_), IsOk()) << progress_;
  EXPECT_THAT(progress_, HasSubstr("postgres: running"));
  EXPECT_THAT(progress_, HasSubstr("redis: running"));
  EXPECT_EQ(PostgresPassword(), pg_password);
  EXPECT_THAT(PostgresLogin(pg_password), IsOk());
  EXPECT_THAT(RedisPing(redis_password), IsOk());
  // Nothing printed holds them.
  EXPECT_THAT(progress_, Not(HasSubstr(pg_password)));
  EXPECT_THAT(progress_, Not(HasSubstr(redis_password)));
}

TEST_F(DeployerStoresTest, StoresStartedBeforePasswordsGetThemAtTheNextApply) {
  // What an older halyard left running: trusting PostgreSQL, open Redis.
  process::LocalPostgresOptions pgo;
  pgo.data_dir = state_ + "/data/postgres";
  pgo.log_file = state_ + "/logs/postgres.log";
  pgo.port = pg_port_;
  ASSERT_THAT(process::MakeDirs(state_ + "/logs"), IsOk());
  auto pg = process::StartLocalPostgres(pgo);
  ASSERT_THAT(pg, IsOk());
  process::LocalRedisOptions ro;
  ro.data_dir = state_ + "/data/redis";
  ro.port = redis_port_;
  auto redis = process::StartLocalRedis(ro);
  ASSERT_THAT(redis, IsOk());
  DeploymentRecord old;
  old.deployment = "stores";
  old.postgres = {pg->pid, "127.0.0.1", pg_port_, 0, 0, "", 0, pgo.data_dir};
  old.redis = {
      redis->pid, "127.0.0.1", redis_port_, 0,
      0,          "",          0,           absl::StrCat(":", redis_port_)};
  ASSERT_THAT(WriteRecord(state_, old), IsOk());
  ASSERT_THAT(PostgresLogin(""), IsOk());
  ASSERT_THAT(RedisPing(""), IsOk());
  // The server logs every statement: setting the password must not put it in
  // the log.
  {
    auto admin = pg::Connection::Open(
        process::LocalPostgresDsn(pg_port_, "postgres"), 5);
    ASSERT_THAT(admin, IsOk());
    ASSERT_THAT((*admin)->Exec("ALTER SYSTEM SET log_statement = 'all'"),
                IsOk());
    ASSERT_THAT((*admin)->Exec("SELECT pg_reload_conf()"), IsOk());
    bool logging = false;
    for (int i = 0; i < 200 && !logging; ++i) {
      auto probe = pg::Connection::Open(
          process::LocalPostgresDsn(pg_port_, "postgres"), 5);
      ASSERT_THAT(probe, IsOk());
      auto shown = (*probe)->Exec("SHOW log_statement");
      ASSERT_THAT(shown, IsOk());
      logging = shown->Get(0, 0) == "all";
      if (!logging) absl::SleepFor(absl::Milliseconds(20));
    }
    ASSERT_TRUE(logging);
  }

  auto endpoints = deployer_->EnsureStores(config_);
  ASSERT_THAT(endpoints, IsOk()) << progress_;
  // The same servers, now requiring the generated passwords.
  EXPECT_THAT(progress_, HasSubstr("postgres: running"));
  EXPECT_THAT(progress_, HasSubstr("redis: running"));
  EXPECT_TRUE(process::IsAlive(pg->pid));
  EXPECT_TRUE(process::IsAlive(redis->pid));
  EXPECT_THAT(PostgresLogin(""), Not(IsOk()));
  EXPECT_THAT(PostgresLogin(PostgresPassword()), IsOk());
  EXPECT_THAT(pg::Connection::Open(endpoints->postgres_dsn, 5), IsOk());
  const std::string pg_log = ReadFile(pgo.log_file);
  EXPECT_THAT(pg_log, HasSubstr("ALTER ROLE postgres"));
  EXPECT_THAT(pg_log, HasSubstr("SCRAM-SHA-256$"));
  EXPECT_THAT(pg_log, Not(HasSubstr(PostgresPassword())));
  EXPECT_THAT(RedisPing(""), StatusIs(absl::StatusCode::kFailedPrecondition,
                                      HasSubstr("NOAUTH")));
  EXPECT_THAT(RedisPing(RedisPassword()), IsOk());

  // Restarted, PostgreSQL keeps requiring it.
  ASSERT_THAT(process::StopLocalPostgres(pgo.data_dir, absl::Seconds(30)),
              IsOk());
  ASSERT_THAT(deployer_->EnsureStores(config_), IsOk()) << progress_;
  EXPECT_THAT(progress_, HasSubstr("postgres: ready"));
  EXPECT_THAT(PostgresLogin(""), Not(IsOk()));
  EXPECT_THAT(PostgresLogin(PostgresPassword()), IsOk());
}

TEST_F(DeployerStoresTest, CleanStopsAPostgresRestartedByHand) {
  ASSERT_THAT(deployer_->EnsureStores(config_), IsOk()) << progress_;
  auto record = ReadRecord(state_);
  ASSERT_THAT(record, IsOk());
  const std::string data = state_ + "/data/postgres";
  // Someone stops the server and starts it again by hand: a new pid, which
  // the record does not name.
  ASSERT_THAT(process::StopLocalPostgres(data, absl::Seconds(30)), IsOk());
  ASSERT_FALSE(process::IsAlive(record->postgres.pid));
  process::LocalPostgresOptions by_hand;
  by_hand.data_dir = data;
  by_hand.port = pg_port_;
  by_hand.password = PostgresPassword();
  auto restarted = process::StartLocalPostgres(by_hand);
  ASSERT_THAT(restarted, IsOk());
  ASSERT_NE(restarted->pid, record->postgres.pid);
  ASSERT_EQ(process::PostmasterPid(data), restarted->pid);

  // A second PostgreSQL someone started by hand on another directory under
  // data/: no record and no postmaster.pid that clean reads name it, yet it is
  // the suite's server working on the deployment's data.
  process::LocalPostgresOptions other;
  other.data_dir = state_ + "/data/postgres-by-hand";
  other.log_file = state_ + "/logs/postgres-by-hand.log";
  other.durable = false;
  auto stray_pg = process::StartLocalPostgres(other);
  ASSERT_THAT(stray_pg, IsOk());

  // An operator's process sitting in a data directory with a config file on
  // its command line (an editor, a shell): not the suite's, so clean must
  // leave it alone; so must it a reader of a log.
  process::SpawnOptions worker;
  worker.argv = {"/bin/bash", "-c",
                 absl::StrCat("cd '", state_, "/data/redis' && exec -a '",
                              state_, "/config/orca.yml' sleep 300")};
  auto operator_process = process::Spawn(worker);
  ASSERT_THAT(operator_process, IsOk());
  process::SpawnOptions reader;
  reader.argv = {"/usr/bin/tail", "-f", state_ + "/logs/postgres.log"};
  auto bystander = process::Spawn(reader);
  ASSERT_THAT(bystander, IsOk());
  const std::string cwd_link =
      absl::StrCat("/proc/", *operator_process, "/cwd");
  const std::string cmdline_file =
      absl::StrCat("/proc/", *operator_process, "/cmdline");
  for (int i = 0; i < 200; ++i) {
    std::error_code ec;
    if (std::filesystem::read_symlink(cwd_link, ec).string() ==
            state_ + "/data/redis" &&
        absl::StrContains(ReadFile(cmdline_file), state_ + "/config/")) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_EQ(std::filesystem::read_symlink(cwd_link).string(),
            state_ + "/data/redis");
  ASSERT_THAT(ReadFile(cmdline_file), HasSubstr(state_ + "/config/orca.yml"));
  ASSERT_TRUE(SomethingWorksUnder(state_ + "/data/postgres-by-hand"));

  ASSERT_THAT(deployer_->Clean(config_, /*delete_data=*/false), IsOk());
  EXPECT_THAT(progress_, HasSubstr(absl::StrCat("postgres: stopping pid ",
                                                restarted->pid)));
  EXPECT_FALSE(process::IsAlive(restarted->pid));
  EXPECT_EQ(process::PostmasterPid(data), 0);
  EXPECT_THAT(progress_,
              HasSubstr(absl::StrCat("stopping pid ", stray_pg->pid, " (")));
  EXPECT_FALSE(process::IsAlive(stray_pg->pid));
  EXPECT_FALSE(SomethingWorksUnder(state_ + "/data/postgres-by-hand"));
  EXPECT_TRUE(process::IsAlive(*operator_process));
  EXPECT_THAT(
      progress_,
      Not(HasSubstr(absl::StrCat("stopping pid ", *operator_process, " ("))));
  EXPECT_TRUE(process::IsAlive(*bystander));
  (void)process::Terminate(*operator_process, absl::Seconds(5));
  (void)process::Terminate(*bystander, absl::Seconds(5));
  EXPECT_FALSE(SomethingWorksUnder(state_));
}

absl::StatusOr<http::ClientResponse> Get(const std::string& url) {
  http::ClientRequest r;
  r.url = url;
  r.timeout_ms = 3000;
  return http::Fetch(r);
}

// The managed Prometheus: on loopback only, scraping each local account's
// file_sd file, reachable through kayenta's rendered outbound policy, kept
// while its config is unchanged, restarted when the accounts change, stopped
// when the operator names a server of their own and by `deploy clean` (even
// without a record).
TEST_F(DeployerStoresTest, ManagedPrometheusScrapesTheLocalAccounts) {
  int port = *process::FreePort();
  while (port == pg_port_ || port == redis_port_) port = *process::FreePort();
  auto* prometheus = config_.mutable_canary()->mutable_prometheus();
  prometheus->set_port(port);
  prometheus->set_scrape_interval("1s");
  auto* local = config_.mutable_providers()->mutable_local();
  local->add_accounts()->set_name("alpha");
  local->add_accounts()->set_name("beta");
  const std::string alpha_sd =
      state_ + "/data/clouddriver/local/alpha/prometheus-targets.json";
  const std::string beta_sd =
      state_ + "/data/clouddriver/local/beta/prometheus-targets.json";
  const std::string base = absl::StrCat("http://127.0.0.1:", port);

  ASSERT_THAT(deployer_->EnsurePrometheus(config_), IsOk()) << progress_;
  EXPECT_THAT(progress_,
              HasSubstr(absl::StrCat("prometheus: starting on 127.0.0.1:", port,
                                     " (2 file_sd files) ...")));
  EXPECT_THAT(progress_,
              HasSubstr(absl::StrCat("prometheus: ready on 127.0.0.1:", port)));
  auto record = ReadRecord(state_);
  ASSERT_THAT(record, IsOk());
  const pid_t first = record->prometheus.pid;
  ASSERT_TRUE(process::IsAlive(first));
  EXPECT_EQ(record->prometheus.grpc_port, port);
  EXPECT_EQ(ListenAddresses(port), std::set<std::string>{"0100007F"});
  auto ready = Get(base + "/-/ready");
  ASSERT_THAT(ready, IsOk());
  EXPECT_EQ(ready->status, 200);
  auto config = Get(base + "/api/v1/status/config");
  ASSERT_THAT(config, IsOk());
  EXPECT_THAT(config->body, HasSubstr("job_name: gennaker"));
  EXPECT_THAT(config->body, HasSubstr(alpha_sd));
  EXPECT_THAT(config->body, HasSubstr(beta_sd));

  // What clouddriver writes there is scraped: a target (Prometheus itself)
  // with the labels kayenta selects by.
  {
    std::ofstream(alpha_sd) << "[{\"targets\":[\"127.0.0.1:" << port
                            << "\"],\"labels\":{\"server_group\":\"app-v001\","
                               "\"location\":\"localhost\"}}]\n";
  }
  bool scraped = false;
  const std::string query =
      base + "/api/v1/query?query=up%7Bserver_group%3D%22app-v001%22%7D";
  for (int i = 0; i < 150 && !scraped; ++i) {
    auto r = Get(query);
    scraped =
        r.ok() && absl::StrContains(r->body, "\"location\":\"localhost\"");
    if (!scraped) absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_TRUE(scraped) << ReadFile(state_ + "/logs/prometheus.log");

  // Kayenta's rendered config reaches it through its outbound policy, though
  // the port is one of the deployment's and on loopback.
  auto rendered = RenderServiceConfigs(config_, {"dsn", "redis://h:1"}, "p");
  ASSERT_THAT(rendered, IsOk());
  kayenta::v1::KayentaConfig kayenta;
  ASSERT_THAT(config::MergeYaml(rendered->at("kayenta"), "kayenta", &kayenta),
              IsOk());
  ASSERT_EQ(kayenta.prometheus_size(), 1);
  EXPECT_EQ(kayenta.prometheus(0).base_url(), base);
  auto client = http::OutboundClient::Create(
      http::OutboundPolicyFromConfig(kayenta.outbound()));
  ASSERT_THAT(client, IsOk());
  http::ClientRequest through;
  through.url = base + "/api/v1/query?query=up";
  auto answer = (*client)->Fetch(through);
  ASSERT_THAT(answer, IsOk());
  EXPECT_EQ(answer->status, 200);

  // Unchanged: kept.
  progress_.clear();
  ASSERT_THAT(deployer_->EnsurePrometheus(config_), IsOk()) << progress_;
  EXPECT_THAT(progress_, HasSubstr(absl::StrCat("prometheus: running (pid ",
                                                first, ", port ", port, ")")));
  EXPECT_EQ(ReadRecord(state_)->prometheus.pid, first);

  // One account less: its file leaves the config, the server restarts.
  local->mutable_accounts()->RemoveLast();
  progress_.clear();
  ASSERT_THAT(deployer_->EnsurePrometheus(config_), IsOk()) << progress_;
  EXPECT_THAT(progress_,
              HasSubstr(absl::StrCat("prometheus: stopping pid ", first)));
  EXPECT_FALSE(process::IsAlive(first));
  const pid_t second = ReadRecord(state_)->prometheus.pid;
  ASSERT_TRUE(process::IsAlive(second));
  config = Get(base + "/api/v1/status/config");
  ASSERT_THAT(config, IsOk());
  EXPECT_THAT(config->body, HasSubstr(alpha_sd));
  EXPECT_THAT(config->body, Not(HasSubstr(beta_sd)));

  // The operator's own server: the managed one stops.
  prometheus->set_base_url("http://prom.example:9090");
  prometheus->set_password("hunter2");
  prometheus->set_username("k");
  progress_.clear();
  ASSERT_THAT(deployer_->EnsurePrometheus(config_), IsOk()) << progress_;
  EXPECT_THAT(progress_,
              HasSubstr("prometheus: external at http://prom.example:9090"));
  EXPECT_FALSE(process::IsAlive(second));
  EXPECT_EQ(ReadRecord(state_)->prometheus.pid, 0);
  EXPECT_THAT(progress_, Not(HasSubstr("hunter2")));

  // Managed again; then the record is lost, and clean still finds it.
  prometheus->clear_base_url();
  prometheus->clear_password();
  prometheus->clear_username();
  ASSERT_THAT(deployer_->EnsurePrometheus(config_), IsOk()) << progress_;
  const pid_t third = ReadRecord(state_)->prometheus.pid;
  ASSERT_TRUE(process::IsAlive(third));
  std::filesystem::remove(state_ + "/run/deployment.json");
  progress_.clear();
  ASSERT_THAT(deployer_->Clean(config_, /*delete_data=*/false), IsOk());
  EXPECT_THAT(progress_,
              HasSubstr(absl::StrCat("prometheus: stopping pid ", third)));
  EXPECT_FALSE(process::IsAlive(third));
  EXPECT_TRUE(ListenAddresses(port).empty());
}

TEST(DeployerUiTest, DeckIsServedByGate) {
  EXPECT_EQ(ProcessNames({"deck", "orca", "gate", "deck"}),
            (std::vector<std::string>{"gate", "orca"}));
  v1::Halconfig c = DefaultHalconfig();
  EXPECT_EQ(UiUrl(c), "http://127.0.0.1:9000");
  c.mutable_services()->mutable_gate()->set_host("0.0.0.0");
  EXPECT_EQ(UiUrl(c), "http://127.0.0.1:9000");
  c.mutable_ui()->set_gate_url("https://deck.example.com:8084/");
  c.mutable_ui()->set_port(9100);
  EXPECT_EQ(UiUrl(c), "http://deck.example.com:9100");
  c.mutable_ui()->set_enabled(false);
  EXPECT_EQ(UiUrl(c), "");
}

TEST(DeployerUiTest, NothingStartsWithoutABuiltBundleOrForAnUnknownName) {
  const std::string dir = testing::MakeTempDir("halyard-ui");
  v1::Halconfig c = DefaultHalconfig();
  c.set_state_dir(dir + "/state");
  c.set_bin_dir(dir + "/bin");
  std::string progress;
  LocalDeployer deployer(dir + "/config", [&progress](const std::string& l) {
    progress += l + "\n";
  });
  EXPECT_THAT(deployer.Apply(c, {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("ui.bundleDir: " + dir + "/ui/deck")));
  EXPECT_THAT(deployer.Restart(c, {"nope"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unknown service 'nope'")));
  EXPECT_THAT(deployer.Restart(c, {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  c.mutable_ui()->set_enabled(false);
  EXPECT_THAT(deployer.Restart(c, {"deck"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("ui.enabled is false")));
  // Refused before anything was touched.
  EXPECT_FALSE(std::filesystem::exists(dir + "/state"));
  EXPECT_EQ(progress, "");
  testing::RemoveTree(dir);
}

TEST(DeployerUiTest, StatusShowsDeckUpWhileItsHealthAnswersUp) {
  const std::string dir = testing::MakeTempDir("halyard-ui-status");
  http::Router router;
  router.Add("GET", "/health", [](const http::Request&) {
    return http::Json(200, R"({"status":"UP"})");
  });
  auto server = http::Server::Start(http::ServerOptions{}, std::move(router));
  ASSERT_THAT(server, IsOk());
  v1::Halconfig c = DefaultHalconfig();
  c.set_state_dir(dir + "/state");
  c.mutable_ui()->set_port((*server)->port());
  // gate's record: this very process stands in for it.
  std::string self = ReadFile("/proc/self/cmdline");
  self = self.substr(0, self.find('\0'));
  DeploymentRecord record;
  record.version = "1.2.3";
  ProcessRecord gate;
  gate.pid = getpid();
  gate.host = "127.0.0.1";
  gate.grpc_port = *process::FreePort();
  gate.marker = self;
  record.services["gate"] = gate;
  ASSERT_THAT(WriteRecord(c.state_dir(), record), IsOk());
  LocalDeployer deployer(dir + "/config", [](const std::string&) {});

  auto status = deployer.Status(c);
  ASSERT_THAT(status, IsOk());
  EXPECT_EQ(status->ui_url(),
            absl::StrCat("http://127.0.0.1:", (*server)->port()));
  EXPECT_EQ(status->deck().name(), "deck");
  EXPECT_EQ(status->deck().pid(), getpid());
  EXPECT_EQ(status->deck().http_port(), (*server)->port());
  EXPECT_EQ(status->deck().health(), v1::SERVICE_HEALTH_SERVING);
  // The UI is a row of its own, not one of the ten services.
  EXPECT_EQ(status->services_size(), 10);

  (*server)->Stop();
  status = deployer.Status(c);
  ASSERT_THAT(status, IsOk());
  EXPECT_EQ(status->deck().health(), v1::SERVICE_HEALTH_DOWN);

  c.mutable_ui()->set_enabled(false);
  status = deployer.Status(c);
  ASSERT_THAT(status, IsOk());
  EXPECT_EQ(status->deck().health(), v1::SERVICE_HEALTH_DISABLED);
  EXPECT_EQ(status->ui_url(), "");
  testing::RemoveTree(dir);
}

}  // namespace
}  // namespace gennaker::halyard
