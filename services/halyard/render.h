// Turns the halconfig into each service's own config file (YAML of
// gennaker.<svc>.v1.<Svc>Config), so every rendered file is valid by
// construction and services never read the halconfig.
#ifndef GENNAKER_SERVICES_HALYARD_RENDER_H_
#define GENNAKER_SERVICES_HALYARD_RENDER_H_

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "gennaker/halyard/v1/halconfig.pb.h"

namespace google::protobuf {
class Message;
}

namespace gennaker::halyard {

// Where the services find their stores.
struct StorageEndpoints {
  std::string postgres_dsn;
  std::string redis_url;
};

// An empty config message of `service` (e.g. gennaker.orca.v1.OrcaConfig).
std::unique_ptr<google::protobuf::Message> NewServiceConfig(
    absl::string_view service);

// service name -> rendered YAML, for every enabled service, from `config` with
// its implied defaults applied (EffectiveHalconfig). Each service's
// `services.<dep>.address` (and clouddriver's top-level `fiat.address`) names
// every enabled dependency (gate and orca reach
// echo and igor; echo reaches orca, front50 and igor; igor reaches echo). igor
// gets the `ci` section (Travis masters named as TravisMasterName says;
// ci.allowLoopback opens its outbound policy to loopback), echo the
// `notifications` section, triggers.gitSharedSecret and the deployment's
// `timezone` for cron triggers (notifications.allowLoopback opens its outbound
// policy to loopback). `security`: authn becomes gate's `security` (login by
// users file and/or LDAP), authz turns `authorization.enabled` on in every
// service that has it (gate, orca, clouddriver) and gives fiat its roles
// provider (roles file or authn's users file; authz's LDAP or authn's) and
// admin roles; fiat's http_port is ServiceHttpPort's. `ui` (when enabled)
// becomes gate's `ui` block: its port, the bundle directory (UiBundleDir),
// gateUrl, canary screens on when kayenta is enabled, and the deployment's
// name. `bakery` becomes rosco's settings (packerConfigDir always, with the
// other directories as EffectiveHalconfig decides them), and every local
// account of clouddriver gets the bakery's image store unless it names its
// own; rosco reaches clouddriver and redis, orca and gate reach rosco, as
// every `services.<dep>` above. Rendered files hold
// secrets in clear: the deployer
// writes them privately.
absl::StatusOr<std::map<std::string, std::string>> RenderServiceConfigs(
    const v1::Halconfig& config, const StorageEndpoints& storage,
    const std::string& halconfig_path);

}  // namespace gennaker::halyard

#endif  // GENNAKER_SERVICES_HALYARD_RENDER_H_
