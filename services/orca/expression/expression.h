// Spinnaker's pipeline expression language (a subset of Spring SpEL) over JSON
// values.
//
//   auto expr = Expression::Parse("trigger.parameters.env == 'prod' ? 3 : 1");
//   absl::StatusOr<Json> v = expr->Evaluate(context);
//
// Supported: literals ('str' with '' escapes, "str", integers, decimals,
// true/false/null), inline lists {1,2} and maps {a:1,'b':2}; property access
// a.b, a?.b, a['k'], a[0]; unknown map keys yield null; method calls on
// strings, lists and maps (contains, equals, startsWith, endsWith, toString,
// size, length, isEmpty, split, substring, toUpperCase, toLowerCase, trim,
// replace, indexOf, get, containsKey, keySet, values); selection .?[...] and
// projection
// .![...] (with #this); operators + - * / % == != < <= > >= (and eq ne lt le gt
// ge), matches (RE2), and/&&, or/||, not/!, ternary ?:, elvis ?:; variables
// #root and #this; helper functions #name(args) from a FunctionRegistry (the
// built-in ones: toJson, readJson, toInt, toFloat, toBoolean, toBase64,
// fromBase64, alphanumerical). Expressions are immutable and thread-safe once
// parsed.
#ifndef GENNAKER_SERVICES_ORCA_EXPRESSION_EXPRESSION_H_
#define GENNAKER_SERVICES_ORCA_EXPRESSION_EXPRESSION_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace gennaker::orca::expression {

using Json = nlohmann::ordered_json;

// Helper functions callable as #name(args...).
class FunctionRegistry {
 public:
  using Function =
      std::function<absl::StatusOr<Json>(const std::vector<Json>& args)>;
  // A registry holding the built-in helpers.
  static FunctionRegistry WithBuiltins();
  void Register(std::string name, Function function);
  const Function* Find(const std::string& name) const;

 private:
  std::map<std::string, Function> functions_;
};

struct Node;

class Expression {
 public:
  // Parses one expression (the text inside ${...}). InvalidArgument with the
  // position on a syntax error; expressions longer than kMaxLength are refused.
  static absl::StatusOr<Expression> Parse(absl::string_view text);
  static constexpr size_t kMaxLength = 10000;

  // Evaluates against `root` (#root; bare identifiers are its properties).
  // A result nesting deeper than kMaxResultDepth is refused: results are
  // stored in stage contexts and read by later expressions, so each
  // evaluation could otherwise add levels until copying or printing the
  // execution overflows the stack.
  absl::StatusOr<Json> Evaluate(const Json& root,
                                const FunctionRegistry& functions) const;
  static constexpr int kMaxResultDepth = 200;

  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::shared_ptr<const Node> ast_;
};

// One expression that could not be evaluated while processing templates.
struct Failure {
  std::string expression;   // the ${...} text
  std::string description;  // why
  bool error = true;        // false: INFO "not found" (evaluated to null)
};

// Spinnaker's template processing: every string (and map key) containing ${...}
// in `value` is evaluated. A string that is exactly one ${...} becomes the
// typed result; a mixed string becomes a string. An expression that fails or
// yields null leaves its text unchanged and is recorded in `failures`.
// Values nested deeper than twice Expression::kMaxResultDepth are not walked:
// they become null, with a failure recorded.
Json ProcessTemplates(const Json& value, const Json& root,
                      const FunctionRegistry& functions,
                      std::vector<Failure>* failures);

// False when `value` nests arrays/objects deeper than `max_depth` levels (a
// scalar is depth 0). Iterative, so it is safe on any value.
bool WithinDepth(const Json& value, int max_depth);

}  // namespace gennaker::orca::expression

#endif  // GENNAKER_SERVICES_ORCA_EXPRESSION_EXPRESSION_H_
