#include "tests/support/fake_jenkins.h"

#include <algorithm>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/http/http.h"
#include "common/http/http_server.h"

namespace gennaker::testing {

using spinnaker::Json;

namespace {

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

// A parsed ?tree= value: field -> its own subtree (empty: the whole value).
struct Tree {
  std::map<std::string, Tree> fields;
};

// Parses "a,b[c,d[e]],f{0,5}" from `s` at `*pos` until ']' or the end.
Tree ParseTree(const std::string& s, size_t* pos) {
  Tree t;
  std::string name;
  auto flush = [&]() {
    if (!name.empty()) t.fields[name];
    name.clear();
  };
  while (*pos < s.size()) {
    const char c = s[*pos];
    if (c == ',') {
      flush();
      ++*pos;
    } else if (c == '[') {
      ++*pos;
      t.fields[name] = ParseTree(s, pos);
      name.clear();
    } else if (c == ']') {
      ++*pos;
      flush();
      return t;
    } else if (c == '{') {
      // Range limiters ({m,n}) are accepted and ignored.
      while (*pos < s.size() && s[*pos] != '}') ++*pos;
      ++*pos;
    } else {
      name.push_back(c);
      ++*pos;
    }
  }
  flush();
  return t;
}

Json Filter(const Json& j, const Tree& t) {
  if (t.fields.empty()) return j;
  if (j.is_array()) {
    Json a = Json::array();
    for (const Json& e : j) a.push_back(Filter(e, t));
    return a;
  }
  if (!j.is_object()) return j;
  Json o = Json::object();
  if (j.contains("_class")) o["_class"] = j["_class"];
  for (const auto& [name, sub] : t.fields) {
    auto it = j.find(name);
    if (it != j.end()) o[name] = Filter(*it, sub);
  }
  return o;
}

http::Response JsonAnswer(const Json& j, const http::Request& r) {
  Json out = j;
  const std::string tree = r.Query("tree");
  if (!tree.empty()) {
    size_t pos = 0;
    out = Filter(j, ParseTree(tree, &pos));
  }
  return http::Json(200, spinnaker::Dump(out));
}

http::Response Text(int status, std::string body,
                    std::string type = "text/html;charset=utf-8") {
  http::Response resp;
  resp.status = status;
  resp.content_type = std::move(type);
  resp.body = std::move(body);
  return resp;
}

http::Response Redirect(const std::string& to) {
  http::Response resp = Text(302, "");
  resp.headers.push_back({"Location", to});
  return resp;
}

std::multimap<std::string, std::string> ParseForm(const std::string& body) {
  std::multimap<std::string, std::string> out;
  for (absl::string_view kv : absl::StrSplit(body, '&', absl::SkipEmpty())) {
    const size_t eq = kv.find('=');
    out.emplace(http::PercentDecode(kv.substr(0, eq), true),
                eq == absl::string_view::npos
                    ? ""
                    : http::PercentDecode(kv.substr(eq + 1), true));
  }
  return out;
}

std::string Substitute(const std::string& text,
                       const std::map<std::string, std::string>& params) {
  std::vector<std::pair<std::string, std::string>> repl;
  for (const auto& [k, v] : params) repl.push_back({"${" + k + "}", v});
  return absl::StrReplaceAll(text, repl);
}

std::string ParamClass(const std::string& type) {
  if (type == "choice") return "ChoiceParameterDefinition";
  if (type == "boolean") return "BooleanParameterDefinition";
  return "StringParameterDefinition";
}

}  // namespace

struct FakeJenkins::Build {
  int64_t number = 0;
  int64_t queue_id = 0;
  int64_t start_ms = 0;
  int64_t duration_ms = 0;
  bool building = true;
  std::string result;
  std::string description;
  std::map<std::string, std::string> params;
  std::map<std::string, std::string> artifacts;
  std::string git_sha;
};

struct FakeJenkins::Job {
  std::string name;  // igor name
  std::string leaf;  // last segment
  bool is_folder = false;
  bool buildable = true;
  std::vector<Param> params;
  BuildScript script;
  std::vector<std::unique_ptr<Build>> builds;
  int64_t next_number = 1;
};

struct FakeJenkins::QueueEntry {
  int64_t id = 0;
  std::string job;
  std::map<std::string, std::string> params;
  int64_t enqueued_ms = 0;
  bool cancelled = false;
  int64_t build_number = 0;
};

FakeJenkinsParam FakeJenkinsParam::String(std::string name,
                                          std::string default_value) {
  FakeJenkinsParam p;
  p.name = std::move(name);
  p.default_value = std::move(default_value);
  return p;
}

FakeJenkinsParam FakeJenkinsParam::Choice(std::string name,
                                          std::vector<std::string> choices) {
  FakeJenkinsParam p;
  p.name = std::move(name);
  p.type = "choice";
  p.choices = std::move(choices);
  return p;
}

FakeJenkinsScript FakeJenkinsScript::Runs(int run_ms, std::string result) {
  FakeJenkinsScript s;
  s.run_ms = run_ms;
  s.result = std::move(result);
  return s;
}

FakeJenkins::FakeJenkins(Options options) : options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<FakeJenkins>> FakeJenkins::Start(
    Options options) {
  std::unique_ptr<FakeJenkins> f(new FakeJenkins(std::move(options)));
  {
    absl::MutexLock l(&f->mu_);
    f->crumb_ = "crumb-1";
    f->crumbs_ = 1;
  }
  http::Router router;
  FakeJenkins* self = f.get();
  for (const char* m : {"GET", "POST"}) {
    router.Add(m, "/**",
               [self](const http::Request& r) { return self->Handle(r); });
  }
  http::ServerOptions so;
  so.host = "127.0.0.1";
  so.port = f->options_.port;
  so.threads = 4;
  absl::StatusOr<std::unique_ptr<http::Server>> server =
      http::Server::Start(so, std::move(router));
  if (!server.ok()) return server.status();
  f->server_ = *std::move(server);
  f->url_ = absl::StrCat("http://127.0.0.1:", f->server_->port(), "/");
  return f;
}

FakeJenkins::~FakeJenkins() {
  if (server_) server_->Stop();
}

std::string FakeJenkins::url() const { return url_; }
int FakeJenkins::port() const { return server_->port(); }

std::string FakeJenkins::JobUrl(const Job& job) const {
  std::vector<std::string> segs;
  for (absl::string_view s : absl::StrSplit(job.name, "/job/")) {
    segs.push_back(absl::StrCat("job/", http::PercentEncode(s)));
  }
  return absl::StrCat(url_, absl::StrJoin(segs, "/"), "/");
}

void FakeJenkins::AddJob(const std::string& job, std::vector<Param> params,
                         BuildScript script) {
  absl::MutexLock l(&mu_);
  std::vector<std::string> parts = absl::StrSplit(job, "/job/");
  std::string prefix;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    prefix = prefix.empty() ? parts[i] : prefix + "/job/" + parts[i];
    auto& folder = jobs_[prefix];
    if (!folder) {
      folder = std::make_unique<Job>();
      folder->name = prefix;
      folder->leaf = parts[i];
      folder->is_folder = true;
    }
  }
  auto& j = jobs_[job];
  if (!j) j = std::make_unique<Job>();
  j->name = job;
  j->leaf = parts.back();
  j->params = std::move(params);
  j->script = std::move(script);
}

