#include "services/orca/expression/expression.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

namespace gennaker::orca::expression {

// The libFuzzer entry point (expression_fuzz.cc), run here over fixed inputs.
int FuzzOne(const uint8_t* data, size_t size);

namespace {

using ::testing::HasSubstr;

class ExpressionTest : public ::testing::Test {
 protected:
  Json root_ = Json::parse(R"({
    "trigger": {"type": "manual", "user": "alice",
                "parameters": {"env": "prod", "count": "3", "flag": "true"},
                "buildInfo": {"number": 42, "scm": [{"branch": "feature/x"}]}},
    "execution": {"id": "01ABC", "stages": [
        {"refId": "1", "name": "Bake", "type": "bake", "status": "SUCCEEDED",
         "outputs": {"imageId": "ami-123"}},
        {"refId": "2", "name": "Approve", "type": "manualJudgment", "status": "SUCCEEDED",
         "context": {"judgmentInput": "ship it"}}]},
    "parameters": {"env": "prod", "count": "3", "flag": "true"},
    "ratio": 0.5, "n": 7, "empty": "", "list": [1, 2, 3]
  })");
  FunctionRegistry functions_ = FunctionRegistry::WithBuiltins();

  Json Eval(const std::string& text) {
    auto e = Expression::Parse(text);
    EXPECT_TRUE(e.ok()) << text << ": " << e.status();
    if (!e.ok()) return Json("<parse error>");
    auto v = e->Evaluate(root_, functions_);
    EXPECT_TRUE(v.ok()) << text << ": " << v.status();
    return v.ok() ? *v : Json("<eval error>");
  }

