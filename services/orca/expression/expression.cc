#include "services/orca/expression/expression.h"

#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/spinnaker/json.h"
#include "common/status/status_macros.h"
#include "re2/re2.h"
#include "services/orca/expression/ast.h"

namespace gennaker::orca::expression {

// Text of a value as Spring renders it in a template or a string concatenation:
// lists as "a,b" (its collection-to-string conversion), maps as Java's "{k=v,
// k2=v2}".
std::string ToText(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "null";
  if (v.is_array()) {
    std::string out;
    for (size_t i = 0; i < v.size(); ++i)
      absl::StrAppend(&out, i ? "," : "", ToText(v[i]));
    return out;
  }
  if (v.is_object()) {
    std::string out = "{";
    bool first = true;
    for (const auto& [k, e] : v.items()) {
      absl::StrAppend(&out, first ? "" : ", ", k, "=", ToText(e));
      first = false;
    }
    return out + "}";
  }
  return spinnaker::Dump(v);
}

// Results larger than 1 MiB are refused instead of exhausting memory.
absl::Status CheckSize(size_t bytes) {
  constexpr size_t kMaxResultBytes = 1 << 20;
  if (bytes > kMaxResultBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("result larger than ", kMaxResultBytes, " bytes"));
  }
  return absl::OkStatus();
}

absl::Status ArgCount(const std::string& name, const std::vector<Json>& args,
                      size_t min, size_t max) {
  if (args.size() < min || args.size() > max) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, "() takes ",
        min == max ? absl::StrCat(min) : absl::StrCat(min, "-", max),
        " argument(s), got ", args.size()));
  }
  return absl::OkStatus();
}

namespace {

// ---------------------------------------------------------------------------------------
// Values

std::string TypeName(const Json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "boolean";
  if (v.is_number()) return "number";
  if (v.is_string()) return "string";
  if (v.is_array()) return "list";
  return "map";
}

absl::StatusOr<bool> ToBool(const Json& v) {
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_string()) {
    if (absl::EqualsIgnoreCase(v.get<std::string>(), "true")) return true;
    if (absl::EqualsIgnoreCase(v.get<std::string>(), "false")) return false;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("cannot use a ", TypeName(v), " as a boolean: ", ToText(v)));
}

bool Equal(const Json& a, const Json& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_number_integer() && b.is_number_integer())
      return a.get<int64_t>() == b.get<int64_t>();
    return a.get<double>() == b.get<double>();
  }
  return a == b;
}

absl::StatusOr<int> Compare(const Json& a, const Json& b) {
  // As SpEL's StandardTypeComparator: null is smaller than anything.
  if (a.is_null() || b.is_null())
    return a.is_null() ? (b.is_null() ? 0 : -1) : 1;
  if (a.is_number() && b.is_number()) {
    double x = a.get<double>(), y = b.get<double>();
    if (a.is_number_integer() && b.is_number_integer()) {
      int64_t i = a.get<int64_t>(), j = b.get<int64_t>();
      return i < j ? -1 : i > j ? 1 : 0;
    }
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_string() && b.is_string()) {
    int c = a.get<std::string>().compare(b.get<std::string>());
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("cannot compare a ", TypeName(a), " with a ", TypeName(b)));
}

absl::StatusOr<Json> Arithmetic(const std::string& op, const Json& a,
                                const Json& b) {
  if (op == "+" && (a.is_string() || b.is_string()))
    return ToText(a) + ToText(b);
  if (!a.is_number() || !b.is_number()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot apply '", op, "' to a ", TypeName(a), " and a ", TypeName(b)));
  }
  if (a.is_number_integer() && b.is_number_integer()) {
    int64_t x = a.get<int64_t>(), y = b.get<int64_t>();
    if ((op == "/" || op == "%") && y == 0)
      return absl::InvalidArgumentError("division by zero");
    // Wrapping two's-complement results, as Java's long arithmetic gives
    // (signed overflow would be undefined here; MIN / -1 traps).
    const uint64_t ux = static_cast<uint64_t>(x), uy = static_cast<uint64_t>(y);
    if (op == "+") return static_cast<int64_t>(ux + uy);
    if (op == "-") return static_cast<int64_t>(ux - uy);
    if (op == "*") return static_cast<int64_t>(ux * uy);
    if (y == -1) return op == "/" ? static_cast<int64_t>(0 - ux) : int64_t{0};
    if (op == "/") return x / y;
    return x % y;
  }
  double x = a.get<double>(), y = b.get<double>();
  if (op == "+") return x + y;
  if (op == "-") return x - y;
  if (op == "*") return x * y;
  if (op == "/") return x / y;
  return std::fmod(x, y);
}

