// The syntax tree of the expression language, shared by the parser (parser.cc)
// and the evaluator (expression.cc). Internal to this directory.
#ifndef GENNAKER_SERVICES_ORCA_EXPRESSION_AST_H_
#define GENNAKER_SERVICES_ORCA_EXPRESSION_AST_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/orca/expression/expression.h"

namespace gennaker::orca::expression {

struct Node {
  enum class Kind {
    kLiteral,   // value
    kList,      // kids: elements
    kMap,       // kids: alternating key literal, value
    kRoot,      // #root
    kThis,      // #this
    kGet,       // kids[0] base (null: #this), name; safe: ?.
    kIndex,     // kids[0] base, kids[1] index
    kMethod,    // kids[0] base (null: #this), name, kids[1..] args; safe: ?.
    kFunction,  // name, kids: args
    kSelect,    // kids[0] base, kids[1] predicate
    kProject,   // kids[0] base, kids[1] projection
    kUnary,     // name: "!" or "-", kids[0]
    kBinary,    // name: operator, kids[0], kids[1]
    kAnd,
    kOr,
    kTernary,  // kids: cond, then, else
    kElvis,    // kids: value, fallback
  };
  Kind kind;
  std::string name;
  Json value;
  bool safe = false;
  int depth =
      1;  // of the subtree; bounded so that evaluation cannot exhaust the stack
  std::vector<std::shared_ptr<const Node>> kids;
};

using NodePtr = std::shared_ptr<const Node>;

// Helpers shared by the evaluator and the built-in functions.
// Text of a value as Spring renders it in templates and concatenations.
std::string ToText(const Json& v);
// InvalidArgument unless `name` got between `min` and `max` arguments.
absl::Status ArgCount(const std::string& name, const std::vector<Json>& args,
                      size_t min, size_t max);
// Refuses results larger than 1 MiB instead of exhausting memory.
absl::Status CheckSize(size_t bytes);

// Parses `text` into a tree; InvalidArgument naming the position on a syntax
// error.
absl::StatusOr<NodePtr> ParseTree(absl::string_view text);

}  // namespace gennaker::orca::expression

#endif  // GENNAKER_SERVICES_ORCA_EXPRESSION_AST_H_
