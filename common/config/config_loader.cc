#include "common/config/config_loader.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status/status_macros.h"
#include "gennaker/common/v1/options.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "yaml-cpp/yaml.h"

extern char** environ;

namespace gennaker::config {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

std::string Join(absl::string_view path, absl::string_view key) {
  return path.empty() ? std::string(key) : absl::StrCat(path, ".", key);
}

const FieldDescriptor* FindField(const Descriptor* d, absl::string_view key) {
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->name() == key || f->json_name() == key) return f;
  }
  // Environment variables arrive upper-cased: compare ignoring case.
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (absl::EqualsIgnoreCase(f->name(), key)) return f;
  }
  return nullptr;
}

absl::Status BadValue(absl::string_view path, absl::string_view want,
                      absl::string_view got) {
  return absl::InvalidArgumentError(
      absl::StrCat(path, ": expected ", want, ", got '", got, "'"));
}

const EnumValueDescriptor* FindEnumValue(const FieldDescriptor* f,
                                         absl::string_view text) {
  const auto* e = f->enum_type();
  std::string upper = absl::AsciiStrToUpper(text);
  absl::StrReplaceAll({{"-", "_"}}, &upper);
  if (const auto* v = e->FindValueByName(upper)) return v;
  // Accept the value without the enum's prefix: LOCAL_MANAGED for
  // STORAGE_MODE_LOCAL_MANAGED.
  for (int i = 0; i < e->value_count(); ++i) {
    const auto* v = e->value(i);
    if (absl::EndsWith(v->name(), absl::StrCat("_", upper)) && v->number() != 0)
      return v;
  }
  return nullptr;
}

