// Load driver: gate's REST throughput with authentication and authorization
// on, against off, in one run over the same backends (issue: authentication
// and authorization; goal: on >= 80 % of off).
//
//   gate_auth_bench [--seconds 8] [--connections 16] [--rounds 2]
//                   [--pipelines 20] [--apps 20]
//
// Starts a throwaway PostgreSQL and Redis, the real front50, clouddriver (one
// local account), fiat (file roles) and two real gate processes over them:
//   - "off": security and authorization disabled (every caller anonymous);
//   - "on":  basic auth against a users file (bcrypt) and fiat authorization.
// Application "bench" (restricted to team-a, the bench user's role) holds
// `pipelines` pipelines; `apps` other applications are half restricted to
// another team, half open. Then wrk (-t2, keep-alive, the basic credentials
// set by a Lua script so they are not in argv) drives, alternately off and on,
// GET /applications/bench/pipelineConfigs and GET /applications for
// `seconds` each with `connections` connections, `rounds` times. Reported:
// requests/s, p50, p99, non-2xx answers, and how many gRPC calls fiat served
// during each run (read from fiat's /metrics): permission checks must come
// from gate's cache, and basic auth from gate's credential cache.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/auth/password.h"
#include "common/grpc/channel.h"
#include "common/http/http_client.h"
#include "common/process/process.h"
#include "common/testing/test_stores.h"
#include "gennaker/fiat/v1/fiat.grpc.pb.h"
#include "gennaker/front50/v1/front50.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "tests/support/suite_process.h"

namespace gennaker {
namespace {

using Json = nlohmann::json;
using Service = testing::SuiteProcess;
namespace f50 = front50::v1;

constexpr char kUser[] = "bencher";
constexpr char kPassword[] = "bench-Pw-4k8sLq";

struct WrkRun {
  bool ok = false;
  double rps = 0;
  std::string p50, p99;
  int64_t non_2xx = 0;
  int64_t requests = 0;
  std::string text;
};

// Latency "50%    1.23ms" -> "1.23 ms".
std::string Percentile(const std::string& text, const std::string& label) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string first, value;
    words >> first >> value;
    if (first == label && !value.empty()) {
      size_t unit = value.find_first_not_of("0123456789.");
      if (unit == std::string::npos) return value;
      return value.substr(0, unit) + " " + value.substr(unit);
    }
  }
  return "?";
}

int64_t NumberAfter(const std::string& text, const std::string& label) {
  size_t at = text.find(label);
  if (at == std::string::npos) return 0;
  std::istringstream s(text.substr(at + label.size()));
  int64_t n = 0;
  s >> n;
  return n;
}

WrkRun RunWrk(const std::string& url, const std::string& script,
              int connections, int seconds, const std::string& log) {
  process::SpawnOptions o;
  o.argv = {"/usr/bin/wrk", "-t2", absl::StrCat("-c", connections),
            absl::StrCat("-d", seconds, "s"), "--latency"};
  if (!script.empty()) {
    o.argv.push_back("-s");
    o.argv.push_back(script);
  }
  o.argv.push_back(url);
  o.log_file = log;
  (void)std::remove(log.c_str());
  auto rc = process::Run(o);
  WrkRun r;
  r.ok = rc.ok() && *rc == 0;
  std::ifstream in(log);
  std::stringstream all;
  all << in.rdbuf();
  r.text = all.str();
  size_t at = r.text.find("Requests/sec:");
  if (at != std::string::npos) {
    std::istringstream s(r.text.substr(at + 13));
    s >> r.rps;
  }
  r.p50 = Percentile(r.text, "50%");
  r.p99 = Percentile(r.text, "99%");
  r.non_2xx = NumberAfter(r.text, "Non-2xx or 3xx responses:");
  // "  123456 requests in 8.00s, ..."
  std::istringstream lines(r.text);
  for (std::string line; std::getline(lines, line);) {
    if (line.find(" requests in ") != std::string::npos) {
      std::istringstream s(line);
      s >> r.requests;
    }
  }
  return r;
}

// gRPC calls fiat has served (sum of gennaker_requests_total, kind grpc),
// from its admin /metrics; -1 when unreadable.
int64_t FiatCalls(int admin_port) {
  http::ClientRequest r;
  r.url = absl::StrCat("http://127.0.0.1:", admin_port, "/metrics");
  auto resp = http::Fetch(r);
  if (!resp.ok() || resp->status != 200) return -1;
  int64_t total = 0;
  for (absl::string_view line : absl::StrSplit(resp->body, '\n')) {
    if (!absl::StartsWith(line, "gennaker_requests_total{")) continue;
    if (line.find("kind=\"grpc\"") == absl::string_view::npos) continue;
    if (line.find("Health") != absl::string_view::npos) continue;
    size_t space = line.rfind(' ');
    double v = 0;
    if (absl::SimpleAtod(line.substr(space + 1), &v)) {
      total += static_cast<int64_t>(v);
    }
  }
  return total;
}

