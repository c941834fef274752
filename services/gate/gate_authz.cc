#include "services/gate/gate_authz.h"

#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log/call_context.h"
#include "common/spinnaker/identity.h"
#include "common/spinnaker/json.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "services/gate/request.h"

namespace gennaker::gate {
namespace {

namespace fv1 = fiat::v1;
using Kind = RoutePolicy::Kind;

// --- resolvers: the application a request acts on, found through a backend
// ---

// The application of the execution (pipeline or task) named by {id}, from
// orca's smallest view.
absl::StatusOr<std::string> ExecutionApplication(const Backends& b,
                                                 const Request& r) {
  auto id = r.params.find("id");
  if (id == r.params.end() || id->second.empty()) {
    return absl::InvalidArgumentError("the execution id is missing");
  }
  orca::v1::GetExecutionRequest req;
  req.set_id(id->second);
  req.set_view(orca::v1::EXECUTION_VIEW_STATUS);
  orca::v1::GetExecutionResponse resp;
  grpc::Status s =
      b.orca.stub->GetExecution(b.orca.Context().get(), req, &resp);
  if (!s.ok()) return FromGrpcStatus(s);
  return resp.execution().application();
}

// A task's application, or "" (nothing to check) when the caller started
// it: spin polls the task that creates an application before fiat can know
// the application, and its starter may always follow it.
absl::StatusOr<std::string> TaskApplicationUnlessStarter(const Backends& b,
                                                         const Request& r) {
  auto id = r.params.find("id");
  if (id == r.params.end() || id->second.empty()) {
    return absl::InvalidArgumentError("the execution id is missing");
  }
  orca::v1::GetExecutionRequest req;
  req.set_id(id->second);
  req.set_view(orca::v1::EXECUTION_VIEW_STATUS);
  orca::v1::GetExecutionResponse resp;
  grpc::Status s =
      b.orca.stub->GetExecution(b.orca.Context().get(), req, &resp);
  if (!s.ok()) return FromGrpcStatus(s);
  const std::string& starter = resp.execution().authentication().user();
  const std::string caller = CurrentCallContext().user;
  if (resp.execution().type() == common::v1::ORCHESTRATION && !caller.empty() &&
      !absl::EqualsIgnoreCase(caller, spinnaker::kAnonymousUser) &&
      absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(starter),
                             absl::StripAsciiWhitespace(caller))) {
    return std::string();
  }
  return resp.execution().application();
}

// The application of the pipeline config {id}, from its newest stored
// version ("" when front50 has none: nothing to protect).
absl::StatusOr<std::string> PipelineConfigApplication(const Backends& b,
                                                      const Request& r) {
  front50::v1::ListObjectHistoryRequest req;
  req.set_type(front50::v1::OBJECT_TYPE_PIPELINE);
  req.set_key(r.params.at("id"));
  req.set_limit(1);
  front50::v1::ListObjectHistoryResponse resp;
  grpc::Status s =
      b.front50.stub->ListObjectHistory(b.front50.Context().get(), req, &resp);
  if (!s.ok()) return FromGrpcStatus(s);
  if (resp.versions().empty()) return std::string();
  absl::StatusOr<Json> body =
      spinnaker::ParseJson(resp.versions(0).body().json(), "pipeline");
  if (!body.ok() || !body->is_object()) return std::string();
  return spinnaker::String(*body, "application");
}

// --- the table ---

RoutePolicy Policy(Kind kind, fv1::Authorization authorization =
                                  fv1::AUTHORIZATION_UNSPECIFIED) {
  RoutePolicy p;
  p.kind = kind;
  p.authorization = authorization;
  return p;
}

RoutePolicy Open() { return Policy(Kind::kOpen); }
RoutePolicy Authenticated() { return Policy(Kind::kAuthenticated); }

RoutePolicy OnApp(fv1::Authorization authorization, std::string param = "app") {
  RoutePolicy p = Policy(Kind::kApplication, authorization);
  p.app_param = std::move(param);
  return p;
}

RoutePolicy OnBodyApp(fv1::Authorization authorization) {
  RoutePolicy p = Policy(Kind::kApplication, authorization);
  p.app_body_field = "application";
  return p;
}

RoutePolicy OnExecution(fv1::Authorization authorization) {
  RoutePolicy p = Policy(Kind::kApplication, authorization);
  p.app_resolver = ExecutionApplication;
  return p;
}

// A task the caller started is theirs to read (TaskApplicationUnlessStarter).
RoutePolicy OnTask(fv1::Authorization authorization) {
  RoutePolicy p = Policy(Kind::kApplication, authorization);
  p.app_resolver = TaskApplicationUnlessStarter;
  return p;
}

RoutePolicy WithAccount(RoutePolicy p, std::string param = "account") {
  p.account_param = std::move(param);
  return p;
}

RoutePolicy Task() {
  RoutePolicy p = Policy(Kind::kApplication, fv1::AUTHORIZATION_EXECUTE);
  p.check_task_jobs = true;
  return p;
}

using Table = std::map<std::pair<std::string, std::string>, RoutePolicy>;

Table MakeTable() {
  constexpr auto kRead = fv1::AUTHORIZATION_READ;
  constexpr auto kWrite = fv1::AUTHORIZATION_WRITE;
  constexpr auto kExecute = fv1::AUTHORIZATION_EXECUTE;
  Table t;
  auto add = [&t](const char* method, std::string pattern, RoutePolicy p) {
    t.emplace(std::make_pair(std::string(method), std::move(pattern)),
              std::move(p));
  };

  // Open: health, version, Deck's plugins, authentication itself, and what
  // outside systems post (Spinnaker's AuthConfig).
  add("GET", "/health", Open());
  add("GET", "/version", Open());
  add("GET", "/plugins/deck/plugin-manifest.json", Open());
  add("POST", "/login", Open());
  add("GET", "/login", Open());
  add("GET", "/auth/user", Open());
  add("GET", "/auth/redirect", Open());
  add("GET", "/auth/logout", Open());
  add("POST", "/auth/logout", Open());
  add("GET", "/auth/loggedOut", Open());
  add("POST", "/webhooks/{type}", Open());
  add("POST", "/webhooks/{type}/{source}", Open());
  add("POST", "/notifications/callbacks/{source}", Open());

  // Logged in; lists are filtered per user in their handlers.
  for (const char* path :
       {"/jobs/preconfigured", "/webhooks/preconfigured", "/applications",
        "/pipelineConfigs", "/strategyConfigs", "/projects", "/projects/{id}",
        "/v2/pipelineTemplates", "/v2/pipelineTemplates/{id}", "/credentials",
        "/credentials/{account}", "/loadBalancers", "/securityGroups",
        "/search", "/executions", "/notifications/metadata", "/cron/validate",
        "/images/find", "/images/tags"}) {
    add("GET", path, Authenticated());
  }
  add("POST", "/projects", Authenticated());
  add("PUT", "/projects/{id}", Authenticated());
  add("DELETE", "/projects/{id}", Authenticated());
  add("POST", "/v2/pipelineTemplates/create", Authenticated());
  add("POST", "/v2/pipelineTemplates/update/{id}", Authenticated());
  add("DELETE", "/v2/pipelineTemplates/{id}", Authenticated());
  // orca checks EXECUTE on the config's application, as for a start.
  add("POST", "/v2/pipelineTemplates/plan", Authenticated());
  // The handler keeps the pipelines of applications the caller may READ.
  add("GET", "/v2/pipelineTemplates/{id}/dependentPipelines", Authenticated());
  // CI masters: the handlers check BUILD_SERVICE READ on {buildMaster}.
  for (const char* v : {"/v2", "/v3"}) {
    add("GET", absl::StrCat(v, "/builds"), Authenticated());
    add("GET", absl::StrCat(v, "/builds/{buildMaster}/jobs"), Authenticated());
  }
  for (const char* path :
       {"/v2/builds/{buildMaster}/jobs/**",
        "/v2/builds/{buildMaster}/builds/**",
        "/v2/builds/{buildMaster}/build/{number}/**",
        "/v3/builds/{buildMaster}/job", "/v3/builds/{buildMaster}/builds",
        "/v3/builds/{buildMaster}/build/{number}"}) {
    add("GET", path, Authenticated());
  }

  // Applications and their pipeline configs.
  add("GET", "/applications/{app}", OnApp(kRead));
  add("GET", "/applications/{app}/pipelineConfigs", OnApp(kRead));
  add("GET", "/applications/{app}/pipelineConfigs/{name}", OnApp(kRead));
  add("GET", "/applications/{app}/strategyConfigs", OnApp(kRead));
  RoutePolicy save = OnBodyApp(kWrite);
  save.check_run_as_users = true;
  add("POST", "/pipelines", save);
  add("PUT", "/pipelines/{id}", save);
  add("POST", "/strategies", OnBodyApp(kWrite));
  add("DELETE", "/pipelines/{app}/{name}", OnApp(kWrite));
  add("DELETE", "/strategies/{app}/{name}", OnApp(kWrite));
  add("POST", "/actions/pipelines/reorder", OnBodyApp(kWrite));
  add("POST", "/actions/strategies/reorder", OnBodyApp(kWrite));
  RoutePolicy history = Policy(Kind::kApplication, kRead);
  history.app_resolver = PipelineConfigApplication;
  add("GET", "/pipelineConfigs/{id}/history", history);
  add("GET", "/notifications/application/{app}", OnApp(kRead));
  add("POST", "/notifications/application/{app}", OnApp(kWrite));

  // Executions.
  add("POST", "/pipelines/{app}/{name}", OnApp(kExecute));
  add("POST", "/pipelines/v2/{app}/{name}", OnApp(kExecute));
  add("GET", "/pipelines/{id}", OnExecution(kRead));
  add("DELETE", "/pipelines/{id}", OnExecution(kWrite));
  add("PUT", "/pipelines/{id}/cancel", OnExecution(kExecute));
  // spin's "{application}" segment is ignored: the execution's app counts.
  add("PUT", "/applications/{app}/pipelines/{id}/cancel",
      OnExecution(kExecute));
  add("PUT", "/pipelines/{id}/pause", OnExecution(kExecute));
  add("PUT", "/pipelines/{id}/resume", OnExecution(kExecute));
  add("PATCH", "/pipelines/{id}/stages/{stageId}", OnExecution(kExecute));
  add("PUT", "/pipelines/{id}/stages/{stageId}/restart", OnExecution(kExecute));
  add("GET", "/applications/{app}/pipelines", OnApp(kRead));
  add("POST", "/tasks", Task());
  add("POST", "/applications/{app}/tasks", Task());
  add("GET", "/tasks/{id}", OnTask(kRead));
  add("GET", "/applications/{app}/tasks/{id}", OnTask(kRead));
  add("GET", "/applications/{app}/tasks", OnApp(kRead));
  add("PUT", "/tasks/{id}/cancel", OnExecution(kExecute));

  // Infrastructure (clouddriver): READ on the application and the account.
  add("GET", "/applications/{app}/clusters", OnApp(kRead));
  for (const char* path :
       {"/applications/{app}/clusters/{account}",
        "/applications/{app}/clusters/{account}/{cluster}",
        "/applications/{app}/clusters/{account}/{cluster}/serverGroups",
        "/applications/{app}/clusters/{account}/{cluster}/serverGroups/"
        "{serverGroup}",
        "/applications/{app}/clusters/{account}/{cluster}/{cloudProvider}",
        "/applications/{app}/clusters/{account}/{cluster}/{cloudProvider}/"
        "{scope}/serverGroups/target/{target}",
        "/applications/{app}/serverGroups/{account}/{region}/{name}"}) {
    add("GET", path, WithAccount(OnApp(kRead)));
  }
  add("GET", "/applications/{app}/serverGroups", OnApp(kRead));
  add("GET", "/applications/{app}/serverGroupManagers", OnApp(kRead));
  add("GET", "/applications/{app}/loadBalancers", OnApp(kRead));
  for (const char* path : {"/loadBalancers/{account}/{region}/{name}",
                           "/securityGroups/{account}/{region}/{name}",
                           "/securityGroups/{account}/{cloudProvider}/{region}/"
                           "{name}",
                           "/instances/{account}/{region}/{instanceId}"}) {
    add("GET", path, WithAccount(Authenticated()));
  }

  // Canary analysis (kayenta).
  for (const char* path :
       {"/v2/canaryConfig", "/v2/canaryConfig/{id}", "/v2/canaries/credentials",
        "/v2/canaries/metadata/metricsService", "/v2/canaries/judges",
        "/v2/canaries/canary/{id}", "/v2/canaries/canary/{configId}/{id}",
        "/v2/canaries/metricSetPairList/{id}"}) {
    add("GET", path, Authenticated());
  }
  add("POST", "/v2/canaryConfig", Authenticated());
  add("PUT", "/v2/canaryConfig/{id}", Authenticated());
  add("DELETE", "/v2/canaryConfig/{id}", Authenticated());
  add("POST", "/v2/canaries/canary", Authenticated());
  add("POST", "/v2/canaries/canary/{configId}", Authenticated());
  add("GET", "/v2/canaries/{application}/executions",
      OnApp(kRead, "application"));

  // What Deck asks at start-up and on its pages; lists are filtered and
  // executions checked per caller in their handlers.
  for (const char* path :
       {"/capabilities/quietPeriod", "/capabilities/deploymentMonitors",
        "/artifacts/credentials", "/pubsub/subscriptions", "/functions",
        "/pipelineTemplates", "/v2/pipelineTemplates/versions", "/serverGroups",
        "/projects/{id}/pipelines", "/projects/{id}/clusters"}) {
    add("GET", path, Authenticated());
  }
  add("GET", "/applications/{app}/functions", OnApp(kRead));

  add("GET", "/pipelines/{id}/evaluateExpression", OnExecution(kRead));
  add("GET", "/pipelines/{id}/{stageId}/evaluateExpression",
      OnExecution(kRead));

  // Bakery (rosco): bake options and logs name no application or account.
  for (const char* path :
       {"/bakery/options", "/bakery/options/{cloudProvider}",
        "/bakery/options/{cloudProvider}/baseImages/{imageId}",
        "/bakery/logs/{region}/{statusId}"}) {
    add("GET", path, Authenticated());
  }
  // One image: READ on its account (/images/find filters in its handler).
  add("GET", "/images/{account}/{region}/{imageId}",
      WithAccount(Authenticated()));

  // Service accounts: the caller's own list (filtered in the handler); the
  // store is for admins (anyone logged in when authorization is off).
  add("GET", "/auth/user/serviceAccounts", Authenticated());
  add("GET", "/serviceAccounts", Policy(Kind::kAdmin));
  add("POST", "/serviceAccounts", Policy(Kind::kAdmin));
  add("DELETE", "/serviceAccounts/{name}", Policy(Kind::kAdmin));
  return t;
}

const Table& PolicyTable() {
  static const Table* table = new Table(MakeTable());
  return *table;
}

// --- checks ---

std::string Who(const std::string& user) {
  return user.empty() ? std::string(spinnaker::kAnonymousUser) : user;
}

// The application a task names: job[0].application, a name or {name}
// (what gate_executions.cc starts the task under).
std::string JobApplication(const Json& job) {
  auto it = job.find("application");
  if (it == job.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  return spinnaker::String(*it, "name");
}

// fiat's CREATE decision for a new application.
absl::Status AuthorizeCreate(const Backends& b, const std::string& user,
                             const std::string& application, const Json& job) {
  if (b.fiat.stub == nullptr) {
    return absl::UnavailableError(
        "authorization service unavailable: fiat is not configured");
  }
  fv1::AuthorizeCreateRequest req;
  req.set_user(Who(user));
  req.set_resource_type(fv1::RESOURCE_TYPE_APPLICATION);
  req.set_resource_name(application);
  auto it = job.find("application");
  Json resource =
      it != job.end() && it->is_object() ? *it : Json{{"name", application}};
  req.mutable_resource()->set_json(spinnaker::Dump(resource));
  fv1::AuthorizeCreateResponse resp;
  grpc::Status s =
      b.fiat.stub->AuthorizeCreate(b.fiat.Context().get(), req, &resp);
  if (!s.ok()) {
    return absl::UnavailableError(
        absl::StrCat("authorization service unavailable: ", s.error_message()));
  }
  if (resp.allowed()) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat("Access denied to application '", application, "': user '",
                   Who(user), "' may not create applications"));
}

// POST /tasks: what each job needs (see RoutePolicy::check_task_jobs).
absl::Status AuthorizeTask(const Backends& b, const std::string& user,
                           const Request& r) {
  GENNAKER_ASSIGN_OR_RETURN(
      Json body,
      ParseJsonObjectBody(r.body, "request body", /*empty_is_object=*/false));
  auto jobs = body.find("job");
  if (jobs == body.end() || !jobs->is_array() || jobs->empty()) {
    return absl::InvalidArgumentError("task must have a non-empty 'job' list");
  }
  std::string application;
  if (auto app = r.params.find("app"); app != r.params.end()) {
    application = app->second;
  } else {
    application = spinnaker::String(body, "application");
    if (application.empty()) application = JobApplication(jobs->front());
  }
  if (application.empty()) {
    return absl::InvalidArgumentError("task application is required");
  }
  fiat::Authorizer& authorizer = *b.authorizer;
  // Each distinct check once.
  std::set<std::tuple<int, std::string, int>> done;
  auto check = [&](fv1::ResourceType type, const std::string& name,
                   fv1::Authorization authorization) -> absl::Status {
    if (!done.emplace(type, absl::AsciiStrToLower(name), authorization).second)
      return absl::OkStatus();
    return authorizer.Check(user, type, name, authorization);
  };
  for (const Json& job : *jobs) {
    if (!job.is_object()) {
      return absl::InvalidArgumentError(
          "every 'job' entry must be a JSON object");
    }
    const std::string type = spinnaker::String(job, "type");
    std::string job_app = JobApplication(job);
    if (job_app.empty()) job_app = application;
    if (type == "createApplication") {
      front50::v1::GetApplicationRequest req;
      req.set_name(job_app);
      front50::v1::GetApplicationResponse resp;
      grpc::Status s =
          b.front50.stub->GetApplication(b.front50.Context().get(), req, &resp);
      if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
        GENNAKER_RETURN_IF_ERROR(AuthorizeCreate(b, user, job_app, job));
      } else if (s.ok()) {
        GENNAKER_RETURN_IF_ERROR(check(fv1::RESOURCE_TYPE_APPLICATION, job_app,
                                       fv1::AUTHORIZATION_WRITE));
      } else {
        return FromGrpcStatus(s);
      }
    } else if (type == "updateApplication" || type == "deleteApplication") {
      GENNAKER_RETURN_IF_ERROR(check(fv1::RESOURCE_TYPE_APPLICATION, job_app,
                                     fv1::AUTHORIZATION_WRITE));
    } else {
      GENNAKER_RETURN_IF_ERROR(check(fv1::RESOURCE_TYPE_APPLICATION,
                                     application, fv1::AUTHORIZATION_EXECUTE));
    }
    for (const char* key : {"credentials", "account"}) {
      std::string account = spinnaker::String(job, key);
      if (account.empty()) continue;
      GENNAKER_RETURN_IF_ERROR(
          check(fv1::RESOURCE_TYPE_ACCOUNT, account, fv1::AUTHORIZATION_WRITE));
    }
  }
  return absl::OkStatus();
}