absl::StatusOr<int64_t> IntArg(const std::string& name, const Json& v) {
  if (!v.is_number_integer()) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, "() needs an integer argument"));
  }
  return v.get<int64_t>();
}

// Java's String/List/Map methods that pipelines use.
absl::StatusOr<Json> CallMethod(const Json& self, const std::string& name,
                                const std::vector<Json>& args) {
  if (name == "toString") {
    GENNAKER_RETURN_IF_ERROR(ArgCount(name, args, 0, 0));
    return ToText(self);
  }
  if (name == "equals") {
    GENNAKER_RETURN_IF_ERROR(ArgCount(name, args, 1, 1));
    return Equal(self, args[0]);
  }
  if (self.is_string()) {
    const std::string s = self.get<std::string>();
    auto str_arg = [&](size_t i) -> absl::StatusOr<std::string> {
      if (!args[i].is_string()) {
        return absl::InvalidArgumentError(
            absl::StrCat(name, "() needs a string argument"));
      }
      return args[i].get<std::string>();
    };
    if (name == "contains" || name == "startsWith" || name == "endsWith" ||
        name == "indexOf" || name == "equalsIgnoreCase") {
      GENNAKER_RETURN_IF_ERROR(ArgCount(name, args, 1, 1));
      GENNAKER_ASSIGN_OR_RETURN(std::string a, str_arg(0));
      if (name == "contains") return absl::StrContains(s, a);
      if (name == "startsWith") return absl::StartsWith(s, a);
      if (name == "endsWith") return absl::EndsWith(s, a);
      if (name == "equalsIgnoreCase") return absl::EqualsIgnoreCase(s, a);
      auto pos = s.find(a);
      return pos == std::string::npos ? int64_t{-1} : static_cast<int64_t>(pos);
    }
    if (name == "length" || name == "size" || name == "isEmpty" ||
        name == "toUpperCase" || name == "toLowerCase" || name == "trim") {
      GENNAKER_RETURN_IF_ERROR(ArgCount(name, args, 0, 0));
      if (name == "length" || name == "size")
        return static_cast<int64_t>(s.size());
      if (name == "isEmpty") return s.empty();
      if (name == "toUpperCase") return absl::AsciiStrToUpper(s);
      if (name == "toLowerCase") return absl::AsciiStrToLower(s);
      return std::string(absl::StripAsciiWhitespace(s));
    }
    if (name == "substring") {
      GENNAKER_RETURN_IF_ERROR(ArgCount(name, args, 1, 2));
      GENNAKER_ASSIGN_OR_RETURN(int64_t from, IntArg(name, args[0]));
      int64_t to = static_cast<int64_t>(s.size());
      if (args.size() == 2) {
        GENNAKER_ASSIGN_OR_RETURN(to, IntArg(name, args[1]));
      }
      if (from < 0 || to > static_cast<int64_t>(s.size()) || from > to) {
        return absl::InvalidArgumentError(
            absl::StrCat("substring(", from, ", ", to,
                         ") out of range for length ", s.size()));
      }
      return s.substr(from, to - from);
    }
    if (name == "replace") {
      GENNAKER_RETURN_IF_ERROR(ArgCount(name, args, 2, 2));
      GENNAKER_ASSIGN_OR_RETURN(std::string from, str_arg(0));
      GENNAKER_ASSIGN_OR_RETURN(std::string to, str_arg(1));
      if (from.empty()) return s;
      std::string replaced = absl::StrReplaceAll(s, {{from, to}});
      GENNAKER_RETURN_IF_ERROR(CheckSize(replaced.size()));
      return replaced;
    }
    if (name ==
        "split") {  // Java's split: a regex; trailing empty strings dropped
      GENNAKER_RETURN_IF_ERROR(ArgCount(name, args, 1, 1));
      GENNAKER_ASSIGN_OR_RETURN(std::string pattern, str_arg(0));
      RE2 re(pattern, RE2::Quiet);
      if (!re.ok())
        return absl::InvalidArgumentError("split(): invalid regex: " +
                                          re.error());
      Json parts = Json::array();
      re2::StringPiece input(s), m;
      size_t pos = 0, last = 0;
      while (pos < s.size() &&
             re.Match(input, pos, s.size(), RE2::UNANCHORED, &m, 1)) {
        size_t at = static_cast<size_t>(m.data() - s.data());
        if (m.empty()) {  // an empty match splits nothing
          pos = at + 1;
          continue;
        }
        parts.push_back(s.substr(last, at - last));
        last = pos = at + m.size();
      }
      parts.push_back(s.substr(last));
      while (!parts.empty() && parts.back() == "")
        parts.erase(parts.size() - 1);
      return parts;
    }
    if (name == "matches") {
      GENNAKER_RETURN_IF_ERROR(ArgCount(name, args, 1, 1));
      GENNAKER_ASSIGN_OR_RETURN(std::string pattern, str_arg(0));
      RE2 re(pattern, RE2::Quiet);
      if (!re.ok())
        return absl::InvalidArgumentError("matches(): invalid regex: " +
                                          re.error());
      return RE2::FullMatch(s, re);
    }
  }
  if (self.is_array()) {
    if (name == "size" || name == "isEmpty") {
      GENNAKER_RETURN_IF_ERROR(ArgCount(name, args, 0, 0));
      if (name == "size") return static_cast<int64_t>(self.size());
      return self.empty();
    }
    if (name == "contains") {
      GENNAKER_RETURN_IF_ERROR(ArgCount(name, args, 1, 1));
      for (const auto& e : self) {
        if (Equal(e, args[0])) return true;
      }
      return false;
    }
    if (name == "get") {
      GENNAKER_RETURN_IF_ERROR(ArgCount(name, args, 1, 1));
      GENNAKER_ASSIGN_OR_RETURN(int64_t i, IntArg(name, args[0]));
      if (i < 0 || i >= static_cast<int64_t>(self.size())) {
        return absl::InvalidArgumentError(
            absl::StrCat("index ", i, " out of range"));
      }
      return self[static_cast<size_t>(i)];
    }
  }
  if (self.is_object()) {
    if (name == "size" || name == "isEmpty" || name == "keySet" ||
        name == "values") {
      GENNAKER_RETURN_IF_ERROR(ArgCount(name, args, 0, 0));
      if (name == "size") return static_cast<int64_t>(self.size());
      if (name == "isEmpty") return self.empty();
      Json out = Json::array();
      for (const auto& [k, v] : self.items())
        out.push_back(name == "keySet" ? Json(k) : v);
      return out;
    }
    if (name == "get" || name == "containsKey") {
      GENNAKER_RETURN_IF_ERROR(ArgCount(name, args, 1, 1));
      std::string key = ToText(args[0]);
      auto it = self.find(key);
      if (name == "containsKey") return it != self.end();
      return it == self.end() ? Json() : *it;
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "method ", name, "() is not available on a ", TypeName(self)));
}

