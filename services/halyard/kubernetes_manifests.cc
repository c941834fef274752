// Kubernetes manifests of a deployment (see the header). How secrets travel:
// every service's ConfigMap holds its rendered config with every secret value
// removed (store DSN and URL, passwords, tokens, the git shared secret, URLs
// with credentials). Its Secret (<svc>-secrets, loaded with envFrom) holds
// each removed value that sits at a plain dotted key as the GENNAKER__A__B
// environment override the service's config loader applies after the file
// (common/config/config_loader.h). A secret inside a list (igor's CI
// credentials, kayenta's Prometheus password) has no such key: then the
// Secret also holds the whole config file (<svc>.yml), and the pod mounts its
// config from the Secret instead of the ConfigMap, which still shows the
// config without the secrets.
#include "services/halyard/kubernetes_manifests.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <map>
#include <memory>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/config/config_loader.h"
#include "common/service/defaults.h"
#include "common/status/status_macros.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "re2/re2.h"
#include "services/halyard/halconfig.h"
#include "services/halyard/render.h"

namespace gennaker::halyard {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

// Where the image (deploy/docker/Dockerfile) puts things.
constexpr char kBinDir[] = "/opt/gennaker/bin";
constexpr char kStateDir[] = "/var/lib/gennaker";
constexpr char kConfigDir[] = "/etc/gennaker";
// The image's user `gennaker`.
constexpr int kImageUid = 10001;

constexpr char kPartOf[] = "gennaker";
constexpr char kManagedBy[] = "halyard";
constexpr char kHashAnnotation[] = "gennaker.io/config-hash";
// A service's startup probe: up to 150 s for the store wait (120 s) and the
// start.
constexpr int kStartupPeriodSeconds = 5;
constexpr int kStartupFailureThreshold = 30;

// The in-cluster stores (storage.mode LOCAL_MANAGED).
constexpr int kPostgresPort = 5432;
constexpr int kRedisPort = 6379;
constexpr char kDatabase[] = "gennaker";
constexpr char kPostgresDataSize[] = "10Gi";
// Kayenta reads metrics from canary.prometheus.baseUrl; halyard runs no
// Prometheus in the cluster, so an unset one names the Service an operator's
// Prometheus in the namespace would have.
constexpr char kClusterPrometheusUrl[] = "http://prometheus:9090";

// ---------------------------------------------------------------------------
// A small YAML tree with its own printer: key order as built, 2-space
// indentation, strings quoted whenever a YAML parser could read them as
// anything else, multi-line strings as literal blocks.

struct Node {
  enum class Kind { kString, kRaw, kMap, kSeq };
  Kind kind = Kind::kMap;
  std::string text;  // kString, kRaw (numbers and booleans, printed as is)
  std::vector<std::pair<std::string, Node>> entries;  // kMap
  std::vector<Node> items;                            // kSeq

