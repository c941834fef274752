// Jenkins over its JSON remote-access API.
#include <map>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "common/http/http.h"
#include "common/http/outbound.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"
#include "services/igor/ci/build_service.h"
#include "services/igor/ci/ci_http.h"

namespace gennaker::igor {

using spinnaker::Json;

namespace {

constexpr char kKind[] = "jenkins";
// Depth of nested folders read (Spinnaker reads 10).
constexpr int kFolderDepth = 10;

constexpr char kBuildFields[] =
    "actions[failCount,skipCount,totalCount,urlName,remoteUrls,"
    "lastBuiltRevision[SHA1,branch[name,SHA1]]],duration,number,timestamp,"
    "result,building,url,fullDisplayName,id,description,"
    "artifacts[displayPath,fileName,relativePath]";

// jobs[name,<extra>jobs[name,<extra>jobs[...]]] nested `depth` levels.
std::string JobsTree(const std::string& extra, int depth) {
  if (depth == 0) return "";
  std::string inner = JobsTree(extra, depth - 1);
  return absl::StrCat("jobs[name", extra.empty() ? "" : ",", extra,
                      inner.empty() ? "" : ",", inner, "]");
}

std::string QueryEncode(const std::map<std::string, std::string>& params) {
  std::vector<std::string> parts;
  for (const auto& [k, v] : params) {
    parts.push_back(
        absl::StrCat(http::PercentEncode(k), "=", http::PercentEncode(v)));
  }
  return absl::StrJoin(parts, "&");
}

}  // namespace

v1::BuildResult ResultFromName(const std::string& name) {
  const std::string n = absl::AsciiStrToUpper(name);
  if (n == "SUCCESS") return v1::BUILD_RESULT_SUCCESS;
  if (n == "UNSTABLE") return v1::BUILD_RESULT_UNSTABLE;
  if (n == "FAILURE") return v1::BUILD_RESULT_FAILURE;
  if (n == "ABORTED") return v1::BUILD_RESULT_ABORTED;
  if (n == "NOT_BUILT") return v1::BUILD_RESULT_NOT_BUILT;
  return v1::BUILD_RESULT_UNSPECIFIED;
}

std::string ResultName(v1::BuildResult result) {
  switch (result) {
    case v1::BUILD_RESULT_SUCCESS:
      return "SUCCESS";
    case v1::BUILD_RESULT_UNSTABLE:
      return "UNSTABLE";
    case v1::BUILD_RESULT_FAILURE:
      return "FAILURE";
    case v1::BUILD_RESULT_ABORTED:
      return "ABORTED";
    case v1::BUILD_RESULT_NOT_BUILT:
      return "NOT_BUILT";
    default:
      return "";
  }
}

absl::StatusOr<std::string> JenkinsJobPath(const std::string& job) {
  if (job.empty()) return absl::InvalidArgumentError("job name is empty");
  if (job.size() > 1024) {
    return absl::InvalidArgumentError("job name is longer than 1024 bytes");
  }
  std::vector<std::string> out;
  for (absl::string_view seg : absl::StrSplit(job, '/')) {
    if (seg.empty() || seg == "." || seg == "..") {
      return absl::InvalidArgumentError(
          absl::StrCat("job name '", job, "' has an empty or dot segment"));
    }
    out.push_back(http::PercentEncode(seg));
  }
  return absl::StrCat("job/", absl::StrJoin(out, "/"));
}

namespace {

class JenkinsClient final : public BuildService {
 public:
  JenkinsClient(const v1::JenkinsMaster& master,
                const http::OutboundClient* outbound)
      : master_(master),
        base_(internal::WithSlash(master.address())),
        outbound_(outbound) {
    address_ = master.address();
  }

  const std::string& name() const override { return master_.name(); }
  v1::BuildServiceType type() const override {
    return v1::BUILD_SERVICE_TYPE_JENKINS;
  }
  const std::string& address() const override { return address_; }

  absl::StatusOr<std::vector<std::string>> ListJobs() override {
    GENNAKER_ASSIGN_OR_RETURN(
        Json root,
        GetJson(absl::StrCat("api/json?tree=", JobsTree("", kFolderDepth)),
                "the job list"));
    std::vector<std::string> out;
    Flatten(root, "",
            [&](const std::string& name, const Json&) { out.push_back(name); });
    std::sort(out.begin(), out.end());
    return out;
  }