// Converts one scalar text to the field's type and stores it (appends when
// repeated).
absl::Status SetScalar(Message* m, const FieldDescriptor* f,
                       absl::string_view text, absl::string_view path) {
  const Reflection* r = m->GetReflection();
  const bool rep = f->is_repeated();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      rep ? r->AddString(m, f, std::string(text))
          : r->SetString(m, f, std::string(text));
      return absl::OkStatus();
    case FieldDescriptor::CPPTYPE_INT32: {
      int32_t v;
      if (!absl::SimpleAtoi(text, &v))
        return BadValue(path, "an integer", text);
      rep ? r->AddInt32(m, f, v) : r->SetInt32(m, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t v;
      if (!absl::SimpleAtoi(text, &v))
        return BadValue(path, "an integer", text);
      rep ? r->AddInt64(m, f, v) : r->SetInt64(m, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t v;
      if (!absl::SimpleAtoi(text, &v))
        return BadValue(path, "a non-negative integer", text);
      rep ? r->AddUInt32(m, f, v) : r->SetUInt32(m, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t v;
      if (!absl::SimpleAtoi(text, &v))
        return BadValue(path, "a non-negative integer", text);
      rep ? r->AddUInt64(m, f, v) : r->SetUInt64(m, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT: {
      double v;
      if (!absl::SimpleAtod(text, &v)) return BadValue(path, "a number", text);
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE) {
        rep ? r->AddDouble(m, f, v) : r->SetDouble(m, f, v);
      } else {
        rep ? r->AddFloat(m, f, static_cast<float>(v))
            : r->SetFloat(m, f, static_cast<float>(v));
      }
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      bool v;
      if (!absl::SimpleAtob(text, &v))
        return BadValue(path, "true or false", text);
      rep ? r->AddBool(m, f, v) : r->SetBool(m, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      const EnumValueDescriptor* v = FindEnumValue(f, text);
      if (v == nullptr) {
        std::vector<std::string> names;
        for (int i = 1; i < f->enum_type()->value_count(); ++i) {
          names.push_back(f->enum_type()->value(i)->name());
        }
        return BadValue(
            path, absl::StrCat("one of ", absl::StrJoin(names, ", ")), text);
      }
      rep ? r->AddEnum(m, f, v) : r->SetEnum(m, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": expected a mapping"));
  }
  return absl::InternalError("unreachable");
}

absl::Status MergeNode(const YAML::Node& node, Message* m,
                       const std::string& path);

absl::Status MergeField(const YAML::Node& value, Message* m,
                        const FieldDescriptor* f, const std::string& path) {
  const Reflection* r = m->GetReflection();
  if (value.IsNull()) {
    r->ClearField(m, f);
    return absl::OkStatus();
  }
  if (f->is_map()) {
    if (!value.IsMap())
      return absl::InvalidArgumentError(path + ": expected a mapping");
    r->ClearField(m, f);
    const Descriptor* entry = f->message_type();
    for (const auto& kv : value) {
      Message* e = r->AddMessage(m, f);
      std::string key = kv.first.as<std::string>();
      std::string sub = Join(path, key);
      GENNAKER_RETURN_IF_ERROR(SetScalar(e, entry->map_key(), key, sub));
      const FieldDescriptor* vf = entry->map_value();
      if (vf->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        GENNAKER_RETURN_IF_ERROR(MergeNode(
            kv.second, e->GetReflection()->MutableMessage(e, vf), sub));
      } else {
        if (!kv.second.IsScalar())
          return absl::InvalidArgumentError(sub + ": expected a value");
        GENNAKER_RETURN_IF_ERROR(SetScalar(e, vf, kv.second.Scalar(), sub));
      }
    }
    return absl::OkStatus();
  }
  if (f->is_repeated()) {
    if (!value.IsSequence())
      return absl::InvalidArgumentError(path + ": expected a list");
    r->ClearField(m, f);
    int i = 0;
    for (const auto& item : value) {
      std::string sub = absl::StrCat(path, "[", i++, "]");
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        GENNAKER_RETURN_IF_ERROR(MergeNode(item, r->AddMessage(m, f), sub));
      } else {
        if (!item.IsScalar())
          return absl::InvalidArgumentError(sub + ": expected a value");
        GENNAKER_RETURN_IF_ERROR(SetScalar(m, f, item.Scalar(), sub));
      }
    }
    return absl::OkStatus();
  }
  if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
    return MergeNode(value, r->MutableMessage(m, f), path);
  }
  if (!value.IsScalar())
    return absl::InvalidArgumentError(path + ": expected a value");
  return SetScalar(m, f, value.Scalar(), path);
}

absl::Status MergeNode(const YAML::Node& node, Message* m,
                       const std::string& path) {
  if (node.IsNull()) return absl::OkStatus();
  if (!node.IsMap()) {
    return absl::InvalidArgumentError(absl::StrCat(
        path.empty() ? "top level" : path, ": expected a mapping"));
  }
  for (const auto& kv : node) {
    std::string key = kv.first.as<std::string>();
    std::string sub = Join(path, key);
    const FieldDescriptor* f = FindField(m->GetDescriptor(), key);
    if (f == nullptr) return absl::InvalidArgumentError(sub + ": unknown key");
    GENNAKER_RETURN_IF_ERROR(MergeField(kv.second, m, f, sub));
  }
  return absl::OkStatus();
}

// Walks a dotted key to the message holding its last segment.
absl::StatusOr<std::pair<Message*, const FieldDescriptor*>> Resolve(
    Message* m, absl::string_view key) {
  std::vector<std::string> parts = absl::StrSplit(key, '.');
  std::string path;
  for (size_t i = 0; i < parts.size(); ++i) {
    path = Join(path, parts[i]);
    const FieldDescriptor* f = FindField(m->GetDescriptor(), parts[i]);
    if (f == nullptr) return absl::InvalidArgumentError(path + ": unknown key");
    if (i + 1 == parts.size()) return std::make_pair(m, f);
    if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE || f->is_repeated()) {
      return absl::InvalidArgumentError(path + ": is not a section");
    }
    m = m->GetReflection()->MutableMessage(m, f);
  }
  return absl::InvalidArgumentError("empty key");
}

void EmitScalar(YAML::Emitter& out, const Message& m, const FieldDescriptor* f,
                int index) {
  const Reflection* r = m.GetReflection();
  const bool rep = index >= 0;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string s =
          rep ? r->GetRepeatedString(m, f, index) : r->GetString(m, f);
      out << YAML::DoubleQuoted << s;
      break;
    }
    case FieldDescriptor::CPPTYPE_INT32:
      out << (rep ? r->GetRepeatedInt32(m, f, index) : r->GetInt32(m, f));
      break;
    case FieldDescriptor::CPPTYPE_INT64:
      out << (rep ? r->GetRepeatedInt64(m, f, index) : r->GetInt64(m, f));
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
      out << (rep ? r->GetRepeatedUInt32(m, f, index) : r->GetUInt32(m, f));
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      out << (rep ? r->GetRepeatedUInt64(m, f, index) : r->GetUInt64(m, f));
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      out << (rep ? r->GetRepeatedDouble(m, f, index) : r->GetDouble(m, f));
      break;
    case FieldDescriptor::CPPTYPE_FLOAT:
      out << (rep ? r->GetRepeatedFloat(m, f, index) : r->GetFloat(m, f));
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      out << ((rep ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f))
                  ? "true"
                  : "false");
      break;
    case FieldDescriptor::CPPTYPE_ENUM:
      out << (rep ? r->GetRepeatedEnum(m, f, index) : r->GetEnum(m, f))->name();
      break;
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
}

