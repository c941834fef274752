// Fiat's REST API, Spinnaker fiat-web compatible (AuthorizeController,
// RolesController), on FiatCore:
//   GET    /authorize                         every user's view (405 unless
//                                             getAllEnabled)
//   GET    /authorize/{user}                  UserPermission.View
//   GET    /authorize/{user}/{accounts|applications|buildServices|roles|
//          serviceAccounts[?expand=true]}     one list of the view
//   GET    /authorize/{user}/{accounts|applications|buildServices|
//          serviceAccounts}/{name}            one entry (404 when absent)
//   GET    /authorize/{user}/{type}/{name}/{authorization}
//                                             200 granted / 404 not (account
//                                             and application only, else 400)
//   POST   /authorize/{user}/{type}/create    body = the resource; 200 / 404
//   POST   /roles/sync                        body = optional role array;
//                                             the count (503 when 0)
//   POST   /roles/sync/serviceAccount/{id}    body = optional memberOf array
//   POST   /roles/{user}                      login with provider roles
//   PUT    /roles/{user}                      body = external role array
//   DELETE /roles/{user}                      logout
//   GET    /health                            {"status":"UP"}
// Errors carry Spinnaker's JSON error body.
#ifndef GENNAKER_SERVICES_FIAT_FIAT_REST_H_
#define GENNAKER_SERVICES_FIAT_FIAT_REST_H_

#include "common/http/http.h"
#include "common/spinnaker/json.h"
#include "gennaker/fiat/v1/fiat.pb.h"

namespace gennaker::fiat {

class FiatCore;

// Spinnaker's UserPermission.View JSON of `permission`.
spinnaker::Json PermissionViewJson(const v1::UserPermission& permission);

// The routes above; `core` outlives the router.
http::Router MakeFiatRouter(FiatCore* core);

}  // namespace gennaker::fiat

#endif  // GENNAKER_SERVICES_FIAT_FIAT_REST_H_