  Node& Add(std::string key, Node value) {
    entries.emplace_back(std::move(key), std::move(value));
    return *this;
  }
};

Node Str(std::string text) {
  Node n;
  n.kind = Node::Kind::kString;
  n.text = std::move(text);
  return n;
}

Node Int(int64_t value) {
  Node n;
  n.kind = Node::Kind::kRaw;
  n.text = absl::StrCat(value);
  return n;
}

Node Bool(bool value) {
  Node n;
  n.kind = Node::Kind::kRaw;
  n.text = value ? "true" : "false";
  return n;
}

Node Map(std::vector<std::pair<std::string, Node>> entries = {}) {
  Node n;
  n.kind = Node::Kind::kMap;
  n.entries = std::move(entries);
  return n;
}

Node Seq(std::vector<Node> items = {}) {
  Node n;
  n.kind = Node::Kind::kSeq;
  n.items = std::move(items);
  return n;
}

Node StrSeq(const std::vector<std::string>& items) {
  Node n = Seq();
  for (const std::string& s : items) n.items.push_back(Str(s));
  return n;
}

// Whether `s` reads back as the same string when written plain.
bool PlainSafe(const std::string& s) {
  // "-" starts a plain scalar only before a non-space ("--config").
  static const LazyRE2 kPlain = {
      R"((?:[A-Za-z0-9_./]|-[A-Za-z0-9_./-])[A-Za-z0-9_./:@=+-]*)"};
  if (!RE2::FullMatch(s, *kPlain) || s.back() == ':') return false;
  // Numbers, versions, times and dates (YAML 1.1 reads 1:20 as a number).
  static const LazyRE2 kNumberLike = {
      R"([-+]?[0-9._:eE+-]*|[-+]?0[xXoObB][0-9a-fA-F_]*|\.[A-Za-z]+)"};
  if (RE2::FullMatch(s, *kNumberLike)) return false;
  // YAML 1.1 booleans and nulls.
  static const char* kWords[] = {"y",     "n",  "yes", "no",   "true",
                                 "false", "on", "off", "null", "~"};
  for (const char* w : kWords) {
    if (absl::EqualsIgnoreCase(s, w)) return false;
  }
  return true;
}

std::string DoubleQuoted(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          absl::StrAppendFormat(&out, "\\x%02x", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string Scalar(const std::string& s) {
  return PlainSafe(s) ? s : DoubleQuoted(s);
}

// A multi-line string a literal block can carry unchanged: no control
// characters but newlines and tabs, and a first line that does not start
// with a space (its indentation would be taken for the block's).
bool LiteralBlockSafe(const std::string& s) {
  if (s.find('\n') == std::string::npos || s[0] == ' ' || s[0] == '\n') {
    return false;
  }
  for (unsigned char c : s) {
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

void EmitMap(const Node& map, int indent, std::string* out);
void EmitSeq(const Node& seq, int indent, std::string* out);

// The value after "key:" or "-" of a line indented by `indent`.
void EmitValue(const Node& v, int indent, std::string* out) {
  switch (v.kind) {
    case Node::Kind::kRaw:
      absl::StrAppend(out, " ", v.text, "\n");
      return;
    case Node::Kind::kString: {
      if (!LiteralBlockSafe(v.text)) {
        absl::StrAppend(out, " ", Scalar(v.text), "\n");
        return;
      }
      // Chomping: clip one final newline, strip when there is none, keep
      // more than one.
      absl::string_view body = v.text;
      const char* chomp = "-";
      if (absl::EndsWith(body, "\n\n")) {
        chomp = "+";
      } else if (absl::EndsWith(body, "\n")) {
        chomp = "";
      }
      if (absl::EndsWith(body, "\n")) body.remove_suffix(1);
      absl::StrAppend(out, " |", chomp, "\n");
      const std::string pad(indent + 2, ' ');
      for (absl::string_view line : absl::StrSplit(body, '\n')) {
        if (line.empty()) {
          out->append("\n");
        } else {
          absl::StrAppend(out, pad, line, "\n");
        }
      }
      return;
    }
    case Node::Kind::kMap:
      if (v.entries.empty()) {
        out->append(" {}\n");
      } else {
        out->append("\n");
        EmitMap(v, indent + 2, out);
      }
      return;
    case Node::Kind::kSeq:
      if (v.items.empty()) {
        out->append(" []\n");
      } else {
        out->append("\n");
        EmitSeq(v, indent + 2, out);
      }
      return;
  }
}

void EmitMap(const Node& map, int indent, std::string* out) {
  for (const auto& [key, value] : map.entries) {
    absl::StrAppend(out, std::string(indent, ' '), Scalar(key), ":");
    EmitValue(value, indent, out);
  }
}

void EmitSeq(const Node& seq, int indent, std::string* out) {
  for (const Node& item : seq.items) {
    if (item.kind == Node::Kind::kMap && !item.entries.empty()) {
      // The map's first key goes on the dash's line.
      std::string inner;
      EmitMap(item, indent + 2, &inner);
      inner.replace(0, indent + 2, std::string(indent, ' ') + "- ");
      out->append(inner);
    } else {
      absl::StrAppend(out, std::string(indent, ' '), "-");
      EmitValue(item, indent, out);
    }
  }
}

std::string ToDocument(const Node& root) {
  std::string out;
  EmitMap(root, 0, &out);
  return out;
}

// ---------------------------------------------------------------------------

// HMAC-SHA256 of `data` keyed with `salt`, hex. The annotation is readable
// by anyone who may read Deployments, and what it covers includes secrets:
// without the key a weak secret could be guessed offline from it.
std::string SaltedHashHex(absl::string_view salt, absl::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), salt.data(), static_cast<int>(salt.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md,
       &len);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(md), len));
}

Node Labels(absl::string_view name, const std::string& version) {
  Node labels = Map();
  if (!name.empty())
    labels.Add("app.kubernetes.io/name", Str(std::string(name)));
  labels.Add("app.kubernetes.io/part-of", Str(kPartOf));
  if (!version.empty()) {
    labels.Add("app.kubernetes.io/version", Str(version));
  }
  labels.Add("app.kubernetes.io/managed-by", Str(kManagedBy));
  return labels;
}

// What selects a component's pods (never the version: selectors are
// immutable).
Node Selector(absl::string_view name) {
  return Map({{"app.kubernetes.io/name", Str(std::string(name))},
              {"app.kubernetes.io/part-of", Str(kPartOf)}});
}

Node Metadata(const std::string& name, const std::string& ns,
              absl::string_view component, const std::string& version) {
  Node m = Map({{"name", Str(name)}});
  if (!ns.empty()) m.Add("namespace", Str(ns));
  m.Add("labels", Labels(component, version));
  return m;
}

Node Header(absl::string_view api_version, absl::string_view kind) {
  return Map({{"apiVersion", Str(std::string(api_version))},
              {"kind", Str(std::string(kind))}});
}

KubernetesObject Object(absl::string_view api_version, absl::string_view kind,
                        const std::string& name, const std::string& ns,
                        const Node& document) {
  return KubernetesObject{std::string(api_version), std::string(kind), name, ns,
                          ToDocument(document)};
}

// A Secret's data, base64 as the API stores it, keys sorted.
Node SecretData(const std::map<std::string, std::string>& data) {
  Node n = Map();
  for (const auto& [key, value] : data)
    n.Add(key, Str(absl::Base64Escape(value)));
  return n;
}

Node ContainerSecurity(bool non_root) {
  Node s = Map();
  if (non_root) {
    s.Add("runAsNonRoot", Bool(true));
    s.Add("runAsUser", Int(kImageUid));
    s.Add("runAsGroup", Int(kImageUid));
  }
  s.Add("allowPrivilegeEscalation", Bool(false));
  return s;
}

Node Resources(const v1::HalResources& r) {
  auto quantities = [](const v1::HalResourceQuantities& q) {
    Node n = Map();
    if (!q.cpu().empty()) n.Add("cpu", Str(q.cpu()));
    if (!q.memory().empty()) n.Add("memory", Str(q.memory()));
    return n;
  };
  Node n = Map();
  Node requests = quantities(r.requests());
  Node limits = quantities(r.limits());
  if (!requests.entries.empty()) n.Add("requests", std::move(requests));
  if (!limits.entries.empty()) n.Add("limits", std::move(limits));
  return n;
}

Node Port(const std::string& name, int port) {
  return Map({{"name", Str(name)},
              {"containerPort", Int(port)},
              {"protocol", Str("TCP")}});
}

Node ServicePort(const std::string& name, int port) {
  return Map({{"name", Str(name)},
              {"port", Int(port)},
              {"targetPort", Int(port)},
              {"protocol", Str("TCP")}});
}

KubernetesObject ServiceObject(
    const std::string& name, const std::string& ns, const std::string& version,
    const std::string& type,
    const std::vector<std::pair<std::string, int>>& ports) {
  Node port_list = Seq();
  for (const auto& [port_name, port] : ports) {
    port_list.items.push_back(ServicePort(port_name, port));
  }
  Node doc = Header("v1", "Service");
  doc.Add("metadata", Metadata(name, ns, name, version));
  doc.Add("spec", Map({{"type", Str(type)},
                       {"selector", Selector(name)},
                       {"ports", std::move(port_list)}}));
  return Object("v1", "Service", name, ns, doc);
}

KubernetesObject SecretObject(const std::string& name,
                              const std::string& component,
                              const std::string& ns, const std::string& version,
                              const std::map<std::string, std::string>& data) {
  Node doc = Header("v1", "Secret");
  doc.Add("metadata", Metadata(name, ns, component, version));
  doc.Add("type", Str("Opaque"));
  doc.Add("data", SecretData(data));
  return Object("v1", "Secret", name, ns, doc);
}

// A Deployment of `name` whose pods run `container` with `volumes`.
KubernetesObject DeploymentObject(const std::string& name,
                                  const std::string& ns,
                                  const std::string& version, int replicas,
                                  Node strategy, int progress_deadline,
                                  const std::string& hash, Node container,
                                  Node volumes) {
  Node pod_spec = Map();
  // No SERVICE_HOST/PORT variables: the services find each other by name.
  pod_spec.Add("enableServiceLinks", Bool(false));
  pod_spec.Add("containers", Seq({std::move(container)}));
  pod_spec.Add("volumes", std::move(volumes));
  Node template_metadata = Map({{"labels", Labels(name, version)}});
  template_metadata.Add("annotations", Map({{kHashAnnotation, Str(hash)}}));
  Node doc = Header("apps/v1", "Deployment");
  doc.Add("metadata", Metadata(name, ns, name, version));
  doc.Add("spec",
          Map({{"replicas", Int(replicas)},
               {"progressDeadlineSeconds", Int(progress_deadline)},
               {"selector", Map({{"matchLabels", Selector(name)}})},
               {"strategy", std::move(strategy)},
               {"template", Map({{"metadata", std::move(template_metadata)},
                                 {"spec", std::move(pod_spec)}})}}));
  return Object("apps/v1", "Deployment", name, ns, doc);
}

// ---------------------------------------------------------------------------
// Secrets in a service's config.

// "scheme://user:password@host": credentials in a URL.
bool HasUserinfo(absl::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == absl::string_view::npos) return false;
  absl::string_view authority = url.substr(scheme + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  return absl::StrContains(authority, '@');
}

bool SecretField(const Message& m, const FieldDescriptor* f,
                 const std::string& value) {
  static const char* kNames[] = {"password", "token", "manager_password",
                                 "git_shared_secret", "dsn"};
  for (const char* name : kNames) {
    if (f->name() == name) return true;
  }
  // A Redis URL carries its password (redis://:password@host).
  if (m.GetDescriptor()->full_name() == "gennaker.common.v1.RedisConfig" &&
      f->name() == "url") {
    return true;
  }
  return HasUserinfo(value);
}

// What ExtractSecrets found.
struct ConfigSecrets {
  // GENNAKER__A__B -> value, in field order.
  std::map<std::string, std::string> env;
  // A secret sat in a list element (no environment override reaches it).
  bool in_list = false;
};

// Removes every secret value from `m`, recording it in `out`. `env_prefix`
// is the override name of `m` ("GENNAKER__NOTIFICATIONS__SLACK__"), empty
// inside a list.
void ExtractSecrets(Message* m, const std::string& env_prefix,
                    ConfigSecrets* out) {
  const auto* r = m->GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(*m, &fields);
  for (const FieldDescriptor* f : fields) {
    const std::string upper = absl::AsciiStrToUpper(f->name());
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      // Lists and maps (their entries are messages too): no override
      // reaches inside.
      if (f->is_repeated()) {
        for (int i = 0; i < r->FieldSize(*m, f); ++i) {
          ExtractSecrets(r->MutableRepeatedMessage(m, f, i), "", out);
        }
      } else {
        Message* sub = r->MutableMessage(m, f);
        const bool was_empty = sub->ByteSizeLong() == 0;
        ExtractSecrets(
            sub,
            env_prefix.empty() ? "" : absl::StrCat(env_prefix, upper, "__"),
            out);
        // A section that held only secrets ("postgres: {}") goes: its
        // override brings it back. One that was empty already stays (its
        // presence may mean something, and no override would restore it).
        if (!was_empty && sub->ByteSizeLong() == 0) r->ClearField(m, f);
      }
      continue;
    }
    if (f->cpp_type() != FieldDescriptor::CPPTYPE_STRING) continue;
    if (f->is_repeated()) {
      for (int i = 0; i < r->FieldSize(*m, f); ++i) {
        if (HasUserinfo(r->GetRepeatedString(*m, f, i))) {
          out->in_list = true;
          r->SetRepeatedString(m, f, i, "");
        }
      }
      continue;
    }
    const std::string value = r->GetString(*m, f);
    if (!SecretField(*m, f, value)) continue;
    if (env_prefix.empty()) {
      out->in_list = true;
    } else {
      out->env[absl::StrCat(env_prefix, upper)] = value;
    }
    r->ClearField(m, f);
  }
}

// ---------------------------------------------------------------------------

// Where each consumer reaches a service: its Service name, or with
// pod_addresses one of its pods, the consumers taking the replicas in turn.
class Addresses {
 public:
  Addresses(const v1::HalDeploymentEnvironment& env, bool pod_addresses)
      : env_(env), pod_addresses_(pod_addresses) {}

