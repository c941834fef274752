// The built-in helper functions of the expression language (#toJson, #readJson,
// ...).
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/spinnaker/json.h"
#include "common/status/status_macros.h"
#include "services/orca/expression/ast.h"

namespace gennaker::orca::expression {
namespace {

absl::StatusOr<std::string> OneString(const char* name,
                                      const std::vector<Json>& args) {
  GENNAKER_RETURN_IF_ERROR(ArgCount(name, args, 1, 1));
  if (!args[0].is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat("#", name, "() needs a string"));
  }
  return args[0].get<std::string>();
}

}  // namespace

FunctionRegistry FunctionRegistry::WithBuiltins() {
  FunctionRegistry r;
  r.Register("toJson",
             [](const std::vector<Json>& args) -> absl::StatusOr<Json> {
               GENNAKER_RETURN_IF_ERROR(ArgCount("toJson", args, 1, 1));
               std::string text = spinnaker::Dump(args[0]);
               if (absl::StrContains(text, "${")) {
                 return absl::InvalidArgumentError(
                     "#toJson(): result contains an unevaluated ${...}");
               }
               return text;
             });
  r.Register(
      "readJson", [](const std::vector<Json>& args) -> absl::StatusOr<Json> {
        GENNAKER_ASSIGN_OR_RETURN(std::string s, OneString("readJson", args));
        // The text usually comes from outside (a trigger parameter, a
        // webhook's answer): its nesting is bounded like any request body's,
        // because everything done with the value afterwards recurses.
        absl::StatusOr<Json> j = spinnaker::ParseJson(s, "#readJson()'s text");
        if (!j.ok()) {
          return absl::InvalidArgumentError(
              absl::StrCat("#readJson(): ", j.status().message()));
        }
        return *std::move(j);
      });
  r.Register(
      "toInt", [](const std::vector<Json>& args) -> absl::StatusOr<Json> {
        GENNAKER_RETURN_IF_ERROR(ArgCount("toInt", args, 1, 1));
        if (args[0].is_number_integer()) return args[0];
        int64_t v;
        if (args[0].is_string() &&
            absl::SimpleAtoi(
                absl::StripAsciiWhitespace(args[0].get<std::string>()), &v)) {
          return v;
        }
        return absl::InvalidArgumentError("#toInt(): not an integer: " +
                                          ToText(args[0]));
      });
  r.Register("toFloat",
             [](const std::vector<Json>& args) -> absl::StatusOr<Json> {
               GENNAKER_RETURN_IF_ERROR(ArgCount("toFloat", args, 1, 1));
               if (args[0].is_number()) return args[0].get<double>();
               double v;
               if (args[0].is_string() &&
                   absl::SimpleAtod(args[0].get<std::string>(), &v))
                 return v;
               return absl::InvalidArgumentError("#toFloat(): not a number: " +
                                                 ToText(args[0]));
             });
  r.Register(
      "toBoolean", [](const std::vector<Json>& args) -> absl::StatusOr<Json> {
        GENNAKER_RETURN_IF_ERROR(ArgCount("toBoolean", args, 1, 1));
        if (args[0].is_boolean()) return args[0];
        // Java's Boolean.valueOf: true only for "true", ignoring case.
        return args[0].is_string() &&
               absl::EqualsIgnoreCase(args[0].get<std::string>(), "true");
      });
  r.Register(
      "toBase64", [](const std::vector<Json>& args) -> absl::StatusOr<Json> {
        GENNAKER_ASSIGN_OR_RETURN(std::string s, OneString("toBase64", args));
        return absl::Base64Escape(s);
      });
  r.Register(
      "fromBase64", [](const std::vector<Json>& args) -> absl::StatusOr<Json> {
        GENNAKER_ASSIGN_OR_RETURN(std::string s, OneString("fromBase64", args));
        std::string out;
        if (!absl::Base64Unescape(s, &out)) {
          return absl::InvalidArgumentError("#fromBase64(): not valid base64");
        }
        return out;
      });
  r.Register("alphanumerical",
             [](const std::vector<Json>& args) -> absl::StatusOr<Json> {
               GENNAKER_ASSIGN_OR_RETURN(std::string s,
                                         OneString("alphanumerical", args));
               std::string out;
               for (char c : s) {
                 if (absl::ascii_isalnum(static_cast<unsigned char>(c)))
                   out.push_back(c);
               }
               return out;
             });
  return r;
}

void FunctionRegistry::Register(std::string name, Function function) {
  functions_[std::move(name)] = std::move(function);
}

const FunctionRegistry::Function* FunctionRegistry::Find(
    const std::string& name) const {
  auto it = functions_.find(name);
  return it == functions_.end() ? nullptr : &it->second;
}

}  // namespace gennaker::orca::expression
