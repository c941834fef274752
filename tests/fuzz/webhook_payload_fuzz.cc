// libFuzzer target for what orca does with the answer of a webhook (an
// outside HTTP server): the body is parsed with the suite's limits, the
// stage's JSON paths (statusJsonPath, progressJsonPath, statusUrlJsonPath)
// are read from it with JsonPathGet, later stages read it through
// expressions (${webhook.body...}, #toJson, #readJson), and the stage
// context holding it is dumped when stored.
//
// Input: the first line is a JSON path (as a stage's statusJsonPath), the
// rest is the response body.
//
// Covered: spinnaker::ParseJson, orca::JsonPathGet (stages/builtin_stages.cc),
// the orca expression parser/evaluator and template processing over the
// payload, spinnaker::Dump. Not covered: the webhook tasks themselves
// (stages/webhook_stage.cc), which make the HTTP call and are only reachable
// through the engine; they apply the functions above to the answer.
// Built and run by scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/spinnaker/json.h"
#include "services/orca/expression/expression.h"
#include "services/orca/stages/builtin_stages.h"

namespace gennaker::orca {
namespace {

// A stage context as the monitor task leaves it, with a body of `body`.
Json StageRoot(const Json& body) {
  Json root = Json::object();
  root["webhook"]["statusCodeValue"] = 200;
  root["webhook"]["body"] = body;
  root["webhook"]["monitor"]["body"] = body;
  root["parameters"]["p"] =
      body.is_string() ? body : Json(spinnaker::Dump(body));
  return root;
}

void Run(absl::string_view path, absl::string_view text) {
  static const expression::FunctionRegistry* functions =
      new expression::FunctionRegistry(
          expression::FunctionRegistry::WithBuiltins());
  // A body that is not JSON stays a string, as the stage keeps it.
  absl::StatusOr<Json> parsed = spinnaker::ParseJson(text, "webhook response");
  Json body = parsed.ok() ? *std::move(parsed) : Json(std::string(text));

  Json status = JsonPathGet(body, std::string(path));
  (void)spinnaker::Dump(status);
  (void)JsonPathGet(body, "$.status");
  (void)JsonPathGet(body, "$.items[0].state");

  Json root = StageRoot(body);
  // The same path as a later stage would write it in an expression.
  absl::string_view rest = path;
  if (!rest.empty() && rest[0] == '$') rest.remove_prefix(1);
  std::vector<std::string> texts = {
      absl::StrCat("webhook.body", rest),
      absl::StrCat("webhook.monitor.body", rest, " ?: 'none'"),
      "#toJson(webhook.body)",
      "#readJson(parameters.p)",
      "webhook.body.status == 'SUCCEEDED'",
      "webhook.body.?[#this != null].size()",
  };
  for (const std::string& t : texts) {
    absl::StatusOr<expression::Expression> e = expression::Expression::Parse(t);
    if (!e.ok()) continue;
    absl::StatusOr<Json> v = e->Evaluate(root, *functions);
    if (v.ok()) (void)spinnaker::Dump(*v);
  }
  // A stage context whose values reference the payload, processed as the
  // engine processes every context before a task runs.
  Json context = {
      {"statusJsonPath", std::string(path)},
      {"result", absl::StrCat("${webhook.body", rest, "}")},
      {"all", "${#toJson(webhook.body)}"},
      {"echo", body},
  };
  std::vector<expression::Failure> failures;
  Json processed =
      expression::ProcessTemplates(context, root, *functions, &failures);
  (void)spinnaker::Dump(processed);
  (void)spinnaker::Dump(root);
}

}  // namespace
}  // namespace gennaker::orca

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view input(reinterpret_cast<const char*>(data), size);
  size_t newline = input.find('\n');
  absl::string_view path = input.substr(0, newline);
  absl::string_view body = newline == absl::string_view::npos
                               ? absl::string_view()
                               : input.substr(newline + 1);
  gennaker::orca::Run(path, body);
  return 0;
}