void FakeJenkins::SetBuildable(const std::string& job, bool buildable) {
  absl::MutexLock l(&mu_);
  if (Job* j = FindJob(job)) j->buildable = buildable;
}

FakeJenkins::Job* FakeJenkins::FindJob(const std::string& job) {
  auto it = jobs_.find(job);
  return it == jobs_.end() ? nullptr : it->second.get();
}

FakeJenkins::Build* FakeJenkins::StartLocked(
    Job* job, std::map<std::string, std::string> given, int64_t queue_id) {
  std::map<std::string, std::string> params;
  for (const Param& p : job->params) {
    std::string def = p.default_value;
    if (def.empty() && p.type == "choice" && !p.choices.empty()) {
      def = p.choices.front();
    }
    if (def.empty() && p.type == "boolean") def = "false";
    params[p.name] = def;
  }
  for (auto& [k, v] : given) {
    if (params.count(k) > 0) params[k] = v;
  }
  auto b = std::make_unique<Build>();
  b->number = job->next_number++;
  b->queue_id = queue_id;
  // Builds of one job never share a timestamp (Jenkins' are ms apart too).
  b->start_ms = NowMs();
  if (!job->builds.empty() && b->start_ms <= job->builds.back()->start_ms) {
    b->start_ms = job->builds.back()->start_ms + 1;
  }
  for (const auto& [path, content] : job->script.artifacts) {
    b->artifacts[path] = Substitute(content, params);
  }
  b->git_sha = Substitute(job->script.git_sha, params);
  b->params = std::move(params);
  job->builds.push_back(std::move(b));
  return job->builds.back().get();
}

