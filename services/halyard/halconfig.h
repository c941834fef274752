// The halconfig: defaults, loading, validation and atomic saving of the
// operator's YAML (proto gennaker.halyard.v1.Halconfig). Invalid files are
// never written: every edit is validated first, then written to a temporary
// file and renamed over the old one.
#ifndef GENNAKER_SERVICES_HALYARD_HALCONFIG_H_
#define GENNAKER_SERVICES_HALYARD_HALCONFIG_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gennaker/halyard/v1/halconfig.pb.h"
#include "gennaker/halyard/v1/halyard.pb.h"

namespace gennaker::halyard {

// ~/.hal/config
std::string DefaultHalconfigPath();

// A complete default config: local managed storage, Spinnaker's default ports.
v1::Halconfig DefaultHalconfig();

// The settings of `service` ("orca", ...) inside `config`.
const v1::ServiceSettings& Settings(const v1::Halconfig& config,
                                    absl::string_view service);
bool Enabled(const v1::Halconfig& config, absl::string_view service);

// Defaults merged with the YAML at `path`. NotFound when the file does not
// exist.
absl::StatusOr<v1::Halconfig> LoadHalconfig(const std::string& path);

// Defaults merged with YAML text (`source` names it in errors).
absl::StatusOr<v1::Halconfig> ParseHalconfig(const std::string& yaml,
                                             const std::string& source);

// `config` as the deployment runs it, with the defaults that an operator's
// file leaves implied made explicit: each service's log level (the
// deployment's when unset), the local provider (enabled, with one "local"
// test account when none is listed), the Prometheus kayenta reads (its
// account name, the managed server's port and scrape interval) and, while
// kayenta is enabled, each local account's Prometheus file_sd file
// (<account dir>/prometheus-targets.json unless set), and the binary directory
// (next to the running halyard when unset; "~/" expanded), the UI
// (ui.enabled explicit, ui.bundleDir as UiBundleDir says), "~/" expanded
// in the security section's file paths (users and roles files, LDAP CA
// files), and the bakery's directories made absolute with their defaults
// (packerConfigDir <binDir>/../share/rosco/packer, imageStoreDir
// <stateDir>/data/images, packageRepositoryDir <stateDir>/data/packages,
// workDir <stateDir>/data/rosco/work, packerBinary "packer") and every local
// account's imageStoreDir (the bakery's unless set). The one place these
// are decided; rendering and deploying apply it, saving never does (the file
// keeps inheriting). Applying it twice changes nothing.
v1::Halconfig EffectiveHalconfig(const v1::Halconfig& config);

// Whether halyard runs a Prometheus for `config`: kayenta is enabled and
// canary.prometheus names no server of the operator's (no baseUrl).
bool ManagedPrometheus(const v1::Halconfig& config);

// The managed Prometheus's loopback port: canary.prometheus.port, or when
// unset kDefaultPrometheusPort, or the first port above it that no service or
// managed store of `config` uses.
inline constexpr int kDefaultPrometheusPort = 9090;
int ManagedPrometheusPort(const v1::Halconfig& config);

// The URL kayenta reads metrics from: canary.prometheus.baseUrl without a
// trailing '/', or http://127.0.0.1:<ManagedPrometheusPort> when managed.
std::string PrometheusBaseUrl(const v1::Halconfig& config);

// Where a local account keeps its state: its stateDir, or
// <stateDir>/data/clouddriver/local/<name> (as clouddriver decides it).
std::string LocalAccountDir(const v1::Halconfig& config,
                            const clouddriver::v1::LocalAccount& account);

// The REST port `service` listens on as rendered: gate's httpPort; kayenta's
// httpPort, or 8091 beside its default gRPC port (0, off, beside any other);
// fiat's httpPort, or its gRPC port + 1 (7004 by default: fiat's gRPC API
// has Spinnaker's 7003); 0 for the others.
int ServiceHttpPort(const v1::Halconfig& config, absl::string_view service);

// The name igor serves a Travis master under: its name with the "travis-"
// prefix Deck lists Travis masters by (added when missing).
std::string TravisMasterName(const v1::HalTravisMaster& master);

// Deck's port by default (Spinnaker's).
inline constexpr int kDefaultUiPort = 9000;

// Whether gate serves the UI: ui.enabled, true when unset.
bool UiEnabled(const v1::Halconfig& config);

// The UI bundle directory as gate gets it: ui.bundleDir ("~/" expanded), or
// <binDir>/../ui/deck (build/ui/deck next to build/bin, where
// scripts/build.sh builds it).
std::string UiBundleDir(const v1::Halconfig& config);

// With the UI enabled, its bundle must be built: INVALID_ARGUMENT naming
// ui.bundleDir (and scripts/build-ui.sh) when the directory has no
// index.html. Checked by `deploy apply`, not by Validate: editing the
// config must not need a built UI.
absl::Status CheckUiBundle(const v1::Halconfig& config);

// packer as rosco runs it when bakery.packerBinary is unset (from PATH).
inline constexpr char kDefaultPackerBinary[] = "packer";

// With rosco enabled, its packer templates must be there: INVALID_ARGUMENT
// naming bakery.packerConfigDir when the effective directory is not one, or
// naming each bakery.providers template file (the provider's and its base
// images') that is not in it.
// Checked by `deploy apply` (as CheckUiBundle), not by Validate: editing the
// config must not need a build.
absl::Status CheckBakery(const v1::Halconfig& config);

// Defaults of a Kubernetes deployment (deploymentEnvironment).
inline constexpr char kDefaultKubernetesNamespace[] = "gennaker";
inline constexpr char kDefaultImageRepository[] = "gennaker";
inline constexpr char kDefaultImagePullPolicy[] = "IfNotPresent";
inline constexpr char kDefaultPostgresImage[] = "docker.io/library/postgres:15";
inline constexpr char kDefaultRedisImage[] = "docker.io/library/redis:7";
inline constexpr int kDefaultRolloutTimeoutSeconds = 300;
inline constexpr char kDefaultGateServiceType[] = "ClusterIP";
// Per-service container resources. bench/README.md (startup_bench) measured
// 21-24 MiB RSS per idle service (about 5 MiB of it private): 64Mi reserves
// that with room for pools and caches under load; 50m CPU is an idle service
// with headroom (each starts in 25-50 ms); the 512Mi limit stops a runaway
// service long before it hurts its node. No CPU limit: throttling a gRPC
// server only adds latency.
inline constexpr char kDefaultCpuRequest[] = "50m";
inline constexpr char kDefaultMemoryRequest[] = "64Mi";
inline constexpr char kDefaultMemoryLimit[] = "512Mi";

// Whether deploymentEnvironment.type is KUBERNETES.
bool KubernetesDeployment(const v1::Halconfig& config);

// The deploymentEnvironment section with every default made explicit: type
// LOCAL when unset, namespace, image repository, imageTag (the config's
// version), pull policy, store images, rollout timeout, gate's Service type,
// and for each of the nine deployed services (all but halyard) its replicas
// (1) and resources (the kDefault* above, no CPU limit unless set).
v1::HalDeploymentEnvironment EffectiveDeploymentEnvironment(
    const v1::Halconfig& config);

// customSizing.<service> of `environment` ("orca", ...); the empty sizing for
// halyard, which is not deployed in the cluster.
const v1::HalServiceSizing& ServiceSizing(
    const v1::HalDeploymentEnvironment& environment, absl::string_view service);

// Everything wrong with `config`, each with its dotted key (empty when valid):
// also the CI section (names unique across Jenkins and Travis masters, no
// Jenkins name starting with "travis-", igor enabled when anything is listed,
// addresses http(s) URLs without credentials, credentials in pairs, git
// sources and URLs, the polling interval) and the enabled notification
// channels' required settings (echo enabled when a channel is), and the
// security section: authn needs a users file (an absolute path to a valid
// users file) or an LDAP URL; authz needs fiat and a roles provider with its
// source (a roles file, the authn users file, or an LDAP URL); and the UI:
// with ui.enabled, ui.port is a free port and ui.gateUrl (optional) an
// http(s) URL; and the bakery: absolute directories, packerBinary a name or
// absolute path, maxConcurrentBakes 0..64, bakeTimeoutSeconds 0..86400,
// providers unique with plain template file names, base images with unique
// ids and a template (their own or the provider's), defaultCloudProvider one
// of the providers when any are listed; and deploymentEnvironment: the
// namespace a DNS-1123 label, image repository and tag and the store images
// valid image references, the pull policy and gate's Service type known
// values, replicas 1..20, resources valid Kubernetes quantities with each
// request at most its limit, rolloutTimeoutSeconds 10..3600; under KUBERNETES
// also external storage whose DSN or URL names a loopback host (or none, a
// local socket), which no pod can reach, and every setting that names a file
// or directory on this machine, which no pod has (security.authn.usersFile,
// security.authz.rolesFile, the LDAP caCertFiles, file:// and path
// ci.git[].url, the bakery's directories and an absolute packerBinary,
// ui.bundleDir, the local accounts' stateDir, imageStoreDir and
// prometheusFileSdPath). Service hosts are ignored under KUBERNETES (each pod
// binds 0.0.0.0).
std::vector<v1::ValidationProblem> Validate(const v1::Halconfig& config);

// Validate() as one status listing every problem.
absl::Status ValidateStatus(const v1::Halconfig& config);

// Validates, then writes `config` to `path` atomically (creating parent
// directories).
absl::Status SaveHalconfig(const std::string& path,
                           const v1::Halconfig& config);

// `config` safe to show: the passwords of an external PostgreSQL DSN, Redis
// URL and Prometheus (canary.prometheus.password), the CI passwords and
// tokens (ci.jenkins[].password, ci.travis[].token,
// ci.dockerRegistries[].password, credentials in ci.git[].url), the
// notification secrets (slack.token, email.password, twilio.token) and
// triggers.gitSharedSecret and the LDAP manager passwords
// (security.authn.ldap.managerPassword, security.authz.ldap.managerPassword)
// replaced by "***" (as in logs).
v1::Halconfig RedactedHalconfig(const v1::Halconfig& config);

// Expands a leading "~/" to $HOME.
std::string ExpandHome(const std::string& path);

}  // namespace gennaker::halyard

#endif  // GENNAKER_SERVICES_HALYARD_HALCONFIG_H_