// The application a kApplication policy names in `r`.
absl::StatusOr<std::string> FindApplication(const RoutePolicy& policy,
                                            const Backends& b, const Request& r,
                                            std::optional<Json>* body) {
  if (!policy.app_param.empty()) {
    auto it = r.params.find(policy.app_param);
    if (it == r.params.end() || it->second.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("the application is missing from the path ('",
                       policy.app_param, "')"));
    }
    return it->second;
  }
  if (!policy.app_body_field.empty()) {
    GENNAKER_ASSIGN_OR_RETURN(
        Json parsed,
        ParseJsonObjectBody(r.body, "request body", /*empty_is_object=*/false));
    std::string app = spinnaker::String(parsed, policy.app_body_field);
    *body = std::move(parsed);
    if (app.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("the request body must name the application in '",
                       policy.app_body_field, "'"));
    }
    return app;
  }
  if (policy.app_resolver) return policy.app_resolver(b, r);
  return absl::InternalError("route policy names no application");
}

}  // namespace

std::optional<RoutePolicy> PolicyFor(absl::string_view method,
                                     absl::string_view pattern) {
  const Table& table = PolicyTable();
  auto it = table.find({std::string(method), std::string(pattern)});
  if (it == table.end()) return std::nullopt;
  return it->second;
}