// ---------------------------------------------------------------------------------------
// Evaluator

class Evaluator {
 public:
  Evaluator(const Json& root, const FunctionRegistry& functions)
      : root_(root), functions_(functions) {}

  absl::StatusOr<Json> Eval(const Node& n, const Json& self) {
    using K = Node::Kind;
    switch (n.kind) {
      case K::kLiteral:
        return n.value;
      case K::kList: {
        Json out = Json::array();
        for (const auto& k : n.kids) {
          GENNAKER_ASSIGN_OR_RETURN(Json v, Eval(*k, self));
          out.push_back(std::move(v));
        }
        return out;
      }
      case K::kMap: {
        Json out = Json::object();
        for (size_t i = 0; i + 1 < n.kids.size(); i += 2) {
          GENNAKER_ASSIGN_OR_RETURN(Json v, Eval(*n.kids[i + 1], self));
          out[ToText(n.kids[i]->value)] = std::move(v);
        }
        return out;
      }
      case K::kRoot:
        return root_;
      case K::kThis:
        return self;
      case K::kGet: {
        GENNAKER_ASSIGN_OR_RETURN(Json base, Base(n, self));
        if (base.is_null()) {
          if (n.safe) return Json();
          return absl::InvalidArgumentError(
              absl::StrCat("property '", n.name, "' cannot be found on null"));
        }
        if (base.is_object()) {
          auto it = base.find(n.name);
          return it == base.end() ? Json() : *it;  // unknown keys are null
        }
        return absl::InvalidArgumentError(absl::StrCat(
            "property '", n.name, "' cannot be found on a ", TypeName(base)));
      }
      case K::kIndex: {
        GENNAKER_ASSIGN_OR_RETURN(Json base, Eval(*n.kids[0], self));
        GENNAKER_ASSIGN_OR_RETURN(Json index, Eval(*n.kids[1], self));
        if (base.is_object()) {
          auto it = base.find(ToText(index));
          return it == base.end() ? Json() : *it;
        }
        if ((base.is_array() || base.is_string()) &&
            index.is_number_integer()) {
          int64_t i = index.get<int64_t>();
          int64_t size =
              base.is_array()
                  ? static_cast<int64_t>(base.size())
                  : static_cast<int64_t>(base.get<std::string>().size());
          if (i < 0 || i >= size) {
            return absl::InvalidArgumentError(
                absl::StrCat("index ", i, " out of range (size ", size, ")"));
          }
          if (base.is_array()) return base[static_cast<size_t>(i)];
          return std::string(1,
                             base.get<std::string>()[static_cast<size_t>(i)]);
        }
        return absl::InvalidArgumentError(absl::StrCat(
            "cannot index a ", TypeName(base), " with a ", TypeName(index)));
      }
      case K::kMethod: {
        GENNAKER_ASSIGN_OR_RETURN(Json base, Base(n, self));
        if (base.is_null()) {
          if (n.safe) return Json();
          return absl::InvalidArgumentError(
              absl::StrCat("method ", n.name, "() cannot be called on null"));
        }
        GENNAKER_ASSIGN_OR_RETURN(std::vector<Json> args, EvalArgs(n, 1, self));
        return CallMethod(base, n.name, args);
      }
      case K::kFunction: {
        const FunctionRegistry::Function* f = functions_.Find(n.name);
        if (f == nullptr) {
          return absl::InvalidArgumentError(
              absl::StrCat("unknown function #", n.name));
        }
        GENNAKER_ASSIGN_OR_RETURN(std::vector<Json> args, EvalArgs(n, 0, self));
        return (*f)(args);
      }
      case K::kSelect:
      case K::kProject: {
        GENNAKER_ASSIGN_OR_RETURN(Json base, Eval(*n.kids[0], self));
        Json items = Json::array();
        if (base.is_array()) {
          items = base;
        } else if (base.is_object()) {
          for (const auto& [k, v] : base.items())
            items.push_back(Json{{"key", k}, {"value", v}});
        } else {
          return absl::InvalidArgumentError(
              absl::StrCat("cannot select from or project a ", TypeName(base)));
        }
        // Selecting from a map gives a map (of the kept entries), as in SpEL.
        const bool map_select = n.kind == K::kSelect && base.is_object();
        Json out = map_select ? Json::object() : Json::array();
        for (const auto& item : items) {
          GENNAKER_ASSIGN_OR_RETURN(Json v, Eval(*n.kids[1], item));
          if (n.kind == K::kProject) {
            out.push_back(std::move(v));
            continue;
          }
          GENNAKER_ASSIGN_OR_RETURN(bool keep, ToBool(v));
          if (!keep) continue;
          if (map_select) {
            out[item["key"].get<std::string>()] = item["value"];
          } else {
            out.push_back(item);
          }
        }
        return out;
      }
      case K::kUnary: {
        GENNAKER_ASSIGN_OR_RETURN(Json v, Eval(*n.kids[0], self));
        if (n.name == "!") {
          GENNAKER_ASSIGN_OR_RETURN(bool b, ToBool(v));
          return !b;
        }
        if (v.is_number_integer()) {
          if (v.get<int64_t>() == INT64_MIN) {
            return absl::InvalidArgumentError("integer overflow");
          }
          return -v.get<int64_t>();
        }
        if (v.is_number()) return -v.get<double>();
        return absl::InvalidArgumentError("cannot negate a " + TypeName(v));
      }
      case K::kAnd:
      case K::kOr: {
        GENNAKER_ASSIGN_OR_RETURN(Json l, Eval(*n.kids[0], self));
        GENNAKER_ASSIGN_OR_RETURN(bool lb, ToBool(l));
        if (n.kind == K::kAnd && !lb) return false;  // short-circuit
        if (n.kind == K::kOr && lb) return true;
        GENNAKER_ASSIGN_OR_RETURN(Json r, Eval(*n.kids[1], self));
        GENNAKER_ASSIGN_OR_RETURN(bool rb, ToBool(r));
        return rb;
      }
      case K::kTernary: {
        GENNAKER_ASSIGN_OR_RETURN(Json c, Eval(*n.kids[0], self));
        GENNAKER_ASSIGN_OR_RETURN(bool cb, ToBool(c));
        return Eval(*n.kids[cb ? 1 : 2], self);
      }
      case K::kElvis: {
        GENNAKER_ASSIGN_OR_RETURN(Json v, Eval(*n.kids[0], self));
        if (!v.is_null() && !(v.is_string() && v.get<std::string>().empty()))
          return v;
        return Eval(*n.kids[1], self);
      }
      case K::kBinary: {
        GENNAKER_ASSIGN_OR_RETURN(Json l, Eval(*n.kids[0], self));
        GENNAKER_ASSIGN_OR_RETURN(Json r, Eval(*n.kids[1], self));
        const std::string& op = n.name;
        if (op == "==") return Equal(l, r);
        if (op == "!=") return !Equal(l, r);
        if (op == "matches") {
          if (!l.is_string() || !r.is_string()) {
            return absl::InvalidArgumentError(
                "'matches' needs a string and a regex");
          }
          RE2 re(r.get<std::string>(), RE2::Quiet);
          if (!re.ok())
            return absl::InvalidArgumentError("invalid regex: " + re.error());
          return RE2::FullMatch(l.get<std::string>(), re);
        }
        if (op == "<" || op == "<=" || op == ">" || op == ">=") {
          GENNAKER_ASSIGN_OR_RETURN(int c, Compare(l, r));
          if (op == "<") return c < 0;
          if (op == "<=") return c <= 0;
          if (op == ">") return c > 0;
          return c >= 0;
        }
        return Arithmetic(op, l, r);
      }
    }
    return absl::InternalError("unknown node");
  }

