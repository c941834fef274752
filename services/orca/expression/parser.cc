#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/orca/expression/ast.h"

namespace gennaker::orca::expression {

namespace {

NodePtr Make(Node::Kind kind, std::string name = "",
             std::vector<NodePtr> kids = {}, bool safe = false) {
  auto n = std::make_shared<Node>();
  n->kind = kind;
  n->name = std::move(name);
  n->kids = std::move(kids);
  n->safe = safe;
  for (const auto& k : n->kids) {
    if (k) n->depth = std::max(n->depth, k->depth + 1);
  }
  return n;
}

NodePtr Literal(Json v) {
  auto n = std::make_shared<Node>();
  n->kind = Node::Kind::kLiteral;
  n->value = std::move(v);
  return n;
}

// ---------------------------------------------------------------------------------------
// Tokenizer

struct Token {
  enum class Type { kInt, kDouble, kString, kIdent, kHash, kOp, kEnd };
  Type type;
  std::string text;
  size_t pos;
};

absl::StatusOr<std::vector<Token>> Tokenize(absl::string_view s) {
  std::vector<Token> out;
  size_t i = 0;
  auto error = [&](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat(what, " at position ", i));
  };
  static const char* kOps[] = {
      ".?[", ".![", "?.", "?:", "==", "!=", "<=", ">=", "&&", "||",
      "(",   ")",   "[",  "]",  "{",  "}",  ",",  ":",  ".",  "?",
      "<",   ">",   "+",  "-",  "*",  "/",  "%",  "!"};
  while (i < s.size()) {
    char c = s[i];
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    const size_t start = i;
    if (absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      while (i < s.size() &&
             absl::ascii_isdigit(static_cast<unsigned char>(s[i])))
        ++i;
      bool is_double = false;
      if (i + 1 < s.size() && s[i] == '.' &&
          absl::ascii_isdigit(static_cast<unsigned char>(s[i + 1]))) {
        is_double = true;
        ++i;
        while (i < s.size() &&
               absl::ascii_isdigit(static_cast<unsigned char>(s[i])))
          ++i;
      }
      std::string text(s.substr(start, i - start));
      if (i < s.size() && (s[i] == 'L' || s[i] == 'l'))
        ++i;  // Java long suffix
      out.push_back(
          {is_double ? Token::Type::kDouble : Token::Type::kInt, text, start});
      continue;
    }
    if (c == '\'' || c == '"') {
      std::string text;
      ++i;
      while (true) {
        if (i >= s.size()) return error("unterminated string");
        if (s[i] == c) {
          if (i + 1 < s.size() && s[i + 1] == c) {  // doubled quote = one quote
            text.push_back(c);
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        text.push_back(s[i++]);
      }
      out.push_back({Token::Type::kString, text, start});
      continue;
    }
    if (absl::ascii_isalpha(static_cast<unsigned char>(c)) || c == '_' ||
        c == '$') {
      while (i < s.size() &&
             (absl::ascii_isalnum(static_cast<unsigned char>(s[i])) ||
              s[i] == '_' || s[i] == '$')) {
        ++i;
      }
      out.push_back({Token::Type::kIdent,
                     std::string(s.substr(start, i - start)), start});
      continue;
    }
    if (c == '#') {
      ++i;
      while (i < s.size() &&
             (absl::ascii_isalnum(static_cast<unsigned char>(s[i])) ||
              s[i] == '_')) {
        ++i;
      }
      if (i == start + 1) return error("'#' without a name");
      out.push_back({Token::Type::kHash,
                     std::string(s.substr(start + 1, i - start - 1)), start});
      continue;
    }
    bool matched = false;
    for (const char* op : kOps) {
      if (absl::StartsWith(s.substr(i), op)) {
        out.push_back({Token::Type::kOp, op, start});
        i += strlen(op);
        matched = true;
        break;
      }
    }
    if (!matched)
      return error(
          absl::StrCat("unexpected character '", std::string(1, c), "'"));
  }
  out.push_back({Token::Type::kEnd, "", s.size()});
  return out;
}

// ---------------------------------------------------------------------------------------
// Parser (recursive descent, SpEL precedence)

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : t_(std::move(tokens)) {}

  absl::StatusOr<NodePtr> ParseAll() {
    GENNAKER_ASSIGN_OR_RETURN(NodePtr n, Expr());
    // Long left-associative chains (a.b.b.b..., 1+1+1...) make deep trees:
    // evaluating them recurses once per level.
    if (n->depth > kMaxTreeDepth) {
      return absl::InvalidArgumentError("expression nested too deeply");
    }
    if (Peek().type != Token::Type::kEnd)
      return Error("unexpected '" + Peek().text + "'");
    return n;
  }

 private:
  const Token& Peek(size_t ahead = 0) const {
    return t_[std::min(p_ + ahead, t_.size() - 1)];
  }
  bool IsOp(const char* op, size_t ahead = 0) const {
    return Peek(ahead).type == Token::Type::kOp && Peek(ahead).text == op;
  }
  bool IsWord(const char* word) const {
    return Peek().type == Token::Type::kIdent &&
           absl::EqualsIgnoreCase(Peek().text, word);
  }
  absl::Status Error(const std::string& what) const {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " at position ", Peek().pos));
  }
  absl::Status Expect(const char* op) {
    if (!IsOp(op)) return Error(absl::StrCat("expected '", op, "'"));
    ++p_;
    return absl::OkStatus();
  }

