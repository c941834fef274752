// Authentication at gate and authorization by fiat, end to end, with real
// processes: OpenLDAP (slapd), PostgreSQL, Redis, front50, clouddriver (local
// provider), fiat (roles from LDAP groups), orca, echo and gate, all on
// random loopback ports in a throwaway directory.
//
//   directory: alice (team-a), bob (team-b), carol (admins); gate's users
//   file: deployer (team-b, bcrypt hash).
//   applications: appa [team-a], appb [team-b], appopen (no permissions).
//   accounts: dev (open), prod (read team-a/team-b, write admins).
//   service account svc-a (memberOf team-a).
//
// Every assertion is a real HTTP request to gate, with basic auth on every
// request as spin's auth.basic sends it, or with the session cookie of a form
// login as spin's auth.ldap and Deck do. The suite prints a table of who may
// do what as it proves it, and finally greps every log and its own output for
// the passwords and session cookies it used.
#include <signal.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/auth/password.h"
#include "common/grpc/channel.h"
#include "common/http/http_client.h"
#include "common/process/process.h"
#include "common/testing/ldap_server.h"
#include "common/testing/test_stores.h"
#include "gennaker/clouddriver/v1/clouddriver.grpc.pb.h"
#include "gennaker/fiat/v1/fiat.grpc.pb.h"
#include "gennaker/front50/v1/front50.grpc.pb.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/suite_process.h"

namespace gennaker {
namespace {

using Json = nlohmann::json;
using Service = testing::SuiteProcess;
namespace f50 = front50::v1;
namespace fv1 = fiat::v1;
namespace cv1 = clouddriver::v1;

constexpr char kSuffix[] = "dc=example,dc=com";
// Distinctive, so that the log grep cannot match anything else.
constexpr char kAlicePassword[] = "alice-Pw-7f3kQz";
constexpr char kBobPassword[] = "bob-Pw-2m9qWx";
constexpr char kCarolPassword[] = "carol-Pw-8x1zEv";
constexpr char kDeployerPassword[] = "deployer-Pw-5t6uRb";
constexpr char kLdapAdminPassword[] = "ldap-admin-Pw-3c4vTn";
constexpr char kWrongPassword[] = "wrong-Pw-9z9zYm";
constexpr char kSpinAgent[] = "Spin-CLI/1.30.0";

std::string LdapEntries() {
  auto user = [](const std::string& uid, const std::string& given,
                 const std::string& password) {
    return absl::StrCat("dn: uid=", uid, ",ou=users,", kSuffix,
                        "\nobjectClass: inetOrgPerson\nuid: ", uid,
                        "\ncn: ", given, " Example\ngivenName: ", given,
                        "\nsn: Example\nmail: ", uid,
                        "@example.com\nuserPassword: ", password, "\n\n");
  };
  auto group = [](const std::string& cn, const std::string& member) {
    return absl::StrCat("dn: cn=", cn, ",ou=groups,", kSuffix,
                        "\nobjectClass: groupOfUniqueNames\ncn: ", cn,
                        "\nuniqueMember: uid=", member, ",ou=users,", kSuffix,
                        "\n\n");
  };
  return absl::StrCat(
      "dn: ", kSuffix,
      "\nobjectClass: top\nobjectClass: dcObject\nobjectClass: organization\n"
      "o: Example\ndc: example\n\n",
      "dn: ou=users,", kSuffix,
      "\nobjectClass: organizationalUnit\nou: users\n\n", "dn: ou=groups,",
      kSuffix, "\nobjectClass: organizationalUnit\nou: groups\n\n",
      user("alice", "Alice", kAlicePassword), user("bob", "Bob", kBobPassword),
      user("carol", "Carol", kCarolPassword), group("team-a", "alice"),
      group("team-b", "bob"), group("admins", "carol"));
}

// Who calls gate: basic credentials on every request (spin's auth.basic), or
// the session cookie of a form login (spin's auth.ldap, Deck), or nothing.
struct Caller {
  std::string label;  // for the table, e.g. "alice (team-a)"
  std::string user;
  std::string password;  // basic auth when set
  std::string cookie;    // "SESSION=<value>" when set
};

struct Row {
  std::string who, action, result;
};

// Everything the suite shares: the processes are started once.
struct Env {
  std::string error;  // why the set-up failed; every test fails with it
  std::unique_ptr<testing::TestLdapServer> ldap;
  std::unique_ptr<testing::TestRedis> redis;
  std::string dir, state, gate_url;
  Service front50, clouddriver, fiat, orca, echo, gate;
  int gate_http = 0, fiat_http = 0;
  std::vector<Row> rows;
  // What the test saw and printed: checked for secrets at the end.
  std::string transcript;
  std::set<std::string> secrets;  // passwords, cookies, basic tokens
  std::string alice_cookie;       // alice's form-login session
  bool table_printed = false;
};

Env* env = nullptr;

std::string Address(const Service& s) {
  return absl::StrCat("127.0.0.1:", s.grpc_port);
}

// Prints and remembers one line (the transcript is grepped for secrets).
void Say(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
  env->transcript += line + "\n";
}

void Record(const std::string& who, const std::string& action,
            const std::string& result) {
  env->rows.push_back({who, action, result});
  Say(absl::StrCat("  [who may] ", who, " | ", action, " | ", result));
}

std::string FormEncode(const std::string& v) {
  std::string out;
  for (unsigned char c : v) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += absl::StrFormat("%%%02X", c);
    }
  }
  return out;
}

http::ClientResponse Call(
    const Caller& who, const std::string& method, const std::string& path,
    const std::string& body = "",
    const std::string& content_type = "application/json") {
  http::ClientRequest r;
  r.method = method;
  r.url = env->gate_url + path;
  r.body = body;
  r.headers = {{"User-Agent", kSpinAgent}, {"Accept", "*/*"}};
  if (!body.empty()) r.headers.emplace_back("Content-Type", content_type);
  if (!who.password.empty()) {
    const std::string token =
        absl::Base64Escape(absl::StrCat(who.user, ":", who.password));
    env->secrets.insert(token);
    r.headers.emplace_back("Authorization", "Basic " + token);
  }
  if (!who.cookie.empty()) r.headers.emplace_back("Cookie", who.cookie);
  auto resp = http::Fetch(r);
  EXPECT_TRUE(resp.ok()) << resp.status();
  if (!resp.ok()) return http::ClientResponse{};
  env->transcript += absl::StrCat(method, " ", path, " -> ", resp->status, " ",
                                  resp->body, "\n");
  for (const auto& [k, v] : resp->headers) {
    if (k != "set-cookie") env->transcript += k + ": " + v + "\n";
  }
  return *resp;
}

