// The shape of an MPT v2 pipeline template and of its references, checked the
// same way where a template is saved (front50) and where it is used (orca's
// resolver), so that a template refused at plan time is refused at save time.
//
// Header-only on purpose: it needs nothing but JSON and absl, and front50
// includes it without linking any orca library.
//
//   ParseTemplateReference("spinnaker://double-wait:stable")
//     -> {id:"double-wait", tag:"stable"}
//   ValidateTemplate(template)   INVALID_ARGUMENT naming the first problem:
//     schema other than "v2", no id, a metadata.name Spinnaker refuses, a
//     variable without a valid name, with an unknown type (int, float, bool,
//     list, string, object), a repeated name, a default of the wrong type,
//     a `pipeline` that is not an object (it may be absent), or a pipeline
//     that references its own template.
//   CheckTemplateChain(template, load)   follows templates whose pipeline is
//     itself a templated config (template -> template -> ...): a chain that
//     comes back to a template already on it is "Cyclic template
//     inheritance: a -> b -> a". Templates that cannot be loaded end the
//     chain (they are checked when they are used).
#ifndef GENNAKER_SERVICES_ORCA_TEMPLATES_V2_SCHEMA_H_
#define GENNAKER_SERVICES_ORCA_TEMPLATES_V2_SCHEMA_H_

#include <cmath>
#include <cstddef>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/spinnaker/json.h"

namespace gennaker::orca::templates {

using Json = spinnaker::Json;

inline constexpr char kReferencePrefix[] = "spinnaker://";
inline constexpr int kMaxTemplateDepth = 10;
// Bounds of a resolved pipeline's stages (each of the template's and the
// configuration's stage lists, and the result), and of the requisites and
// injection targets they name together.
inline constexpr size_t kMaxTemplateStages = 1000;
inline constexpr size_t kMaxTemplateStageEdges = 20000;

struct TemplateReference {
  std::string id;
  std::string tag;     // "" when the reference names none
  std::string digest;  // set for spinnaker://id@sha256:<digest>
  // "id", "id:tag" or "id@sha256:digest", as front50 keys it.
  std::string Key() const {
    if (!digest.empty()) return absl::StrCat(id, "@sha256:", digest);
    return tag.empty() ? id : absl::StrCat(id, ":", tag);
  }
};

// The variable types of the v2 schema.
inline const std::vector<std::string>& VariableTypes() {
  static const std::vector<std::string> kTypes = {"int",  "float",  "bool",
                                                  "list", "string", "object"};
  return kTypes;
}

// Lower-cased type of a template variable ("object" when unset); "" when the
// type is not one of the schema's.
inline std::string VariableType(const Json& variable) {
  const auto it = variable.find("type");
  if (it == variable.end() || it->is_null()) return "object";
  if (!it->is_string()) return "";
  std::string t = absl::AsciiStrToLower(it->get<std::string>());
  for (const std::string& known : VariableTypes()) {
    if (t == known) return t;
  }
  return "";
}

// Java's name of the class Jackson gives a JSON value, which is how orca
// words a type mismatch.
inline std::string JavaTypeName(const Json& v) {
  if (v.is_boolean()) return "Boolean";
  if (v.is_number_integer()) return "Integer";
  if (v.is_number()) return "Double";
  if (v.is_string()) return "String";
  if (v.is_array()) return "ArrayList";
  if (v.is_object()) return "LinkedHashMap";
  return "null";
}

// Whether `value` (not null) fits `type` as orca checks it: loosely for int
// (a whole-valued double passes, since echo's copy of a config cannot tell).
inline bool FitsType(const std::string& type, const Json& value) {
  if (type == "object") return true;
  if (type == "int") {
    if (value.is_number_integer()) return true;
    if (value.is_number_float()) {
      double d = value.get<double>();
      return std::isfinite(d) && std::floor(d) == d;
    }
    return false;
  }
  if (type == "float") return value.is_number_float();
  if (type == "bool") return value.is_boolean();
  if (type == "list") return value.is_array();
  if (type == "string") return value.is_string();
  return false;
}

inline bool ValidChars(const std::string& s, const char* extra) {
  if (s.empty()) return false;
  for (char c : s) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c))) continue;
    bool ok = false;
    for (const char* e = extra; *e != '\0'; ++e) ok = ok || c == *e;
    if (!ok) return false;
  }
  return true;
}

// "spinnaker://id", "spinnaker://id:tag" or "spinnaker://id@sha256:digest".
inline absl::StatusOr<TemplateReference> ParseTemplateReference(
    const std::string& reference) {
  if (!absl::StartsWith(reference, kReferencePrefix)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'front50/pipelineTemplate' artifacts must be specified with a "
        "'reference' starting with spinnaker://, got '",
        reference, "'"));
  }
  std::string rest = reference.substr(sizeof(kReferencePrefix) - 1);
  TemplateReference out;
  auto malformed = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("Malformed Front50 artifact reference: ", reference));
  };
  size_t at = rest.find("@sha256:");
  if (at != std::string::npos) {
    out.id = rest.substr(0, at);
    out.digest = rest.substr(at + 8);
    if (out.id.empty() || out.digest.empty()) return malformed();
    return out;
  }
  size_t colon = rest.find(':');
  if (colon == std::string::npos) {
    out.id = rest;
  } else {
    out.id = rest.substr(0, colon);
    out.tag = rest.substr(colon + 1);
    if (out.tag.empty() || out.tag.find(':') != std::string::npos) {
      return malformed();
    }
  }
  if (out.id.empty()) return malformed();
  return out;
}

