#include "services/halyard/render.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/config/config_loader.h"
#include "common/service/defaults.h"
#include "common/status/status_macros.h"
#include "gennaker/clouddriver/v1/config.pb.h"
#include "gennaker/common/v1/config.pb.h"
#include "gennaker/echo/v1/config.pb.h"
#include "gennaker/fiat/v1/config.pb.h"
#include "gennaker/front50/v1/config.pb.h"
#include "gennaker/gate/v1/config.pb.h"
#include "gennaker/halyard/v1/config.pb.h"
#include "gennaker/igor/v1/config.pb.h"
#include "gennaker/kayenta/v1/config.pb.h"
#include "gennaker/orca/v1/config.pb.h"
#include "gennaker/rosco/v1/config.pb.h"
#include "services/halyard/halconfig.h"

namespace gennaker::halyard {
namespace {

bool HasField(const google::protobuf::Message& m, absl::string_view name) {
  return m.GetDescriptor()->FindFieldByName(std::string(name)) != nullptr;
}

// The port of a libpq DSN, key/value ("host=h port=5433 ...") or URI
// ("postgresql://u:p@h:5433/db"); 5432 when it names none; 0 when unreadable.
int PostgresPort(absl::string_view dsn) {
  int port = 0;
  if (absl::StartsWith(dsn, "postgres://") ||
      absl::StartsWith(dsn, "postgresql://")) {
    absl::string_view rest = dsn.substr(dsn.find("://") + 3);
    rest = rest.substr(0, rest.find_first_of("/?"));
    if (size_t at = rest.rfind('@'); at != absl::string_view::npos) {
      rest.remove_prefix(at + 1);
    }
    size_t colon = rest.rfind(':');
    if (colon == absl::string_view::npos || rest.back() == ']') return 5432;
    return absl::SimpleAtoi(rest.substr(colon + 1), &port) ? port : 0;
  }
  for (absl::string_view field : absl::StrSplit(dsn, ' ', absl::SkipEmpty())) {
    if (absl::ConsumePrefix(&field, "port=")) {
      return absl::SimpleAtoi(field, &port) ? port : 0;
    }
  }
  return 5432;
}

// The port of a redis:// URL; 6379 when it names none; 0 when unreadable.
int RedisPort(absl::string_view url) {
  int port = 0;
  if (!absl::ConsumePrefix(&url, "redis://") &&
      !absl::ConsumePrefix(&url, "rediss://")) {
    return 0;
  }
  url = url.substr(0, url.find_first_of("/?"));
  if (size_t at = url.rfind('@'); at != absl::string_view::npos) {
    url.remove_prefix(at + 1);
  }
  size_t colon = url.rfind(':');
  if (colon == absl::string_view::npos || url.back() == ']') return 6379;
  return absl::SimpleAtoi(url.substr(colon + 1), &port) ? port : 0;
}

// Every port the deployment itself listens on or connects to for its stores:
// a service's outbound calls must never reach them, whatever they are set to.
std::set<int> DeploymentPorts(const v1::Halconfig& effective,
                              const StorageEndpoints& storage) {
  std::set<int> ports;
  auto add = [&ports](int port) {
    if (port > 0 && port <= 65535) ports.insert(port);
  };
  for (absl::string_view name : kServiceNames) {
    if (!Enabled(effective, name)) continue;
    const v1::ServiceSettings& s = Settings(effective, name);
    add(s.grpc_port());
    add(s.admin_port());
    add(ServiceHttpPort(effective, name));
  }
  if (ManagedPrometheus(effective)) add(ManagedPrometheusPort(effective));
  if (UiEnabled(effective)) add(effective.ui().port());
  if (effective.storage().mode() != v1::STORAGE_MODE_EXTERNAL) {
    add(effective.storage().postgres().port());
    add(effective.storage().redis().port());
  }
  add(PostgresPort(storage.postgres_dsn));
  add(RedisPort(storage.redis_url));
  return ports;
}

// ci -> igor's masters, registries, repositories, polling and whether its
// calls may reach loopback.
void RenderCi(const v1::HalCi& ci, igor::v1::IgorConfig* out) {
  for (const v1::HalJenkinsMaster& m : ci.jenkins()) {
    igor::v1::JenkinsMaster* j = out->add_jenkins();
    j->set_name(m.name());
    j->set_address(m.address());
    j->set_username(m.username());
    j->set_password(m.password());
    j->set_csrf(m.csrf());
    *j->mutable_read_roles() = m.read_roles();
    *j->mutable_write_roles() = m.write_roles();
  }
  for (const v1::HalTravisMaster& m : ci.travis()) {
    igor::v1::TravisMaster* t = out->add_travis();
    t->set_name(TravisMasterName(m));
    t->set_address(m.address());
    t->set_base_url(m.base_url());
    t->set_token(m.token());
    *t->mutable_repositories() = m.repositories();
  }
  for (const v1::HalDockerRegistry& r : ci.docker_registries()) {
    igor::v1::DockerRegistryAccount* d = out->add_docker_registries();
    d->set_name(r.name());
    d->set_address(r.address());
    d->set_username(r.username());
    d->set_password(r.password());
    *d->mutable_repositories() = r.repositories();
    d->set_track_digests(r.track_digests());
  }
  for (const v1::HalGitRepository& g : ci.git()) {
    igor::v1::GitRepository* r = out->add_git();
    r->set_source(g.source());
    r->set_project(g.project());
    r->set_slug(g.slug());
    r->set_url(g.url());
    *r->mutable_branches() = g.branches();
  }
  if (ci.polling().interval_seconds() > 0) {
    out->mutable_polling()->set_interval_seconds(
        ci.polling().interval_seconds());
  }
  // Only when the operator says so (services.igor.outbound may say so too).
  if (ci.allow_loopback()) out->mutable_outbound()->set_allow_loopback(true);
}

// notifications, triggers and the deployment's time zone -> echo.
void RenderEcho(const v1::Halconfig& effective, echo::v1::EchoConfig* out) {
  const v1::HalNotifications& n = effective.notifications();
  echo::v1::NotificationsConfig* nc = out->mutable_notifications();
  const v1::HalSlack& slack = n.slack();
  nc->mutable_slack()->set_enabled(slack.enabled());
  nc->mutable_slack()->set_token(slack.token());
  nc->mutable_slack()->set_base_url(slack.base_url());
  nc->mutable_slack()->set_webhook_base_url(slack.webhook_base_url());
  nc->mutable_slack()->set_force_use_incoming_webhook(
      slack.force_use_incoming_webhook());
  nc->mutable_slack()->set_bot_name(slack.bot_name());
  const v1::HalEmail& email = n.email();
  nc->mutable_email()->set_enabled(email.enabled());
  nc->mutable_email()->set_from(email.from());
  nc->mutable_email()->set_smtp_host(email.smtp_host());
  nc->mutable_email()->set_smtp_port(email.smtp_port());
  nc->mutable_email()->set_username(email.username());
  nc->mutable_email()->set_password(email.password());
  nc->mutable_email()->set_starttls(email.starttls());
  const v1::HalTwilio& twilio = n.twilio();
  nc->mutable_twilio()->set_enabled(twilio.enabled());
  nc->mutable_twilio()->set_account(twilio.account());
  nc->mutable_twilio()->set_token(twilio.token());
  nc->mutable_twilio()->set_from(twilio.from());
  nc->mutable_twilio()->set_base_url(twilio.base_url());
  nc->set_webhook_enabled(n.webhook().enabled());
  nc->set_spinnaker_base_url(n.spinnaker_base_url());
  if (!effective.triggers().git_shared_secret().empty()) {
    out->mutable_events()->set_git_shared_secret(
        effective.triggers().git_shared_secret());
  }
  if (!effective.timezone().empty()) {
    out->mutable_scheduler()->set_time_zone(effective.timezone());
  }
  if (n.allow_loopback()) out->mutable_outbound()->set_allow_loopback(true);
}

// security.authn -> gate's login settings (nothing when authn is off).
void RenderGateSecurity(const v1::HalAuthn& authn, gate::v1::GateConfig* out) {
  if (!authn.enabled()) return;
  gate::v1::GateSecurityConfig* security = out->mutable_security();
  security->set_enabled(true);
  security->set_users_file(authn.users_file());
  if (!authn.ldap().url().empty()) *security->mutable_ldap() = authn.ldap();
  if (authn.session_idle_timeout_seconds() > 0) {
    security->set_session_idle_timeout_seconds(
        authn.session_idle_timeout_seconds());
  }
  *security->mutable_trusted_user_header_sources() =
      authn.trusted_user_header_sources();
}

// ui -> gate's UI listener (nothing when the UI is off). Deck's canary
// screens follow kayenta; an empty gateUrl lets gate name its own REST URL.
void RenderGateUi(const v1::Halconfig& effective, gate::v1::GateConfig* out) {
  if (!UiEnabled(effective)) return;
  gate::v1::GateUiConfig* ui = out->mutable_ui();
  ui->set_port(effective.ui().port());
  ui->set_dir(effective.ui().bundle_dir());
  ui->set_gate_url(effective.ui().gate_url());
  ui->set_canary_enabled(Enabled(effective, "kayenta"));
  ui->set_deployment_name(effective.name());
}

// security.authz -> fiat's role provider and admin roles (nothing when authz
// is off: fiat then runs with its defaults). The file and ldap providers fall
// back to authn's users file and directory.
void RenderFiat(const v1::HalSecurity& security, fiat::v1::FiatConfig* out) {
  const v1::HalAuthz& authz = security.authz();
  if (!authz.enabled()) return;
  fiat::v1::RolesConfig* roles = out->mutable_roles();
  roles->set_provider(authz.roles_provider());
  if (authz.roles_provider() == "file") {
    roles->set_file_path(authz.roles_file().empty()
                             ? security.authn().users_file()
                             : authz.roles_file());
  } else if (authz.roles_provider() == "ldap") {
    *roles->mutable_ldap() =
        authz.ldap().url().empty() ? security.authn().ldap() : authz.ldap();
  }
  for (const std::string& role : authz.admin_roles()) {
    out->add_admin_roles(
        absl::AsciiStrToLower(absl::StripAsciiWhitespace(role)));
  }
}

// bakery -> rosco. packerConfigDir is always set (rosco requires it): the
// effective config holds the default.
void RenderRosco(const v1::HalBakery& bakery, rosco::v1::RoscoConfig* out) {
  out->set_packer_config_dir(bakery.packer_config_dir());
  out->set_packer_binary(bakery.packer_binary());
  out->set_image_store_dir(bakery.image_store_dir());
  out->set_package_repository_dir(bakery.package_repository_dir());
  out->set_work_dir(bakery.work_dir());
  // 0 keeps rosco's own default.
  out->set_max_concurrent_bakes(bakery.max_concurrent_bakes());
  out->set_bake_timeout_seconds(bakery.bake_timeout_seconds());
  *out->mutable_providers() = bakery.providers();
  out->set_default_cloud_provider(bakery.default_cloud_provider());
  *out->mutable_templates_needing_root() = bakery.templates_needing_root();
}

}  // namespace

std::unique_ptr<google::protobuf::Message> NewServiceConfig(
    absl::string_view service) {
  if (service == "gate") return std::make_unique<gate::v1::GateConfig>();
  if (service == "orca") return std::make_unique<orca::v1::OrcaConfig>();
  if (service == "clouddriver")
    return std::make_unique<clouddriver::v1::ClouddriverConfig>();
  if (service == "front50")
    return std::make_unique<front50::v1::Front50Config>();
  if (service == "rosco") return std::make_unique<rosco::v1::RoscoConfig>();
  if (service == "igor") return std::make_unique<igor::v1::IgorConfig>();
  if (service == "echo") return std::make_unique<echo::v1::EchoConfig>();
  if (service == "fiat") return std::make_unique<fiat::v1::FiatConfig>();
  if (service == "kayenta")
    return std::make_unique<kayenta::v1::KayentaConfig>();
  if (service == "halyard") return std::make_unique<v1::HalyardConfig>();
  return nullptr;
}

absl::StatusOr<std::map<std::string, std::string>> RenderServiceConfigs(
    const v1::Halconfig& config, const StorageEndpoints& storage,
    const std::string& halconfig_path) {
  const v1::Halconfig effective = EffectiveHalconfig(config);
  std::map<std::string, std::string> out;
  const std::set<int> own_ports = DeploymentPorts(effective, storage);
  for (absl::string_view name : kServiceNames) {
    if (!Enabled(effective, name)) continue;
    const v1::ServiceSettings& s = Settings(effective, name);
    std::unique_ptr<google::protobuf::Message> m = NewServiceConfig(name);
    auto set = [&](absl::string_view key, absl::string_view value) {
      return config::SetField(m.get(), key, value);
    };
    GENNAKER_RETURN_IF_ERROR(set("server.host", s.host()));
    GENNAKER_RETURN_IF_ERROR(
        set("server.grpc_port", absl::StrCat(s.grpc_port())));
    GENNAKER_RETURN_IF_ERROR(
        set("server.admin_port", absl::StrCat(s.admin_port())));
    GENNAKER_RETURN_IF_ERROR(set("logging.level", s.log_level()));
    GENNAKER_RETURN_IF_ERROR(set("logging.format", effective.log_format()));
    if (HasField(*m, "postgres")) {
      GENNAKER_RETURN_IF_ERROR(set("postgres.dsn", storage.postgres_dsn));
    }
    if (HasField(*m, "redis"))
      GENNAKER_RETURN_IF_ERROR(set("redis.url", storage.redis_url));
    if (name == "gate") {
      GENNAKER_RETURN_IF_ERROR(set("http_port", absl::StrCat(s.http_port())));
      GENNAKER_RETURN_IF_ERROR(set("version", effective.version()));
      if (!s.cors_allowed_origins().empty()) {
        GENNAKER_RETURN_IF_ERROR(
            set("cors_allowed_origins", s.cors_allowed_origins()));
      }
    }
    if (name == "kayenta") {
      GENNAKER_RETURN_IF_ERROR(
          set("http_port", absl::StrCat(ServiceHttpPort(effective, name))));
    }
    if (name == "fiat") {
      GENNAKER_RETURN_IF_ERROR(
          set("http_port", absl::StrCat(ServiceHttpPort(effective, name))));
    }
    if (name == "halyard")
      GENNAKER_RETURN_IF_ERROR(set("halconfig_path", halconfig_path));
    if (const auto* f = m->GetDescriptor()->FindFieldByName("authorization");
        f != nullptr &&
        f->message_type() == common::v1::AuthorizationConfig::descriptor() &&
        effective.security().authz().enabled()) {
      // Every service that can enforce fiat's permissions does.
      static_cast<common::v1::AuthorizationConfig*>(
          m->GetReflection()->MutableMessage(m.get(), f))
          ->set_enabled(true);
    }
    if (auto* gc = dynamic_cast<gate::v1::GateConfig*>(m.get())) {
      RenderGateSecurity(effective.security().authn(), gc);
      RenderGateUi(effective, gc);
    }
    if (auto* fc = dynamic_cast<fiat::v1::FiatConfig*>(m.get())) {
      RenderFiat(effective.security(), fc);
    }
    if (const auto* f = m->GetDescriptor()->FindFieldByName("outbound");
        f != nullptr && s.has_outbound()) {
      m->GetReflection()->MutableMessage(m.get(), f)->CopyFrom(s.outbound());
    }
    if (const auto* f = m->GetDescriptor()->FindFieldByName("outbound");
        f != nullptr &&
        f->message_type() == common::v1::OutboundConfig::descriptor()) {
      // The service knows only the suite's default ports: refuse the ones this
      // deployment really uses too.
      auto* outbound = static_cast<common::v1::OutboundConfig*>(
          m->GetReflection()->MutableMessage(m.get(), f));
      std::set<int> present(outbound->rejected_ports().begin(),
                            outbound->rejected_ports().end());
      for (int port : own_ports) {
        if (present.insert(port).second) outbound->add_rejected_ports(port);
      }
    }
    if (auto* cd = dynamic_cast<clouddriver::v1::ClouddriverConfig*>(m.get())) {
      const v1::HalLocalProvider& local = effective.providers().local();
      cd->set_state_dir(
          absl::StrCat(effective.state_dir(), "/data/clouddriver"));
      if (local.enabled()) *cd->mutable_local_accounts() = local.accounts();
    }
    if (auto* kc = dynamic_cast<kayenta::v1::KayentaConfig*>(m.get())) {
      // One metrics account: the managed Prometheus or the operator's.
      const v1::HalPrometheus& hp = effective.canary().prometheus();
      const std::string base_url = PrometheusBaseUrl(effective);
      kayenta::v1::PrometheusAccount* account = kc->add_prometheus();
      account->set_name(hp.account_name());
      account->set_base_url(base_url);
      account->set_username(hp.username());
      account->set_password(hp.password());
      // The server halyard names is trusted past the outbound checks (the
      // managed one is on loopback, on a port every service refuses).
      const std::string prefix = absl::StrCat(base_url, "/");
      auto* outbound = kc->mutable_outbound();
      if (std::find(outbound->allowed_url_prefixes().begin(),
                    outbound->allowed_url_prefixes().end(),
                    prefix) == outbound->allowed_url_prefixes().end()) {
        outbound->add_allowed_url_prefixes(prefix);
      }
    }
    if (auto* rc = dynamic_cast<rosco::v1::RoscoConfig*>(m.get())) {
      RenderRosco(effective.bakery(), rc);
    }
    if (auto* ic = dynamic_cast<igor::v1::IgorConfig*>(m.get())) {
      RenderCi(effective.ci(), ic);
    }
    if (auto* ec = dynamic_cast<echo::v1::EchoConfig*>(m.get())) {
      RenderEcho(effective, ec);
    }
    if (const auto* f = m->GetDescriptor()->FindFieldByName("fiat");
        f != nullptr &&
        f->message_type() == common::v1::EndpointConfig::descriptor()) {
      // clouddriver names fiat at its top level, not under `services`.
      const v1::ServiceSettings& fs = Settings(effective, "fiat");
      GENNAKER_RETURN_IF_ERROR(
          set("fiat.address", Enabled(effective, "fiat")
                                  ? absl::StrCat(fs.host(), ":", fs.grpc_port())
                                  : ""));
    }
    if (const auto* deps = m->GetDescriptor()->FindFieldByName("services")) {
      const auto* d = deps->message_type();
      for (int i = 0; i < d->field_count(); ++i) {
        const std::string& dep = d->field(i)->name();
        const v1::ServiceSettings& ds = Settings(effective, dep);
        std::string address = Enabled(effective, dep)
                                  ? absl::StrCat(ds.host(), ":", ds.grpc_port())
                                  : "";
        GENNAKER_RETURN_IF_ERROR(
            set(absl::StrCat("services.", dep, ".address"), address));
      }
    }
    out[std::string(name)] =
        absl::StrCat("# Rendered by halyard from ", halconfig_path,
                     ": edits here are overwritten.\n", config::ToYaml(*m));
  }
  return out;
}

}  // namespace gennaker::halyard