Json JsonOf(const http::ClientResponse& r) {
  return Json::parse(r.body, nullptr, false);
}

std::string Outcome(int status) {
  if (status / 100 == 2) return absl::StrCat("allowed (", status, ")");
  if (status == 401) return "unauthenticated (401)";
  if (status == 403) return "denied (403)";
  if (status == 429) return "throttled (429)";
  return absl::StrCat("status ", status);
}

// Names of the applications in a GET /applications answer.
std::set<std::string> AppNames(const Json& list) {
  std::set<std::string> out;
  if (!list.is_array()) return out;
  for (const Json& a : list) {
    if (a.is_object()) out.insert(a.value("name", ""));
  }
  return out;
}

// Every string under an "exception", "error(s)", "message" or
// "failureMessage" key of a stage context: what a failed stage says.
void CollectErrors(const Json& j, bool inside, std::vector<std::string>* out) {
  if (j.is_string()) {
    if (inside) out->push_back(j.get<std::string>());
  } else if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      const std::string& k = it.key();
      bool errorish = k == "exception" || k == "errors" || k == "error" ||
                      k == "message" || k == "failureMessage" ||
                      k == "reason" || k == "details";
      CollectErrors(*it, inside || errorish, out);
    }
  } else if (j.is_array()) {
    for (const Json& e : j) CollectErrors(e, inside, out);
  }
}