  std::string Host(const std::string& name, int replicas) {
    if (!pod_addresses_) return name;
    const int i = next_[name]++ % std::max(replicas, 1);
    return absl::StrCat(name, "-pod-", i);
  }

  std::string Service(const std::string& name) {
    return Host(name, ServiceSizing(env_, name).replicas());
  }

 private:
  const v1::HalDeploymentEnvironment& env_;
  bool pod_addresses_;
  std::map<std::string, int> next_;
};

bool PasswordUsable(const std::string& password) {
  static const LazyRE2 kPassword = {"[A-Za-z0-9._~-]{1,128}"};
  return RE2::FullMatch(password, *kPassword);
}

bool SaltUsable(const std::string& salt) {
  static const LazyRE2 kSalt = {"[A-Za-z0-9._~-]{16,128}"};
  return RE2::FullMatch(salt, *kSalt);
}

// One service's rendered pieces.
struct ServicePlan {
  std::string name;
  std::string config_map_yaml;  // without secrets
  std::map<std::string, std::string> secret_data;
  bool config_from_secret = false;
};

// Reads a rendered config back, points its dependency addresses into the
// cluster and splits off the secrets.
absl::StatusOr<ServicePlan> PlanService(const std::string& name,
                                        const std::string& rendered,
                                        const v1::Halconfig& k8s,
                                        Addresses& addresses) {
  std::unique_ptr<Message> m = NewServiceConfig(name);
  GENNAKER_RETURN_IF_ERROR(config::MergeYaml(rendered, name, m.get()));
  // services.<dep>.address and clouddriver's fiat.address: rendered as
  // 0.0.0.0:<port> (the bind host), reached at the dependency's name.
  auto point = [&](Message* endpoint, const std::string& dep) -> absl::Status {
    GENNAKER_ASSIGN_OR_RETURN(std::string address,
                              config::GetField(*endpoint, "address"));
    if (address.empty()) return absl::OkStatus();  // disabled dependency
    return config::SetField(endpoint, "address",
                            absl::StrCat(addresses.Service(dep), ":",
                                         Settings(k8s, dep).grpc_port()));
  };
  const auto* d = m->GetDescriptor();
  const auto* r = m->GetReflection();
  if (const FieldDescriptor* deps = d->FindFieldByName("services")) {
    Message* services = r->MutableMessage(m.get(), deps);
    const auto* sd = services->GetDescriptor();
    for (int i = 0; i < sd->field_count(); ++i) {
      if (sd->field(i)->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
        continue;
      }
      GENNAKER_RETURN_IF_ERROR(point(
          services->GetReflection()->MutableMessage(services, sd->field(i)),
          sd->field(i)->name()));
    }
  }
  if (const FieldDescriptor* fiat = d->FindFieldByName("fiat");
      fiat != nullptr && fiat->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
      fiat->message_type()->FindFieldByName("address") != nullptr) {
    GENNAKER_RETURN_IF_ERROR(point(r->MutableMessage(m.get(), fiat), "fiat"));
  }
  ServicePlan plan;
  plan.name = name;
  const std::string header = absl::StrCat(
      "# Rendered by halyard for Kubernetes: edits here are overwritten.\n");
  const std::string full = absl::StrCat(header, config::ToYaml(*m));
  ConfigSecrets secrets;
  ExtractSecrets(m.get(), config::kEnvPrefix, &secrets);
  plan.config_map_yaml =
      absl::StrCat(header, "# Secret values come from the Secret ", name,
                   "-secrets.\n", config::ToYaml(*m));
  plan.secret_data = secrets.env;
  if (secrets.in_list) {
    plan.config_from_secret = true;
    plan.secret_data[absl::StrCat(name, ".yml")] = full;
  }
  return plan;
}

}  // namespace

