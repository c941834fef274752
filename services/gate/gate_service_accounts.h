// gate's service-account routes: the accounts a trigger may run as (Deck's
// "Run As User" list) and their administration, over front50's store and
// fiat's permission sets.
//
// Contract:
// - GET /auth/user/serviceAccounts[?application=X] (any logged-in caller):
//   a JSON array of the names of the service accounts the caller may use,
//   from the caller's fiat permission set, sorted and distinct; with X, only
//   those whose own permission set holds EXECUTE on application X. With
//   authorization off: every service account front50 has (X ignored). An
//   invalid application name is 400; fiat unreachable 503.
// - GET /serviceAccounts: front50's accounts as [{name, memberOf}], sorted
//   by name.
// - POST /serviceAccounts {"name": n, "memberOf": [roles]}: n is 1 to 255
//   printable ASCII characters without white space; memberOf (optional) a
//   list of non-empty strings, stored lower-cased without duplicates. A bad
//   body is 400 and nothing is stored. front50 stores the account (replacing
//   one of that name), then fiat re-resolves it (SyncServiceAccount, when
//   gate has fiat); the answer is 200 with the stored {name, memberOf}, plus
//   "fiatSyncError" when that sync failed (logged; the save stands).
// - DELETE /serviceAccounts/{name}: front50 deletes it (404 when unknown),
//   then fiat re-syncs roles (best effort, as above); 200 {name, deleted,
//   and "fiatSyncError" when the sync failed}.
// - The three /serviceAccounts routes need an admin (RoutePolicy kAdmin);
//   with authorization off any logged-in caller may use them. After a change
//   the caller's cached permission set is dropped, so their next list shows
//   it.
// - Backend errors answer as gate's ErrorResponse maps them.
#ifndef GENNAKER_SERVICES_GATE_GATE_SERVICE_ACCOUNTS_H_
#define GENNAKER_SERVICES_GATE_GATE_SERVICE_ACCOUNTS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/spinnaker/json.h"
#include "services/gate/gate_backend.h"

namespace gennaker::gate {

// Registers the routes above; handlers call `backends->front50`,
// `backends->fiat` and `backends->authorizer`.
void AddServiceAccountRoutes(std::shared_ptr<const Backends> backends,
                             const AddRoute& add);

// A POST /serviceAccounts body checked and normalized (memberOf lower-cased,
// duplicates dropped, order kept); INVALID_ARGUMENT naming what is wrong.
struct ServiceAccountInput {
  std::string name;
  std::vector<std::string> member_of;
};
absl::StatusOr<ServiceAccountInput> ParseServiceAccount(
    const spinnaker::Json& body);

}  // namespace gennaker::gate

#endif  // GENNAKER_SERVICES_GATE_GATE_SERVICE_ACCOUNTS_H_
