// Authorization at gate: what each REST route needs of the caller, in one
// table, and the checks against fiat (common/fiat/authorizer.h).
//
// Every route gate registers has a policy, looked up by method and pattern
// when the route is added (a route without one fails gate's start-up and its
// unit test):
//   kOpen          no login needed (/health, /auth/user, webhooks, ...);
//   kAuthenticated any logged-in user (lists that are filtered per user in
//                  their handlers, /version, ...);
//   kApplication   an authorization on the application named by the {app}
//                  path segment, or by a JSON body field ("application"), or
//                  found from the request by a resolver (an execution id);
//   kAdmin         an admin only.
// Besides the table, saving a pipeline checks each trigger's runAsUser: the
// saving user must hold that service account, and the service account must
// have EXECUTE on the pipeline's application (Spinnaker front50's rule). A
// denial is 403 with Spinnaker's error body naming what was missing; fiat
// unreachable is 503.
#ifndef GENNAKER_SERVICES_GATE_GATE_AUTHZ_H_
#define GENNAKER_SERVICES_GATE_GATE_AUTHZ_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/fiat/authorizer.h"
#include "common/http/http.h"
#include "services/gate/gate_backend.h"

namespace gennaker::gate {

struct RoutePolicy {
  enum class Kind { kOpen, kAuthenticated, kApplication, kAdmin };
  Kind kind = Kind::kAuthenticated;
  // kApplication: what is needed.
  fiat::v1::Authorization authorization = fiat::v1::AUTHORIZATION_UNSPECIFIED;
  // kApplication: where the application's name is (the first that is set):
  // a path parameter, a top-level field of the JSON body, or a resolver that
  // finds it (e.g. from an execution id through orca).
  std::string app_param;
  std::string app_body_field;
  std::function<absl::StatusOr<std::string>(const Backends&,
                                            const http::Request&)>
      app_resolver;
  // POST /pipelines and PUT /pipelines/{id}: also check runAsUser of the
  // body's triggers.
  bool check_run_as_users = false;
  // POST /tasks: the application is the path's {app}, else the body's
  // "application", else the first job's; then per job: createApplication of
  // an application front50 does not know needs fiat's AuthorizeCreate,
  // createApplication of a known one, updateApplication and
  // deleteApplication need WRITE, any other job EXECUTE; a job naming an
  // account ("credentials" or "account") needs WRITE on that account.
  // `authorization` and the app fields above are not used.
  bool check_task_jobs = false;
  // Any kind but kOpen: also READ on the account named by this path
  // parameter (infrastructure routes under /{account}/...).
  std::string account_param;
};

// The policy of the route `method` `pattern`; nullopt for a route the table
// does not know (gate refuses to start).
std::optional<RoutePolicy> PolicyFor(absl::string_view method,
                                     absl::string_view pattern);

// OK when `user` may call the route under `policy`; PERMISSION_DENIED with
// the reason; UNAVAILABLE when fiat cannot answer; INVALID_ARGUMENT when the
// application cannot be found in the request (a missing body field);
// NOT_FOUND when a resolver's execution does not exist. Authentication is
// the caller's business (401 for a non-open route without an identity):
// here "anonymous" is fiat's unrestricted user. A disabled authorizer allows
// everything without calling any backend.
absl::Status AuthorizeRoute(const RoutePolicy& policy, const Backends& backends,
                            const std::string& user,
                            const http::Request& request);

// The runAsUser rule for a pipeline config (JSON object) saved by `user`.
absl::Status CheckRunAsUsers(fiat::Authorizer& authorizer,
                             const std::string& user,
                             const spinnaker::Json& pipeline);

// The accounts `user` may WRITE (Spinnaker's X-SPINNAKER-ACCOUNTS and
// /auth/user allowedAccounts; an admin: every account fiat lists), in fiat's
// order; none when authorization is off or fiat cannot answer.
std::vector<std::string> AllowedAccounts(fiat::Authorizer& authorizer,
                                         const std::string& user);

// The permission set of the caller (CurrentCallContext().user, anonymous when
// empty), for filtering lists with fiat::Allows: an admin set when
// authorization is off (everything passes); UNAVAILABLE when fiat cannot
// answer.
absl::StatusOr<std::shared_ptr<const fiat::v1::UserPermission>>
CallerPermission(const Backends& backends);

}  // namespace gennaker::gate

#endif  // GENNAKER_SERVICES_GATE_GATE_AUTHZ_H_
