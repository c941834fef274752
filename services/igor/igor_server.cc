#include "services/igor/igor_server.h"

#include <grpcpp/grpcpp.h>

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/grpc/channel.h"
#include "common/http/outbound_config.h"
#include "common/log/log.h"
#include "common/service/stores.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "gennaker/echo/v1/echo.grpc.pb.h"
#include "services/igor/ci/build_monitor.h"
#include "services/igor/ci/build_service.h"
#include "services/igor/docker/docker_monitor.h"
#include "services/igor/git/git_monitor.h"
#include "services/igor/igor_core.h"
#include "services/igor/igor_grpc.h"

namespace gennaker::igor {

using spinnaker::Json;

namespace {

class EchoEventSink final : public EventSink {
 public:
  explicit EchoEventSink(const common::v1::EndpointConfig& echo)
      : deadline_(echo.deadline_ms() > 0 ? echo.deadline_ms() : 10000),
        stub_(echo::v1::EchoService::NewStub(
            MakeChannel(echo.address(), echo.max_message_bytes() > 0
                                            ? echo.max_message_bytes()
                                            : kDefaultMaxMessageBytes))) {}

  absl::Status Post(const Json& event,
                    const std::string& idempotency_key) override {
    echo::v1::PostEventRequest req;
    echo::v1::Event* e = req.mutable_event();
    const Json details = spinnaker::Object(event, "details");
    e->set_type(spinnaker::String(details, "type"));
    e->set_source(spinnaker::String(details, "source"));
    e->set_application(spinnaker::String(details, "application"));
    e->mutable_details()->set_json(spinnaker::Dump(details));
    const Json content = spinnaker::Object(event, "content");
    e->mutable_content()->set_json(spinnaker::Dump(content));
    // Artifacts ride at the top level or inside the content (docker
    // events).
    for (const Json* holder : {&event, &content}) {
      for (common::v1::Artifact& a : ArtifactsFromProperties(*holder)) {
        *e->add_artifacts() = std::move(a);
      }
    }
    req.set_idempotency_key(idempotency_key);
    echo::v1::PostEventResponse resp;
    auto ctx = MakeClientContext(std::chrono::milliseconds(deadline_));
    grpc::Status st = stub_->PostEvent(ctx.get(), req, &resp);
    if (!st.ok()) {
      absl::Status s = FromGrpcStatus(st);
      return absl::Status(s.code(),
                          absl::StrCat("echo PostEvent: ", s.message()));
    }
    return absl::OkStatus();
  }

 private:
  const int deadline_;
  std::unique_ptr<echo::v1::EchoService::Stub> stub_;
};

// Logs and drops events: without an echo address, or with events switched
// off (polling.eventsDisabled).
class DroppingEventSink final : public EventSink {
 public:
  explicit DroppingEventSink(std::string reason) : reason_(std::move(reason)) {}
  absl::Status Post(const Json& event, const std::string& key) override {
    SPDLOG_INFO("event=igor_event_dropped reason={} key={} type={}", reason_,
                key,
                spinnaker::String(spinnaker::Object(event, "details"), "type"));
    return absl::OkStatus();
  }

 private:
  const std::string reason_;
};

absl::Status CheckUrl(const std::string& where, const std::string& url) {
  const std::string lower = absl::AsciiStrToLower(url);
  std::string rest;
  if (absl::StartsWith(lower, "http://")) {
    rest = url.substr(7);
  } else if (absl::StartsWith(lower, "https://")) {
    rest = url.substr(8);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": '", url, "' is not an http:// or https:// URL"));
  }
  const std::string host = rest.substr(0, rest.find_first_of("/?#"));
  if (host.empty() || host.find('@') != std::string::npos ||
      host.find_first_of(" \t\r\n") != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": '", url,
        "' needs a host and no user name (credentials go in their own "
        "fields)"));
  }
  return absl::OkStatus();
}

class IgorInstance : public ServiceInstance {
 public:
  ~IgorInstance() override { Stop(); }

  std::vector<grpc::Service*> GrpcServices() override {
    return {service_.get()};
  }