void FakeJenkins::Advance() {
  const int64_t now = NowMs();
  for (auto& [id, q] : queue_) {
    if (q->cancelled || q->build_number > 0) continue;
    Job* job = FindJob(q->job);
    if (job == nullptr) continue;
    if (now >= q->enqueued_ms + job->script.queue_ms) {
      q->build_number = StartLocked(job, q->params, q->id)->number;
    }
  }
  for (auto& [name, job] : jobs_) {
    for (auto& b : job->builds) {
      if (b->building && job->script.run_ms >= 0 &&
          now >= b->start_ms + job->script.run_ms) {
        b->building = false;
        b->result = job->script.result;
        b->duration_ms = job->script.run_ms;
      }
    }
  }
}

int64_t FakeJenkins::StartBuild(const std::string& job,
                                std::map<std::string, std::string> params) {
  absl::MutexLock l(&mu_);
  Advance();
  Job* j = FindJob(job);
  if (j == nullptr || j->is_folder) return 0;
  return StartLocked(j, std::move(params), 0)->number;
}

void FakeJenkins::CompleteBuild(const std::string& job, int64_t number,
                                const std::string& result) {
  absl::MutexLock l(&mu_);
  Advance();
  Job* j = FindJob(job);
  if (j == nullptr) return;
  for (auto& b : j->builds) {
    if (b->number == number && b->building) {
      b->building = false;
      b->result = result.empty() ? j->script.result : result;
      b->duration_ms = std::max<int64_t>(1, NowMs() - b->start_ms);
    }
  }
}

bool FakeJenkins::IsBuilding(const std::string& job, int64_t number) {
  absl::MutexLock l(&mu_);
  Advance();
  Job* j = FindJob(job);
  if (j == nullptr) return false;
  for (auto& b : j->builds) {
    if (b->number == number) return b->building;
  }
  return false;
}

std::map<std::string, std::string> FakeJenkins::BuildParams(
    const std::string& job, int64_t number) {
  absl::MutexLock l(&mu_);
  Job* j = FindJob(job);
  if (j == nullptr) return {};
  for (auto& b : j->builds) {
    if (b->number == number) return b->params;
  }
  return {};
}

int64_t FakeJenkins::BuildCount(const std::string& job) {
  absl::MutexLock l(&mu_);
  Advance();
  Job* j = FindJob(job);
  return j == nullptr ? 0 : static_cast<int64_t>(j->builds.size());
}

std::vector<FakeJenkins::ReceivedRequest> FakeJenkins::Requests() const {
  absl::MutexLock l(&mu_);
  return requests_;
}

int FakeJenkins::CountRequests(const std::string& method,
                               const std::string& path_part) const {
  absl::MutexLock l(&mu_);
  int n = 0;
  for (const ReceivedRequest& r : requests_) {
    if (r.method == method && r.path.find(path_part) != std::string::npos) ++n;
  }
  return n;
}

void FakeJenkins::SetUnavailable(bool unavailable) {
  absl::MutexLock l(&mu_);
  unavailable_ = unavailable;
}