  absl::StatusOr<NodePtr> Expr() {
    if (++depth_ > 200) return Error("expression nested too deeply");
    auto n = Ternary();
    --depth_;
    return n;
  }

  absl::StatusOr<NodePtr> Ternary() {
    GENNAKER_ASSIGN_OR_RETURN(NodePtr cond, Or());
    if (IsOp("?:")) {
      ++p_;
      GENNAKER_ASSIGN_OR_RETURN(NodePtr fallback, Expr());
      return Make(Node::Kind::kElvis, "", {cond, fallback});
    }
    if (IsOp("?")) {
      ++p_;
      GENNAKER_ASSIGN_OR_RETURN(NodePtr then, Expr());
      GENNAKER_RETURN_IF_ERROR(Expect(":"));
      GENNAKER_ASSIGN_OR_RETURN(NodePtr otherwise, Expr());
      return Make(Node::Kind::kTernary, "", {cond, then, otherwise});
    }
    return cond;
  }

  // Left-associative chains of one precedence level.
  template <typename Next, typename IsOperator, typename Build>
  absl::StatusOr<NodePtr> Chain(Next next, IsOperator is_operator,
                                Build build) {
    GENNAKER_ASSIGN_OR_RETURN(NodePtr left, (this->*next)());
    while (is_operator()) {
      std::string op = Peek().text;
      ++p_;
      GENNAKER_ASSIGN_OR_RETURN(NodePtr right, (this->*next)());
      left = build(op, left, right);
    }
    return left;
  }

  absl::StatusOr<NodePtr> Or() {
    return Chain(
        &Parser::And, [this] { return IsOp("||") || IsWord("or"); },
        [](const std::string&, NodePtr l, NodePtr r) {
          return Make(Node::Kind::kOr, "", {l, r});
        });
  }

  absl::StatusOr<NodePtr> And() {
    return Chain(
        &Parser::Relational, [this] { return IsOp("&&") || IsWord("and"); },
        [](const std::string&, NodePtr l, NodePtr r) {
          return Make(Node::Kind::kAnd, "", {l, r});
        });
  }