absl::Status AuthorizeRoute(const RoutePolicy& policy, const Backends& backends,
                            const std::string& user,
                            const http::Request& request) {
  if (policy.kind == Kind::kOpen) return absl::OkStatus();
  fiat::Authorizer& authorizer = *backends.authorizer;
  if (!authorizer.enabled()) return absl::OkStatus();
  switch (policy.kind) {
    case Kind::kOpen:
    case Kind::kAuthenticated:
      break;
    case Kind::kAdmin: {
      GENNAKER_ASSIGN_OR_RETURN(auto permission, authorizer.Permission(user));
      if (!permission->admin()) {
        return absl::PermissionDeniedError(absl::StrCat(
            "Access denied: user '", Who(user), "' is not an admin"));
      }
      break;
    }
    case Kind::kApplication: {
      if (policy.check_task_jobs) {
        GENNAKER_RETURN_IF_ERROR(AuthorizeTask(backends, user, request));
        break;
      }
      std::optional<Json> body;
      GENNAKER_ASSIGN_OR_RETURN(
          std::string app, FindApplication(policy, backends, request, &body));
      // A resolver that finds no application: nothing names one to protect.
      if (!app.empty()) {
        GENNAKER_RETURN_IF_ERROR(authorizer.Check(
            user, fv1::RESOURCE_TYPE_APPLICATION, app, policy.authorization));
      }
      if (policy.check_run_as_users) {
        if (!body.has_value()) {
          GENNAKER_ASSIGN_OR_RETURN(
              body, ParseJsonObjectBody(request.body, "request body",
                                        /*empty_is_object=*/false));
        }
        GENNAKER_RETURN_IF_ERROR(CheckRunAsUsers(authorizer, user, *body));
      }
      break;
    }
  }
  if (!policy.account_param.empty()) {
    auto it = request.params.find(policy.account_param);
    if (it != request.params.end()) {
      GENNAKER_RETURN_IF_ERROR(
          authorizer.Check(user, fv1::RESOURCE_TYPE_ACCOUNT, it->second,
                           fv1::AUTHORIZATION_READ));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckRunAsUsers(fiat::Authorizer& authorizer,
                             const std::string& user,
                             const spinnaker::Json& pipeline) {
  if (!authorizer.enabled() || !pipeline.is_object()) return absl::OkStatus();
  auto triggers = pipeline.find("triggers");
  if (triggers == pipeline.end() || !triggers->is_array()) {
    return absl::OkStatus();
  }
  const std::string application = spinnaker::String(pipeline, "application");
  for (const Json& trigger : *triggers) {
    if (!trigger.is_object()) continue;
    std::string run_as(
        absl::StripAsciiWhitespace(spinnaker::String(trigger, "runAsUser")));
    if (run_as.empty()) continue;
    absl::Status member =
        authorizer.Check(user, fv1::RESOURCE_TYPE_SERVICE_ACCOUNT, run_as,
                         fv1::AUTHORIZATION_UNSPECIFIED);
    if (absl::IsPermissionDenied(member)) {
      return absl::PermissionDeniedError(absl::StrCat(
          "Access denied to service account '", run_as, "': user '", Who(user),
          "' may not use the trigger's runAsUser '", run_as,
          "' (not a member of it)"));
    }
    GENNAKER_RETURN_IF_ERROR(member);
    absl::Status execute =
        authorizer.Check(run_as, fv1::RESOURCE_TYPE_APPLICATION, application,
                         fv1::AUTHORIZATION_EXECUTE);
    if (absl::IsPermissionDenied(execute)) {
      return absl::PermissionDeniedError(absl::StrCat(
          "Access denied to application '", application,
          "': the trigger's runAsUser '", run_as, "' lacks EXECUTE"));
    }
    GENNAKER_RETURN_IF_ERROR(execute);
  }
  return absl::OkStatus();
}

std::vector<std::string> AllowedAccounts(fiat::Authorizer& authorizer,
                                         const std::string& user) {
  std::vector<std::string> out;
  if (!authorizer.enabled()) return out;
  absl::StatusOr<std::shared_ptr<const fv1::UserPermission>> permission =
      authorizer.Permission(user);
  if (!permission.ok()) return out;
  const fv1::UserPermission& p = **permission;
  for (const fv1::ResourceView& account : p.accounts()) {
    bool write = p.admin();
    for (int a : account.authorizations()) {
      write = write || a == fv1::AUTHORIZATION_WRITE;
    }
    if (write) out.push_back(account.name());
  }
  return out;
}

absl::StatusOr<std::shared_ptr<const fiat::v1::UserPermission>>
CallerPermission(const Backends& backends) {
  return backends.authorizer->Permission(
      spinnaker::UserOrAnonymous(CurrentCallContext().user));
}

}  // namespace gennaker::gate
