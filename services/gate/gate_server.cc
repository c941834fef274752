#include "services/gate/gate_server.h"

#include "absl/strings/str_cat.h"
#include "common/fiat/authorizer.h"
#include "common/http/http_server.h"
#include "common/log/log.h"
#include "common/service/stores.h"
#include "common/status/status_macros.h"
#include "common/version.h"
#include "re2/re2.h"
#include "services/gate/gate_auth.h"
#include "services/gate/gate_backend.h"
#include "services/gate/gate_grpc.h"
#include "services/gate/gate_rest.h"
#include "services/gate/gate_ui.h"

namespace gennaker::gate {
namespace {

// Pushes a user's login roles to fiat (Spinnaker's PermissionService
// loginWithRoles) and drops the local cache of the user's permissions. With
// authorization off a fiat that cannot be reached does not fail the login.
absl::Status FiatLogin(const Fiat& backend, fiat::Authorizer& authorizer,
                       const Identity& id) {
  if (backend.stub == nullptr) return absl::OkStatus();
  fiat::v1::LoginUserRequest req;
  req.set_user(id.username);
  for (const auto& role : id.roles) req.add_external_roles(role);
  fiat::v1::LoginUserResponse resp;
  grpc::Status s = backend.stub->LoginUser(backend.Context().get(), req, &resp);
  authorizer.Invalidate(id.username);
  if (s.ok()) return absl::OkStatus();
  if (!authorizer.enabled()) {
    SPDLOG_WARN("fiat LoginUser for {}: {} (authorization is off)", id.username,
                s.error_message());
    return absl::OkStatus();
  }
  absl::Status status = FromGrpcStatus(s);
  return absl::Status(
      status.code(),
      absl::StrCat("fiat did not take the login: ", status.message()));
}

void FiatLogout(const Fiat& backend, fiat::Authorizer& authorizer,
                const std::string& user) {
  authorizer.Invalidate(user);
  if (backend.stub == nullptr) return;
  fiat::v1::LogoutUserRequest req;
  req.set_user(user);
  fiat::v1::LogoutUserResponse resp;
  grpc::Status s =
      backend.stub->LogoutUser(backend.Context().get(), req, &resp);
  if (!s.ok()) {
    SPDLOG_WARN("fiat LogoutUser for {}: {}", user, s.error_message());
  }
}

class GateInstance : public ServiceInstance {
 public:
  GateInstance(const v1::GateConfig& config, Metrics* metrics,
               std::unique_ptr<redis::Client> redis,
               std::shared_ptr<const Backends> backends,
               std::shared_ptr<Authenticator> authenticator)
      : redis_(std::move(redis)),
        config_(config),
        metrics_(metrics),
        // One set of backend stubs for the gRPC API and every REST route.
        backends_(std::move(backends)),
        authenticator_(std::move(authenticator)),
        grpc_service_(config.version(), backends_, authenticator_) {}

  std::vector<grpc::Service*> GrpcServices() override {
    return {&grpc_service_};
  }

  absl::Status StartExtra() override {
    http::ServerOptions options;
    options.host = config_.server().host();
    options.port = config_.http_port();
    options.threads = config_.server().http_threads();
    options.max_body_bytes = config_.max_body_bytes();
    options.metrics = metrics_;
    RestOptions rest;
    rest.version = config_.version();
    // Deck served on the UI port calls from its own origin, whatever host
    // the operator's allow-list names.
    rest.cors_allowed_origins = CorsOriginsWithUi(config_);
    rest.authenticator = authenticator_;
    GENNAKER_ASSIGN_OR_RETURN(
        rest_, http::Server::Start(options, MakeRestRouter(backends_, rest)));
    SPDLOG_INFO("REST API on http://{}:{}", options.host, rest_->port());
    if (config_.ui().port() > 0) {
      // No half-started gate: the REST listener goes down with a failed UI.
      if (absl::Status ui = StartUi(); !ui.ok()) {
        rest_->Stop();
        return ui;
      }
    }
    return absl::OkStatus();
  }

  void Stop() override {
    if (ui_) ui_->Stop();
    if (rest_) rest_->Stop();
  }

  absl::Status CheckDependencies() override { return PingRedis(*redis_); }

 private:
  // Deck's static bundle and settings.js on ui.port (GET/HEAD only: a small
  // body limit is enough).
  absl::Status StartUi() {
    http::ServerOptions options;
    options.host = config_.server().host();
    options.port = config_.ui().port();
    options.threads = config_.server().http_threads();
    options.max_body_bytes = 64 << 10;
    options.metrics = metrics_;
    int files = 0;
    GENNAKER_ASSIGN_OR_RETURN(http::Router router,
                              MakeUiRouter(config_, &files));
    GENNAKER_ASSIGN_OR_RETURN(ui_,
                              http::Server::Start(options, std::move(router)));
    SPDLOG_INFO(
        "event=gate_ui_listening host={} port={} dir={} files={} gate_url={}",
        options.host, ui_->port(), config_.ui().dir(), files,
        UiGateUrl(config_));
    return absl::OkStatus();
  }