void EmitMessage(YAML::Emitter& out, const Message& m) {
  const Reflection* r = m.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  out << YAML::BeginMap;
  for (const FieldDescriptor* f : fields) {
    out << YAML::Key << f->json_name() << YAML::Value;
    if (f->is_map()) {
      out << YAML::BeginMap;
      for (int i = 0; i < r->FieldSize(m, f); ++i) {
        const Message& e = r->GetRepeatedMessage(m, f, i);
        const Descriptor* d = e.GetDescriptor();
        out << YAML::Key << e.GetReflection()->GetString(e, d->map_key())
            << YAML::Value;
        if (d->map_value()->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
          EmitMessage(out, e.GetReflection()->GetMessage(e, d->map_value()));
        } else {
          EmitScalar(out, e, d->map_value(), -1);
        }
      }
      out << YAML::EndMap;
    } else if (f->is_repeated()) {
      out << YAML::BeginSeq;
      for (int i = 0; i < r->FieldSize(m, f); ++i) {
        if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
          EmitMessage(out, r->GetRepeatedMessage(m, f, i));
        } else {
          EmitScalar(out, m, f, i);
        }
      }
      out << YAML::EndSeq;
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      EmitMessage(out, r->GetMessage(m, f));
    } else {
      EmitScalar(out, m, f, -1);
    }
  }
  out << YAML::EndMap;
}

bool ValidPort(int port) { return port > 0 && port < 65536; }