absl::StatusOr<std::vector<KubernetesObject>> RenderKubernetesManifests(
    const v1::Halconfig& config, const KubernetesRenderOptions& options) {
  if (!KubernetesDeployment(config)) {
    return absl::InvalidArgumentError(
        "deploymentEnvironment.type: must be KUBERNETES to render Kubernetes "
        "manifests");
  }
  GENNAKER_RETURN_IF_ERROR(ValidateStatus(config));
  const v1::HalDeploymentEnvironment env =
      EffectiveDeploymentEnvironment(config);
  const bool in_cluster_stores =
      config.storage().mode() != v1::STORAGE_MODE_EXTERNAL;
  if (in_cluster_stores) {
    for (const auto& [what, password] :
         {std::pair<const char*, const std::string*>{
              "postgres_password", &options.postgres_password},
          {"redis_password", &options.redis_password}}) {
      if (!PasswordUsable(*password)) {
        return absl::InvalidArgumentError(absl::StrCat(
            what,
            ": the in-cluster stores need a password of 1 to 128 letters, "
            "digits, '.', '_', '~' or '-'"));
      }
    }
  }
  if (!SaltUsable(options.hash_salt)) {
    return absl::InvalidArgumentError(
        "hash_salt: the config-hash annotations need a salt of 16 to 128 "
        "letters, digits, '.', '_', '~' or '-' (halyard keeps one: "
        "KubernetesHashSalt)");
  }
  const std::string& ns = env.namespace_();
  const std::string& version = config.version();
  const std::string image =
      absl::StrCat(env.image_repository(), ":", env.image_tag());

  // The config as the pods see it: every service binds 0.0.0.0 in its own
  // pod, paths are the image's, logs are JSON on stdout, and nothing of the
  // operator's machine (binDir, stateDir) leaks in.
  v1::Halconfig k8s = config;
  k8s.set_bin_dir(kBinDir);
  k8s.set_state_dir(kStateDir);
  k8s.set_log_format("json");
  for (absl::string_view name : kServiceNames) {
    const auto* field =
        k8s.services().GetDescriptor()->FindFieldByName(std::string(name));
    static_cast<v1::ServiceSettings*>(
        k8s.mutable_services()->GetReflection()->MutableMessage(
            k8s.mutable_services(), field))
        ->set_host("0.0.0.0");
  }
  // The image has a UI bundle only when built with one: on only when asked.
  if (!config.ui().has_enabled() || !config.ui().enabled()) {
    k8s.mutable_ui()->set_enabled(false);
  }
  if (Enabled(k8s, "kayenta") && k8s.canary().prometheus().base_url().empty()) {
    k8s.mutable_canary()->mutable_prometheus()->set_base_url(
        kClusterPrometheusUrl);
  }
  Addresses addresses(env, options.pod_addresses);
  StorageEndpoints storage;
  if (in_cluster_stores) {
    storage.postgres_dsn =
        absl::StrCat("host=", addresses.Host("postgres", 1),
                     " port=", kPostgresPort, " dbname=", kDatabase,
                     " user=postgres password=", options.postgres_password);
    storage.redis_url =
        absl::StrCat("redis://:", options.redis_password, "@",
                     addresses.Host("redis", 1), ":", kRedisPort);
  } else {
    storage.postgres_dsn = config.storage().postgres().dsn();
    storage.redis_url = config.storage().redis().url();
  }
  GENNAKER_ASSIGN_OR_RETURN(auto rendered,
                            RenderServiceConfigs(k8s, storage, "kubernetes"));

  std::vector<KubernetesObject> objects;
  {
    Node doc = Header("v1", "Namespace");
    doc.Add("metadata", Map({{"name", Str(ns)}, {"labels", Labels("", "")}}));
    objects.push_back(Object("v1", "Namespace", ns, "", doc));
  }

  const Node data_volume = Map({{"name", Str("data")}, {"emptyDir", Map()}});
  if (in_cluster_stores) {
    // PostgreSQL: one replica on a PersistentVolumeClaim, replaced (not
    // rolled) on change: two servers must never share the data directory.
    const std::map<std::string, std::string> pg_secret = {
        {"POSTGRES_PASSWORD", options.postgres_password}};
    objects.push_back(
        SecretObject("postgres-secrets", "postgres", ns, version, pg_secret));
    {
      Node doc = Header("v1", "PersistentVolumeClaim");
      doc.Add("metadata", Metadata("postgres-data", ns, "postgres", version));
      doc.Add("spec",
              Map({{"accessModes", StrSeq({"ReadWriteOnce"})},
                   {"resources",
                    Map({{"requests",
                          Map({{"storage", Str(kPostgresDataSize)}})}})}}));
      objects.push_back(
          Object("v1", "PersistentVolumeClaim", "postgres-data", ns, doc));
    }
    objects.push_back(ServiceObject("postgres", ns, version, "ClusterIP",
                                    {{"postgres", kPostgresPort}}));
    {
      Node container = Map(
          {{"name", Str("postgres")},
           {"image", Str(env.postgres_image())},
           {"imagePullPolicy", Str(env.image_pull_policy())},
           {"ports", Seq({Port("postgres", kPostgresPort)})},
           {"env",
            Seq({Map({{"name", Str("POSTGRES_DB")}, {"value", Str(kDatabase)}}),
                 // A subdirectory: a volume's root may hold lost+found.
                 Map({{"name", Str("PGDATA")},
                      {"value", Str("/var/lib/postgresql/data/pgdata")}})})},
           {"envFrom",
            Seq({Map(
                {{"secretRef", Map({{"name", Str("postgres-secrets")}})}})})},
           {"readinessProbe",
            Map({{"exec", Map({{"command",
                                StrSeq({"pg_isready", "-h", "127.0.0.1", "-U",
                                        "postgres", "-d", kDatabase})}})},
                 {"periodSeconds", Int(5)},
                 {"timeoutSeconds", Int(3)}})},
           {"livenessProbe",
            Map({{"tcpSocket", Map({{"port", Int(kPostgresPort)}})},
                 {"initialDelaySeconds", Int(30)},
                 {"periodSeconds", Int(10)}})},
           {"resources", Map({{"requests", Map({{"cpu", Str("100m")},
                                                {"memory", Str("128Mi")}})},
                              {"limits", Map({{"memory", Str("1Gi")}})}})},
           {"securityContext", ContainerSecurity(false)},
           {"volumeMounts",
            Seq({Map({{"name", Str("data")},
                      {"mountPath", Str("/var/lib/postgresql/data")}})})}});
      Node volumes = Seq({Map({{"name", Str("data")},
                               {"persistentVolumeClaim",
                                Map({{"claimName", Str("postgres-data")}})}})});
      // The image applies POSTGRES_PASSWORD only when it creates the data
      // directory: a changed password rolls the pod but not the role's.
      objects.push_back(DeploymentObject(
          "postgres", ns, version, 1, Map({{"type", Str("Recreate")}}),
          env.rollout_timeout_seconds(),
          SaltedHashHex(options.hash_salt,
                        absl::StrCat(env.postgres_image(), "\n",
                                     options.postgres_password)),
          std::move(container), std::move(volumes)));
    }
    // Redis: no persistence (as the local managed one); the password is
    // given on redis-server's command line, which it hides from ps.
    const std::map<std::string, std::string> redis_secret = {
        {"REDIS_PASSWORD", options.redis_password}};
    objects.push_back(
        SecretObject("redis-secrets", "redis", ns, version, redis_secret));
    objects.push_back(ServiceObject("redis", ns, version, "ClusterIP",
                                    {{"redis", kRedisPort}}));
    {
      Node container = Map(
          {{"name", Str("redis")},
           {"image", Str(env.redis_image())},
           {"imagePullPolicy", Str(env.image_pull_policy())},
           {"args", StrSeq({"--requirepass", "$(REDIS_PASSWORD)", "--save", "",
                            "--appendonly", "no"})},
           {"ports", Seq({Port("redis", kRedisPort)})},
           {"envFrom",
            Seq({Map({{"secretRef", Map({{"name", Str("redis-secrets")}})}})})},
           {"readinessProbe",
            Map({{"exec",
                  Map({{"command",
                        StrSeq({"sh", "-c",
                                "redis-cli -a \"$REDIS_PASSWORD\" "
                                "--no-auth-warning ping | grep -q PONG"})}})},
                 {"periodSeconds", Int(5)},
                 {"timeoutSeconds", Int(3)}})},
           {"livenessProbe",
            Map({{"tcpSocket", Map({{"port", Int(kRedisPort)}})},
                 {"initialDelaySeconds", Int(10)},
                 {"periodSeconds", Int(10)}})},
           {"resources", Map({{"requests", Map({{"cpu", Str("50m")},
                                                {"memory", Str("64Mi")}})},
                              {"limits", Map({{"memory", Str("512Mi")}})}})},
           {"securityContext", ContainerSecurity(false)},
           {"volumeMounts",
            Seq({Map({{"name", Str("data")}, {"mountPath", Str("/data")}})})}});
      objects.push_back(DeploymentObject(
          "redis", ns, version, 1, Map({{"type", Str("Recreate")}}),
          env.rollout_timeout_seconds(),
          SaltedHashHex(
              options.hash_salt,
              absl::StrCat(env.redis_image(), "\n", options.redis_password)),
          std::move(container), Seq({data_volume})));
    }
  }

  // The services in the local deployer's start order (kServiceNames).
  for (absl::string_view name_view : kServiceNames) {
    const std::string name(name_view);
    if (name == "halyard" || !Enabled(k8s, name)) continue;
    GENNAKER_ASSIGN_OR_RETURN(
        ServicePlan plan, PlanService(name, rendered.at(name), k8s, addresses));
    const v1::ServiceSettings& s = Settings(k8s, name);
    const v1::HalServiceSizing& sizing = ServiceSizing(env, name);
    const int replicas = sizing.replicas();
    const std::string config_map = name + "-config";
    const std::string secret = name + "-secrets";

    {
      Node doc = Header("v1", "ConfigMap");
      doc.Add("metadata", Metadata(config_map, ns, name, version));
      doc.Add("data", Map({{name + ".yml", Str(plan.config_map_yaml)}}));
      objects.push_back(Object("v1", "ConfigMap", config_map, ns, doc));
    }
    objects.push_back(
        SecretObject(secret, name, ns, version, plan.secret_data));

    std::vector<std::pair<std::string, int>> ports = {
        {"grpc", s.grpc_port()}, {"admin", s.admin_port()}};
    if (const int http = ServiceHttpPort(k8s, name); http > 0) {
      ports.emplace_back("http", http);
    }
    if (name == "gate" && UiEnabled(k8s)) {
      ports.emplace_back("ui", k8s.ui().port());
    }
    // gRPC keeps one connection per client: a ClusterIP Service balances
    // connections, not calls, so each consumer sticks to one replica.
    objects.push_back(ServiceObject(
        name, ns, version,
        name == "gate" ? env.gate_service_type() : "ClusterIP", ports));

    Node container_ports = Seq();
    for (const auto& [port_name, port] : ports) {
      container_ports.items.push_back(Port(port_name, port));
    }
    const std::string config_file = absl::StrCat(kConfigDir, "/", name, ".yml");
    const Node health_exec =
        Map({{"command", StrSeq({absl::StrCat(kBinDir, "/halyard"), "health",
                                 absl::StrCat("127.0.0.1:", s.grpc_port())})}});
    Node container = Map(
        {{"name", Str(name)},
         {"image", Str(image)},
         {"imagePullPolicy", Str(env.image_pull_policy())},
         {"command",
          StrSeq({absl::StrCat(kBinDir, "/", name), "--config", config_file})},
         {"ports", std::move(container_ports)},
         {"envFrom", Seq({Map({{"secretRef", Map({{"name", Str(secret)}})}})})},
         // Readiness: the gRPC health protocol (as the local deployer waits
         // for SERVING), NOT_SERVING while a store is unreachable: the
         // Service stops sending calls. Exec, so that podman kube play runs
         // it too.
         {"readinessProbe", Map({{"exec", health_exec},
                                 {"periodSeconds", Int(5)},
                                 {"timeoutSeconds", Int(3)},
                                 {"failureThreshold", Int(3)}})},
         // Liveness: the admin /livez, which checks no dependency (/health
         // fails during a store outage, and restarting every pod for it
         // fixes nothing).
         {"livenessProbe",
          Map({{"httpGet",
                Map({{"path", Str("/livez")}, {"port", Int(s.admin_port())}})},
               {"periodSeconds", Int(10)},
               {"timeoutSeconds", Int(3)},
               {"failureThreshold", Int(3)}})},
         // Start-up: a service waits up to 120 s for its store before it
         // serves (kStoreWaitAtStart, common/service/service_main.cc);
         // liveness and readiness start once this passed. 30 x 5 s leaves
         // room for the wait and the start.
         {"startupProbe",
          Map({{"exec", health_exec},
               {"periodSeconds", Int(kStartupPeriodSeconds)},
               {"timeoutSeconds", Int(3)},
               {"failureThreshold", Int(kStartupFailureThreshold)}})},
         {"resources", Resources(sizing.resources())},
         {"securityContext", ContainerSecurity(true)},
         {"volumeMounts",
          Seq({Map({{"name", Str("config")},
                    {"mountPath", Str(kConfigDir)},
                    {"readOnly", Bool(true)}}),
               Map({{"name", Str("data")}, {"mountPath", Str(kStateDir)}})})}});
    if (name == "clouddriver") {
      // Replicas forward a local account's operations to the one serving it
      // (the lease holder), at the pod's own address: pod names do not
      // resolve in a cluster, pod IPs do.
      container.Add(
          "env",
          Seq({Map({{"name", Str("POD_IP")},
                    {"valueFrom",
                     Map({{"fieldRef",
                           Map({{"fieldPath", Str("status.podIP")}})}})}})}));
    }
    Node config_volume = Map({{"name", Str("config")}});
    if (plan.config_from_secret) {
      config_volume.Add(
          "secret",
          Map({{"secretName", Str(secret)},
               {"items", Seq({Map({{"key", Str(name + ".yml")},
                                   {"path", Str(name + ".yml")}})})}}));
    } else {
      config_volume.Add("configMap", Map({{"name", Str(config_map)}}));
    }
    // Any change of config or secrets changes the pod template: the pods
    // roll.
    std::string hashed = plan.config_map_yaml;
    for (const auto& [key, value] : plan.secret_data) {
      absl::StrAppend(&hashed, "\n", key, "=", value);
    }
    // Every service may run several replicas (they coordinate through
    // PostgreSQL and Redis): roll one new pod in before an old one goes.
    Node strategy =
        Map({{"type", Str("RollingUpdate")},
             {"rollingUpdate",
              Map({{"maxUnavailable", Int(0)}, {"maxSurge", Int(1)}})}});
    objects.push_back(DeploymentObject(
        name, ns, version, replicas, std::move(strategy),
        env.rollout_timeout_seconds(), SaltedHashHex(options.hash_salt, hashed),
        std::move(container), Seq({std::move(config_volume), data_volume})));

    if (replicas > 1) {
      Node doc = Header("policy/v1", "PodDisruptionBudget");
      doc.Add("metadata", Metadata(name, ns, name, version));
      doc.Add("spec",
              Map({{"minAvailable", Int(1)},
                   {"selector", Map({{"matchLabels", Selector(name)}})}}));
      objects.push_back(
          Object("policy/v1", "PodDisruptionBudget", name, ns, doc));
    }
  }
  return objects;
}

std::string JoinManifests(const std::vector<KubernetesObject>& objects) {
  std::vector<std::string> docs;
  docs.reserve(objects.size());
  for (const KubernetesObject& o : objects) docs.push_back(o.yaml);
  return absl::StrJoin(docs, "---\n");
}

}  // namespace gennaker::halyard