  absl::Status EvalError(const std::string& text) {
    auto e = Expression::Parse(text);
    if (!e.ok()) return e.status();
    return e->Evaluate(root_, functions_).status();
  }
};

TEST_F(ExpressionTest, PropertiesIndexesAndSafeNavigation) {
  EXPECT_EQ(Eval("trigger.parameters.env"), "prod");
  EXPECT_EQ(Eval("trigger['parameters']['env']"), "prod");
  EXPECT_EQ(Eval("execution.stages[0].outputs.imageId"), "ami-123");
  EXPECT_EQ(Eval("trigger.buildInfo.number"), 42);
  EXPECT_TRUE(Eval("trigger.nothing").is_null());  // unknown keys are null
  EXPECT_TRUE(Eval("trigger.nothing?.deeper").is_null());
  EXPECT_THAT(std::string(EvalError("trigger.nothing.deeper").message()),
              HasSubstr("cannot be found on null"));
  EXPECT_THAT(std::string(EvalError("list[5]").message()),
              HasSubstr("out of range"));
  EXPECT_EQ(Eval("#root.n"), 7);
}

TEST_F(ExpressionTest, OperatorsAndLiterals) {
  EXPECT_EQ(Eval("parameters.env == 'prod'"), true);
  EXPECT_EQ(Eval("parameters.env != \"prod\""), false);
  EXPECT_EQ(Eval("n > 5 and n <= 7"), true);
  EXPECT_EQ(Eval("n gt 8 or not (n eq 7)"), false);
  EXPECT_EQ(Eval("!true || false"), false);
  EXPECT_EQ(Eval("n + 1"), 8);
  EXPECT_EQ(Eval("n / 2"), 3);  // integer division, as Java
  EXPECT_EQ(Eval("n % 4 * 2 - 1"), 5);
  EXPECT_EQ(Eval("ratio * 4"), 2.0);
  EXPECT_EQ(Eval("'v' + n"), "v7");
  EXPECT_EQ(Eval("-n"), -7);
  EXPECT_EQ(Eval("parameters.flag"), "true");
  EXPECT_EQ(Eval("parameters.flag and n == 7"),
            true);  // "true" counts as a boolean
  EXPECT_EQ(Eval("n > 5 ? 'big' : 'small'"), "big");
  EXPECT_EQ(Eval("trigger.nothing ?: 'default'"), "default");
  EXPECT_EQ(Eval("empty ?: 'default'"), "default");
  EXPECT_EQ(Eval("'it''s'"), "it's");
  EXPECT_EQ(Eval("{1, 2, 3}"), Json::array({1, 2, 3}));
  EXPECT_EQ(Eval("{a: 1, 'b c': 'x'}['b c']"), "x");
  EXPECT_EQ(Eval("null"), Json());
  EXPECT_EQ(Eval("trigger.user matches 'a.*e'"), true);
  EXPECT_EQ(Eval("'ami-123' matches 'ami-[0-9]+'"), true);
  EXPECT_THAT(std::string(EvalError("n / 0").message()),
              HasSubstr("division by zero"));
  EXPECT_THAT(std::string(EvalError("list and true").message()),
              HasSubstr("as a boolean"));
}

TEST_F(ExpressionTest, IntegerOverflowWrapsAsJavaDoesInsteadOfCrashing) {
  // INT64_MIN / -1 trapped (SIGFPE) and took orca down with it.
  EXPECT_EQ(Eval("(-9223372036854775807 - 1) / -1"),
            Json(std::numeric_limits<int64_t>::min()));
  EXPECT_EQ(Eval("(-9223372036854775807 - 1) % -1"), Json(0));
  EXPECT_EQ(Eval("9223372036854775807 + 1"),
            Json(std::numeric_limits<int64_t>::min()));
  EXPECT_EQ(Eval("7 / -1"), Json(-7));
  EXPECT_EQ(Eval("7 % -1"), Json(0));
}

TEST_F(ExpressionTest, MethodsOnStringsListsAndMaps) {
  EXPECT_EQ(Eval("parameters.env.contains('ro')"), true);
  EXPECT_EQ(
      Eval("parameters.env.startsWith('pr') && parameters.env.endsWith('od')"),
      true);
  EXPECT_EQ(Eval("parameters.env.toUpperCase()"), "PROD");
  EXPECT_EQ(Eval("'  x '.trim().length()"), 1);
  EXPECT_EQ(Eval("'a,b,,c,,'.split(',')"), Json::array({"a", "b", "", "c"}));
  EXPECT_EQ(Eval("'feature/x-1'.replace('/', '-')"), "feature-x-1");
  EXPECT_EQ(Eval("'abcdef'.substring(2, 4)"), "cd");
  EXPECT_EQ(Eval("'abc'.equals('abc')"), true);
  EXPECT_EQ(Eval("n.toString()"), "7");
  EXPECT_EQ(Eval("list.size()"), 3);
  EXPECT_EQ(Eval("list.contains(2)"), true);
  EXPECT_EQ(Eval("parameters.containsKey('env')"), true);
  EXPECT_EQ(Eval("parameters.get('count')"), "3");
  EXPECT_EQ(Eval("''.isEmpty()"), true);
  EXPECT_THAT(std::string(EvalError("list.toUpperCase()").message()),
              HasSubstr("not available on a list"));
  EXPECT_THAT(std::string(EvalError("'abc'.substring(2, 9)").message()),
              HasSubstr("out of range"));
}

TEST_F(ExpressionTest, SelectionAndProjection) {
  EXPECT_EQ(Eval("execution.stages.?[type == 'bake'][0].name"), "Bake");
  EXPECT_EQ(Eval("execution.stages.![refId]"), Json::array({"1", "2"}));
  EXPECT_EQ(Eval("list.?[#this > 1].size()"), 2);
  // Selecting from a map gives a map.
  EXPECT_EQ(Eval("parameters.?[value == 'true'].keySet()"),
            Json::array({"flag"}));
}

TEST_F(ExpressionTest, BuiltinHelpers) {
  EXPECT_EQ(Eval("#toInt(parameters.count) + 1"), 4);
  EXPECT_EQ(Eval("#toFloat('2.5')"), 2.5);
  EXPECT_EQ(Eval("#toBoolean(parameters.flag)"), true);
  EXPECT_EQ(Eval("#toBoolean('yes')"), false);
  EXPECT_EQ(Eval("#alphanumerical('feature/x-1')"), "featurex1");
  EXPECT_EQ(Eval("#fromBase64(#toBase64('hello'))"), "hello");
  EXPECT_EQ(Eval("#readJson('{\"a\": [1, 2]}').a[1]"), 2);
  EXPECT_EQ(Eval("#toJson(list)"), "[1,2,3]");
  EXPECT_THAT(std::string(EvalError("#toInt('x')").message()),
              HasSubstr("not an integer"));
  EXPECT_THAT(std::string(EvalError("#nope(1)").message()),
              HasSubstr("unknown function #nope"));
  EXPECT_THAT(std::string(EvalError("#toJson('${x}')").message()),
              HasSubstr("unevaluated"));
}

TEST_F(ExpressionTest, RegisteredExecutionAwareFunctions) {
  // orca registers helpers that look at the execution, like #judgment(name).
  functions_.Register(
      "judgment",
      [this](const std::vector<Json>& args) -> absl::StatusOr<Json> {
        for (const auto& s : root_["execution"]["stages"]) {
          if (s["name"] == args.at(0)) return s["context"]["judgmentInput"];
        }
        return absl::NotFoundError("no such stage");
      });
  EXPECT_EQ(Eval("#judgment('Approve')"), "ship it");
}

TEST_F(ExpressionTest, ParseErrorsNamePositions) {
  for (const char* bad :
       {"a +", "(a", "'open", "a ? b", "#", "{a: }", "a..b", "1 2"}) {
    auto e = Expression::Parse(bad);
    EXPECT_FALSE(e.ok()) << bad;
    EXPECT_THAT(std::string(e.status().message()), HasSubstr("position"))
        << bad;
  }
  EXPECT_FALSE(
      Expression::Parse(std::string(Expression::kMaxLength + 1, 'a')).ok());
  EXPECT_FALSE(Expression::Parse(std::string(5000, '(') + "1")
                   .ok());  // too deep, no crash
  EXPECT_FALSE(Expression::Parse(std::string(9000, '!') + "true").ok());
  std::string chain = "a";
  for (int i = 0; i < 2000; ++i) chain += ".b";
  EXPECT_FALSE(Expression::Parse(chain).ok());
}

TEST_F(ExpressionTest, TemplatesKeepTypesAndRecordFailures) {
  Json context = Json::parse(R"({
    "count": "${#toInt(parameters.count)}",
    "title": "Deploy ${parameters.env} build ${trigger.buildInfo.number}",
    "missing": "${trigger.nothing}",
    "broken": "${parameters.env ==}",
    "mixedMissing": "x-${trigger.nothing}-y",
    "nested": {"list": ["${parameters.env}", "plain"], "${parameters.env}Key": 1},
    "map": "${ {a: 1}['a'] }",
    "names": "stages: ${execution.stages.![name]}",
    "notTemplate": "$ {x} and ${unclosed"
  })");
  std::vector<Failure> failures;
  Json out = ProcessTemplates(context, root_, functions_, &failures);
  EXPECT_EQ(out["count"], 3);
  EXPECT_EQ(out["title"], "Deploy prod build 42");
  EXPECT_EQ(out["names"], "stages: Bake,Approve");
  EXPECT_EQ(out["missing"], "${trigger.nothing}");
  EXPECT_EQ(out["broken"], "${parameters.env ==}");
  EXPECT_EQ(out["mixedMissing"], "x-${trigger.nothing}-y");
  EXPECT_EQ(out["nested"]["list"][0], "prod");
  EXPECT_EQ(out["nested"]["prodKey"], 1);
  EXPECT_EQ(out["map"], 1);
  EXPECT_EQ(out["notTemplate"], "$ {x} and ${unclosed");
  ASSERT_EQ(failures.size(), 3u);
  int errors = 0;
  for (const auto& f : failures) errors += f.error;
  EXPECT_EQ(errors, 1);  // the parse error; the two nulls are "not found" notes
}

