// Deck, Spinnaker's UI, served by gate on its own listener (GateConfig.ui), as
// Spinnaker serves Deck on port 9000.
//
// Contract of the UI router (MakeUiRouter):
// - GET/HEAD only; any other method answers 405 with `Allow: GET, HEAD`.
// - GET /health answers {"status":"UP"}.
// - GET /settings.js is generated from the config, never read from ui.dir:
//   exactly `window.gennakerSettings = {...};` with gateUrl, authEnabled,
//   fiatEnabled, canaryEnabled and deploymentName (UiSettingsJs).
// - Any other path is a file under ui.dir ("/" is index.html), with its
//   Content-Type from the extension. A path with a "." or ".." segment, a NUL
//   byte, or one that resolves (symlinks followed) outside the real path of
//   ui.dir answers 400 or 404, never a file outside the bundle; a missing
//   file or a directory answers 404 with Spinnaker's JSON error body.
// - Every file answer carries `Cache-Control: no-cache`, an ETag and
//   Last-Modified, and a matching If-None-Match answers 304: the bundle's
//   file names (app.js, app.css) carry no content hash, so the browser must
//   revalidate to see a rebuilt bundle; on loopback the revalidation is a
//   cheap 304.
// - Files are read when first asked for and kept in memory while their size
//   and modification time stay the same (a rebuilt bundle is served at once,
//   without restarting gate).
#ifndef GENNAKER_SERVICES_GATE_GATE_UI_H_
#define GENNAKER_SERVICES_GATE_GATE_UI_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/http/http.h"
#include "gennaker/gate/v1/config.pb.h"

namespace gennaker::gate {

// Deck's name for the deployment when ui.deployment_name is empty.
inline constexpr char kDefaultUiDeploymentName[] = "gennaker";

// ui.port, when set, must be a port other than gate's others and ui.dir a
// directory holding index.html; ui.gate_url, when set, an http(s) URL. Errors
// name the key (ui.port, ui.dir, ui.gateUrl).
absl::Status ValidateUiConfig(const v1::GateConfig& config);

// gate's REST URL as the browser reaches it: ui.gate_url without a trailing
// '/', or http://<server.host>:<http_port> (127.0.0.1 for an empty host or
// 0.0.0.0, which a browser cannot call).
std::string UiGateUrl(const v1::GateConfig& config);

// The body of GET /settings.js.
std::string UiSettingsJs(const v1::GateConfig& config);

// Content-Type of a file by its extension (application/octet-stream when
// unknown).
std::string UiContentType(absl::string_view path);

// The CORS allow-list gate's REST API uses: cors_allowed_origins, plus (with
// the UI on) the UI's own origins, http://<host>:<ui.port> for the host of
// UiGateUrl and for server.host, so that a Deck served on a host name the
// default list does not know can call gate.
std::string CorsOriginsWithUi(const v1::GateConfig& config);

// The UI routes serving `config.ui().dir()`; FAILED_PRECONDITION when the
// directory cannot be resolved. Counts the bundle's files into
// `*file_count` when given.
absl::StatusOr<http::Router> MakeUiRouter(const v1::GateConfig& config,
                                          int* file_count = nullptr);

}  // namespace gennaker::gate

#endif  // GENNAKER_SERVICES_GATE_GATE_UI_H_
