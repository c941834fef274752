// Travis CI over its v3 API. A job is a repository slug; a queue id is
// "<slug>:<request id>" (a build request, which becomes builds once Travis
// has processed it); build numbers are Travis' per-repository numbers.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/http/http.h"
#include "common/http/outbound.h"
#include "common/log/log.h"
#include "common/spinnaker/time.h"
#include "common/status/status_macros.h"
#include "services/igor/ci/build_service.h"
#include "services/igor/ci/ci_http.h"

namespace gennaker::igor {

using spinnaker::Json;

namespace {

constexpr char kKind[] = "travis";
constexpr int kPageSize = 100;
// Pages scanned when looking a build up by number.
constexpr int kMaxPages = 10;
constexpr char kPropertyPrefix[] = "SPINNAKER_PROPERTY_";

bool Running(const std::string& state) {
  return state == "created" || state == "received" || state == "started" ||
         state == "queued";
}

v1::BuildResult ResultOfState(const std::string& state) {
  if (state == "passed") return v1::BUILD_RESULT_SUCCESS;
  if (state == "failed" || state == "errored") return v1::BUILD_RESULT_FAILURE;
  if (state == "canceled") return v1::BUILD_RESULT_ABORTED;
  return v1::BUILD_RESULT_UNSPECIFIED;
}

absl::Status CheckSlug(const std::string& slug) {
  const std::vector<absl::string_view> parts = absl::StrSplit(slug, '/');
  if (slug.size() > 512 || parts.size() != 2 || parts[0].empty() ||
      parts[1].empty() || parts[0] == ".." || parts[1] == "..") {
    return absl::InvalidArgumentError(absl::StrCat(
        "travis job '", slug, "' is not a repository slug 'owner/name'"));
  }
  return absl::OkStatus();
}

class TravisClient final : public BuildService {
 public:
  TravisClient(const v1::TravisMaster& master,
               const http::OutboundClient* outbound)
      : master_(master),
        base_(internal::WithSlash(master.address())),
        web_(internal::WithSlash(
            master.base_url().empty() ? master.address() : master.base_url())),
        address_(master.address()),
        outbound_(outbound) {}

  const std::string& name() const override { return master_.name(); }
  v1::BuildServiceType type() const override {
    return v1::BUILD_SERVICE_TYPE_TRAVIS;
  }
  const std::string& address() const override { return address_; }

  absl::StatusOr<std::vector<std::string>> ListJobs() override {
    std::vector<std::string> out(master_.repositories().begin(),
                                 master_.repositories().end());
    std::sort(out.begin(), out.end());
    return out;
  }

  absl::StatusOr<std::vector<ProjectState>> ListProjects() override {
    std::vector<ProjectState> out;
    for (const std::string& slug : master_.repositories()) {
      GENNAKER_ASSIGN_OR_RETURN(Json j, BuildsPage(slug, 1, 0));
      ProjectState p;
      p.job = slug;
      const Json builds = spinnaker::Array(j, "builds");
      if (!builds.empty()) {
        p.has_last_build = true;
        p.last_build = ToBuild(slug, builds[0]);
      }
      out.push_back(std::move(p));
    }
    return out;
  }

  absl::StatusOr<v1::JobConfig> GetJobConfig(const std::string& job) override {
    GENNAKER_RETURN_IF_ERROR(CheckSlug(job));
    GENNAKER_ASSIGN_OR_RETURN(
        Json j, GetJson(absl::StrCat("repo/", http::PercentEncode(job)),
                        absl::StrCat("repository '", job, "'")));
    v1::JobConfig c;
    c.set_name(job);
    c.set_display_name(spinnaker::String(j, "name"));
    c.set_description(spinnaker::String(j, "description"));
    c.set_url(absl::StrCat(web_, job));
    c.set_buildable(spinnaker::Bool(j, "active", true));
    return c;
  }

  absl::StatusOr<v1::Build> GetBuild(const std::string& job,
                                     int64_t number) override {
    GENNAKER_ASSIGN_OR_RETURN(Json b, FindBuild(job, number));
    return ToBuild(job, b);
  }

