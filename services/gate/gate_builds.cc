#include "services/gate/gate_builds.h"

#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/log/call_context.h"
#include "common/spinnaker/identity.h"
#include "common/spinnaker/shapes.h"
#include "services/gate/gate_authz.h"
#include "services/gate/request.h"

namespace gennaker::gate {
namespace {

namespace iv1 = igor::v1;

constexpr char kBuilds[] = "CI builds";
constexpr char kImages[] = "docker images";

// Pages read from igor for one answer at most; a list longer than this is
// cut, never looped over forever.
constexpr int kMaxPages = 100;
// Docker tags gate returns at most for one query.
constexpr int kMaxImages = 10000;

// Reads pages of a list call until the last one (or kMaxPages), handing each
// response to `each`; `each` returns false to stop early.
template <typename Req, typename Resp, typename Call, typename Each>
grpc::Status ReadPages(const Igor& igor, Req req, const Call& call,
                       const Each& each) {
  std::set<std::string> seen;
  for (int page = 0; page < kMaxPages; ++page) {
    Resp resp;
    grpc::Status s = call(*igor.stub, igor.Context().get(), req, &resp);
    if (!s.ok()) return s;
    if (!each(resp)) break;
    const std::string& next = resp.page().next_page_token();
    if (next.empty() || !seen.insert(next).second) break;
    req.mutable_page()->set_page_token(next);
  }
  return grpc::Status::OK;
}

// igor's vocabulary of ?type= (Spinnaker's BuildServiceProvider names).
std::optional<iv1::BuildServiceType> TypeFromQuery(const std::string& type) {
  const std::string t = absl::AsciiStrToLower(type);
  if (t.empty()) return iv1::BUILD_SERVICE_TYPE_UNSPECIFIED;
  if (t == "jenkins") return iv1::BUILD_SERVICE_TYPE_JENKINS;
  if (t == "travis") return iv1::BUILD_SERVICE_TYPE_TRAVIS;
  if (t == "gitlab-ci" || t == "gitlab_ci" || t == "gitlabci") {
    return iv1::BUILD_SERVICE_TYPE_GITLAB_CI;
  }
  if (t == "concourse") return iv1::BUILD_SERVICE_TYPE_CONCOURSE;
  if (t == "gcb") return iv1::BUILD_SERVICE_TYPE_GCB;
  return std::nullopt;
}

// The CI masters the caller may READ.
Response ListMasters(const Backends& b, const Request& r) {
  const Igor& igor = b.igor;
  if (igor.stub == nullptr) return NotConfigured("igor", kBuilds, r);
  std::optional<iv1::BuildServiceType> type = TypeFromQuery(r.Query("type"));
  // A CI type this suite has no masters of (wercker, codebuild, ...).
  if (!type.has_value()) return http::Json(200, "[]");
  iv1::ListMastersRequest req;
  req.set_type(*type);
  iv1::ListMastersResponse resp;
  grpc::Status s = igor.stub->ListMasters(igor.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  absl::StatusOr<std::shared_ptr<const fiat::v1::UserPermission>> caller =
      CallerPermission(b);
  if (!caller.ok()) return ErrorResponse(caller.status(), r);
  std::vector<std::string> names;
  for (const iv1::BuildMaster& m : resp.masters()) {
    if (fiat::Allows(**caller, fiat::v1::RESOURCE_TYPE_BUILD_SERVICE, m.name(),
                     fiat::v1::AUTHORIZATION_READ)) {
      names.push_back(m.name());
    }
  }
  std::sort(names.begin(), names.end());
  return http::Json(200, spinnaker::Dump(Json(names)));
}

Response ListJobs(const Igor& igor, const Request& r) {
  if (igor.stub == nullptr) return NotConfigured("igor", kBuilds, r);
  iv1::ListJobsRequest req;
  req.set_master(r.params.at("buildMaster"));
  Json jobs = Json::array();
  grpc::Status s = ReadPages<iv1::ListJobsRequest, iv1::ListJobsResponse>(
      igor, req,
      [](iv1::IgorService::StubInterface& stub, grpc::ClientContext* ctx,
         const iv1::ListJobsRequest& q,
         iv1::ListJobsResponse* out) { return stub.ListJobs(ctx, q, out); },
      [&jobs](const iv1::ListJobsResponse& page) {
        for (const std::string& job : page.jobs()) jobs.push_back(job);
        return true;
      });
  if (!s.ok()) return ErrorResponse(s, r);
  return http::Json(200, spinnaker::Dump(jobs));
}

// The job a route names: the rest of the path (v2) or ?job= (v3).
absl::StatusOr<std::string> JobOf(const Request& r) {
  auto rest = r.params.find("**");
  if (rest != r.params.end()) {
    if (rest->second.empty()) {
      return absl::InvalidArgumentError(
          "the job name is missing from the path");
    }
    return rest->second;
  }
  auto it = r.query.find("job");
  if (it == r.query.end() || it->second.empty()) {
    return absl::InvalidArgumentError(
        "Required request parameter 'job' for method parameter type String is "
        "not present");
  }
  return it->second;
}

Json JobConfigJson(const iv1::JobConfig& c) {
  Json params = Json::array();
  for (const iv1::JobParameterDefinition& p : c.parameter_definitions()) {
    Json j = Json::object();
    j["name"] = p.name();
    j["defaultName"] = p.name();
    j["defaultValue"] = p.default_value();
    j["description"] = p.description();
    j["type"] = p.type();
    // Deck shows a drop-down only for a parameter with choices.
    if (p.choices_size() > 0) {
      j["choices"] = Json(
          std::vector<std::string>(p.choices().begin(), p.choices().end()));
    }
    params.push_back(std::move(j));
  }
  Json j = Json::object();
  j["name"] = c.name();
  j["displayName"] = c.display_name().empty() ? c.name() : c.display_name();
  j["description"] = c.description();
  j["url"] = c.url();
  j["buildable"] = c.buildable();
  j["concurrentBuild"] = false;
  j["parameterDefinitionList"] = std::move(params);
  j["upstreamProjectList"] = Json::array();
  j["downstreamProjectList"] = Json::array();
  return j;
}

Response GetJobConfig(const Igor& igor, const Request& r) {
  if (igor.stub == nullptr) return NotConfigured("igor", kBuilds, r);
  absl::StatusOr<std::string> job = JobOf(r);
  if (!job.ok()) return ErrorResponse(job.status(), r);
  iv1::GetJobConfigRequest req;
  req.set_master(r.params.at("buildMaster"));
  req.set_job(*job);
  iv1::GetJobConfigResponse resp;
  grpc::Status s = igor.stub->GetJobConfig(igor.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  return http::Json(200, spinnaker::Dump(JobConfigJson(resp.config())));
}

const char* ResultName(iv1::BuildResult result) {
  switch (result) {
    case iv1::BUILD_RESULT_SUCCESS:
      return "SUCCESS";
    case iv1::BUILD_RESULT_UNSTABLE:
      return "UNSTABLE";
    case iv1::BUILD_RESULT_FAILURE:
      return "FAILURE";
    case iv1::BUILD_RESULT_ABORTED:
      return "ABORTED";
    case iv1::BUILD_RESULT_NOT_BUILT:
      return "NOT_BUILT";
    default:
      return nullptr;
  }
}

Json BuildJson(const iv1::Build& b) {
  Json j = spinnaker::ParseRendered(b.build_info());
  if (!j.is_object()) j = Json::object();
  // igor's rendering wins; the typed fields fill what it lacks.
  auto fill = [&j](const char* key, Json value) {
    if (!j.contains(key)) j[key] = std::move(value);
  };
  fill("building", b.building());
  fill("name", b.job());
  fill("number", b.number());
  fill("id", b.id().empty() ? absl::StrCat(b.number()) : b.id());
  const char* result = ResultName(b.result());
  fill("result", result ? Json(result) : Json(nullptr));
  fill("duration", b.duration_ms());
  fill("timestamp", absl::StrCat(b.timestamp_ms()));
  fill("url", b.url());
  fill("fullDisplayName", b.full_display_name().empty()
                              ? absl::StrCat(b.job(), " #", b.number())
                              : b.full_display_name());
  Json artifacts = Json::array();
  for (const iv1::BuildArtifact& a : b.artifacts()) {
    Json art = Json::object();
    art["fileName"] = a.file_name();
    art["displayPath"] = a.display_path();
    art["relativePath"] = a.relative_path();
    if (!a.reference().empty()) art["reference"] = a.reference();
    artifacts.push_back(std::move(art));
  }
  fill("artifacts", std::move(artifacts));
  return j;
}

Response ListBuilds(const Igor& igor, const Request& r) {
  if (igor.stub == nullptr) return NotConfigured("igor", kBuilds, r);
  absl::StatusOr<std::string> job = JobOf(r);
  if (!job.ok()) return ErrorResponse(job.status(), r);
  iv1::ListBuildsRequest req;
  req.set_master(r.params.at("buildMaster"));
  req.set_job(*job);
  Json builds = Json::array();
  grpc::Status s = ReadPages<iv1::ListBuildsRequest, iv1::ListBuildsResponse>(
      igor, req,
      [](iv1::IgorService::StubInterface& stub, grpc::ClientContext* ctx,
         const iv1::ListBuildsRequest& q,
         iv1::ListBuildsResponse* out) { return stub.ListBuilds(ctx, q, out); },
      [&builds](const iv1::ListBuildsResponse& page) {
        for (const iv1::Build& b : page.builds())
          builds.push_back(BuildJson(b));
        return true;
      });
  if (!s.ok()) return ErrorResponse(s, r);
  return http::Json(200, spinnaker::Dump(builds));
}

Response GetBuild(const Igor& igor, const Request& r) {
  if (igor.stub == nullptr) return NotConfigured("igor", kBuilds, r);
  absl::StatusOr<std::string> job = JobOf(r);
  if (!job.ok()) return ErrorResponse(job.status(), r);
  int64_t number = 0;
  if (!absl::SimpleAtoi(r.params.at("number"), &number) || number < 0) {
    return http::Error(400, "the build number must be a non-negative integer",
                       r.path);
  }
  iv1::GetBuildRequest req;
  req.mutable_build()->set_master(r.params.at("buildMaster"));
  req.mutable_build()->set_job(*job);
  req.mutable_build()->set_build_number(number);
  iv1::GetBuildResponse resp;
  grpc::Status s = igor.stub->GetBuild(igor.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  return http::Json(200, spinnaker::Dump(BuildJson(resp.build())));
}

// Whether ?provider= names the docker registry provider.
bool DockerProvider(const Request& r) {
  const std::string p = absl::AsciiStrToLower(r.Query("provider"));
  return p == "dockerregistry" || p == "docker";
}

// Every tag igor has seen in `account` (and `repository`, when set), up to
// `limit`, keeping those `keep` accepts.
template <typename Keep>
grpc::Status SeenTags(const Igor& igor, const std::string& account,
                      const std::string& repository, int limit,
                      const Keep& keep, std::vector<iv1::DockerTag>* out) {
  iv1::ListSeenDockerTagsRequest req;
  req.set_account(account);
  req.set_repository(repository);
  return ReadPages<iv1::ListSeenDockerTagsRequest,
                   iv1::ListSeenDockerTagsResponse>(
      igor, req,
      [](iv1::IgorService::StubInterface& stub, grpc::ClientContext* ctx,
         const iv1::ListSeenDockerTagsRequest& q,
         iv1::ListSeenDockerTagsResponse* resp) {
        return stub.ListSeenDockerTags(ctx, q, resp);
      },
      [&](const iv1::ListSeenDockerTagsResponse& page) {
        for (const iv1::DockerTag& t : page.tags()) {
          if (!keep(t)) continue;
          out->push_back(t);
          if (static_cast<int>(out->size()) >= limit) return false;
        }
        return true;
      });
}

Json ImageJson(const iv1::DockerTag& t) {
  Json j = Json::object();
  j["account"] = t.account();
  j["registry"] = t.registry();
  j["repository"] = t.repository();
  j["tag"] = t.tag();
  if (!t.digest().empty()) j["digest"] = t.digest();
  const std::string name =
      t.registry().empty() ? t.repository()
                           : absl::StrCat(t.registry(), "/", t.repository());
  Json artifact = Json::object();
  artifact["type"] = "docker/image";
  artifact["name"] = name;
  artifact["version"] = t.tag();
  artifact["reference"] = absl::StrCat(name, ":", t.tag());
  artifact["metadata"] = Json{{"registry", t.registry()}};
  j["artifact"] = std::move(artifact);
  return j;
}

}  // namespace

Response FindDockerImages(const Igor& igor, const Request& r) {
  if (!DockerProvider(r)) return http::Json(200, "[]");
  if (igor.stub == nullptr) return NotConfigured("igor", kImages, r);
  // No account: every account's (Deck's image selectors ask so); igor
  // decides whether it can answer that.
  const std::string account = r.Query("account");
  absl::StatusOr<int> count = QueryPositiveInt(r, "count", kMaxImages);
  if (!count.ok()) return ErrorResponse(count.status(), r);
  const std::string q = r.Query("q");
  if (q.size() > kMaxImageQueryBytes) {
    // Matching costs |q| x |text| per tag: the query is bounded.
    return http::Error(
        400, absl::StrCat("q is longer than ", kMaxImageQueryBytes, " bytes"),
        r.path);
  }
  std::vector<iv1::DockerTag> tags;
  grpc::Status s = SeenTags(
      igor, account, "", std::min(*count, kMaxImages),
      [&q](const iv1::DockerTag& t) {
        return ImageQueryMatches(q, absl::StrCat(t.repository(), ":", t.tag()));
      },
      &tags);
  if (!s.ok()) return ErrorResponse(s, r);
  Json out = Json::array();
  for (const iv1::DockerTag& t : tags) out.push_back(ImageJson(t));
  return http::Json(200, spinnaker::Dump(out));
}

namespace {

Response ListImageTags(const Igor& igor, const Request& r) {
  if (!DockerProvider(r)) return http::Json(200, "[]");
  if (igor.stub == nullptr) return NotConfigured("igor", kImages, r);
  const std::string account = r.Query("account");
  const std::string repository = r.Query("repository");
  if (account.empty() || repository.empty()) {
    return http::Error(400, "account and repository are required", r.path);
  }
  std::vector<iv1::DockerTag> tags;
  grpc::Status s = SeenTags(
      igor, account, repository, kMaxImages,
      [&repository](const iv1::DockerTag& t) {
        return t.repository() == repository;
      },
      &tags);
  if (!s.ok()) return ErrorResponse(s, r);
  std::set<std::string> names;
  for (const iv1::DockerTag& t : tags) names.insert(t.tag());
  return http::Json(200, spinnaker::Dump(Json(names)));
}

bool GlobMatch(absl::string_view pattern, absl::string_view text) {
  // Iterative '*' matching with backtracking to the last star.
  size_t p = 0, t = 0, star = absl::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != absl::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace

bool ImageQueryMatches(absl::string_view q, absl::string_view text) {
  if (q.size() > kMaxImageQueryBytes) return false;
  // Runs of '*' mean what one '*' means.
  std::string pattern;
  pattern.reserve(q.size());
  for (char c : q) {
    if (c == '*' && !pattern.empty() && pattern.back() == '*') continue;
    pattern.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
  }
  if (pattern.empty() || pattern == "*") return true;
  const std::string lower = absl::AsciiStrToLower(text);
  if (pattern.find('*') == std::string::npos) {
    return absl::StrContains(lower, pattern);
  }
  // Like clouddriver's lookup: the query may match anywhere.
  return GlobMatch(absl::StrCat("*", pattern, "*"), lower);
}

void AddBuildRoutes(std::shared_ptr<const Backends> backends,
                    const AddRoute& add) {
  RouteAdder<Backends> get(add, backends);
  // A route under /{buildMaster} answers 403 unless the caller may READ that
  // master (Spinnaker's BUILD_SERVICE permission).
  auto route =
      [&get](absl::string_view pattern,
             std::function<Response(const Igor&, const Request&)> handler) {
        get("GET", pattern,
            [handler = std::move(handler)](const Backends& b,
                                           const Request& r) {
              auto master = r.params.find("buildMaster");
              if (master != r.params.end()) {
                absl::Status readable = b.authorizer->Check(
                    spinnaker::UserOrAnonymous(CurrentCallContext().user),
                    fiat::v1::RESOURCE_TYPE_BUILD_SERVICE, master->second,
                    fiat::v1::AUTHORIZATION_READ);
                if (!readable.ok()) return ErrorResponse(readable, r);
              }
              return handler(b.igor, r);
            });
      };
  // v2: the job is the rest of the path. The exact routes come before their
  // "/**" forms, which would take them with an empty job.
  get("GET", "/v2/builds", ListMasters);
  route("/v2/builds/{buildMaster}/jobs", ListJobs);
  route("/v2/builds/{buildMaster}/jobs/**", GetJobConfig);
  route("/v2/builds/{buildMaster}/builds/**", ListBuilds);
  route("/v2/builds/{buildMaster}/build/{number}/**", GetBuild);
  // v3 (what Deck calls): the job is ?job=.
  get("GET", "/v3/builds", ListMasters);
  route("/v3/builds/{buildMaster}/jobs", ListJobs);
  route("/v3/builds/{buildMaster}/job", GetJobConfig);
  route("/v3/builds/{buildMaster}/builds", ListBuilds);
  route("/v3/builds/{buildMaster}/build/{number}", GetBuild);
  // Deck's docker trigger (/images/find is gate_bakery.cc's: docker
  // registries there come to FindDockerImages).
  route("/images/tags", ListImageTags);
}

}  // namespace gennaker::gate