  absl::StatusOr<std::vector<ProjectState>> ListProjects() override {
    GENNAKER_ASSIGN_OR_RETURN(
        Json root,
        GetJson(absl::StrCat("api/json?tree=",
                             JobsTree("lastBuild[number,timestamp,duration,"
                                      "result,building,url]",
                                      kFolderDepth)),
                "the project list"));
    std::vector<ProjectState> out;
    Flatten(root, "", [&](const std::string& name, const Json& j) {
      ProjectState p;
      p.job = name;
      const Json last = spinnaker::Object(j, "lastBuild");
      if (!last.empty()) {
        p.has_last_build = true;
        p.last_build = ToBuild(name, last);
      }
      out.push_back(std::move(p));
    });
    return out;
  }

  absl::StatusOr<v1::JobConfig> GetJobConfig(const std::string& job) override {
    GENNAKER_ASSIGN_OR_RETURN(std::string path, JenkinsJobPath(job));
    GENNAKER_ASSIGN_OR_RETURN(
        Json j,
        GetJson(absl::StrCat(
                    path,
                    "/api/json?tree=name,displayName,fullName,description,url,"
                    "buildable,property[parameterDefinitions[name,type,"
                    "description,defaultParameterValue[value],choices]]"),
                absl::StrCat("job '", job, "'")));
    v1::JobConfig c;
    c.set_name(job);
    c.set_display_name(spinnaker::String(j, "displayName"));
    c.set_description(spinnaker::String(j, "description"));
    c.set_url(spinnaker::String(j, "url"));
    c.set_buildable(spinnaker::Bool(j, "buildable"));
    for (const Json& prop : spinnaker::Array(j, "property")) {
      for (const Json& d : spinnaker::Array(prop, "parameterDefinitions")) {
        v1::JobParameterDefinition* p = c.add_parameter_definitions();
        p->set_name(spinnaker::String(d, "name"));
        p->set_description(spinnaker::String(d, "description"));
        p->set_type(spinnaker::String(d, "type"));
        const Json def = spinnaker::Object(d, "defaultParameterValue");
        if (def.contains("value") && !def["value"].is_null()) {
          p->set_default_value(def["value"].is_string()
                                   ? def["value"].get<std::string>()
                                   : spinnaker::Dump(def["value"]));
        }
        for (const std::string& ch : spinnaker::Strings(d, "choices")) {
          p->add_choices(ch);
        }
      }
    }
    return c;
  }

  absl::StatusOr<v1::Build> GetBuild(const std::string& job,
                                     int64_t number) override {
    GENNAKER_ASSIGN_OR_RETURN(std::string path, JenkinsJobPath(job));
    GENNAKER_ASSIGN_OR_RETURN(
        Json j, GetJson(absl::StrCat(path, "/", number,
                                     "/api/json?tree=", kBuildFields),
                        absl::StrCat("build ", job, " #", number)));
    return ToBuild(job, j);
  }

  absl::StatusOr<std::vector<v1::Build>> ListBuilds(
      const std::string& job) override {
    GENNAKER_ASSIGN_OR_RETURN(std::string path, JenkinsJobPath(job));
    GENNAKER_ASSIGN_OR_RETURN(
        Json j,
        GetJson(absl::StrCat(path, "/api/json?tree=builds[", kBuildFields, "]"),
                absl::StrCat("job '", job, "'")));
    std::vector<v1::Build> out;
    for (const Json& b : spinnaker::Array(j, "builds")) {
      out.push_back(ToBuild(job, b));
    }
    std::sort(out.begin(), out.end(),
              [](const v1::Build& a, const v1::Build& b) {
                return a.number() > b.number();
              });
    return out;
  }