  absl::StatusOr<std::vector<v1::Build>> ListBuilds(
      const std::string& job) override {
    GENNAKER_RETURN_IF_ERROR(CheckSlug(job));
    GENNAKER_ASSIGN_OR_RETURN(Json j, BuildsPage(job, kPageSize, 0));
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
      const v1::JobConfig&) override {
    // Failures are ambiguous (Travis may have accepted the request) unless
    // marked NotQueued: see ci_http.h.
    GENNAKER_RETURN_IF_ERROR(internal::NotQueued(CheckSlug(job)));
    std::string branch = "master";
    Json env = Json::array();
    for (const auto& [k, v] : params) {
      if (k == "branch") {
        branch = v;
      } else {
        env.push_back(absl::StrCat(k, "=", v));
      }
    }
    Json request{{"branch", branch}, {"message", "Triggered from Spinnaker"}};
    if (!env.empty()) request["config"] = Json{{"env", Json{{"global", env}}}};
    http::ClientRequest req;
    req.method = "POST";
    req.url =
        absl::StrCat(base_, "repo/", http::PercentEncode(job), "/requests");
    req.body = spinnaker::Dump(Json{{"request", request}});
    req.headers.push_back({"Content-Type", "application/json"});
    const std::string what = absl::StrCat("repository '", job, "'");
    absl::StatusOr<http::ClientResponse> sent = Send(std::move(req));
    if (!sent.ok()) return internal::PostTransportError(sent.status());
    const http::ClientResponse& r = *sent;
    if (r.status >= 400 && r.status < 500) {
      // Refused (inactive repository, credentials, bad request).
      return internal::NotQueued(internal::HttpError(kKind, name(), what, r));
    }
    if (r.status < 200 || r.status >= 300) {
      return internal::HttpError(kKind, name(), what, r);
    }
    absl::StatusOr<Json> j = internal::ParseBody(r, what);
    const int64_t id =
        j.ok() ? spinnaker::Int(spinnaker::Object(*j, "request"), "id") : 0;
    if (id <= 0) {
      // Accepted, but there is no request to follow.
      return absl::FailedPreconditionError(absl::StrCat(
          "travis master '", name(), "' accepted a build request for '", job,
          "' (HTTP ", r.status, ") without a request id"));
    }
    SPDLOG_INFO("event=travis_build_requested master={} repo={} request={}",
                name(), job, id);
    return absl::StrCat(job, ":", id);
  }

  absl::StatusOr<QueueItem> GetQueueItem(const std::string& queue_id) override {
    const size_t colon = queue_id.rfind(':');
    int64_t id = 0;
    if (colon == std::string::npos ||
        !absl::SimpleAtoi(queue_id.substr(colon + 1), &id) || id <= 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "queue id '", queue_id, "' is not a travis request '<slug>:<id>'"));
    }
    const std::string slug = queue_id.substr(0, colon);
    GENNAKER_RETURN_IF_ERROR(CheckSlug(slug));
    GENNAKER_ASSIGN_OR_RETURN(
        Json j, GetJson(absl::StrCat("repo/", http::PercentEncode(slug),
                                     "/request/", id),
                        absl::StrCat("request ", queue_id)));
    QueueItem q;
    q.id = queue_id;
    q.cancelled = spinnaker::String(j, "result") == "rejected";
    q.why = spinnaker::String(j, "state");
    const Json builds = spinnaker::Array(j, "builds");
    if (!builds.empty()) {
      q.build_number = spinnaker::Int(builds[0], "number");
      q.build_url =
          absl::StrCat(web_, slug, "/builds/", spinnaker::Int(builds[0], "id"));
    }
    return q;
  }

  absl::StatusOr<bool> StopBuild(const std::string& job, int64_t number,
                                 const std::string& queue_id) override {
    if (number == 0 && !queue_id.empty()) {
      GENNAKER_ASSIGN_OR_RETURN(QueueItem q, GetQueueItem(queue_id));
      number = q.build_number;
    }
    if (number == 0) return false;
    GENNAKER_ASSIGN_OR_RETURN(Json b, FindBuild(job, number));
    if (!Running(spinnaker::String(b, "state"))) return false;
    http::ClientRequest req;
    req.method = "POST";
    req.url = absl::StrCat(base_, "build/", spinnaker::Int(b, "id"), "/cancel");
    const std::string what = absl::StrCat("build ", job, " #", number);
    GENNAKER_ASSIGN_OR_RETURN(http::ClientResponse r, Send(std::move(req)));
    if (r.status >= 400) return internal::HttpError(kKind, name(), what, r);
    return true;
  }

  absl::Status SetDescription(const std::string& job, int64_t number,
                              const std::string&) override {
    // Travis builds have no description; the call is accepted as a no-op
    // (Spinnaker does the same) once the build is known to exist.
    return FindBuild(job, number).status();
  }

  // Travis archives nothing igor can read: the "file" is the properties
  // Spinnaker's convention prints in the job log
  // (SPINNAKER_PROPERTY_<KEY>=<value>), as a .properties text.
  absl::StatusOr<std::string> GetArtifact(const std::string& job,
                                          int64_t number,
                                          const std::string&) override {
    GENNAKER_ASSIGN_OR_RETURN(Json b, FindBuild(job, number));
    std::string out;
    for (const Json& jb : spinnaker::Array(b, "jobs")) {
      const int64_t id = spinnaker::Int(jb, "id");
      http::ClientRequest req;
      req.url = absl::StrCat(base_, "job/", id, "/log");
      req.max_response_bytes = kMaxArtifactBytes;
      const std::string what = absl::StrCat("log of job ", id);
      GENNAKER_ASSIGN_OR_RETURN(http::ClientResponse r, Send(std::move(req)));
      if (r.status != 200) return internal::HttpError(kKind, name(), what, r);
      GENNAKER_ASSIGN_OR_RETURN(Json log, internal::ParseBody(r, what));
      for (absl::string_view line :
           absl::StrSplit(spinnaker::String(log, "content"), '\n')) {
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (absl::ConsumePrefix(&line, kPropertyPrefix)) {
          absl::StrAppend(&out, line, "\n");
        }
      }
    }
    return out;
  }

