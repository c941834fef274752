#include "common/service/defaults.h"

#include "absl/strings/str_cat.h"
#include "common/config/config_loader.h"
#include "common/grpc/channel.h"
#include "gennaker/common/v1/config.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace gennaker {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

void Set(Message* m, absl::string_view key, absl::string_view value) {
  // Keys are our own constants: a failure is a programming error caught by the
  // tests.
  (void)config::SetField(m, key, value);
}

bool Has(const Message& m, const char* field) {
  return m.GetDescriptor()->FindFieldByName(field) != nullptr;
}

}  // namespace

int DefaultGrpcPort(absl::string_view service) {
  if (service == "gate") return 8085;
  if (service == "orca") return 8083;
  if (service == "clouddriver") return 7002;
  if (service == "front50") return 8080;
  if (service == "rosco") return 8087;
  if (service == "igor") return 8088;
  if (service == "echo") return 8089;
  if (service == "fiat") return 7003;
  if (service == "kayenta") return 8090;
  if (service == "halyard") return 8064;
  return 0;
}

void ApplyServiceDefaults(absl::string_view service, Message* config) {
  const int port = DefaultGrpcPort(service);
  if (Has(*config, "server")) {
    Set(config, "server.host", "127.0.0.1");
    Set(config, "server.grpc_port", absl::StrCat(port));
    Set(config, "server.admin_port", absl::StrCat(port + kAdminPortOffset));
    Set(config, "server.shutdown_grace_seconds", "10");
    Set(config, "server.http_threads", "2");
    Set(config, "server.max_message_bytes",
        absl::StrCat(kDefaultMaxMessageBytes));
  }
  if (Has(*config, "logging")) {
    Set(config, "logging.level", "info");
    Set(config, "logging.format", "text");
  }
  if (Has(*config, "postgres")) {
    Set(config, "postgres.dsn",
        "host=127.0.0.1 port=5432 dbname=gennaker user=postgres");
    Set(config, "postgres.pool_size", "4");
    Set(config, "postgres.connect_timeout_seconds", "5");
  }
  if (Has(*config, "redis")) {
    Set(config, "redis.url", "redis://127.0.0.1:6379");
    Set(config, "redis.pool_size", "4");
    Set(config, "redis.timeout_ms", "2000");
  }
  if (const FieldDescriptor* f =
          config->GetDescriptor()->FindFieldByName("services")) {
    Message* deps = config->GetReflection()->MutableMessage(config, f);
    const auto* d = deps->GetDescriptor();
    for (int i = 0; i < d->field_count(); ++i) {
      const std::string& name = d->field(i)->name();
      Set(deps, name + ".address",
          absl::StrCat("127.0.0.1:", DefaultGrpcPort(name)));
      Set(deps, name + ".deadline_ms", "10000");
      Set(deps, name + ".max_message_bytes",
          absl::StrCat(kDefaultMaxMessageBytes));
    }
  }
  // An endpoint outside `services` (clouddriver's `fiat`): the same deadline
  // and size, but no address, so that leaving it unset still means "none".
  const auto* d = config->GetDescriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->is_repeated() ||
        f->message_type() != common::v1::EndpointConfig::descriptor()) {
      continue;
    }
    Set(config, f->name() + ".deadline_ms", "10000");
    Set(config, f->name() + ".max_message_bytes",
        absl::StrCat(kDefaultMaxMessageBytes));
  }
}

}  // namespace gennaker