// The (gennaker.common.v1.rules) of `m`'s own scalar fields that its values
// break, as "path.field: why".
void AppendRuleViolations(const Message& m, const std::string& path,
                          std::vector<std::string>* out) {
  const Descriptor* d = m.GetDescriptor();
  const Reflection* r = m.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->is_repeated() || !f->options().HasExtension(common::v1::rules)) {
      continue;
    }
    const common::v1::FieldRules& rules =
        f->options().GetExtension(common::v1::rules);
    std::string why;
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32:
      case FieldDescriptor::CPPTYPE_INT64: {
        const int64_t v = f->cpp_type() == FieldDescriptor::CPPTYPE_INT32
                              ? r->GetInt32(m, f)
                              : r->GetInt64(m, f);
        const bool low = rules.has_min() && v < rules.min();
        const bool high = rules.has_max() && v > rules.max();
        if (!low && !high) break;
        if (rules.has_min() && rules.has_max()) {
          why = absl::StrCat("must be in ", rules.min(), "..", rules.max());
        } else if (low) {
          why = rules.min() == 0
                    ? "must not be negative"
                    : absl::StrCat("must be at least ", rules.min());
        } else {
          why = absl::StrCat("must be at most ", rules.max());
        }
        break;
      }
      case FieldDescriptor::CPPTYPE_STRING: {
        const std::string v = r->GetString(m, f);
        if (rules.required() && v.empty()) {
          why = "is required";
        } else if (rules.one_of_size() > 0 &&
                   std::find(rules.one_of().begin(), rules.one_of().end(), v) ==
                       rules.one_of().end()) {
          why = rules.one_of_size() == 2
                    ? absl::StrCat("must be ", rules.one_of(0), " or ",
                                   rules.one_of(1))
                    : absl::StrCat("must be one of ",
                                   absl::StrJoin(rules.one_of(), ", "));
        }
        break;
      }
      default:
        break;
    }
    if (!why.empty()) {
      out->push_back(absl::StrCat(Join(path, f->json_name()), ": ", why));
    }
  }
}

absl::Status ValidateBlock(const Message& m, const std::string& path) {
  const std::string& type = m.GetDescriptor()->full_name();
  const Reflection* r = m.GetReflection();
  auto get_int = [&](const char* name) {
    return r->GetInt32(m, m.GetDescriptor()->FindFieldByName(name));
  };
  auto get_str = [&](const char* name) {
    return r->GetString(m, m.GetDescriptor()->FindFieldByName(name));
  };
  auto err = [&](absl::string_view field, absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat(Join(path, field), ": ", why));
  };
  // Ranges, presence and allowed values are declared in the protos
  // ((gennaker.common.v1.rules)); what is left here are formats and checks
  // across fields.
  // Only the shared blocks' rules here: a service's own fields get their
  // defaults from the service (ServiceMain checks every rule once they have).
  if (absl::StartsWith(type, "gennaker.common.v1.")) {
    std::vector<std::string> violations;
    AppendRuleViolations(m, path, &violations);
    if (!violations.empty()) {
      return absl::InvalidArgumentError(violations.front());
    }
  }
  if (type == "gennaker.common.v1.ServerConfig") {
    if (get_int("grpc_port") == get_int("admin_port")) {
      return err("adminPort", "must differ from grpcPort");
    }
  } else if (type == "gennaker.common.v1.RedisConfig") {
    if (!absl::StartsWith(get_str("url"), "redis://")) {
      return err("url", "must be a redis://host:port URL");
    }
  } else if (type == "gennaker.common.v1.EndpointConfig") {
    const std::string address = get_str("address");
    if (!address.empty()) {
      auto colon = address.rfind(':');
      int port = 0;
      if (colon == std::string::npos ||
          !absl::SimpleAtoi(address.substr(colon + 1), &port) ||
          !ValidPort(port)) {
        return err("address",
                   absl::StrCat("must be host:port, got '", address, "'"));
      }
    }
  }
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const FieldDescriptor* f : fields) {
    if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE || f->is_repeated())
      continue;
    GENNAKER_RETURN_IF_ERROR(
        ValidateBlock(r->GetMessage(m, f), Join(path, f->json_name())));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status MergeYaml(absl::string_view yaml, absl::string_view origin,
                       Message* message) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(origin, ": invalid YAML: ", e.what()));
  }
  absl::Status status;
  try {
    status = MergeNode(root, message, "");
  } catch (const YAML::Exception& e) {
    status = absl::InvalidArgumentError(e.what());
  }
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(origin, ": ", status.message()));
  }
  return absl::OkStatus();
}

absl::Status MergeYamlFile(const std::string& path, Message* message) {
  std::ifstream in(path);
  if (!in)
    return absl::NotFoundError(absl::StrCat(path, ": cannot read config file"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return MergeYaml(buffer.str(), path, message);
}

std::vector<std::pair<std::string, std::string>> ProcessEnvironment() {
  std::vector<std::pair<std::string, std::string>> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    absl::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq == absl::string_view::npos) continue;
    env.emplace_back(std::string(kv.substr(0, eq)),
                     std::string(kv.substr(eq + 1)));
  }
  return env;
}