  // Declared first: the authenticator's session store uses it.
  std::unique_ptr<redis::Client> redis_;
  v1::GateConfig config_;
  Metrics* metrics_;
  std::shared_ptr<const Backends> backends_;
  std::shared_ptr<Authenticator> authenticator_;
  GateGrpcService grpc_service_;
  std::unique_ptr<http::Server> rest_;
  std::unique_ptr<http::Server> ui_;
};

}  // namespace

void ApplyGateDefaults(v1::GateConfig* config) {
  config->set_http_port(kDefaultHttpPort);
  config->set_max_body_bytes(kDefaultMaxBodyBytes);
  config->set_cors_allowed_origins(kDefaultCorsAllowedOrigins);
  v1::GateSecurityConfig* security = config->mutable_security();
  security->set_session_idle_timeout_seconds(kDefaultSessionIdleSeconds);
  security->set_session_absolute_timeout_seconds(
      kDefaultSessionAbsoluteSeconds);
  security->set_session_cookie_name(kDefaultSessionCookieName);
  security->set_login_failures_before_delay(kDefaultLoginFailuresBeforeDelay);
  security->set_login_max_delay_seconds(kDefaultLoginMaxDelaySeconds);
  security->set_credential_cache_seconds(kDefaultCredentialCacheSeconds);
}

absl::Status ValidateConfig(const v1::GateConfig& config) {
  int port = config.http_port();
  if (port <= 0 || port > 65535) {
    return absl::InvalidArgumentError("httpPort: must be in 1..65535");
  }
  if (port == config.server().grpc_port() ||
      port == config.server().admin_port()) {
    return absl::InvalidArgumentError(
        "httpPort: must differ from server.grpcPort/adminPort");
  }
  if (!RE2(config.cors_allowed_origins(), RE2::Quiet).ok()) {
    return absl::InvalidArgumentError("corsAllowedOrigins: invalid regex");
  }
  if (config.max_body_bytes() < 1024) {
    return absl::InvalidArgumentError("maxBodyBytes: must be at least 1024");
  }
  if (config.authorization().enabled() &&
      config.services().fiat().address().empty()) {
    return absl::InvalidArgumentError(
        "authorization.enabled: needs services.fiat.address (fiat decides "
        "what callers may do)");
  }
  const v1::GateSecurityConfig& security = config.security();
  if (security.enabled()) {
    if (security.users_file().empty() && security.ldap().url().empty()) {
      return absl::InvalidArgumentError(
          "security.enabled: needs security.usersFile or security.ldap.url "
          "(where users log in)");
    }
    if (security.session_idle_timeout_seconds() <= 0 &&
        security.session_absolute_timeout_seconds() <= 0) {
      return absl::InvalidArgumentError(
          "security.sessionIdleTimeoutSeconds: at least one of it and "
          "sessionAbsoluteTimeoutSeconds must be positive");
    }
  }
  GENNAKER_RETURN_IF_ERROR(ValidateUiConfig(config));
  // A body gate accepts must reach storage, not fail one hop behind it.
  return CheckBodyFitsBackends(config.max_body_bytes(), config.services());
}

absl::StatusOr<std::unique_ptr<ServiceInstance>> BuildGate(
    const v1::GateConfig& config, Metrics* metrics) {
  v1::GateConfig effective = config;
  if (effective.version().empty()) effective.set_version(kVersion);
  GENNAKER_ASSIGN_OR_RETURN(std::unique_ptr<redis::Client> redis,
                            ConnectRedis(config.redis()));
  Backends backends = ConnectBackends(effective.services());
  if (effective.authorization().enabled()) {
    backends.authorizer = std::make_shared<fiat::Authorizer>(
        fiat::MakeGrpcPermissionSource(backends.fiat.stub,
                                       backends.fiat.deadline),
        effective.authorization());
  }
  const Fiat fiat_backend = backends.fiat;
  const std::shared_ptr<fiat::Authorizer> authorizer = backends.authorizer;
  GENNAKER_ASSIGN_OR_RETURN(
      std::unique_ptr<Authenticator> authenticator,
      Authenticator::Create(
          effective.security(), MakeRedisSessionStore(redis.get()),
          [fiat_backend, authorizer](const Identity& id) {
            return FiatLogin(fiat_backend, *authorizer, id);
          },
          [fiat_backend, authorizer](const std::string& user) {
            FiatLogout(fiat_backend, *authorizer, user);
          }));
  if (authenticator->enabled()) {
    SPDLOG_INFO(
        "security on: users from {}{}{}",
        effective.security().users_file().empty() ? "" : "the users file",
        !effective.security().users_file().empty() &&
                !effective.security().ldap().url().empty()
            ? " and "
            : "",
        effective.security().ldap().url().empty() ? "" : "LDAP");
  }
  return std::make_unique<GateInstance>(
      effective, metrics, std::move(redis),
      std::make_shared<const Backends>(std::move(backends)),
      // Null when security is off: the REST and gRPC APIs then act as
      // before authentication existed.
      authenticator->enabled()
          ? std::shared_ptr<Authenticator>(std::move(authenticator))
          : nullptr);
}

}  // namespace gennaker::gate