void FakeJenkins::RotateCrumb() {
  absl::MutexLock l(&mu_);
  crumb_ = absl::StrCat("crumb-", ++crumbs_);
}

Json FakeJenkins::BuildJson(const Job& job, const Build& b) const {
  const std::string url = absl::StrCat(JobUrl(job), b.number, "/");
  Json actions = Json::array();
  if (!b.params.empty()) {
    Json ps = Json::array();
    for (const auto& [k, v] : b.params) {
      ps.push_back(Json{{"_class", "hudson.model.StringParameterValue"},
                        {"name", k},
                        {"value", v}});
    }
    actions.push_back(
        Json{{"_class", "hudson.model.ParametersAction"}, {"parameters", ps}});
  }
  actions.push_back(
      Json{{"_class", "hudson.model.CauseAction"},
           {"causes", Json::array({Json{{"shortDescription",
                                         b.queue_id > 0 ? "Started remotely"
                                                        : "Started by an SCM "
                                                          "change"}}})}});
  if (!b.git_sha.empty()) {
    const std::string branch = "origin/" + job.script.git_branch;
    actions.push_back(Json{
        {"_class", "hudson.plugins.git.util.BuildData"},
        {"lastBuiltRevision",
         Json{{"SHA1", b.git_sha},
              {"branch",
               Json::array({Json{{"SHA1", b.git_sha}, {"name", branch}}})}}},
        {"remoteUrls", Json::array({"https://git.example.com/app.git"})},
        {"scmName", ""}});
  }
  if (!b.building) {
    actions.push_back(Json{{"_class", "hudson.tasks.junit.TestResultAction"},
                           {"failCount", b.result == "UNSTABLE" ? 1 : 0},
                           {"skipCount", 0},
                           {"totalCount", 3},
                           {"urlName", "testReport"}});
  }
  Json artifacts = Json::array();
  if (!b.building) {
    for (const auto& [path, content] : b.artifacts) {
      artifacts.push_back(
          Json{{"displayPath", path.substr(path.rfind('/') + 1)},
               {"fileName", path.substr(path.rfind('/') + 1)},
               {"relativePath", path}});
    }
  }
  return Json{{"_class", "hudson.model.FreeStyleBuild"},
              {"actions", actions},
              {"artifacts", artifacts},
              {"building", b.building},
              {"description",
               b.description.empty() ? Json(nullptr) : Json(b.description)},
              {"displayName", absl::StrCat("#", b.number)},
              {"duration", b.building ? 0 : b.duration_ms},
              {"estimatedDuration", std::max(0, job.script.run_ms)},
              {"executor", nullptr},
              {"fullDisplayName",
               absl::StrCat(absl::StrReplaceAll(job.name, {{"/job/", " » "}}),
                            " #", b.number)},
              {"id", absl::StrCat(b.number)},
              {"keepLog", false},
              {"number", b.number},
              {"queueId", b.queue_id},
              {"result", b.building ? Json(nullptr) : Json(b.result)},
              {"timestamp", b.start_ms},
              {"url", url}};
}