  absl::Status StartExtra() override {
    scheduler_->Start();
    return absl::OkStatus();
  }

  void Stop() override {
    if (scheduler_) scheduler_->Stop();
  }

  absl::Status CheckDependencies() override { return PingRedis(*redis_); }

  std::unique_ptr<redis::Client> redis_;
  std::unique_ptr<SeenStore> store_;
  std::unique_ptr<http::OutboundClient> outbound_;
  std::unique_ptr<EventSink> sink_;
  std::unique_ptr<EventSink> quiet_sink_;  // events_disabled
  std::unique_ptr<IgorCore> core_;
  std::unique_ptr<v1::IgorService::Service> service_;
  std::unique_ptr<PollScheduler> scheduler_;
};

}  // namespace

void ApplyIgorDefaults(v1::IgorConfig* config) {
  config->mutable_polling()->set_interval_seconds(kDefaultPollIntervalSeconds);
  config->mutable_polling()->set_redis_prefix(kDefaultRedisPrefix);
}

absl::Status ValidateConfig(const v1::IgorConfig& config) {
  std::set<std::string> masters;
  for (int i = 0; i < config.jenkins_size(); ++i) {
    const v1::JenkinsMaster& m = config.jenkins(i);
    const std::string where = absl::StrCat("jenkins[", i, "]");
    if (m.name().empty()) {
      return absl::InvalidArgumentError(where + ".name: is required");
    }
    if (!masters.insert(m.name()).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ".name: master '", m.name(), "' is defined twice"));
    }
    GENNAKER_RETURN_IF_ERROR(CheckUrl(where + ".address", m.address()));
  }
  for (int i = 0; i < config.travis_size(); ++i) {
    const v1::TravisMaster& m = config.travis(i);
    const std::string where = absl::StrCat("travis[", i, "]");
    if (m.name().empty()) {
      return absl::InvalidArgumentError(where + ".name: is required");
    }
    if (!masters.insert(m.name()).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ".name: master '", m.name(),
          "' is defined twice (names are unique across CI types)"));
    }
    GENNAKER_RETURN_IF_ERROR(CheckUrl(where + ".address", m.address()));
    if (!m.base_url().empty()) {
      GENNAKER_RETURN_IF_ERROR(CheckUrl(where + ".baseUrl", m.base_url()));
    }
    for (const std::string& r : m.repositories()) {
      const size_t slash = r.find('/');
      if (slash == std::string::npos || slash == 0 || slash + 1 == r.size() ||
          r.find('/', slash + 1) != std::string::npos) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ".repositories: '", r, "' is not 'owner/name'"));
      }
    }
  }
  std::set<std::string> accounts;
  for (int i = 0; i < config.docker_registries_size(); ++i) {
    const v1::DockerRegistryAccount& a = config.docker_registries(i);
    const std::string where = absl::StrCat("dockerRegistries[", i, "]");
    if (!accounts.insert(a.name()).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ".name: account '", a.name(), "' is defined twice"));
    }
    GENNAKER_RETURN_IF_ERROR(CheckUrl(where + ".address", a.address()));
  }
  std::set<std::string> repos;
  for (int i = 0; i < config.git_size(); ++i) {
    const v1::GitRepository& g = config.git(i);
    const std::string id =
        absl::StrCat(g.source(), "/", g.project(), "/", g.slug());
    if (!repos.insert(id).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("git[", i, "]: repository '", id, "' is defined twice"));
    }
  }
  absl::StatusOr<std::unique_ptr<http::OutboundClient>> outbound =
      http::OutboundClient::Create(
          http::OutboundPolicyFromConfig(config.outbound()));
  if (!outbound.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("outbound: ", outbound.status().message()));
  }
  return absl::OkStatus();
}

std::unique_ptr<EventSink> NewEchoEventSink(
    const common::v1::EndpointConfig& echo) {
  if (echo.address().empty()) {
    SPDLOG_WARN(
        "event=igor_no_echo reason=services.echo.address_empty "
        "effect=events_dropped");
    return std::make_unique<DroppingEventSink>("no_echo_address");
  }
  return std::make_unique<EchoEventSink>(echo);
}

