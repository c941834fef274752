// libFuzzer target for the expression parser and template processing:
//   ./scripts/fuzz.sh 60 expression   (builds with clang -fsanitize=fuzzer,
//   address,undefined and runs)
// Without GENNAKER_LIBFUZZER_MAIN this file only defines FuzzOne, which the
// unit tests run.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/spinnaker/json.h"
#include "services/orca/expression/expression.h"

namespace gennaker::orca::expression {

int FuzzOne(const uint8_t* data, size_t size) {
  static const FunctionRegistry* functions =
      new FunctionRegistry(FunctionRegistry::WithBuiltins());
  static const Json* root = new Json(*spinnaker::ParseJson(
      R"({"a":{"b":[1,2,{"c":"x"}]},"list":[1,2,3],"s":"text","n":7})"));
  std::string text(reinterpret_cast<const char*>(data), size);
  auto expr = Expression::Parse(text);
  if (expr.ok()) (void)expr->Evaluate(*root, *functions);
  std::vector<Failure> failures;
  (void)ProcessTemplates(Json(text), *root, *functions, &failures);
  return 0;
}

}  // namespace gennaker::orca::expression

#ifdef GENNAKER_LIBFUZZER_MAIN
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return gennaker::orca::expression::FuzzOne(data, size);
}
#endif