// A trigger parameter holding deeply nested JSON used to overflow the stack
// of whoever read it with #readJson (a poison message for orca).
TEST_F(ExpressionTest, ReadJsonRefusesDeepNestingWithAClearError) {
  Json root = root_;
  root["parameters"]["p"] = std::string(100000, '[') + std::string(100000, ']');
  auto e = Expression::Parse("#readJson(parameters.p)");
  ASSERT_TRUE(e.ok());
  absl::StatusOr<Json> v = e->Evaluate(root, functions_);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(v.status().message()),
              HasSubstr("#readJson(): #readJson()'s text nests deeper than"));
  // The same through a template: a recorded failure, the text kept.
  std::vector<Failure> failures;
  Json out = ProcessTemplates(Json("${#readJson(parameters.p)}"), root,
                              functions_, &failures);
  EXPECT_EQ(out, "${#readJson(parameters.p)}");
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_THAT(failures[0].description, HasSubstr("nests deeper than"));
  // Shallow JSON still reads.
  root["parameters"]["p"] = R"({"a": [1, {"b": 2}]})";
  EXPECT_EQ(e->Evaluate(root, functions_).value()["a"][1]["b"], 2);
}

TEST_F(ExpressionTest, ResultsNestNoDeeperThanTheLimit) {
  // Each evaluation is bounded, but one can wrap what an earlier one stored
  // (a stage output) in more levels; the result as a whole is bounded too.
  std::string doc = std::string(150, '[') + std::string(150, ']');
  Json root = root_;
  root["deep"] = Json::parse(doc);
  std::string wrap = "deep";
  for (int i = 0; i < 60; ++i) wrap = "{" + wrap + "}";
  auto e = Expression::Parse(wrap);
  ASSERT_TRUE(e.ok()) << e.status();
  absl::StatusOr<Json> v = e->Evaluate(root, functions_);
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(std::string(v.status().message()),
              HasSubstr("nests deeper than 200 levels"));
  EXPECT_TRUE(WithinDepth(root["deep"], 150));
  EXPECT_FALSE(WithinDepth(root["deep"], 149));
  EXPECT_TRUE(WithinDepth(Json(1), 0));
}

TEST(ExpressionFuzzTest, EntryPointSurvivesOddInputs) {
  const char* inputs[] = {"", "${", "${}", "${a.b.c[0]?.d}", "${{{{{",
                          "${'x' + #toJson({a:1})}", "\xff\xfe${1/0}",
                          "${a ?: b ? c : d}",
                          // Found by the fuzzer: invalid UTF-8 through #toJson.
                          "Deploy ${#toJson(\"\x94\")[0]?.toon(a.b[2])}\xd1 ",
                          "${list.![#this.#this]}"};
  for (const char* in : inputs) {
    EXPECT_EQ(FuzzOne(reinterpret_cast<const uint8_t*>(in), strlen(in)), 0);
  }
}

}  // namespace
}  // namespace gennaker::orca::expression