Json FakeJenkins::JobJson(const Job& job, bool full) const {
  auto summary = [&](const Build* b) -> Json {
    if (b == nullptr) return nullptr;
    return BuildJson(job, *b);
  };
  const Build* last = job.builds.empty() ? nullptr : job.builds.back().get();
  const Build* last_completed = nullptr;
  for (auto it = job.builds.rbegin(); it != job.builds.rend(); ++it) {
    if (!(*it)->building) {
      last_completed = it->get();
      break;
    }
  }
  Json j{{"_class", "hudson.model.FreeStyleProject"},
         {"name", job.leaf},
         {"url", JobUrl(job)},
         {"color", last == nullptr             ? "notbuilt"
                   : !job.buildable            ? "disabled"
                   : last->result == "SUCCESS" ? "blue"
                                               : "red"},
         {"lastBuild", summary(last)}};
  if (!full) return j;
  Json builds = Json::array();
  for (auto it = job.builds.rbegin(); it != job.builds.rend(); ++it) {
    builds.push_back(BuildJson(job, **it));
  }
  Json defs = Json::array();
  for (const Param& p : job.params) {
    std::string def = p.default_value;
    if (def.empty() && p.type == "choice" && !p.choices.empty()) {
      def = p.choices.front();
    }
    Json d{{"_class", "hudson.model." + ParamClass(p.type)},
           {"defaultParameterValue",
            Json{{"_class", "hudson.model.StringParameterValue"},
                 {"name", p.name},
                 {"value",
                  p.type == "boolean" ? Json(def == "true") : Json(def)}}},
           {"description", p.description},
           {"name", p.name},
           {"type", ParamClass(p.type)}};
    if (p.type == "choice") d["choices"] = p.choices;
    defs.push_back(std::move(d));
  }
  Json property = Json::array();
  if (!defs.empty()) {
    property.push_back(
        Json{{"_class", "hudson.model.ParametersDefinitionProperty"},
             {"parameterDefinitions", defs}});
  }
  j["description"] = "";
  j["displayName"] = job.leaf;
  j["fullName"] = absl::StrReplaceAll(job.name, {{"/job/", "/"}});
  j["buildable"] = job.buildable;
  j["builds"] = builds;
  j["inQueue"] = false;
  j["lastCompletedBuild"] = summary(last_completed);
  j["nextBuildNumber"] = job.next_number;
  j["property"] = property;
  return j;
}

Json FakeJenkins::FolderJson(const Job& folder) const {
  Json jobs = Json::array();
  const std::string prefix = folder.name.empty() ? "" : folder.name + "/job/";
  for (const auto& [name, job] : jobs_) {
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix))
      continue;
    if (name.find("/job/", prefix.size()) != std::string::npos) continue;
    jobs.push_back(job->is_folder ? FolderJson(*job) : JobJson(*job, false));
  }
  if (folder.name.empty()) {
    return Json{{"_class", "hudson.model.Hudson"},
                {"mode", "NORMAL"},
                {"nodeName", ""},
                {"jobs", jobs},
                {"url", url_}};
  }
  return Json{{"_class", "com.cloudbees.hudson.plugins.folder.Folder"},
              {"name", folder.leaf},
              {"url", JobUrl(folder)},
              {"jobs", jobs}};
}

void FakeJenkins::SetTriggerAnswerWithoutLocation(bool without_location) {
  absl::MutexLock l(&mu_);
  trigger_without_location_ = without_location;
}

void FakeJenkins::SetTriggerAnswerDelayMs(int delay_ms) {
  absl::MutexLock l(&mu_);
  trigger_delay_ms_ = delay_ms;
}

int64_t FakeJenkins::QueuedCount() const {
  absl::MutexLock l(&mu_);
  return next_queue_id_ - 1;
}

http::Response FakeJenkins::Handle(const http::Request& r) {
  int delay_ms = 0;
  http::Response resp = HandleLocked(r, &delay_ms);
  // Outside mu_: other requests go on while this answer waits.
  if (delay_ms > 0) absl::SleepFor(absl::Milliseconds(delay_ms));
  return resp;
}