  absl::StatusOr<NodePtr> Relational() {
    GENNAKER_ASSIGN_OR_RETURN(NodePtr left, Additive());
    static const std::map<std::string, std::string> kWords = {
        {"eq", "=="}, {"ne", "!="}, {"lt", "<"},           {"le", "<="},
        {"gt", ">"},  {"ge", ">="}, {"matches", "matches"}};
    std::string op;
    if (Peek().type == Token::Type::kOp &&
        (Peek().text == "==" || Peek().text == "!=" || Peek().text == "<" ||
         Peek().text == "<=" || Peek().text == ">" || Peek().text == ">=")) {
      op = Peek().text;
    } else if (Peek().type == Token::Type::kIdent) {
      auto it = kWords.find(absl::AsciiStrToLower(Peek().text));
      if (it != kWords.end()) op = it->second;
    }
    if (op.empty()) return left;
    ++p_;
    GENNAKER_ASSIGN_OR_RETURN(NodePtr right, Additive());
    return Make(Node::Kind::kBinary, op, {left, right});
  }

  absl::StatusOr<NodePtr> Additive() {
    return Chain(
        &Parser::Multiplicative, [this] { return IsOp("+") || IsOp("-"); },
        Binary);
  }

  absl::StatusOr<NodePtr> Multiplicative() {
    return Chain(
        &Parser::Unary, [this] { return IsOp("*") || IsOp("/") || IsOp("%"); },
        Binary);
  }

  static NodePtr Binary(const std::string& op, NodePtr l, NodePtr r) {
    return Make(Node::Kind::kBinary, op, {l, r});
  }

  absl::StatusOr<NodePtr> Unary() {
    if (++depth_ > 200) return Error("expression nested too deeply");
    auto n = UnaryInner();
    --depth_;
    return n;
  }

  absl::StatusOr<NodePtr> UnaryInner() {
    if (IsOp("!") || IsWord("not")) {
      ++p_;
      GENNAKER_ASSIGN_OR_RETURN(NodePtr operand, Unary());
      return Make(Node::Kind::kUnary, "!", {operand});
    }
    if (IsOp("-")) {
      ++p_;
      GENNAKER_ASSIGN_OR_RETURN(NodePtr operand, Unary());
      return Make(Node::Kind::kUnary, "-", {operand});
    }
    return Postfix();
  }

  absl::StatusOr<std::vector<NodePtr>> Args() {
    std::vector<NodePtr> args;
    GENNAKER_RETURN_IF_ERROR(Expect("("));
    if (IsOp(")")) {
      ++p_;
      return args;
    }
    while (true) {
      GENNAKER_ASSIGN_OR_RETURN(NodePtr a, Expr());
      args.push_back(a);
      if (IsOp(",")) {
        ++p_;
        continue;
      }
      GENNAKER_RETURN_IF_ERROR(Expect(")"));
      return args;
    }
  }

  // `.name` or `.name(args)` after a base (null base: #this).
  absl::StatusOr<NodePtr> Member(NodePtr base, bool safe) {
    if (Peek().type != Token::Type::kIdent)
      return Error("expected a property name");
    std::string name = Peek().text;
    ++p_;
    if (IsOp("(")) {
      GENNAKER_ASSIGN_OR_RETURN(std::vector<NodePtr> args, Args());
      std::vector<NodePtr> kids = {base};
      kids.insert(kids.end(), args.begin(), args.end());
      return Make(Node::Kind::kMethod, name, kids, safe);
    }
    return Make(Node::Kind::kGet, name, {base}, safe);
  }

  absl::StatusOr<NodePtr> Postfix() {
    GENNAKER_ASSIGN_OR_RETURN(NodePtr n, Primary());
    while (true) {
      if (IsOp(".") || IsOp("?.")) {
        bool safe = Peek().text == "?.";
        ++p_;
        GENNAKER_ASSIGN_OR_RETURN(n, Member(n, safe));
      } else if (IsOp("[")) {
        ++p_;
        GENNAKER_ASSIGN_OR_RETURN(NodePtr index, Expr());
        GENNAKER_RETURN_IF_ERROR(Expect("]"));
        n = Make(Node::Kind::kIndex, "", {n, index});
      } else if (IsOp(".?[") || IsOp(".![")) {
        bool select = Peek().text == ".?[";
        ++p_;
        GENNAKER_ASSIGN_OR_RETURN(NodePtr inner, Expr());
        GENNAKER_RETURN_IF_ERROR(Expect("]"));
        n = Make(select ? Node::Kind::kSelect : Node::Kind::kProject, "",
                 {n, inner});
      } else {
        return n;
      }
    }
  }