  absl::StatusOr<std::string> TriggerBuild(
      const std::string& job, const std::map<std::string, std::string>& params,
      const v1::JobConfig& config) override {
    absl::StatusOr<std::string> job_path = JenkinsJobPath(job);
    if (!job_path.ok()) return internal::NotQueued(job_path.status());
    const std::string& path = *job_path;
    std::string rel;
    std::string form;
    if (config.parameter_definitions_size() > 0) {
      // A parameterized job wants buildWithParameters; with no parameters a
      // dummy one makes Jenkins use every default (Spinnaker's startedBy).
      // Parameters go in the form body (Jenkins reads both), which keeps
      // them out of URLs and access logs and has no URL length limit.
      std::map<std::string, std::string> p = params;
      if (p.empty()) p["startedBy"] = "igor";
      rel = absl::StrCat(path, "/buildWithParameters");
      form = QueryEncode(p);
    } else {
      rel = absl::StrCat(path, "/build");
    }
    // Failures are ambiguous (Jenkins may have queued the build) unless
    // marked NotQueued: see ci_http.h.
    const std::string what = absl::StrCat("job '", job, "'");
    GENNAKER_ASSIGN_OR_RETURN(http::ClientResponse r, Post(rel, form, what));
    if (r.status >= 400 && r.status < 500) {
      // Refused (disabled, bad parameters, credentials): nothing queued.
      return internal::NotQueued(internal::HttpError(kKind, name(), what, r));
    }
    if (r.status < 200 || r.status >= 300) {
      // 5xx (a proxy's 502/504 may come after Jenkins queued it), 3xx.
      return internal::HttpError(kKind, name(), what, r);
    }
    auto loc = r.headers.find("location");
    std::string id;
    if (loc != r.headers.end()) {
      std::string l = loc->second;
      while (!l.empty() && (l.back() == '/' || l.back() == '\r')) l.pop_back();
      id = l.substr(l.rfind('/') + 1);
    }
    int64_t n;
    if (r.status != 201 || id.empty() || !absl::SimpleAtoi(id, &n) || n < 0) {
      // Accepted, but there is no queue item to follow.
      return absl::FailedPreconditionError(absl::StrCat(
          "jenkins master '", name(), "' accepted the build of job '", job,
          "' (HTTP ", r.status, ") without a queue item Location header"));
    }
    SPDLOG_INFO("event=jenkins_build_queued master={} job={} queue_id={}",
                name(), job, id);
    return id;
  }

  absl::StatusOr<QueueItem> GetQueueItem(const std::string& queue_id) override {
    int64_t n;
    if (!absl::SimpleAtoi(queue_id, &n) || n < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "queue id '", queue_id, "' is not a Jenkins queue item number"));
    }
    GENNAKER_ASSIGN_OR_RETURN(
        Json j, GetJson(absl::StrCat("queue/item/", n, "/api/json"),
                        absl::StrCat("queue item ", n)));
    QueueItem q;
    q.id = queue_id;
    q.cancelled = spinnaker::Bool(j, "cancelled");
    q.why = spinnaker::String(j, "why");
    const Json exe = spinnaker::Object(j, "executable");
    if (!exe.empty()) {
      q.build_number = spinnaker::Int(exe, "number");
      q.build_url = spinnaker::String(exe, "url");
    }
    return q;
  }

  absl::StatusOr<bool> StopBuild(const std::string& job, int64_t number,
                                 const std::string& queue_id) override {
    GENNAKER_ASSIGN_OR_RETURN(std::string path, JenkinsJobPath(job));
    bool stopped = false;
    if (!queue_id.empty()) {
      absl::StatusOr<QueueItem> q = GetQueueItem(queue_id);
      if (!q.ok() && !absl::IsNotFound(q.status())) return q.status();
      if (q.ok() && !q->cancelled && q->build_number == 0) {
        GENNAKER_ASSIGN_OR_RETURN(
            http::ClientResponse r,
            Post(absl::StrCat("queue/cancelItem?id=",
                              http::PercentEncode(queue_id)),
                 "", "queue item " + queue_id));
        if (r.status >= 400 && r.status != 404) {
          return internal::HttpError(kKind, name(), "queue item " + queue_id,
                                     r);
        }
        stopped = true;
      }
      if (q.ok() && number == 0) number = q->build_number;
    }
    if (number > 0) {
      GENNAKER_ASSIGN_OR_RETURN(v1::Build b, GetBuild(job, number));
      if (b.building()) {
        GENNAKER_ASSIGN_OR_RETURN(
            http::ClientResponse r,
            Post(absl::StrCat(path, "/", number, "/stop"), "",
                 absl::StrCat("build ", job, " #", number)));
        if (r.status >= 400) {
          return internal::HttpError(
              kKind, name(), absl::StrCat("build ", job, " #", number), r);
        }
        stopped = true;
      }
    }
    return stopped;
  }