Json Pipeline(int i) {
  Json stages = Json::array();
  for (int s = 1; s <= 4; ++s) {
    stages.push_back(
        {{"refId", absl::StrCat(s)},
         {"requisiteStageRefIds",
          s == 1 ? Json::array() : Json::array({absl::StrCat(s - 1)})},
         {"type", s % 2 ? "wait" : "evaluateVariables"},
         {"name", absl::StrCat("Stage ", s, " of pipeline ", i)},
         {"waitTime", 0},
         {"variables", Json::array({{{"key", "version"},
                                     {"value", "${trigger.parameters.v}"}}})}});
  }
  return {
      {"application", "bench"},
      {"name", absl::StrCat("pipeline-", i)},
      {"keepWaitingPipelines", false},
      {"limitConcurrent", true},
      {"parameterConfig", Json::array({{{"name", "v"}, {"default", "1.0.0"}}})},
      {"triggers", Json::array({{{"type", "webhook"},
                                 {"enabled", true},
                                 {"source", absl::StrCat("hook-", i)}}})},
      {"stages", stages}};
}

int Main(int argc, char** argv) {
  int seconds = 8, connections = 16, rounds = 2, pipelines = 20, apps = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    int* target = flag == "--seconds"       ? &seconds
                  : flag == "--connections" ? &connections
                  : flag == "--rounds"      ? &rounds
                  : flag == "--pipelines"   ? &pipelines
                  : flag == "--apps"        ? &apps
                                            : nullptr;
    if (target == nullptr || !absl::SimpleAtoi(argv[i + 1], target)) {
      fprintf(stderr, "unknown flag or value: %s\n", argv[i]);
      return 2;
    }
  }

  auto pg = testing::TestPostgres::Start("gate-auth-bench");
  if (!pg.ok()) {
    fprintf(stderr, "%s\n", pg.status().ToString().c_str());
    return 1;
  }
  auto dsn = (*pg)->CreateDatabase("front50");
  auto redis = testing::TestRedis::Start();
  if (!dsn.ok() || !redis.ok()) return 1;
  const std::string dir = testing::MakeTempDir("gate-auth-bench");
  bool keep_dir = false;
  Service front50, clouddriver, fiat, gate_off, gate_on;
  absl::Cleanup cleanup = [&] {
    for (Service* s : {&gate_on, &gate_off, &fiat, &clouddriver, &front50}) {
      if (s->pid > 0) (void)process::Terminate(s->pid, absl::Seconds(5));
    }
    if (keep_dir) {
      fprintf(stderr, "logs kept in %s\n", dir.c_str());
    } else {
      testing::RemoveTree(dir);
    }
  };

  auto hash = auth::HashPassword(kPassword);
  if (!hash.ok()) return 1;
  const std::string users = dir + "/users.yml";
  std::ofstream(users) << "users:\n  - username: " << kUser
                       << "\n    passwordHash: \"" << *hash
                       << "\"\n    roles: [team-a]\n";
  for (Service* s : {&front50, &clouddriver, &fiat, &gate_off, &gate_on}) {
    s->grpc_port = *process::FreePort();
  }
  const int fiat_admin = *process::FreePort();
  const int off_http = *process::FreePort(), on_http = *process::FreePort();
  auto address = [](const Service& s) {
    return absl::StrCat("{address: '127.0.0.1:", s.grpc_port, "'}");
  };
  auto configure = [&](Service& s, const std::string& binary,
                       const std::string& file, int admin,
                       const std::string& rest) {
    s.name = binary;
    s.config = dir + "/" + file + ".yml";
    std::ofstream(s.config) << absl::StrCat(
        "server: {host: 127.0.0.1, grpcPort: ", s.grpc_port,
        ", adminPort: ", admin, ", httpThreads: 4, shutdownGraceSeconds: 2}\n",
        "logging: {level: warn, format: text}\n", rest);
  };
  configure(front50, "front50", "front50", *process::FreePort(),
            absl::StrCat("postgres: {dsn: '", *dsn, "', poolSize: 8}\n"));
  configure(clouddriver, "clouddriver", "clouddriver", *process::FreePort(),
            absl::StrCat("redis: {url: '", (*redis)->Url(), "'}\nstateDir: '",
                         dir, "'\nlocalAccounts: [{name: dev}]\n"));
  configure(fiat, "fiat", "fiat", fiat_admin,
            absl::StrCat("redis: {url: '", (*redis)->Url(),
                         "'}\nhttpPort: ", *process::FreePort(),
                         "\nservices: {front50: ", address(front50),
                         ", clouddriver: ", address(clouddriver),
                         "}\nroles: {provider: file, filePath: '", users,
                         "'}\nresourceRefreshSeconds: 2\n"));
  const std::string backends =
      absl::StrCat("services: {front50: ", address(front50),
                   ", clouddriver: ", address(clouddriver),
                   ", fiat: ", address(fiat), "}\n");
  configure(gate_off, "gate", "gate-off", *process::FreePort(),
            absl::StrCat("redis: {url: '", (*redis)->Url(),
                         "'}\nhttpPort: ", off_http, "\n", backends));
  configure(
      gate_on, "gate", "gate-on", *process::FreePort(),
      absl::StrCat("redis: {url: '", (*redis)->Url(), "'}\nhttpPort: ", on_http,
                   "\n", backends, "security: {enabled: true, usersFile: '",
                   users, "'}\nauthorization: {enabled: true}\n"));
  // The two gates log to their own files: StartSuiteProcess names the log
  // after the binary, so each starts from its own directory.
  for (Service* s : {&front50, &clouddriver, &fiat, &gate_off, &gate_on}) {
    std::string log_dir = dir;
    if (s == &gate_off || s == &gate_on) {
      log_dir = dir + (s == &gate_off ? "/off" : "/on");
      std::filesystem::create_directories(log_dir);
    }
    absl::Status started = testing::StartSuiteProcess(*s, log_dir);
    if (!started.ok()) {
      fprintf(stderr, "%s\n", started.ToString().c_str());
      keep_dir = true;
      return 1;
    }
  }

  // The applications, their permissions and the pipelines, in front50.
  auto stub = f50::Front50Service::NewStub(
      MakeChannel(absl::StrCat("127.0.0.1:", front50.grpc_port)));
  auto create = [&](const std::string& name,
                    const std::vector<std::string>& roles) {
    f50::CreateApplicationRequest req;
    req.mutable_application()->set_name(name);
    req.mutable_application()->set_email("bench@example.com");
    f50::CreateApplicationResponse resp;
    auto ctx = MakeClientContext(std::chrono::seconds(10));
    if (!stub->CreateApplication(ctx.get(), req, &resp).ok()) return false;
    if (roles.empty()) return true;
    f50::PutApplicationPermissionRequest p;
    p.mutable_permission()->set_application(name);
    for (const std::string& r : roles) {
      p.mutable_permission()->add_read_roles(r);
      p.mutable_permission()->add_write_roles(r);
      p.mutable_permission()->add_execute_roles(r);
    }
    // front50 stores the body (its typed lists are not read back).
    p.mutable_permission()->mutable_body()->set_json(
        Json({{"name", name},
              {"permissions",
               {{"READ", roles}, {"WRITE", roles}, {"EXECUTE", roles}}}})
            .dump());
    f50::PutApplicationPermissionResponse presp;
    auto pctx = MakeClientContext(std::chrono::seconds(10));
    return stub->PutApplicationPermission(pctx.get(), p, &presp).ok();
  };
  bool created = create("bench", {"team-a"});
  for (int i = 0; i < apps; ++i) {
    created = created && create(absl::StrCat("app-", i),
                                i % 2 ? std::vector<std::string>{"team-b"}
                                      : std::vector<std::string>{});
  }
  for (int i = 0; i < pipelines && created; ++i) {
    f50::SavePipelineRequest req;
    req.mutable_config()->set_json(Pipeline(i).dump());
    f50::SavePipelineResponse resp;
    auto ctx = MakeClientContext(std::chrono::seconds(10));
    created = stub->SavePipeline(ctx.get(), req, &resp).ok();
  }
  if (!created) {
    fprintf(stderr, "creating the applications and pipelines failed\n");
    return 1;
  }

  // fiat has read them: the unrestricted user holds the open applications
  // and not "bench" (before any gate asks, so no gate caches an early set).
  auto fiat_stub = fiat::v1::FiatService::NewStub(
      MakeChannel(absl::StrCat("127.0.0.1:", fiat.grpc_port)));
  bool fiat_ready = false;
  for (int i = 0; i < 300 && !fiat_ready; ++i) {
    fiat::v1::GetUserPermissionRequest req;
    req.set_user("anonymous");
    fiat::v1::GetUserPermissionResponse resp;
    auto ctx = MakeClientContext(std::chrono::seconds(5));
    if (fiat_stub->GetUserPermission(ctx.get(), req, &resp).ok()) {
      bool open = false, bench = false;
      for (const auto& a : resp.permission().applications()) {
        open = open || a.name() == "app-0";
        bench = bench || a.name() == "bench";
      }
      fiat_ready = open && !bench;
    }
    if (!fiat_ready) absl::SleepFor(absl::Milliseconds(100));
  }
  if (!fiat_ready) {
    fprintf(stderr, "fiat did not load the applications\n");
    keep_dir = true;
    return 1;
  }

  // Both gates answer the same pipelines; "on" hides team-b's applications.
  const std::string token =
      absl::Base64Escape(absl::StrCat(kUser, ":", kPassword));
  auto get = [&](int port, const std::string& path, bool auth) {
    http::ClientRequest r;
    r.url = absl::StrCat("http://127.0.0.1:", port, path);
    if (auth) r.headers = {{"Authorization", "Basic " + token}};
    auto resp = http::Fetch(r);
    return resp.ok() ? *resp : http::ClientResponse{};
  };
  size_t off_apps = 0, on_apps = 0;
  std::string check;
  for (int i = 0; i < 100; ++i) {
    http::ClientResponse off = get(off_http, "/applications", false);
    http::ClientResponse on = get(on_http, "/applications", true);
    http::ClientResponse denied = get(on_http, "/applications", false);
    http::ClientResponse configs =
        get(on_http, "/applications/bench/pipelineConfigs", true);
    Json off_list = Json::parse(off.body, nullptr, false);
    Json on_list = Json::parse(on.body, nullptr, false);
    Json config_list = Json::parse(configs.body, nullptr, false);
    off_apps = off_list.is_array() ? off_list.size() : 0;
    on_apps = on_list.is_array() ? on_list.size() : 0;
    check = absl::StrCat(
        "off /applications ", off.status, " (", off_apps, " apps), on ",
        on.status, " (", on_apps, " apps), on without credentials ",
        denied.status, ", on pipelineConfigs ", configs.status, " (",
        config_list.is_array() ? config_list.size() : 0, " pipelines)");
    if (off.status == 200 && on.status == 200 && denied.status == 401 &&
        configs.status == 200 && config_list.is_array() &&
        static_cast<int>(config_list.size()) == pipelines &&
        off_apps == static_cast<size_t>(apps + 1) &&
        on_apps == static_cast<size_t>((apps + 1) / 2 + 1)) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  fprintf(stderr, "%s\n", check.c_str());
  if (on_apps != static_cast<size_t>((apps + 1) / 2 + 1)) {
    fprintf(stderr, "gate with authorization does not filter as expected\n");
    keep_dir = true;
    return 1;
  }

  // The credentials go in a Lua script, not on wrk's command line.
  const std::string script = dir + "/basic.lua";
  std::ofstream(script) << "wrk.headers[\"Authorization\"] = \"Basic " << token
                        << "\"\n";

  struct Row {
    std::string path, mode;
    WrkRun run;
    int64_t fiat_calls = 0;
  };
  std::vector<Row> rows;
  for (int round = 0; round < rounds; ++round) {
    for (const std::string path :
         {"/applications/bench/pipelineConfigs", "/applications"}) {
      for (bool on : {false, true}) {
        const int64_t before = FiatCalls(fiat_admin);
        const std::string url =
            absl::StrCat("http://127.0.0.1:", on ? on_http : off_http, path);
        fprintf(stderr, "round %d: %s, auth %s ...\n", round + 1, path.c_str(),
                on ? "on" : "off");
        WrkRun run = RunWrk(url, on ? script : "", connections, seconds,
                            dir + "/wrk.txt");
        const int64_t after = FiatCalls(fiat_admin);
        if (!run.ok) fprintf(stderr, "wrk failed:\n%s\n", run.text.c_str());
        rows.push_back({path, on ? "on" : "off", run,
                        before < 0 || after < 0 ? -1 : after - before});
      }
    }
  }

  printf(
      "\ngate_auth_bench: %d s per run, wrk -t2 -c%d, %d pipelines in "
      "`bench`, %d other applications (the \"on\" user sees %zu of %zu)\n\n",
      seconds, connections, pipelines, apps, on_apps, off_apps);
  printf(
      "| run | route | auth | req/s | p50 | p99 | non-2xx | fiat gRPC calls "
      "during the run | on / off |\n");
  printf("|---|---|---|---|---|---|---|---|---|\n");
  bool all_ok = true;
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    all_ok = all_ok && r.run.ok && r.run.non_2xx == 0;
    std::string ratio = "";
    if (r.mode == "on" && i > 0 && rows[i - 1].run.rps > 0) {
      ratio = absl::StrCat(
          static_cast<int>(100 * r.run.rps / rows[i - 1].run.rps + 0.5), " %");
    }
    printf("| %zu | GET %s | %s | %.0f | %s | %s | %lld | %lld | %s |\n",
           i / 4 + 1, r.path.c_str(), r.mode == "on" ? "basic + fiat" : "off",
           r.run.rps, r.run.p50.c_str(), r.run.p99.c_str(),
           static_cast<long long>(r.run.non_2xx),
           static_cast<long long>(r.fiat_calls), ratio.c_str());
  }
  return all_ok ? 0 : 1;
}

}  // namespace
}  // namespace gennaker

int main(int argc, char** argv) { return gennaker::Main(argc, argv); }