class AuthE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    env = new Env();
    env->error = StartEverything();
  }

  static void TearDownTestSuite() {
    PrintTable();
    for (Service* s : {&env->gate, &env->echo, &env->orca, &env->fiat,
                       &env->clouddriver, &env->front50}) {
      if (s->pid > 0) (void)process::Terminate(s->pid, absl::Seconds(10));
    }
    if (!env->state.empty()) {
      for (const char* account : {"dev", "prod"}) {
        for (pid_t p : process::ProcessesWithEnv(absl::StrCat(
                 "GENNAKER_LOCAL_STATE_DIR=", env->state, "/", account))) {
          killpg(p, SIGKILL);
        }
      }
    }
    env->ldap.reset();
    env->redis.reset();
    // GENNAKER_KEEP_TEST_DIR=1 keeps the logs for reading.
    if (!env->dir.empty() && getenv("GENNAKER_KEEP_TEST_DIR") == nullptr) {
      testing::RemoveTree(env->dir);
    } else if (!env->dir.empty()) {
      std::printf("kept %s\n", env->dir.c_str());
    }
    delete env;
    env = nullptr;
  }

  void SetUp() override { ASSERT_TRUE(env->error.empty()) << env->error; }

  static void PrintTable() {
    if (env->rows.empty() || env->table_printed) return;
    env->table_printed = true;
    Say("\nWho may do what (as this test proved it):\n");
    Say("| who | action | result |");
    Say("|---|---|---|");
    for (const Row& r : env->rows) {
      Say(absl::StrCat("| ", r.who, " | ", r.action, " | ", r.result, " |"));
    }
  }

  // Starts slapd, the stores and the six services and creates the
  // applications, permissions and the service account. "" or what failed.
  static std::string StartEverything() {
    Env& e = *env;
    for (const char* s :
         {kAlicePassword, kBobPassword, kCarolPassword, kDeployerPassword,
          kLdapAdminPassword, kWrongPassword}) {
      e.secrets.insert(s);
    }
    testing::LdapServerOptions lo;
    lo.suffix = kSuffix;
    lo.ldif = LdapEntries();
    lo.admin_password = kLdapAdminPassword;
    auto ldap = testing::TestLdapServer::Start(lo);
    if (!ldap.ok()) {
      return absl::StrCat(
          "cannot start OpenLDAP (slapd) for this test: ",
          ldap.status().ToString(),
          " -- install Debian's slapd and ldap-utils (scripts/install-deps)");
    }
    e.ldap = std::move(*ldap);
    auto pg = testing::SharedPostgres();
    if (!pg.ok()) return pg.status().ToString();
    std::map<std::string, std::string> dsn;
    for (const char* db : {"front50", "orca", "echo"}) {
      auto d = (*pg)->CreateDatabase(absl::StrCat("auth_", db));
      if (!d.ok()) return d.status().ToString();
      dsn[db] = *d;
    }
    auto redis = testing::TestRedis::Start();
    if (!redis.ok()) return redis.status().ToString();
    e.redis = std::move(*redis);
    e.dir = testing::MakeTempDir("auth-e2e");
    e.state = std::filesystem::canonical(e.dir).string() + "/local";

    // The users file: one user outside LDAP, with a bcrypt hash.
    auto hash = auth::HashPassword(kDeployerPassword, 4);
    if (!hash.ok()) return hash.status().ToString();
    const std::string users_file = e.dir + "/users.yml";
    std::ofstream(users_file)
        << "users:\n  - username: deployer\n    passwordHash: \"" << *hash
        << "\"\n    roles: [team-b]\n    email: deployer@example.com\n";

    for (Service* s :
         {&e.front50, &e.clouddriver, &e.fiat, &e.orca, &e.echo, &e.gate}) {
      s->grpc_port = *process::FreePort();
    }
    e.gate_http = *process::FreePort();
    e.fiat_http = *process::FreePort();
    auto common = [&](const Service& s) {
      return absl::StrCat("server: {host: 127.0.0.1, grpcPort: ", s.grpc_port,
                          ", adminPort: ", *process::FreePort(),
                          ", shutdownGraceSeconds: 2}\n"
                          "logging: {level: debug, format: text}\n");
    };
    auto address = [](const Service& s) {
      return absl::StrCat("{address: '", Address(s), "'}");
    };
    auto configure = [&](Service& s, const std::string& name,
                         const std::string& rest) {
      s.name = name;
      s.config = e.dir + "/" + name + ".yml";
      std::ofstream(s.config) << common(s) << rest;
    };
    const std::string ldap_url = absl::StrCat(e.ldap->url(), "/", kSuffix);
    // fiat: a DN pattern; gate: search then bind. Both forms are covered.
    const std::string fiat_ldap = absl::StrCat(
        "{url: '", ldap_url, "', managerDn: '", e.ldap->admin_dn(),
        "', managerPassword: '", kLdapAdminPassword,
        "', userDnPattern: 'uid={0},ou=users', groupSearchBase: 'ou=groups', "
        "groupSearchFilter: '(uniqueMember={0})', groupRoleAttribute: cn}");
    const std::string gate_ldap = absl::StrCat(
        "{url: '", ldap_url, "', managerDn: '", e.ldap->admin_dn(),
        "', managerPassword: '", kLdapAdminPassword,
        "', userSearchBase: 'ou=users', userSearchFilter: '(uid={0})', "
        "groupSearchBase: 'ou=groups'}");
    // Short client caches so a test sees fiat's changes within a second.
    const std::string authz =
        "authorization: {enabled: true, cacheTtlSeconds: 1}\n";
    configure(e.front50, "front50",
              absl::StrCat("postgres: {dsn: '", dsn["front50"], "'}\n"));
    configure(
        e.clouddriver, "clouddriver",
        absl::StrCat("redis: {url: '", e.redis->Url(), "'}\nstateDir: '", e.dir,
                     "'\nlocalAccounts:\n"
                     "  - {name: dev, environment: test}\n"
                     "  - {name: prod, environment: prod, readRoles: "
                     "[team-a, team-b], writeRoles: [admins]}\n"
                     "cacheIntervalSeconds: 1\ntaskOwnerTtlSeconds: 2\n"
                     "fiat: ",
                     address(e.fiat), "\n", authz));
    configure(e.fiat, "fiat",
              absl::StrCat("redis: {url: '", e.redis->Url(),
                           "'}\nhttpPort: ", e.fiat_http,
                           "\nservices: {front50: ", address(e.front50),
                           ", clouddriver: ", address(e.clouddriver),
                           // No igor here: without this fiat would wait for
                           // the default one to complete its resources.
                           ", igor: {address: ''}",
                           "}\nroles: {provider: ldap, ldap: ", fiat_ldap,
                           "}\nadminRoles: [admins]\n"
                           "resourceRefreshSeconds: 1\n"));
    configure(e.orca, "orca",
              absl::StrCat(
                  "postgres: {dsn: '", dsn["orca"], "'}\nservices: {front50: ",
                  address(e.front50), ", clouddriver: ", address(e.clouddriver),
                  ", echo: ", address(e.echo), ", fiat: ", address(e.fiat),
                  "}\nengine: {workerThreads: 4, safetyPollMs: 200}\n", authz));
    configure(e.echo, "echo",
              absl::StrCat("postgres: {dsn: '", dsn["echo"],
                           "'}\nservices: {front50: ", address(e.front50),
                           ", orca: ", address(e.orca),
                           "}\nevents: {pipelinePollMs: 300}\n"
                           "scheduler: {timeZone: UTC}\n"));
    configure(
        e.gate, "gate",
        absl::StrCat("redis: {url: '", e.redis->Url(), "'}\nhttpPort: ",
                     e.gate_http, "\nservices: {front50: ", address(e.front50),
                     ", orca: ", address(e.orca),
                     ", clouddriver: ", address(e.clouddriver),
                     ", echo: ", address(e.echo), ", fiat: ", address(e.fiat),
                     "}\nsecurity:\n  enabled: true\n  usersFile: '",
                     users_file, "'\n  ldap: ", gate_ldap,
                     "\n  loginFailuresBeforeDelay: 8\n"
                     "  loginMaxDelaySeconds: 4\n",
                     authz));
    for (Service* s :
         {&e.front50, &e.clouddriver, &e.fiat, &e.orca, &e.echo, &e.gate}) {
      absl::Status started = testing::StartSuiteProcess(*s, e.dir);
      if (!started.ok()) return started.ToString();
    }
    e.gate_url = absl::StrCat("http://127.0.0.1:", e.gate_http);
    return CreateResources();
  }

  // The applications with their permissions and the service account, stored
  // in front50 as an administrator would; then fiat re-syncs and the test
  // waits until fiat has seen them.
  static std::string CreateResources() {
    auto front50 =
        f50::Front50Service::NewStub(MakeChannel(Address(env->front50)));
    struct App {
      const char* name;
      std::vector<std::string> roles;
    };
    for (const App& app : {App{"appa", {"team-a"}}, App{"appb", {"team-b"}},
                           App{"appopen", {}}}) {
      f50::CreateApplicationRequest req;
      f50::Application* a = req.mutable_application();
      a->set_name(app.name);
      a->set_email("owner@example.com");
      a->add_cloud_providers("local");
      a->mutable_attributes()->set_json(Json({{"name", app.name},
                                              {"email", "owner@example.com"},
                                              {"cloudProviders", "local"}})
                                            .dump());
      f50::CreateApplicationResponse resp;
      auto ctx = MakeClientContext(std::chrono::seconds(10));
      grpc::Status s = front50->CreateApplication(ctx.get(), req, &resp);
      if (!s.ok()) return "CreateApplication: " + s.error_message();
      if (app.roles.empty()) continue;
      f50::PutApplicationPermissionRequest preq;
      f50::ApplicationPermission* p = preq.mutable_permission();
      p->set_application(app.name);
      for (const std::string& r : app.roles) {
        p->add_read_roles(r);
        p->add_write_roles(r);
        p->add_execute_roles(r);
      }
      // front50 stores the body (its typed lists are not read back).
      p->mutable_body()->set_json(Json({{"name", app.name},
                                        {"permissions",
                                         {{"READ", app.roles},
                                          {"WRITE", app.roles},
                                          {"EXECUTE", app.roles}}}})
                                      .dump());
      f50::PutApplicationPermissionResponse presp;
      auto pctx = MakeClientContext(std::chrono::seconds(10));
      s = front50->PutApplicationPermission(pctx.get(), preq, &presp);
      if (!s.ok()) return "PutApplicationPermission: " + s.error_message();
    }
    f50::SaveServiceAccountRequest sreq;
    sreq.mutable_service_account()->set_name("svc-a");
    sreq.mutable_service_account()->add_member_of("team-a");
    sreq.mutable_service_account()->mutable_body()->set_json(
        R"({"name":"svc-a","memberOf":["team-a"]})");
    f50::SaveServiceAccountResponse sresp;
    auto sctx = MakeClientContext(std::chrono::seconds(10));
    grpc::Status s = front50->SaveServiceAccount(sctx.get(), sreq, &sresp);
    if (!s.ok()) return "SaveServiceAccount: " + s.error_message();

    // fiat: sync the service account, then wait until its set shows appa
    // (restricted, granted through team-a) and not appb.
    auto fiat = fv1::FiatService::NewStub(MakeChannel(Address(env->fiat)));
    std::string last;
    for (int i = 0; i < 150; ++i) {
      fv1::SyncServiceAccountRequest sync;
      sync.set_service_account("svc-a");
      sync.add_member_of("team-a");
      fv1::SyncServiceAccountResponse synced;
      auto c1 = MakeClientContext(std::chrono::seconds(5));
      grpc::Status ss = fiat->SyncServiceAccount(c1.get(), sync, &synced);
      fv1::GetUserPermissionRequest get;
      get.set_user("svc-a");
      fv1::GetUserPermissionResponse got;
      auto c2 = MakeClientContext(std::chrono::seconds(5));
      grpc::Status gs = fiat->GetUserPermission(c2.get(), get, &got);
      if (gs.ok()) {
        std::set<std::string> apps;
        for (const auto& a : got.permission().applications()) {
          apps.insert(a.name());
        }
        if (apps.count("appa") && apps.count("appopen") &&
            !apps.count("appb")) {
          return "";
        }
        last = absl::StrCat("svc-a sees ", absl::StrJoin(apps, ","));
      } else {
        last = absl::StrCat("sync: ", ss.error_message(),
                            "; get: ", gs.error_message());
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
    return "fiat did not resolve service account svc-a: " + last;
  }

  // front50's pipelines of `app` (straight from front50, not through gate).
  static size_t StoredPipelines(const std::string& app) {
    auto front50 =
        f50::Front50Service::NewStub(MakeChannel(Address(env->front50)));
    f50::ListPipelinesRequest req;
    req.set_application(app);
    f50::ListPipelinesResponse resp;
    auto ctx = MakeClientContext(std::chrono::seconds(5));
    grpc::Status s = front50->ListPipelines(ctx.get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.pipelines_size();
  }

  // The value of a "NAME=value" cookie.
  static std::string CookieValue(const std::string& cookie) {
    size_t eq = cookie.find('=');
    return eq == std::string::npos ? "" : cookie.substr(eq + 1);
  }

  // POST /login as a browser or spin's auth.ldap; the session cookie.
  static std::string FormLogin(const std::string& user,
                               const std::string& password, int* status) {
    Caller nobody{"", "", "", ""};
    http::ClientResponse r =
        Call(nobody, "POST", "/login",
             absl::StrCat("username=", FormEncode(user),
                          "&password=", FormEncode(password)),
             "application/x-www-form-urlencoded");
    *status = r.status;
    auto it = r.headers.find("set-cookie");
    if (it == r.headers.end()) return "";
    std::string cookie = it->second.substr(0, it->second.find(';'));
    size_t eq = cookie.find('=');
    if (eq != std::string::npos && eq + 1 < cookie.size()) {
      env->secrets.insert(cookie.substr(eq + 1));
    }
    return cookie;
  }

  // Saves a pipeline through gate as `who`; the status.
  static int SavePipeline(const Caller& who, const Json& pipeline) {
    return Call(who, "POST", "/pipelines", pipeline.dump()).status;
  }

  static std::string ConfigId(const Caller& who, const std::string& app,
                              const std::string& name) {
    http::ClientResponse r =
        Call(who, "GET", "/applications/" + app + "/pipelineConfigs/" + name);
    EXPECT_EQ(r.status, 200) << r.body;
    return JsonOf(r).value("id", "");
  }

  // Starts pipeline `name` of `app` as `who` (spin's pipeline execute);
  // the execution id, "" when refused (status in *status).
  static std::string Run(const Caller& who, const std::string& app,
                         const std::string& name, int* status) {
    http::ClientResponse r = Call(who, "POST", "/pipelines/" + app + "/" + name,
                                  R"({"type":"manual"})");
    *status = r.status;
    if (r.status != 202) return "";
    std::string ref = JsonOf(r).value("ref", "");
    return ref.substr(ref.rfind('/') + 1);
  }

  static Json WaitExecution(const Caller& who, const std::string& id,
                            const std::function<bool(const Json&)>& done,
                            int seconds = 40) {
    Json e;
    for (int i = 0; i < seconds * 10; ++i) {
      http::ClientResponse r = Call(who, "GET", "/pipelines/" + id);
      e = JsonOf(r);
      if (r.status == 200 && done(e)) return e;
      absl::SleepFor(absl::Milliseconds(100));
    }
    ADD_FAILURE() << "execution " << id << " did not get there: " << e.dump(1);
    return e;
  }

  static bool Finished(const Json& e) {
    const std::string st = e.value("status", "");
    return !st.empty() && st != "RUNNING" && st != "NOT_STARTED";
  }

  // spin's task watcher: POST /tasks, then GET /tasks/{id} until completed.
  static std::string RunTask(const Caller& who, const Json& body, int* status,
                             std::string* answer = nullptr) {
    http::ClientResponse r = Call(who, "POST", "/tasks", body.dump());
    *status = r.status;
    if (answer != nullptr) *answer = r.body;
    if (r.status != 200) return "";
    std::string ref = JsonOf(r).value("ref", "");
    std::string id = ref.substr(ref.rfind('/') + 1);
    // spin polls at once and aborts on an error; here a refused poll is a
    // failure, and the wait goes on as the admin to see how the task ended.
    const Caller admin{"carol", "carol", kCarolPassword, ""};
    const Caller* poller = &who;
    for (int i = 0; i < 300; ++i) {
      http::ClientResponse t = Call(*poller, "GET", "/tasks/" + id);
      if (t.status != 200) {
        ADD_FAILURE() << who.user
                      << " cannot poll the task it started: " << t.status << " "
                      << t.body;
        if (poller == &admin) return absl::StrCat("HTTP ", t.status);
        poller = &admin;
        continue;
      }
      std::string st = JsonOf(t).value("status", "");
      if (st == "SUCCEEDED" || st == "STOPPED" || st == "SKIPPED" ||
          st == "TERMINAL" || st == "FAILED_CONTINUE") {
        return st;
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
    return "TIMEOUT";
  }

  static Json DeployStage(const std::string& account) {
    Json cluster = {
        {"application", "appa"},
        {"stack", account},
        {"credentials", account},
        {"account", account},
        {"cloudProvider", "local"},
        {"availabilityZones", {{"localhost", {"localhost"}}}},
        {"capacity", {{"min", 1}, {"max", 1}, {"desired", 1}}},
        {"command",
         {testing::BinDir() + "/gennaker-demo", "--port", "{{port}}",
          "--version", "v-" + account}},
        {"healthCheck",
         {{"path", "/health"}, {"intervalMs", 100}, {"healthyThreshold", 1}}}};
    return Json::array({{{"refId", "1"},
                         {"type", "deploy"},
                         {"name", "Deploy to " + account},
                         {"clusters", {cluster}}}});
  }

  const Caller alice_{"alice (team-a)", "alice", kAlicePassword, ""};
  const Caller bob_{"bob (team-b)", "bob", kBobPassword, ""};
  const Caller carol_{"carol (admins)", "carol", kCarolPassword, ""};
  const Caller deployer_{"deployer (users file, team-b)", "deployer",
                         kDeployerPassword, ""};
  const Caller anonymous_{"anonymous", "", "", ""};
};

TEST_F(AuthE2eTest, LoginsAndRolesFromLdapAndUsersFile) {
  // Open routes, and everything else refused without credentials.
  EXPECT_EQ(Call(anonymous_, "GET", "/health").status, 200);
  http::ClientResponse r = Call(anonymous_, "GET", "/applications");
  EXPECT_EQ(r.status, 401) << r.body;
  Record("anonymous", "GET /applications", Outcome(r.status));

  // Good and bad basic credentials.
  for (const Caller* c : {&alice_, &bob_, &carol_, &deployer_}) {
    r = Call(*c, "GET", "/auth/user");
    ASSERT_EQ(r.status, 200) << c->user << ": " << r.body;
    Json user = JsonOf(r);
    EXPECT_EQ(user.value("username", ""), c->user) << r.body;
    Say(absl::StrCat(c->user, " /auth/user roles: ",
                     user.value("roles", Json::array()).dump()));
  }
  auto roles_of = [&](const Caller& c) {
    std::set<std::string> roles;
    const Json user = JsonOf(Call(c, "GET", "/auth/user"));
    for (const Json& role : user.value("roles", Json::array())) {
      roles.insert(role.is_string() ? role.get<std::string>()
                                    : role.value("name", ""));
    }
    return roles;
  };
  std::set<std::string> alice_roles = roles_of(alice_);
  EXPECT_TRUE(alice_roles.count("team-a")) << absl::StrJoin(alice_roles, ",");
  EXPECT_FALSE(alice_roles.count("team-b"));
  EXPECT_FALSE(alice_roles.count("admins"));
  EXPECT_TRUE(roles_of(bob_).count("team-b"));
  EXPECT_TRUE(roles_of(carol_).count("admins"));
  EXPECT_TRUE(roles_of(deployer_).count("team-b"));
  Record("alice, bob, carol (LDAP bind)", "GET /auth/user",
         "allowed (200), roles = LDAP groups");
  Record("deployer (users file, bcrypt)", "GET /auth/user",
         "allowed (200), roles = file roles");
  Json alice = JsonOf(Call(alice_, "GET", "/auth/user"));
  EXPECT_EQ(alice.value("email", Json()).dump(), "\"alice@example.com\"")
      << alice.dump();

  Caller wrong{"alice, wrong password", "alice", kWrongPassword, ""};
  r = Call(wrong, "GET", "/applications");
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(r.body.find(kWrongPassword), std::string::npos);
  Record("alice with a wrong password", "GET /applications", Outcome(r.status));
  Caller ghost{"nobody", "mallory", kWrongPassword, ""};
  r = Call(ghost, "GET", "/applications");
  EXPECT_EQ(r.status, 401) << r.body;
  Record("unknown user", "GET /applications", Outcome(r.status));
  // An LDAP user cannot bind with an empty password (no anonymous bind).
  http::ClientRequest empty;
  empty.url = env->gate_url + "/applications";
  empty.headers = {{"Authorization", "Basic " + absl::Base64Escape("alice:")}};
  auto empty_resp = http::Fetch(empty);
  ASSERT_TRUE(empty_resp.ok());
  EXPECT_EQ(empty_resp->status, 401) << empty_resp->body;
}

TEST_F(AuthE2eTest, SpinBasicAuthRequestsReplayed) {
  // spin with auth.basic: GET /version first, credentials on every request.
  http::ClientResponse r = Call(alice_, "GET", "/version");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(JsonOf(r).contains("version")) << r.body;
  r = Call(alice_, "GET", "/applications");
  ASSERT_EQ(r.status, 200) << r.body;
  std::set<std::string> apps = AppNames(JsonOf(r));
  EXPECT_TRUE(apps.count("appa")) << r.body;
  EXPECT_TRUE(apps.count("appopen")) << r.body;
  EXPECT_FALSE(apps.count("appb")) << r.body;
  Record("alice (team-a)", "GET /applications",
         absl::StrCat("sees ", absl::StrJoin(apps, ", "), "; not appb"));
  r = Call(alice_, "GET", "/applications/appa/pipelineConfigs");
  EXPECT_EQ(r.status, 200) << r.body;
  Record("alice (team-a)", "GET /applications/appa/pipelineConfigs",
         Outcome(r.status));
  r = Call(alice_, "GET", "/applications/appb/pipelineConfigs");
  EXPECT_EQ(r.status, 403) << r.body;
  Record("alice (team-a)", "GET /applications/appb/pipelineConfigs",
         Outcome(r.status));

  // spin application save: POST /tasks, then polls GET /tasks/{id}. A new
  // application is visible to its creator at once.
  int status = 0;
  std::string answer;
  std::string st = RunTask(alice_,
                           {{"job",
                             {{{"type", "createApplication"},
                               {"application",
                                {{"name", "appalice"},
                                 {"email", "alice@example.com"},
                                 {"cloudProviders", "local"},
                                 {"instancePort", 80}}}}}},
                            {"application", "appalice"},
                            {"description", "Create Application: appalice"}},
                           &status, &answer);
  EXPECT_EQ(status, 200) << answer;
  EXPECT_EQ(st, "SUCCEEDED");
  Record("alice (team-a)", "spin application save appalice (POST /tasks)",
         absl::StrCat(Outcome(status), ", task ", st));
  r = Call(alice_, "GET", "/applications");
  EXPECT_TRUE(AppNames(JsonOf(r)).count("appalice"))
      << "a new application must be visible to its creator at once: " << r.body;
  r = Call(alice_, "GET", "/applications/appalice");
  EXPECT_EQ(r.status, 200) << r.body;
  Record("alice (team-a)", "GET /applications/appalice right after creating",
         Outcome(r.status));
  if (r.status != 200) {
    // How late it comes, for the report.
    absl::Time start = absl::Now();
    while (absl::Now() - start < absl::Seconds(10) &&
           Call(alice_, "GET", "/applications/appalice").status != 200) {
      absl::SleepFor(absl::Milliseconds(50));
    }
    Say(absl::StrCat("appalice visible to alice after ",
                     absl::FormatDuration(absl::Now() - start),
                     " (10 s: never)"));
    // Where it is missing: fiat's own sets (gate's cache aside).
    auto fiat = fv1::FiatService::NewStub(MakeChannel(Address(env->fiat)));
    for (const char* user : {"anonymous", "alice"}) {
      fv1::GetUserPermissionRequest get;
      get.set_user(user);
      fv1::GetUserPermissionResponse got;
      auto ctx = MakeClientContext(std::chrono::seconds(5));
      grpc::Status gs = fiat->GetUserPermission(ctx.get(), get, &got);
      std::vector<std::string> apps;
      for (const auto& a : got.permission().applications()) {
        apps.push_back(a.name());
      }
      Say(absl::StrCat(
          "fiat GetUserPermission(", user,
          "): ", gs.ok() ? absl::StrJoin(apps, ",") : gs.error_message()));
    }
  }
}

TEST_F(AuthE2eTest, SpinLdapModeFormLoginAndSessionCookie) {
  int status = 0;
  std::string cookie = FormLogin("alice", kWrongPassword, &status);
  EXPECT_EQ(status, 401);
  EXPECT_TRUE(CookieValue(cookie).empty()) << "no session for a bad login";
  Record("alice, wrong password", "POST /login (form)", Outcome(status));

  // spin's auth.ldap: POST /login (form-urlencoded), then only the cookie.
  cookie = FormLogin("alice", kAlicePassword, &status);
  EXPECT_TRUE(status == 200 || status == 302) << status;
  ASSERT_FALSE(CookieValue(cookie).empty())
      << "POST /login set no session cookie";
  EXPECT_TRUE(absl::StartsWith(cookie, "SESSION=")) << "cookie name";
  env->alice_cookie = cookie;
  Caller session{"alice (session cookie)", "alice", "", cookie};
  Record("alice (team-a)", "POST /login (form, spin auth.ldap)",
         absl::StrCat(Outcome(status), ", SESSION cookie"));

  http::ClientResponse r = Call(session, "GET", "/version");
  EXPECT_EQ(r.status, 200);
  r = Call(session, "GET", "/auth/user");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(JsonOf(r).value("username", ""), "alice") << r.body;
  r = Call(session, "GET", "/applications");
  ASSERT_EQ(r.status, 200) << r.body;
  std::set<std::string> apps = AppNames(JsonOf(r));
  EXPECT_TRUE(apps.count("appa"));
  EXPECT_FALSE(apps.count("appb"));
  r = Call(session, "GET", "/applications/appa/pipelineConfigs");
  EXPECT_EQ(r.status, 200) << r.body;
  r = Call(session, "GET", "/applications/appb/pipelineConfigs");
  EXPECT_EQ(r.status, 403) << r.body;
  Record("alice (session cookie)", "GET appa / appb pipelineConfigs",
         "allowed (200) / denied (403)");
  // A made-up cookie is no session.
  Caller forged{"forged cookie", "", "", "SESSION=forged-session-value"};
  r = Call(forged, "GET", "/applications");
  EXPECT_EQ(r.status, 401) << r.body;
  Record("a forged SESSION cookie", "GET /applications", Outcome(r.status));
}

TEST_F(AuthE2eTest, TeamsSeeAndChangeOnlyTheirApplications) {
  http::ClientResponse r = Call(alice_, "GET", "/applications/appb");
  EXPECT_EQ(r.status, 403) << r.body;
  Record("alice (team-a)", "GET /applications/appb", Outcome(r.status));
  r = Call(alice_, "GET", "/applications/appa");
  EXPECT_EQ(r.status, 200) << r.body;
  Record("alice (team-a)", "GET /applications/appa", Outcome(r.status));

  std::set<std::string> bob_apps =
      AppNames(JsonOf(Call(bob_, "GET", "/applications")));
  EXPECT_TRUE(bob_apps.count("appb"));
  EXPECT_FALSE(bob_apps.count("appa"));
  Record("bob (team-b)", "GET /applications",
         absl::StrCat("sees ", absl::StrJoin(bob_apps, ", "), "; not appa"));
  std::set<std::string> deployer_apps =
      AppNames(JsonOf(Call(deployer_, "GET", "/applications")));
  EXPECT_TRUE(deployer_apps.count("appb"));
  EXPECT_FALSE(deployer_apps.count("appa"));
  Record("deployer (users file, team-b)", "GET /applications",
         absl::StrCat("sees ", absl::StrJoin(deployer_apps, ", ")));
  std::set<std::string> carol_apps =
      AppNames(JsonOf(Call(carol_, "GET", "/applications")));
  for (const char* app : {"appa", "appb", "appopen"}) {
    EXPECT_TRUE(carol_apps.count(app)) << app;
  }
  Record("carol (admins)", "GET /applications",
         absl::StrCat("sees ", absl::StrJoin(carol_apps, ", ")));

  // alice cannot save into appb: 403 and nothing stored.
  const size_t before = StoredPipelines("appb");
  int status = SavePipeline(
      alice_,
      {{"application", "appb"},
       {"name", "sneaky"},
       {"stages", {{{"refId", "1"}, {"type", "wait"}, {"waitTime", 0}}}}});
  EXPECT_EQ(status, 403);
  EXPECT_EQ(StoredPipelines("appb"), before) << "a refused save stored it";
  Record("alice (team-a)", "POST /pipelines into appb",
         absl::StrCat(Outcome(status), ", front50 unchanged"));

  // bob's pipeline in appb: alice cannot run it, bob can.
  status = SavePipeline(
      bob_,
      {{"application", "appb"},
       {"name", "b-wait"},
       {"stages", {{{"refId", "1"}, {"type", "wait"}, {"waitTime", 0}}}}});
  ASSERT_EQ(status, 200);
  Record("bob (team-b)", "POST /pipelines into appb", Outcome(status));
  Run(alice_, "appb", "b-wait", &status);
  EXPECT_EQ(status, 403);
  Record("alice (team-a)", "POST /pipelines/appb/b-wait (run)",
         Outcome(status));
  r = Call(carol_, "GET", "/applications/appb/pipelines");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(JsonOf(r).empty()) << "a refused run started: " << r.body;

  // alice saves and runs her own pipeline in appa, as herself.
  status = SavePipeline(
      alice_,
      {{"application", "appa"},
       {"name", "a-wait"},
       {"stages", {{{"refId", "1"}, {"type", "wait"}, {"waitTime", 0}}}}});
  ASSERT_EQ(status, 200);
  Record("alice (team-a)", "POST /pipelines into appa", Outcome(status));
  std::string id = Run(alice_, "appa", "a-wait", &status);
  ASSERT_EQ(status, 202);
  Json e = WaitExecution(alice_, id, Finished);
  EXPECT_EQ(e.value("status", ""), "SUCCEEDED") << e.dump(1);
  EXPECT_EQ(e["authentication"].value("user", ""), "alice") << e.dump(1);
  EXPECT_EQ(e["trigger"].value("user", ""), "alice");
  Record("alice (team-a)", "POST /pipelines/appa/a-wait (run)",
         absl::StrCat(Outcome(status), ", ", e.value("status", ""),
                      " as user alice"));
  // bob cannot see alice's execution.
  r = Call(bob_, "GET", "/pipelines/" + id);
  EXPECT_EQ(r.status, 403) << r.body;
  Record("bob (team-b)", "GET /pipelines/<alice's execution in appa>",
         Outcome(r.status));
}

TEST_F(AuthE2eTest, DeploysNeedWriteOnTheAccount) {
  int status = SavePipeline(alice_, {{"application", "appa"},
                                     {"name", "to-dev"},
                                     {"stages", DeployStage("dev")}});
  ASSERT_EQ(status, 200);
  status = SavePipeline(alice_, {{"application", "appa"},
                                 {"name", "to-prod"},
                                 {"stages", DeployStage("prod")}});
  ASSERT_EQ(status, 200);

  std::string dev = Run(alice_, "appa", "to-dev", &status);
  ASSERT_EQ(status, 202);
  std::string prod = Run(alice_, "appa", "to-prod", &status);
  ASSERT_EQ(status, 202);
  Json e = WaitExecution(alice_, prod, Finished);
  EXPECT_EQ(e.value("status", ""), "TERMINAL") << e.dump(1);
  std::vector<std::string> errors;
  CollectErrors(e.value("stages", Json::array()), false, &errors);
  bool names_account = std::any_of(
      errors.begin(), errors.end(),
      [](const std::string& m) { return absl::StrContains(m, "prod"); });
  EXPECT_TRUE(names_account)
      << "the failure must name the account: " << absl::StrJoin(errors, " | ");
  Record("alice (team-a)", "pipeline deploying to account prod",
         absl::StrCat(e.value("status", ""), ": ",
                      errors.empty() ? "" : errors.front()));
  e = WaitExecution(alice_, dev, Finished, 60);
  EXPECT_EQ(e.value("status", ""), "SUCCEEDED") << e.dump(1);
  Record("alice (team-a)", "pipeline deploying to account dev",
         e.value("status", ""));

  // The admin may deploy to prod, with the same pipeline.
  std::string admin = Run(carol_, "appa", "to-prod", &status);
  ASSERT_EQ(status, 202);
  e = WaitExecution(carol_, admin, Finished, 60);
  EXPECT_EQ(e.value("status", ""), "SUCCEEDED") << e.dump(1);
  Record("carol (admins)", "pipeline deploying to account prod",
         e.value("status", ""));

  // clouddriver refuses an operation on prod for alice even as a task.
  const Json lb_task = {{"application", "appa"},
                        {"description", "Create Load Balancer: appa"},
                        {"job",
                         {{{"type", "upsertLoadBalancer"},
                           {"name", "appa"},
                           {"credentials", "prod"},
                           {"cloudProvider", "local"},
                           {"region", "localhost"},
                           {"listeners", {{{"port", 0}}}}}}}};
  std::string st = RunTask(alice_, lb_task, &status);
  EXPECT_TRUE(status == 403 || st == "TERMINAL") << status << " " << st;
  Record("alice (team-a)", "task upsertLoadBalancer on account prod",
         status == 200 ? "task " + st : Outcome(status));
  st = RunTask(carol_, lb_task, &status);
  EXPECT_EQ(st, "SUCCEEDED");
  Record("carol (admins)", "task upsertLoadBalancer on account prod",
         "task " + st);

  // clouddriver itself, called as orca calls it (x-spinnaker-user), refuses
  // alice's operation on prod; gate and orca are not the only guards.
  auto clouddriver =
      cv1::ClouddriverService::NewStub(MakeChannel(Address(env->clouddriver)));
  auto submit = [&](const std::string& user) {
    cv1::SubmitOperationsRequest req;
    req.set_cloud_provider("local");
    req.set_application("appa");
    req.set_idempotency_key("lb-" + user);
    cv1::Operation* op = req.add_operations();
    op->set_name("upsertLoadBalancer");
    op->set_account("prod");
    op->mutable_description()->set_json(lb_task["job"][0].dump());
    cv1::SubmitOperationsResponse resp;
    auto ctx = MakeClientContext(std::chrono::seconds(10));
    ctx->AddMetadata("x-spinnaker-user", user);
    return clouddriver->SubmitOperations(ctx.get(), req, &resp);
  };
  grpc::Status denied = submit("alice");
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << denied.error_message();
  EXPECT_TRUE(absl::StrContains(denied.error_message(), "prod"))
      << denied.error_message();
  Record("alice (team-a)", "clouddriver SubmitOperations on prod (gRPC)",
         denied.ok() ? "allowed" : denied.error_message());
  grpc::Status allowed = submit("carol");
  EXPECT_TRUE(allowed.ok()) << allowed.error_message();
  Record("carol (admins)", "clouddriver SubmitOperations on prod (gRPC)",
         allowed.ok() ? "allowed" : allowed.error_message());
}

TEST_F(AuthE2eTest, TriggeredPipelineRunsAsItsServiceAccount) {
  const Json stages = {{{"refId", "1"}, {"type", "wait"}, {"waitTime", 0}}};
  auto triggered = [&](const std::string& app, const std::string& name) {
    return Json{{"application", app},
                {"name", name},
                {"triggers",
                 {{{"type", "webhook"},
                   {"enabled", true},
                   {"source", "svc-hook"},
                   {"runAsUser", "svc-a"}}}},
                {"stages", stages}};
  };
  // bob does not hold team-a: he may not use svc-a, even in an open app.
  const size_t before = StoredPipelines("appopen");
  int status = SavePipeline(bob_, triggered("appopen", "bob-as-svc"));
  EXPECT_EQ(status, 403);
  EXPECT_EQ(StoredPipelines("appopen"), before);
  Record("bob (team-b)", "save pipeline with runAsUser svc-a (team-a)",
         Outcome(status));
  status = SavePipeline(alice_, triggered("appa", "as-svc"));
  ASSERT_EQ(status, 200);
  Record("alice (team-a)", "save pipeline with runAsUser svc-a (team-a)",
         Outcome(status));
  const std::string config_id = ConfigId(alice_, "appa", "as-svc");

  // The webhook through gate (open) -> echo -> orca, run as svc-a.
  Json e;
  for (int attempt = 0; attempt < 40 && !e.is_object(); ++attempt) {
    http::ClientResponse hook =
        Call(anonymous_, "POST", "/webhooks/webhook/svc-hook", R"({"x":1})");
    ASSERT_EQ(hook.status, 200) << hook.body;
    for (int i = 0; i < 5 && !e.is_object(); ++i) {
      absl::SleepFor(absl::Milliseconds(100));
      http::ClientResponse list =
          Call(alice_, "GET", "/executions?pipelineConfigIds=" + config_id);
      Json runs = JsonOf(list);
      if (runs.is_array() && !runs.empty()) e = runs[0];
    }
  }
  ASSERT_TRUE(e.is_object()) << "the webhook started nothing";
  e = WaitExecution(alice_, e.value("id", ""), Finished);
  EXPECT_EQ(e.value("status", ""), "SUCCEEDED") << e.dump(1);
  EXPECT_EQ(e["authentication"].value("user", ""), "svc-a") << e.dump(1);
  EXPECT_EQ(e["trigger"].value("type", ""), "webhook");
  Record("webhook -> echo -> orca", "trigger of appa/as-svc",
         absl::StrCat(e.value("status", ""), ", runs as ",
                      e["authentication"].value("user", "?")));
}

TEST_F(AuthE2eTest, ManualJudgmentHonoursRequiredRoles) {
  int status =
      SavePipeline(alice_, {{"application", "appa"},
                            {"name", "approve"},
                            {"stages",
                             {{{"refId", "1"},
                               {"type", "manualJudgment"},
                               {"name", "Approve"},
                               {"requiredJudgmentRoles", {"admins"}}}}}});
  ASSERT_EQ(status, 200);
  std::string id = Run(alice_, "appa", "approve", &status);
  ASSERT_EQ(status, 202);
  Json e = WaitExecution(alice_, id, [](const Json& j) {
    return j.contains("stages") && !j["stages"].empty() &&
           j["stages"][0].value("status", "") == "RUNNING";
  });
  const std::string stage = e["stages"][0].value("id", "");
  http::ClientResponse r =
      Call(alice_, "PATCH", "/pipelines/" + id + "/stages/" + stage,
           R"({"judgmentStatus":"continue"})");
  EXPECT_EQ(r.status, 403) << r.body;
  Record("alice (team-a)", "continue manual judgment requiring [admins]",
         Outcome(r.status));
  absl::SleepFor(absl::Milliseconds(300));
  e = JsonOf(Call(alice_, "GET", "/pipelines/" + id));
  EXPECT_EQ(e.value("status", ""), "RUNNING") << e.dump(1);
  r = Call(carol_, "PATCH", "/pipelines/" + id + "/stages/" + stage,
           R"({"judgmentStatus":"continue"})");
  EXPECT_EQ(r.status, 200) << r.body;
  e = WaitExecution(carol_, id, Finished);
  EXPECT_EQ(e.value("status", ""), "SUCCEEDED") << e.dump(1);
  EXPECT_EQ(e["stages"][0]["lastModified"].value("user", ""), "carol")
      << e["stages"][0].dump(1);
  Record(
      "carol (admins)", "continue manual judgment requiring [admins]",
      absl::StrCat(Outcome(r.status), ", execution ", e.value("status", "")));
}

// Near the end: logging out drops alice's permission set in fiat too.
TEST_F(AuthE2eTest, LogoutEndsTheSessionButNotBasicAuth) {
  ASSERT_FALSE(env->alice_cookie.empty()) << "needs the form-login test";
  Caller session{"alice (session cookie)", "alice", "", env->alice_cookie};
  http::ClientResponse r = Call(session, "POST", "/auth/logout");
  if (r.status == 404 || r.status == 405 || r.status == 415) {
    r = Call(session, "GET", "/auth/logout");
  }
  EXPECT_LT(r.status, 400) << r.body;
  r = Call(session, "GET", "/applications");
  EXPECT_EQ(r.status, 401) << r.body;
  Record("alice (cookie after /auth/logout)", "GET /applications",
         Outcome(r.status));
  // spin's basic auth is a new authentication on every request: it still
  // works, with alice's permissions (not the unrestricted user's).
  r = Call(alice_, "GET", "/applications/appa");
  EXPECT_EQ(r.status, 200) << r.body;
  Record("alice (basic auth, after that logout)", "GET /applications/appa",
         Outcome(r.status));
}

TEST_F(AuthE2eTest, RepeatedBadLoginsAreThrottled) {
  Caller bad{"bob, wrong password", "bob", kWrongPassword, ""};
  http::ClientResponse r;
  int attempts = 0;
  while (attempts < 16) {
    ++attempts;
    r = Call(bad, "GET", "/applications");
    if (r.status != 401) break;
  }
  EXPECT_EQ(r.status, 429) << "after " << attempts << " attempts: " << r.body;
  EXPECT_TRUE(r.headers.count("retry-after")) << "429 needs Retry-After";
  Record("bob with a wrong password, repeatedly", "GET /applications",
         absl::StrCat(Outcome(r.status), " from attempt ", attempts));
  // A login is throttled before any password check: even the right password
  // waits (a credential gate verified before keeps working).
  int status = 0;
  std::string cookie = FormLogin("bob", kBobPassword, &status);
  EXPECT_EQ(status, 429);
  EXPECT_TRUE(CookieValue(cookie).empty());
  Record("bob with the right password, while throttled", "POST /login (form)",
         Outcome(status));
  r = Call(bob_, "GET", "/applications");
  Record("bob, basic credential verified before the throttling",
         "GET /applications", Outcome(r.status));
}

// Last: nothing the suite used as a secret reached a log or its own output.
TEST_F(AuthE2eTest, NoSecretInAnyLogOrOutput) {
  PrintTable();
  std::vector<std::string> files;
  for (const std::string& root : {env->dir, env->ldap->dir()}) {
    for (const auto& f : std::filesystem::recursive_directory_iterator(
             root,
             std::filesystem::directory_options::skip_permission_denied)) {
      if (!f.is_regular_file()) continue;
      const std::string path = f.path().string();
      // The configs the test wrote hold the LDAP manager password and hashes
      // by design; everything else (logs, state) must not.
      if (absl::EndsWith(path, ".yml") || absl::EndsWith(path, ".ldif") ||
          absl::EndsWith(path, ".conf") || absl::EndsWith(path, ".mdb") ||
          absl::StrContains(path, "/data/") || absl::EndsWith(path, ".pem") ||
          absl::EndsWith(path, ".key")) {
        continue;
      }
      files.push_back(path);
    }
  }
  ASSERT_GE(env->secrets.size(), 7u);
  int logs = 0;
  for (const std::string& path : files) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    const std::string content = text.str();
    if (absl::EndsWith(path, ".log")) ++logs;
    for (const std::string& secret : env->secrets) {
      EXPECT_EQ(content.find(secret), std::string::npos)
          << "a secret (" << secret.size() << " chars, starting "
          << secret.substr(0, 3) << "...) is in " << path;
    }
  }
  for (const std::string& secret : env->secrets) {
    EXPECT_EQ(env->transcript.find(secret), std::string::npos)
        << "a secret (" << secret.size()
        << " chars) is in a response or the test's output";
  }
  EXPECT_GE(logs, 6) << "the six service logs";
  Say(absl::StrCat("secrets checked: ", env->secrets.size(),
                   " (passwords, session cookies, basic tokens) in ",
                   files.size(), " files (", logs,
                   " logs) and the test's output: none found"));
}

}  // namespace
}  // namespace gennaker
