#include "tests/support/fake_travis.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/http/http.h"
#include "common/http/http_server.h"
#include "common/spinnaker/time.h"

namespace gennaker::testing {

using spinnaker::Json;

namespace {

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

http::Response Answer(int status, const Json& j) {
  return http::Json(status, spinnaker::Dump(j));
}

http::Response TravisError(int status, const std::string& type,
                           const std::string& message) {
  return Answer(status, Json{{"@type", "error"},
                             {"error_type", type},
                             {"error_message", message}});
}

bool Running(const std::string& state) {
  return state == "created" || state == "started";
}

}  // namespace

struct FakeTravis::Build {
  int64_t id = 0;
  int64_t number = 0;
  int64_t job_id = 0;
  int64_t request_id = 0;
  std::string state = "started";
  std::string branch;
  int64_t start_ms = 0;
  int64_t finish_ms = 0;
  std::map<std::string, std::string> env;
};

struct FakeTravis::Repo {
  int64_t id = 0;
  std::string slug;
  bool active = true;
  BuildScript script;
  std::vector<std::unique_ptr<Build>> builds;
};

struct FakeTravis::Req {
  int64_t id = 0;
  std::string slug;
  std::string branch;
  std::map<std::string, std::string> env;
  int64_t build_id = 0;
};

FakeTravisScript FakeTravisScript::Runs(int run_ms, std::string log) {
  FakeTravisScript s;
  s.run_ms = run_ms;
  s.log = std::move(log);
  return s;
}

FakeTravis::FakeTravis(Options options) : options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<FakeTravis>> FakeTravis::Start(Options options) {
  std::unique_ptr<FakeTravis> f(new FakeTravis(std::move(options)));
  http::Router router;
  FakeTravis* self = f.get();
  for (const char* m : {"GET", "POST"}) {
    router.Add(m, "/**",
               [self](const http::Request& r) { return self->Handle(r); });
  }
  http::ServerOptions so;
  so.host = "127.0.0.1";
  so.threads = 4;
  absl::StatusOr<std::unique_ptr<http::Server>> server =
      http::Server::Start(so, std::move(router));
  if (!server.ok()) return server.status();
  f->server_ = *std::move(server);
  f->url_ = absl::StrCat("http://127.0.0.1:", f->server_->port(), "/");
  return f;
}

FakeTravis::~FakeTravis() {
  if (server_) server_->Stop();
}

std::string FakeTravis::url() const { return url_; }

void FakeTravis::AddRepo(const std::string& slug, BuildScript script,
                         bool active) {
  absl::MutexLock l(&mu_);
  auto& r = repos_[slug];
  if (!r) {
    r = std::make_unique<Repo>();
    r->id = next_id_++;
    r->slug = slug;
  }
  r->script = std::move(script);
  r->active = active;
}

FakeTravis::Build* FakeTravis::StartLocked(
    Repo* repo, const std::string& branch,
    std::map<std::string, std::string> env, int64_t request) {
  auto b = std::make_unique<Build>();
  b->id = next_id_++;
  b->job_id = next_id_++;
  b->number = static_cast<int64_t>(repo->builds.size()) + 1;
  b->request_id = request;
  b->branch = branch;
  b->env = std::move(env);
  // Travis' times are in seconds: builds of one repo start at least 1 s
  // apart in what the API shows, so their started_at differ.
  b->start_ms = NowMs() / 1000 * 1000;
  if (!repo->builds.empty() && b->start_ms <= repo->builds.back()->start_ms) {
    b->start_ms = repo->builds.back()->start_ms + 1000;
  }
  repo->builds.push_back(std::move(b));
  return repo->builds.back().get();
}

void FakeTravis::Advance() {
  for (auto& [id, req] : requests_by_id_) {
    if (req->build_id != 0) continue;
    auto it = repos_.find(req->slug);
    if (it == repos_.end()) continue;
    req->build_id =
        StartLocked(it->second.get(), req->branch, req->env, id)->id;
  }
  const int64_t now = NowMs();
  for (auto& [slug, repo] : repos_) {
    for (auto& b : repo->builds) {
      if (Running(b->state) && repo->script.run_ms >= 0 &&
          now >= b->start_ms + repo->script.run_ms) {
        b->state = repo->script.state;
        b->finish_ms =
            std::max(b->start_ms + repo->script.run_ms, b->start_ms + 1000);
      }
    }
  }
}

int64_t FakeTravis::StartBuild(const std::string& slug,
                               const std::string& branch,
                               std::map<std::string, std::string> env) {
  absl::MutexLock l(&mu_);
  Advance();
  auto it = repos_.find(slug);
  if (it == repos_.end()) return 0;
  return StartLocked(it->second.get(), branch, std::move(env), 0)->number;
}

void FakeTravis::CompleteBuild(const std::string& slug, int64_t number,
                               const std::string& state) {
  absl::MutexLock l(&mu_);
  Advance();
  auto it = repos_.find(slug);
  if (it == repos_.end()) return;
  for (auto& b : it->second->builds) {
    if (b->number == number && Running(b->state)) {
      b->state = state.empty() ? it->second->script.state : state;
      b->finish_ms = std::max(NowMs(), b->start_ms + 1000);
    }
  }
}

std::map<std::string, std::string> FakeTravis::BuildEnv(const std::string& slug,
                                                        int64_t number) {
  absl::MutexLock l(&mu_);
  auto it = repos_.find(slug);
  if (it == repos_.end()) return {};
  for (auto& b : it->second->builds) {
    if (b->number == number) return b->env;
  }
  return {};
}

std::vector<FakeTravis::ReceivedRequest> FakeTravis::Requests() const {
  absl::MutexLock l(&mu_);
  return requests_;
}

int FakeTravis::CountRequests(const std::string& method,
                              const std::string& path_part) const {
  absl::MutexLock l(&mu_);
  int n = 0;
  for (const ReceivedRequest& r : requests_) {
    if (r.method == method && r.path.find(path_part) != std::string::npos) ++n;
  }
  return n;
}

Json FakeTravis::RepoJson(const Repo& repo) const {
  const std::string name = repo.slug.substr(repo.slug.find('/') + 1);
  return Json{
      {"@type", "repository"},
      {"@href", absl::StrCat("/repo/", repo.id)},
      {"id", repo.id},
      {"name", name},
      {"slug", repo.slug},
      {"description", nullptr},
      {"active", repo.active},
      {"private", false},
      {"default_branch", Json{{"@type", "branch"}, {"name", "master"}}}};
}

Json FakeTravis::BuildJson(const Repo& repo, const Build& b) const {
  const bool done = !Running(b.state);
  return Json{
      {"@type", "build"},
      {"@href", absl::StrCat("/build/", b.id)},
      {"id", b.id},
      {"number", absl::StrCat(b.number)},
      {"state", b.state},
      {"duration", done ? Json((b.finish_ms - b.start_ms) / 1000) : Json()},
      {"event_type", b.request_id > 0 ? "api" : "push"},
      {"previous_state", nullptr},
      {"pull_request_title", nullptr},
      {"pull_request_number", nullptr},
      {"started_at", spinnaker::FormatIsoInstant(b.start_ms)},
      {"finished_at",
       done ? Json(spinnaker::FormatIsoInstant(b.finish_ms)) : Json()},
      {"private", false},
      {"repository", Json{{"@type", "repository"},
                          {"id", repo.id},
                          {"name", repo.slug.substr(repo.slug.find('/') + 1)},
                          {"slug", repo.slug}}},
      {"branch", Json{{"@type", "branch"}, {"name", b.branch}}},
      {"tag", nullptr},
      {"commit",
       Json{{"@type", "commit"},
            {"id", b.id + 1},
            {"sha", repo.script.sha},
            {"ref", "refs/heads/" + b.branch},
            {"message", "a change"},
            {"compare_url", "https://github.com/" + repo.slug + "/compare"}}},
      {"jobs", Json::array({Json{{"@type", "job"},
                                 {"@href", absl::StrCat("/job/", b.job_id)},
                                 {"id", b.job_id}}})},
      {"updated_at",
       spinnaker::FormatIsoInstant(done ? b.finish_ms : b.start_ms)}};
}

void FakeTravis::SetRequestAnswerWithoutId(bool without_id) {
  absl::MutexLock l(&mu_);
  answer_without_id_ = without_id;
}

int64_t FakeTravis::RequestCount() const {
  absl::MutexLock l(&mu_);
  return static_cast<int64_t>(requests_by_id_.size());
}

http::Response FakeTravis::Handle(const http::Request& r) {
  absl::MutexLock l(&mu_);
  requests_.push_back({r.method, r.path, r.body, r.headers});
  if (r.Header("travis-api-version") != "3") {
    return TravisError(400, "wrong_api_version",
                       "this fake speaks the v3 API only");
  }
  if (!options_.token.empty() &&
      r.Header("authorization") != "token " + options_.token) {
    return TravisError(403, "login_required", "login required");
  }
  Advance();
  std::vector<std::string> segs;
  for (absl::string_view s : absl::StrSplit(r.path, '/', absl::SkipEmpty())) {
    segs.push_back(http::PercentDecode(s));
  }
  auto not_found = [](const std::string& what) {
    return TravisError(404, "not_found", what + " not found");
  };
  if (segs.size() >= 2 && segs[0] == "repo") {
    auto it = repos_.find(segs[1]);
    if (it == repos_.end()) return not_found("repository");
    Repo& repo = *it->second;
    if (segs.size() == 2 && r.method == "GET")
      return Answer(200, RepoJson(repo));
    if (segs.size() == 3 && segs[2] == "builds" && r.method == "GET") {
      int64_t limit = 25, offset = 0;
      (void)absl::SimpleAtoi(r.Query("limit", "25"), &limit);
      (void)absl::SimpleAtoi(r.Query("offset", "0"), &offset);
      limit = std::clamp<int64_t>(limit, 1, 100);
      Json builds = Json::array();
      int64_t i = 0;
      for (auto b = repo.builds.rbegin(); b != repo.builds.rend(); ++b, ++i) {
        if (i < offset) continue;
        if (static_cast<int64_t>(builds.size()) >= limit) break;
        builds.push_back(BuildJson(repo, **b));
      }
      const int64_t count = static_cast<int64_t>(repo.builds.size());
      return Answer(
          200, Json{{"@type", "builds"},
                    {"@pagination", Json{{"limit", limit},
                                         {"offset", offset},
                                         {"count", count},
                                         {"is_first", offset == 0},
                                         {"is_last", offset + limit >= count}}},
                    {"builds", builds}});
    }
    if (segs.size() == 3 && segs[2] == "requests" && r.method == "POST") {
      if (!repo.active) {
        return TravisError(403, "repository_inactive", "repository not active");
      }
      absl::StatusOr<Json> body = spinnaker::ParseJson(r.body, "body");
      if (!body.ok()) return TravisError(400, "wrong_params", "bad JSON");
      const Json req = spinnaker::Object(*body, "request");
      auto q = std::make_unique<Req>();
      q->id = next_id_++;
      q->slug = repo.slug;
      q->branch = spinnaker::String(req, "branch", "master");
      const Json env =
          spinnaker::Object(spinnaker::Object(req, "config"), "env");
      for (const std::string& kv : spinnaker::Strings(env, "global")) {
        const size_t eq = kv.find('=');
        if (eq != std::string::npos)
          q->env[kv.substr(0, eq)] = kv.substr(eq + 1);
      }
      const int64_t id = q->id;
      requests_by_id_[id] = std::move(q);
      if (answer_without_id_) {
        return Answer(202, Json{{"@type", "pending"},
                                {"remaining_requests", 49},
                                {"resource_type", "request"}});
      }
      return Answer(
          202,
          Json{{"@type", "pending"},
               {"remaining_requests", 49},
               {"repository", RepoJson(repo)},
               {"request", Json{{"id", id},
                                {"message", spinnaker::String(req, "message")},
                                {"branch", requests_by_id_[id]->branch}}},
               {"resource_type", "request"}});
    }
    if (segs.size() == 4 && segs[2] == "request" && r.method == "GET") {
      int64_t id = 0;
      if (!absl::SimpleAtoi(segs[3], &id) || requests_by_id_.count(id) == 0 ||
          requests_by_id_[id]->slug != repo.slug) {
        return not_found("request");
      }
      const Req& q = *requests_by_id_[id];
      Json builds = Json::array();
      for (auto& b : repo.builds) {
        if (b->id == q.build_id) builds.push_back(BuildJson(repo, *b));
      }
      return Answer(200,
                    Json{{"@type", "request"},
                         {"id", id},
                         {"state", builds.empty() ? "pending" : "processed"},
                         {"result", "approved"},
                         {"builds", builds}});
    }
    return not_found("resource");
  }
  if (segs.size() >= 2 && (segs[0] == "build" || segs[0] == "job")) {
    int64_t id = 0;
    if (!absl::SimpleAtoi(segs[1], &id)) return not_found(segs[0]);
    for (auto& [slug, repo] : repos_) {
      for (auto& b : repo->builds) {
        if (segs[0] == "build" && b->id == id) {
          if (segs.size() == 2 && r.method == "GET") {
            return Answer(200, BuildJson(*repo, *b));
          }
          if (segs.size() == 3 && segs[2] == "cancel" && r.method == "POST") {
            if (!Running(b->state)) {
              return TravisError(409, "build_not_cancelable",
                                 "build is not running");
            }
            b->state = "canceled";
            b->finish_ms = std::max(NowMs(), b->start_ms + 1000);
            return Answer(202, Json{{"@type", "pending"},
                                    {"build", Json{{"id", b->id}}},
                                    {"state_change", "cancel"},
                                    {"resource_type", "build"}});
          }
        }
        if (segs[0] == "job" && b->job_id == id && segs.size() == 3 &&
            segs[2] == "log" && r.method == "GET") {
          std::vector<std::pair<std::string, std::string>> repl;
          for (const auto& [k, v] : b->env) repl.push_back({"${" + k + "}", v});
          return Answer(
              200,
              Json{{"@type", "log"},
                   {"id", b->job_id},
                   {"content", absl::StrReplaceAll(repo->script.log, repl)}});
        }
      }
    }
    return not_found(segs[0]);
  }
  return not_found("resource");
}

}  // namespace gennaker::testing