 private:
  absl::StatusOr<http::ClientResponse> Send(http::ClientRequest req) {
    req.headers.push_back({"Travis-API-Version", "3"});
    req.headers.push_back({"User-Agent", "Gennaker-igor"});
    if (!master_.token().empty()) {
      req.headers.push_back({"Authorization", "token " + master_.token()});
    }
    return internal::CiFetch(outbound_, kKind, name(), std::move(req));
  }

  absl::StatusOr<Json> GetJson(const std::string& rel,
                               const std::string& what) {
    http::ClientRequest req;
    req.url = base_ + rel;
    GENNAKER_ASSIGN_OR_RETURN(http::ClientResponse r, Send(std::move(req)));
    if (r.status != 200) return internal::HttpError(kKind, name(), what, r);
    return internal::ParseBody(r, what);
  }

  absl::StatusOr<Json> BuildsPage(const std::string& slug, int limit,
                                  int offset) {
    return GetJson(absl::StrCat("repo/", http::PercentEncode(slug),
                                "/builds?limit=", limit, "&offset=", offset,
                                "&sort_by=id:desc"),
                   absl::StrCat("repository '", slug, "'"));
  }

  absl::StatusOr<Json> FindBuild(const std::string& slug, int64_t number) {
    GENNAKER_RETURN_IF_ERROR(CheckSlug(slug));
    for (int page = 0; page < kMaxPages; ++page) {
      GENNAKER_ASSIGN_OR_RETURN(Json j,
                                BuildsPage(slug, kPageSize, page * kPageSize));
      const Json builds = spinnaker::Array(j, "builds");
      for (const Json& b : builds) {
        if (spinnaker::Int(b, "number") == number) return b;
      }
      if (static_cast<int>(builds.size()) < kPageSize) break;
    }
    return absl::NotFoundError(absl::StrCat("build ", slug, " #", number,
                                            " not found on travis master '",
                                            name(), "'"));
  }

  static int64_t Ms(const Json& b, std::string_view key) {
    const std::string s = spinnaker::String(b, key);
    if (s.empty()) return 0;
    absl::StatusOr<int64_t> ms = spinnaker::ParseIsoInstant(s);
    return ms.ok() ? *ms : 0;
  }

  v1::Build ToBuild(const std::string& slug, const Json& j) {
    v1::Build b;
    const std::string state = spinnaker::String(j, "state");
    b.set_master(name());
    b.set_job(slug);
    b.set_number(spinnaker::Int(j, "number"));
    b.set_id(absl::StrCat(spinnaker::Int(j, "id")));
    b.set_building(Running(state));
    b.set_result(ResultOfState(state));
    b.set_timestamp_ms(internal::SaneTimestampMs(Ms(j, "started_at")));
    // Seconds; a hostile value must not overflow int64 (saturates).
    b.set_duration_ms(
        internal::SecondsToDurationMs(spinnaker::Int(j, "duration")));
    b.set_url(absl::StrCat(web_, slug, "/builds/", b.id()));
    b.set_full_display_name(absl::StrCat(slug, " #", b.number()));
    const Json commit = spinnaker::Object(j, "commit");
    const std::string branch =
        spinnaker::String(spinnaker::Object(j, "branch"), "name");
    Json info{{"building", b.building()},
              {"fullDisplayName", b.full_display_name()},
              {"name", slug},
              {"number", b.number()},
              {"duration", b.duration_ms()},
              {"timestamp", absl::StrCat(b.timestamp_ms())},
              {"result", b.building() ? Json("BUILDING")
                         : b.result() == v1::BUILD_RESULT_UNSPECIFIED
                             ? Json(nullptr)
                             : Json(ResultName(b.result()))},
              {"artifacts", Json::array()},
              {"testResults", Json::array()},
              {"url", b.url()},
              {"id", b.id()}};
    if (!commit.empty()) {
      info["genericGitRevisions"] = Json::array(
          {Json{{"name", branch},
                {"branch", branch},
                {"sha1", spinnaker::String(commit, "sha")},
                {"message", spinnaker::String(commit, "message")},
                {"compareUrl", spinnaker::String(commit, "compare_url")}}});
    }
    b.mutable_build_info()->set_json(spinnaker::Dump(info));
    return b;
  }

  const v1::TravisMaster master_;
  const std::string base_;
  const std::string web_;
  const std::string address_;
  const http::OutboundClient* outbound_;
};

}  // namespace

std::unique_ptr<BuildService> NewTravisClient(
    const v1::TravisMaster& master, const http::OutboundClient* outbound) {
  return std::make_unique<TravisClient>(master, outbound);
}

}  // namespace gennaker::igor