 private:
  // The object a property or method applies to: the first child, or #this.
  absl::StatusOr<Json> Base(const Node& n, const Json& self) {
    if (n.kids[0]) return Eval(*n.kids[0], self);
    return self;
  }

  absl::StatusOr<std::vector<Json>> EvalArgs(const Node& n, size_t first,
                                             const Json& self) {
    std::vector<Json> args;
    for (size_t i = first; i < n.kids.size(); ++i) {
      GENNAKER_ASSIGN_OR_RETURN(Json v, Eval(*n.kids[i], self));
      args.push_back(std::move(v));
    }
    return args;
  }

  const Json& root_;
  const FunctionRegistry& functions_;
};

}  // namespace
absl::StatusOr<Expression> Expression::Parse(absl::string_view text) {
  if (text.size() > kMaxLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("expression longer than ", kMaxLength, " characters"));
  }
  GENNAKER_ASSIGN_OR_RETURN(NodePtr ast, ParseTree(text));
  Expression e;
  e.text_ = std::string(text);
  e.ast_ = std::move(ast);
  return e;
}

absl::StatusOr<Json> Expression::Evaluate(
    const Json& root, const FunctionRegistry& functions) const {
  Evaluator evaluator(root, functions);
  GENNAKER_ASSIGN_OR_RETURN(Json v, evaluator.Eval(*ast_, root));
  if (!WithinDepth(v, kMaxResultDepth)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the result nests deeper than ", kMaxResultDepth, " levels"));
  }
  return v;
}