// Whether `config` is an MPT v2 templated pipeline config: saved ones carry
// type "templatedPipeline"; inline ones (plan) schema "v2" and a template.
inline bool IsTemplatedConfig(const Json& config) {
  if (!config.is_object()) return false;
  if (spinnaker::String(config, "type") == "templatedPipeline") return true;
  return spinnaker::String(config, "schema") == "v2" &&
         config.contains("template") && config["template"].is_object();
}

// The reference of a templated config's template ("" when none).
inline std::string ConfigTemplateReference(const Json& config) {
  if (!config.is_object() || !config.contains("template")) return "";
  return spinnaker::String(config["template"], "reference");
}

inline absl::Status ValidateTemplate(const Json& t) {
  auto invalid = [](auto&&... parts) {
    return absl::InvalidArgumentError(
        absl::StrCat("Pipeline template is invalid: ", parts...));
  };
  if (!t.is_object()) return invalid("a template must be a JSON object");
  const std::string schema = spinnaker::String(t, "schema");
  if (schema != "v2") {
    return invalid("schema must be \"v2\" (got \"", schema, "\")");
  }
  const std::string id = spinnaker::String(t, "id");
  if (id.empty()) return invalid("a template needs an id");
  if (t.contains("metadata") && t["metadata"].is_object()) {
    const std::string name = spinnaker::String(t["metadata"], "name");
    if (t["metadata"].contains("name") && !ValidChars(name, "-& \t")) {
      return invalid("metadata.name '", name,
                     "' may only hold letters, digits, '-', '&' and spaces");
    }
  }
  if (t.contains("variables") && !t["variables"].is_null()) {
    if (!t["variables"].is_array()) return invalid("variables must be a list");
    std::set<std::string> names;
    for (const Json& v : t["variables"]) {
      if (!v.is_object()) return invalid("every variable must be an object");
      const std::string name = spinnaker::String(v, "name");
      if (!ValidChars(name, "_-")) {
        return invalid("variable name '", name,
                       "' may only hold letters, digits, '_' and '-'");
      }
      if (!names.insert(name).second) {
        return invalid("variable '", name, "' is defined twice");
      }
      const std::string type = VariableType(v);
      if (type.empty()) {
        return invalid("variable '", name, "' has unknown type '",
                       v["type"].is_string() ? v["type"].get<std::string>()
                                             : v["type"].dump(),
                       "'; the types are ",
                       absl::StrJoin(VariableTypes(), ", "));
      }
      // A default that is an expression is rendered when the template is
      // used; any other must fit the type.
      if (v.contains("defaultValue") && !v["defaultValue"].is_null()) {
        const Json& d = v["defaultValue"];
        bool expression = d.is_string() &&
                          d.get<std::string>().find("${") != std::string::npos;
        if (!expression && !FitsType(type, d)) {
          return invalid("variable '", name, "' has a default of type '",
                         JavaTypeName(d), "', not '", type, "'");
        }
      }
    }
  }
  // A template saved without its pipeline yet (as Spinnaker allows) plans
  // to a pipeline without stages.
  if (!t.contains("pipeline") || t["pipeline"].is_null()) {
    return absl::OkStatus();
  }
  if (!t["pipeline"].is_object()) {
    return invalid("'pipeline' must be a JSON object");
  }
  const Json& p = t["pipeline"];
  if (p.contains("stages") && !p["stages"].is_null() &&
      !p["stages"].is_array()) {
    return invalid("pipeline.stages must be a list");
  }
  if (IsTemplatedConfig(p)) {
    absl::StatusOr<TemplateReference> ref =
        ParseTemplateReference(ConfigTemplateReference(p));
    if (!ref.ok()) return invalid(ref.status().message());
    if (absl::EqualsIgnoreCase(ref->id, id)) {
      return invalid("Cyclic template inheritance: ", id, " -> ", ref->id);
    }
  }
  return absl::OkStatus();
}

// Loads a template by reference; NOT_FOUND when there is none.
using TemplateLoader =
    std::function<absl::StatusOr<Json>(const TemplateReference& ref)>;

inline absl::Status CheckTemplateChain(const Json& t,
                                       const TemplateLoader& load) {
  std::vector<std::string> chain = {spinnaker::String(t, "id")};
  const Json* current = &t;
  Json next;
  for (int depth = 0;; ++depth) {
    if (!current->contains("pipeline") ||
        !IsTemplatedConfig((*current)["pipeline"])) {
      return absl::OkStatus();
    }
    absl::StatusOr<TemplateReference> ref =
        ParseTemplateReference(ConfigTemplateReference((*current)["pipeline"]));
    if (!ref.ok()) return ref.status();
    for (const std::string& seen : chain) {
      if (absl::EqualsIgnoreCase(seen, ref->id)) {
        chain.push_back(ref->id);
        return absl::InvalidArgumentError(
            absl::StrCat("Pipeline template is invalid: Cyclic template "
                         "inheritance: ",
                         absl::StrJoin(chain, " -> ")));
      }
    }
    chain.push_back(ref->id);
    if (depth >= kMaxTemplateDepth) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Pipeline template is invalid: templates nest deeper than ",
          kMaxTemplateDepth, ": ", absl::StrJoin(chain, " -> ")));
    }
    absl::StatusOr<Json> loaded = load(*ref);
    if (!loaded.ok()) {
      if (absl::IsNotFound(loaded.status())) return absl::OkStatus();
      return loaded.status();
    }
    next = *std::move(loaded);
    current = &next;
  }
}

}  // namespace gennaker::orca::templates

#endif  // GENNAKER_SERVICES_ORCA_TEMPLATES_V2_SCHEMA_H_