absl::Status ApplyEnvOverrides(
    const std::vector<std::pair<std::string, std::string>>& env,
    Message* message) {
  for (const auto& [name, value] : env) {
    absl::string_view rest(name);
    if (!absl::ConsumePrefix(&rest, kEnvPrefix)) continue;
    std::string key = absl::StrReplaceAll(rest, {{"__", "."}});
    absl::Status s = SetField(message, key, value);
    if (!s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("environment ", name, ": ", s.message()));
    }
  }
  return absl::OkStatus();
}

absl::Status SetField(Message* message, absl::string_view key,
                      absl::string_view value) {
  GENNAKER_ASSIGN_OR_RETURN(auto target, Resolve(message, key));
  auto [m, f] = target;
  if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
    return absl::InvalidArgumentError(
        absl::StrCat(key, ": is a section, not a value"));
  }
  if (f->is_repeated()) {
    m->GetReflection()->ClearField(m, f);
    for (absl::string_view item :
         absl::StrSplit(value, ',', absl::SkipEmpty())) {
      GENNAKER_RETURN_IF_ERROR(
          SetScalar(m, f, absl::StripAsciiWhitespace(item), key));
    }
    return absl::OkStatus();
  }
  return SetScalar(m, f, value, key);
}

absl::StatusOr<std::string> GetField(const Message& message,
                                     absl::string_view key) {
  std::unique_ptr<Message> copy(message.New());
  copy->CopyFrom(message);
  GENNAKER_ASSIGN_OR_RETURN(auto target, Resolve(copy.get(), key));
  auto [m, f] = target;
  YAML::Emitter out;
  if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !f->is_repeated()) {
    EmitMessage(out, m->GetReflection()->GetMessage(*m, f));
  } else if (f->is_repeated()) {
    out << YAML::BeginSeq;
    for (int i = 0; i < m->GetReflection()->FieldSize(*m, f); ++i)
      EmitScalar(out, *m, f, i);
    out << YAML::EndSeq;
  } else {
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
      return m->GetReflection()->GetString(*m, f);
    }
    EmitScalar(out, *m, f, -1);
  }
  return std::string(out.c_str());
}

std::string ToYaml(const Message& message) {
  YAML::Emitter out;
  EmitMessage(out, message);
  return std::string(out.c_str()) + "\n";
}

absl::Status Load(const std::string& path, Message* message) {
  if (!path.empty()) GENNAKER_RETURN_IF_ERROR(MergeYamlFile(path, message));
  GENNAKER_RETURN_IF_ERROR(ApplyEnvOverrides(ProcessEnvironment(), message));
  return ValidateCommonBlocks(*message);
}

std::vector<std::string> RuleViolations(const Message& message,
                                        const std::string& path) {
  std::vector<std::string> out;
  AppendRuleViolations(message, path, &out);
  const Reflection* r = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(message, &fields);
  for (const FieldDescriptor* f : fields) {
    if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
    const std::string key = Join(path, f->json_name());
    if (!f->is_repeated()) {
      std::vector<std::string> inner =
          RuleViolations(r->GetMessage(message, f), key);
      out.insert(out.end(), inner.begin(), inner.end());
      continue;
    }
    for (int i = 0; i < r->FieldSize(message, f); ++i) {
      std::vector<std::string> inner = RuleViolations(
          r->GetRepeatedMessage(message, f, i), absl::StrCat(key, "[", i, "]"));
      out.insert(out.end(), inner.begin(), inner.end());
    }
  }
  return out;
}

absl::Status ValidateCommonBlocks(const Message& message) {
  return ValidateBlock(message, "");
}

}  // namespace gennaker::config