bool WithinDepth(const Json& value, int max_depth) {
  std::vector<std::pair<const Json*, int>> pending = {{&value, 0}};
  while (!pending.empty()) {
    auto [v, depth] = pending.back();
    pending.pop_back();
    if (!v->is_structured()) continue;
    if (depth + 1 > max_depth) return false;
    for (const Json& kid : *v) {
      if (kid.is_structured()) pending.push_back({&kid, depth + 1});
    }
  }
  return true;
}

namespace {

// Finds the '}' that closes the ${ at `open` (braces and quotes inside are
// skipped).
size_t ClosingBrace(const std::string& s, size_t open) {
  int depth = 0;
  char quote = 0;
  for (size_t i = open + 2; i < s.size(); ++i) {
    char c = s[i];
    if (quote) {
      if (c == quote) quote = 0;
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '{') {
      ++depth;
    } else if (c == '}') {
      if (depth == 0) return i;
      --depth;
    }
  }
  return std::string::npos;
}

Json ProcessString(const std::string& s, const Json& root,
                   const FunctionRegistry& functions,
                   std::vector<Failure>* failures) {
  struct Part {
    bool is_expression;
    std::string text;  // literal text, or the expression inside ${}
  };
  std::vector<Part> parts;
  size_t i = 0;
  while (i < s.size()) {
    size_t open = s.find("${", i);
    if (open == std::string::npos) break;
    size_t close = ClosingBrace(s, open);
    if (close == std::string::npos) break;  // not a template: left as text
    if (open > i) parts.push_back({false, s.substr(i, open - i)});
    parts.push_back({true, s.substr(open + 2, close - open - 2)});
    i = close + 1;
  }
  if (parts.empty()) return s;
  if (i < s.size()) parts.push_back({false, s.substr(i)});

  auto evaluate = [&](const std::string& text, bool* ok) -> Json {
    *ok = false;
    auto expr = Expression::Parse(text);
    if (!expr.ok()) {
      failures->push_back(
          {"${" + text + "}", std::string(expr.status().message()), true});
      return Json();
    }
    auto value = expr->Evaluate(root, functions);
    if (!value.ok()) {
      failures->push_back(
          {"${" + text + "}", std::string(value.status().message()), true});
      return Json();
    }
    if (value->is_null()) {
      failures->push_back({"${" + text + "}", text + " not found", false});
      return Json();
    }
    *ok = true;
    return *value;
  };

  if (parts.size() == 1) {  // exactly one ${...}: the typed result
    bool ok;
    Json v = evaluate(parts[0].text, &ok);
    return ok ? v : Json(s);
  }
  std::string out;
  for (const Part& p : parts) {
    if (!p.is_expression) {
      out += p.text;
      continue;
    }
    bool ok;
    Json v = evaluate(p.text, &ok);
    out += ok ? ToText(v) : "${" + p.text + "}";
  }
  return out;
}

}  // namespace