  absl::StatusOr<NodePtr> Primary() {
    const Token& t = Peek();
    switch (t.type) {
      case Token::Type::kInt: {
        ++p_;
        int64_t v;
        if (!absl::SimpleAtoi(t.text, &v)) return Error("integer out of range");
        return Literal(v);
      }
      case Token::Type::kDouble: {
        ++p_;
        double v;
        if (!absl::SimpleAtod(t.text, &v)) return Error("bad number");
        return Literal(v);
      }
      case Token::Type::kString:
        ++p_;
        return Literal(t.text);
      case Token::Type::kHash: {
        ++p_;
        if (t.text == "root") return Make(Node::Kind::kRoot);
        if (t.text == "this") return Make(Node::Kind::kThis);
        if (!IsOp("("))
          return Error("#" + t.text + " must be called: #" + t.text + "(...)");
        GENNAKER_ASSIGN_OR_RETURN(std::vector<NodePtr> args, Args());
        return Make(Node::Kind::kFunction, t.text, args);
      }
      case Token::Type::kIdent: {
        if (t.text == "true" || t.text == "false") {
          ++p_;
          return Literal(t.text == "true");
        }
        if (t.text == "null") {
          ++p_;
          return Literal(nullptr);
        }
        return Member(nullptr, false);
      }
      case Token::Type::kOp:
        if (t.text == "(") {
          ++p_;
          GENNAKER_ASSIGN_OR_RETURN(NodePtr inner, Expr());
          GENNAKER_RETURN_IF_ERROR(Expect(")"));
          return inner;
        }
        if (t.text == "{") return Inline();
        return Error("unexpected '" + t.text + "'");
      case Token::Type::kEnd:
        return Error("unexpected end of expression");
    }
    return Error("unexpected token");
  }

  // {a, b} is a list, {k: v} a map, {} an empty list, {:} an empty map.
  absl::StatusOr<NodePtr> Inline() {
    ++p_;  // {
    if (IsOp("}")) {
      ++p_;
      return Make(Node::Kind::kList);
    }
    if (IsOp(":") && IsOp("}", 1)) {
      p_ += 2;
      return Make(Node::Kind::kMap);
    }
    bool is_map = (Peek().type == Token::Type::kIdent ||
                   Peek().type == Token::Type::kString ||
                   Peek().type == Token::Type::kInt) &&
                  IsOp(":", 1);
    std::vector<NodePtr> kids;
    while (true) {
      if (is_map) {
        const Token& key = Peek();
        if (key.type != Token::Type::kIdent &&
            key.type != Token::Type::kString && key.type != Token::Type::kInt) {
          return Error("expected a map key");
        }
        ++p_;
        kids.push_back(Literal(key.text));
        GENNAKER_RETURN_IF_ERROR(Expect(":"));
      }
      GENNAKER_ASSIGN_OR_RETURN(NodePtr v, Expr());
      kids.push_back(v);
      if (IsOp(",")) {
        ++p_;
        continue;
      }
      GENNAKER_RETURN_IF_ERROR(Expect("}"));
      return Make(is_map ? Node::Kind::kMap : Node::Kind::kList, "", kids);
    }
  }

  std::vector<Token> t_;
  size_t p_ = 0;
  int depth_ = 0;
  static constexpr int kMaxTreeDepth = 1000;
};

}  // namespace

absl::StatusOr<NodePtr> ParseTree(absl::string_view text) {
  GENNAKER_ASSIGN_OR_RETURN(std::vector<Token> tokens, Tokenize(text));
  Parser parser(std::move(tokens));
  return parser.ParseAll();
}

}  // namespace gennaker::orca::expression