absl::StatusOr<std::unique_ptr<ServiceInstance>> BuildIgor(
    const v1::IgorConfig& config, Metrics*) {
  auto in = std::make_unique<IgorInstance>();
  GENNAKER_ASSIGN_OR_RETURN(
      in->outbound_, http::OutboundClient::Create(
                         http::OutboundPolicyFromConfig(config.outbound())));
  GENNAKER_ASSIGN_OR_RETURN(in->redis_, ConnectRedis(config.redis()));
  const std::string prefix = config.polling().redis_prefix().empty()
                                 ? kDefaultRedisPrefix
                                 : config.polling().redis_prefix();
  in->store_ = NewRedisSeenStore(in->redis_.get(), prefix);
  in->sink_ = NewEchoEventSink(config.services().echo());

  std::vector<MasterEntry> masters;
  std::map<std::string, int> thresholds;
  for (const v1::JenkinsMaster& m : config.jenkins()) {
    MasterEntry e;
    e.info.set_name(m.name());
    e.info.set_type(v1::BUILD_SERVICE_TYPE_JENKINS);
    e.info.set_address(m.address());
    *e.info.mutable_read_roles() = m.read_roles();
    *e.info.mutable_write_roles() = m.write_roles();
    e.service = NewJenkinsClient(m, in->outbound_.get());
    thresholds[m.name()] = m.item_upper_threshold() > 0
                               ? m.item_upper_threshold()
                               : kDefaultItemUpperThreshold;
    masters.push_back(std::move(e));
  }
  for (const v1::TravisMaster& m : config.travis()) {
    MasterEntry e;
    e.info.set_name(m.name());
    e.info.set_type(v1::BUILD_SERVICE_TYPE_TRAVIS);
    e.info.set_address(m.address());
    *e.info.mutable_read_roles() = m.read_roles();
    *e.info.mutable_write_roles() = m.write_roles();
    e.service = NewTravisClient(m, in->outbound_.get());
    thresholds[m.name()] = kDefaultItemUpperThreshold;
    masters.push_back(std::move(e));
  }
  CoreOptions options;
  SeenStore* store = in->store_.get();
  options.docker_tags = [store](const std::string& account,
                                const std::string& repository) {
    return SeenDockerTags(store, account, repository);
  };
  in->core_ =
      std::make_unique<IgorCore>(std::move(masters), store, std::move(options));
  in->service_ = NewIgorGrpcService(in->core_.get());

  std::vector<std::unique_ptr<Monitor>> monitors;
  for (BuildService* s : in->core_->services()) {
    BuildMonitorOptions mo;
    mo.handle_first_builds = config.polling().handle_first_builds();
    mo.events_disabled = config.polling().events_disabled();
    mo.item_upper_threshold = thresholds[s->name()];
    monitors.push_back(NewBuildMonitor(s, store, in->sink_.get(), mo));
  }
  // With events switched off, registries and repositories are still
  // polled and remembered, as builds are, but nothing reaches echo.
  EventSink* sink = in->sink_.get();
  if (config.polling().events_disabled()) {
    in->quiet_sink_ = std::make_unique<DroppingEventSink>("events_disabled");
    sink = in->quiet_sink_.get();
  }
  for (const v1::DockerRegistryAccount& a : config.docker_registries()) {
    monitors.push_back(NewDockerMonitor(a, store, sink, in->outbound_.get()));
  }
  for (const v1::GitRepository& g : config.git()) {
    monitors.push_back(NewGitMonitor(g, store, sink));
  }
  PollOptions po;
  const int interval = config.polling().interval_seconds() > 0
                           ? config.polling().interval_seconds()
                           : kDefaultPollIntervalSeconds;
  po.interval = std::chrono::milliseconds(int64_t{interval} * 1000);
  SPDLOG_INFO("event=igor_monitors count={} interval_s={}", monitors.size(),
              interval);
  in->scheduler_ =
      std::make_unique<PollScheduler>(std::move(monitors), store, po);
  return in;
}

}  // namespace gennaker::igor