namespace {

Json ProcessAt(const Json& value, const Json& root,
               const FunctionRegistry& functions,
               std::vector<Failure>* failures, int depth) {
  // Contexts hold evaluated results (at most kMaxResultDepth deep) a few
  // levels down; anything far deeper did not come from here.
  constexpr int kMaxWalkDepth = 2 * Expression::kMaxResultDepth;
  if (value.is_structured() && depth >= kMaxWalkDepth) {
    failures->push_back(
        {"",
         absl::StrCat("a value nests deeper than ", kMaxWalkDepth, " levels"),
         true});
    return Json();
  }
  if (value.is_string()) {
    const std::string& s = value.get_ref<const std::string&>();
    if (s.find("${") == std::string::npos) return value;
    return ProcessString(s, root, functions, failures);
  }
  if (value.is_array()) {
    Json out = Json::array();
    for (const auto& v : value)
      out.push_back(ProcessAt(v, root, functions, failures, depth + 1));
    return out;
  }
  if (value.is_object()) {
    Json out = Json::object();
    for (const auto& [k, v] : value.items()) {
      std::string key = k;
      if (k.find("${") != std::string::npos) {
        key = ToText(ProcessString(k, root, functions, failures));
      }
      out[key] = ProcessAt(v, root, functions, failures, depth + 1);
    }
    return out;
  }
  return value;
}

}  // namespace

Json ProcessTemplates(const Json& value, const Json& root,
                      const FunctionRegistry& functions,
                      std::vector<Failure>* failures) {
  return ProcessAt(value, root, functions, failures, 0);
}

}  // namespace gennaker::orca::expression