  absl::Status SetDescription(const std::string& job, int64_t number,
                              const std::string& description) override {
    GENNAKER_ASSIGN_OR_RETURN(std::string path, JenkinsJobPath(job));
    const std::string what = absl::StrCat("build ", job, " #", number);
    GENNAKER_ASSIGN_OR_RETURN(
        http::ClientResponse r,
        Post(absl::StrCat(path, "/", number, "/submitDescription"),
             absl::StrCat("description=", http::PercentEncode(description)),
             what));
    if (r.status >= 400) return internal::HttpError(kKind, name(), what, r);
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> GetArtifact(
      const std::string& job, int64_t number,
      const std::string& relative_path) override {
    GENNAKER_ASSIGN_OR_RETURN(std::string path, JenkinsJobPath(job));
    std::vector<std::string> segs;
    for (absl::string_view s : absl::StrSplit(relative_path, '/')) {
      if (s.empty() || s == "..") {
        return absl::InvalidArgumentError(
            absl::StrCat("artifact path '", relative_path, "' is not valid"));
      }
      segs.push_back(http::PercentEncode(s));
    }
    const std::string what =
        absl::StrCat("artifact ", relative_path, " of ", job, " #", number);
    http::ClientRequest req;
    req.url = absl::StrCat(base_, path, "/", number, "/artifact/",
                           absl::StrJoin(segs, "/"));
    req.max_response_bytes = kMaxArtifactBytes;
    GENNAKER_ASSIGN_OR_RETURN(http::ClientResponse r, Send(std::move(req)));
    if (r.status != 200) return internal::HttpError(kKind, name(), what, r);
    return r.body;
  }

 private:
  absl::StatusOr<http::ClientResponse> Send(http::ClientRequest req) {
    if (!master_.username().empty() || !master_.password().empty()) {
      req.headers.push_back(
          {"Authorization",
           "Basic " + absl::Base64Escape(absl::StrCat(master_.username(), ":",
                                                      master_.password()))});
    }
    return internal::CiFetch(outbound_, kKind, name(), std::move(req));
  }

  absl::StatusOr<Json> GetJson(const std::string& rel,
                               const std::string& what) {
    http::ClientRequest req;
    req.url = base_ + rel;
    req.headers.push_back({"Accept", "application/json"});
    GENNAKER_ASSIGN_OR_RETURN(http::ClientResponse r, Send(std::move(req)));
    if (r.status != 200) return internal::HttpError(kKind, name(), what, r);
    return internal::ParseBody(r, what);
  }

  // The crumb header (name, value), fetched once and cached.
  absl::StatusOr<std::pair<std::string, std::string>> Crumb(bool refresh) {
    {
      absl::MutexLock l(&mu_);
      if (!refresh && !crumb_.second.empty()) return crumb_;
    }
    GENNAKER_ASSIGN_OR_RETURN(
        Json j, GetJson("crumbIssuer/api/json", "the CSRF crumb"));
    std::pair<std::string, std::string> c{
        spinnaker::String(j, "crumbRequestField", "Jenkins-Crumb"),
        spinnaker::String(j, "crumb")};
    if (c.second.empty()) {
      return absl::InternalError(absl::StrCat("jenkins master '", name(),
                                              "' gave an empty CSRF crumb"));
    }
    absl::MutexLock l(&mu_);
    crumb_ = c;
    return c;
  }

  // A form POST; with csrf the crumb goes along, and a 403 (the crumb
  // expired with its session) fetches a new one and tries once more.
  absl::StatusOr<http::ClientResponse> Post(const std::string& rel,
                                            const std::string& form,
                                            const std::string& what) {
    for (int attempt = 0;; ++attempt) {
      http::ClientRequest req;
      req.method = "POST";
      req.url = base_ + rel;
      req.body = form;
      req.headers.push_back(
          {"Content-Type", "application/x-www-form-urlencoded"});
      if (master_.csrf()) {
        // No POST without a crumb (a first one got 403): nothing queued.
        auto crumb = Crumb(attempt > 0);
        if (!crumb.ok()) return internal::NotQueued(crumb.status());
        req.headers.push_back(*crumb);
      }
      absl::StatusOr<http::ClientResponse> sent = Send(std::move(req));
      if (!sent.ok()) return internal::PostTransportError(sent.status());
      http::ClientResponse r = *std::move(sent);
      if (r.status == 403 && master_.csrf() && attempt == 0) {
        SPDLOG_INFO("event=jenkins_crumb_refresh master={} what={}", name(),
                    what);
        continue;
      }
      return r;
    }
  }

  // Calls `f(name, json)` for every job under `node` (folders recursed,
  // names joined with "/job/").
  template <typename F>
  void Flatten(const Json& node, const std::string& prefix, F&& f,
               int depth = 0) {
    if (depth > kFolderDepth) return;
    for (const Json& j : spinnaker::Array(node, "jobs")) {
      const std::string n = spinnaker::String(j, "name");
      if (n.empty()) continue;
      const std::string full = prefix.empty() ? n : prefix + "/job/" + n;
      if (j.contains("jobs") && j["jobs"].is_array()) {
        Flatten(j, full, f, depth + 1);
      } else {
        f(full, j);
      }
    }
  }

  v1::Build ToBuild(const std::string& job, const Json& j) {
    v1::Build b;
    b.set_master(name());
    b.set_job(job);
    b.set_number(spinnaker::Int(j, "number"));
    b.set_id(spinnaker::String(j, "id", absl::StrCat(b.number())));
    b.set_building(spinnaker::Bool(j, "building"));
    b.set_result(ResultFromName(spinnaker::String(j, "result")));
    // Hostile values must not overflow where callers add or subtract them.
    b.set_timestamp_ms(
        internal::SaneTimestampMs(spinnaker::Int(j, "timestamp")));
    b.set_duration_ms(internal::SaneDurationMs(spinnaker::Int(j, "duration")));
    b.set_url(spinnaker::String(j, "url"));
    b.set_full_display_name(spinnaker::String(j, "fullDisplayName"));
    Json artifacts = Json::array();
    for (const Json& a : spinnaker::Array(j, "artifacts")) {
      v1::BuildArtifact* out = b.add_artifacts();
      out->set_file_name(spinnaker::String(a, "fileName"));
      out->set_display_path(spinnaker::String(a, "displayPath"));
      out->set_relative_path(spinnaker::String(a, "relativePath"));
      if (!b.url().empty()) {
        out->set_reference(absl::StrCat(internal::WithSlash(b.url()),
                                        "artifact/", out->relative_path()));
      }
      artifacts.push_back(Json{{"fileName", out->file_name()},
                               {"displayPath", out->display_path()},
                               {"relativePath", out->relative_path()},
                               {"reference", out->reference()},
                               {"name", job},
                               {"type", "jenkins/file"},
                               {"version", absl::StrCat(b.number())},
                               {"decorated", false}});
    }
    Json tests = Json::array();
    Json revisions = Json::array();
    for (const Json& a : spinnaker::Array(j, "actions")) {
      if (a.contains("totalCount")) {
        tests.push_back(Json{{"failCount", spinnaker::Int(a, "failCount")},
                             {"skipCount", spinnaker::Int(a, "skipCount")},
                             {"totalCount", spinnaker::Int(a, "totalCount")},
                             {"urlName", spinnaker::String(a, "urlName")}});
      }
      const Json rev = spinnaker::Object(a, "lastBuiltRevision");
      if (rev.empty()) continue;
      const std::vector<std::string> remotes =
          spinnaker::Strings(a, "remoteUrls");
      for (const Json& br : spinnaker::Array(rev, "branch")) {
        std::string branch = spinnaker::String(br, "name");
        // "refs/remotes/origin/main" and "origin/main" name branch "main".
        for (absl::string_view p : {"refs/remotes/", "origin/"}) {
          if (absl::StartsWith(branch, p)) branch = branch.substr(p.size());
        }
        Json r{{"name", spinnaker::String(br, "name")},
               {"branch", branch},
               {"sha1",
                spinnaker::String(br, "SHA1", spinnaker::String(rev, "SHA1"))}};
        if (!remotes.empty()) r["remoteUrl"] = remotes.front();
        revisions.push_back(std::move(r));
      }
    }
    Json info{
        {"building", b.building()},
        {"fullDisplayName", b.full_display_name()},
        {"name", job},
        {"number", b.number()},
        {"duration", b.duration_ms()},
        {"timestamp", absl::StrCat(b.timestamp_ms())},
        {"result", b.building() ? Json("BUILDING")
                                : (b.result() == v1::BUILD_RESULT_UNSPECIFIED
                                       ? Json(nullptr)
                                       : Json(ResultName(b.result())))},
        {"artifacts", artifacts},
        {"testResults", tests},
        {"url", b.url()},
        {"id", b.id()}};
    if (!revisions.empty()) info["genericGitRevisions"] = revisions;
    const std::string desc = spinnaker::String(j, "description");
    if (!desc.empty()) info["description"] = desc;
    b.mutable_build_info()->set_json(spinnaker::Dump(info));
    return b;
  }

  const v1::JenkinsMaster master_;
  const std::string base_;
  std::string address_;
  const http::OutboundClient* outbound_;
  absl::Mutex mu_;
  std::pair<std::string, std::string> crumb_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<BuildService> NewJenkinsClient(
    const v1::JenkinsMaster& master, const http::OutboundClient* outbound) {
  return std::make_unique<JenkinsClient>(master, outbound);
}

}  // namespace gennaker::igor