http::Response FakeJenkins::HandleLocked(const http::Request& r,
                                         int* delay_ms) {
  absl::MutexLock l(&mu_);
  ReceivedRequest rec{r.method, r.path, r.query, {}, r.headers};
  if (r.method == "POST") rec.form = ParseForm(r.body);
  requests_.push_back(rec);
  if (unavailable_) return Text(503, "Jenkins is getting ready to work");
  if (!options_.username.empty() || !options_.token.empty()) {
    const std::string want =
        "Basic " + absl::Base64Escape(options_.username + ":" + options_.token);
    if (r.Header("authorization") != want) {
      http::Response resp = Text(401, "Invalid password/token for user");
      resp.headers.push_back({"WWW-Authenticate", "Basic realm=\"Jenkins\""});
      return resp;
    }
  }
  if (r.method == "POST" && options_.csrf &&
      r.Header("jenkins-crumb") != crumb_) {
    return Text(403, "Error 403 No valid crumb was included in the request");
  }
  Advance();
  std::vector<std::string> segs;
  for (absl::string_view s : absl::StrSplit(r.path, '/', absl::SkipEmpty())) {
    segs.push_back(http::PercentDecode(s));
  }
  auto is = [&](size_t from, std::vector<std::string> want) {
    if (segs.size() - std::min(from, segs.size()) != want.size()) return false;
    for (size_t i = 0; i < want.size(); ++i) {
      if (segs[from + i] != want[i]) return false;
    }
    return true;
  };
  auto not_found = [] { return Text(404, "Error 404 Not Found"); };
  if (segs.empty()) return Text(200, "<html>Dashboard</html>");
  if (is(0, {"api", "json"})) {
    Job root;
    return JsonAnswer(FolderJson(root), r);
  }
  if (is(0, {"crumbIssuer", "api", "json"})) {
    if (!options_.csrf) return not_found();
    return JsonAnswer(
        Json{{"_class", "hudson.security.csrf.DefaultCrumbIssuer"},
             {"crumb", crumb_},
             {"crumbRequestField", "Jenkins-Crumb"}},
        r);
  }
  if (segs[0] == "queue") {
    if (segs.size() == 5 && segs[1] == "item" && is(3, {"api", "json"})) {
      int64_t id = 0;
      if (!absl::SimpleAtoi(segs[2], &id) || queue_.count(id) == 0) {
        return not_found();
      }
      const QueueEntry& q = *queue_[id];
      Job* job = FindJob(q.job);
      Json task{{"_class", "hudson.model.FreeStyleProject"},
                {"name", job ? job->leaf : q.job},
                {"url", job ? JobUrl(*job) : ""}};
      std::string params;
      for (const auto& [k, v] : q.params)
        absl::StrAppend(&params, "\n", k, "=", v);
      Json j{{"actions", Json::array()},
             {"blocked", false},
             {"buildable", false},
             {"id", q.id},
             {"inQueueSince", q.enqueued_ms},
             {"params", params},
             {"stuck", false},
             {"task", task},
             {"url", absl::StrCat("queue/item/", q.id, "/")}};
      if (q.cancelled) {
        j["_class"] = "hudson.model.Queue$LeftItem";
        j["cancelled"] = true;
        j["executable"] = nullptr;
        j["why"] = nullptr;
      } else if (q.build_number > 0) {
        j["_class"] = "hudson.model.Queue$LeftItem";
        j["cancelled"] = false;
        j["executable"] = Json{{"_class", "hudson.model.FreeStyleBuild"},
                               {"number", q.build_number},
                               {"url", absl::StrCat(job ? JobUrl(*job) : "",
                                                    q.build_number, "/")}};
        j["why"] = nullptr;
      } else {
        j["_class"] = "hudson.model.Queue$WaitingItem";
        j["why"] = "In the quiet period.";
      }
      // Jenkins puts _class first.
      Json ordered{{"_class", j["_class"]}};
      for (auto& [k, v] : j.items()) {
        if (k != "_class") ordered[k] = v;
      }
      return JsonAnswer(ordered, r);
    }
    if (is(1, {"cancelItem"}) && r.method == "POST") {
      int64_t id = 0;
      if (!absl::SimpleAtoi(r.Query("id"), &id) || queue_.count(id) == 0) {
        return not_found();
      }
      QueueEntry& q = *queue_[id];
      if (q.build_number == 0) q.cancelled = true;
      return Text(204, "");
    }
    return not_found();
  }
  // job/<a>/job/<b>/... -> the job, then the rest.
  size_t i = 0;
  std::string name;
  Job* job = nullptr;
  while (i + 1 < segs.size() && segs[i] == "job") {
    const std::string next =
        name.empty() ? segs[i + 1] : name + "/job/" + segs[i + 1];
    Job* j = FindJob(next);
    if (j == nullptr) return not_found();
    name = next;
    job = j;
    i += 2;
    if (!j->is_folder) break;
  }
  if (job == nullptr) return not_found();
  if (is(i, {})) return Text(200, "<html>" + job->leaf + "</html>");
  if (is(i, {"api", "json"})) {
    return JsonAnswer(job->is_folder ? FolderJson(*job) : JobJson(*job, true),
                      r);
  }
  if (job->is_folder) return not_found();
  if (r.method == "POST" &&
      (is(i, {"build"}) || is(i, {"buildWithParameters"}))) {
    const bool with_params = segs[i] == "buildWithParameters";
    if (!job->buildable) {
      return Text(409, absl::StrCat(job->leaf, " is disabled"));
    }
    if (with_params && job->params.empty()) {
      return Text(400, absl::StrCat(job->leaf, " is not parameterized"));
    }
    if (!with_params && !job->params.empty()) {
      return Text(400, "Nothing is submitted");
    }
    std::map<std::string, std::string> given;
    for (const auto& [k, v] : r.query) given[k] = v;
    for (const auto& [k, v] : rec.form) given[k] = v;
    for (const Param& p : job->params) {
      auto it = given.find(p.name);
      if (p.type == "choice" && it != given.end() &&
          std::find(p.choices.begin(), p.choices.end(), it->second) ==
              p.choices.end()) {
        return Text(400, absl::StrCat("Illegal choice for parameter ", p.name,
                                      ": ", it->second));
      }
    }
    auto q = std::make_unique<QueueEntry>();
    q->id = next_queue_id_++;
    q->job = job->name;
    q->params = std::move(given);
    q->enqueued_ms = NowMs();
    const int64_t id = q->id;
    queue_[id] = std::move(q);
    Advance();
    http::Response resp = Text(201, "");
    if (!trigger_without_location_) {
      resp.headers.push_back(
          {"Location", absl::StrCat(url_, "queue/item/", id, "/")});
    }
    *delay_ms = trigger_delay_ms_;
    return resp;
  }
  if (i >= segs.size()) return not_found();
  Build* b = nullptr;
  const std::string& sel = segs[i];
  for (auto it = job->builds.rbegin(); it != job->builds.rend(); ++it) {
    if (sel == "lastBuild" ||
        (sel == "lastCompletedBuild" && !(*it)->building) ||
        (sel == "lastSuccessfulBuild" && !(*it)->building &&
         (*it)->result == "SUCCESS") ||
        sel == absl::StrCat((*it)->number)) {
      b = it->get();
      break;
    }
  }
  if (b == nullptr) return not_found();
  const std::string build_url = absl::StrCat(JobUrl(*job), b->number, "/");
  if (is(i + 1, {})) return Text(200, "<html>build</html>");
  if (is(i + 1, {"api", "json"})) return JsonAnswer(BuildJson(*job, *b), r);
  if (is(i + 1, {"consoleText"})) {
    return Text(200,
                absl::StrCat("Started\n",
                             b->building ? "" : "Finished: ", b->result, "\n"),
                "text/plain;charset=utf-8");
  }
  if (segs.size() > i + 2 && segs[i + 1] == "artifact") {
    if (b->building) return not_found();
    std::vector<std::string> rest(segs.begin() + i + 2, segs.end());
    auto it = b->artifacts.find(absl::StrJoin(rest, "/"));
    if (it == b->artifacts.end()) return not_found();
    return Text(200, it->second, "application/octet-stream");
  }
  if (r.method == "POST" && is(i + 1, {"stop"})) {
    if (b->building) {
      b->building = false;
      b->result = "ABORTED";
      b->duration_ms = std::max<int64_t>(1, NowMs() - b->start_ms);
    }
    return Redirect(build_url);
  }
  if (r.method == "POST" && is(i + 1, {"submitDescription"})) {
    auto it = rec.form.find("description");
    b->description = it == rec.form.end() ? "" : it->second;
    return Redirect(build_url);
  }
  return not_found();
}

}  // namespace gennaker::testing
