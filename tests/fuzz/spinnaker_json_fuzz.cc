// libFuzzer target for the JSON every service reads from outside:
// spinnaker::ParseJson / ParseJsonObject with limits, WithinNesting, the
// lenient field accessors and Dump on whatever parsed. None of them may crash
// or throw, and nothing accepted may nest deeper than the limit asked for.
// Built and run by scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"
#include "common/spinnaker/json.h"

namespace gennaker::spinnaker {
namespace {

// Depth of `j` counted as WithinNesting counts it (a scalar is 0).
int Depth(const Json& j) {
  if (!j.is_structured()) return 0;
  int deepest = 0;
  for (const Json& v : j) {
    int d = Depth(v);
    if (d > deepest) deepest = d;
  }
  return deepest + 1;
}

void ReadFields(const Json& j) {
  for (const char* key : {"name", "application", "refId", "type", "stages", "",
                          "disabled", "limitConcurrent"}) {
    (void)String(j, key);
    (void)Int(j, key, -1);
    (void)Double(j, key, -1);
    (void)Bool(j, key);
    (void)Object(j, key);
    (void)Array(j, key);
    (void)Strings(j, key);
  }
  (void)FirstString(j, {"name", "id", "refId"});
  if (j.is_object()) {
    // Every member of the top level, under its own (possibly odd) key.
    for (auto it = j.begin(); it != j.end(); ++it) {
      (void)String(j, it.key());
      (void)Int(j, it.key());
      (void)Double(j, it.key());
      (void)Bool(j, it.key());
    }
  }
}

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "spinnaker_json_fuzz: %s\n", what);
    std::abort();
  }
}

}  // namespace
}  // namespace gennaker::spinnaker

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gennaker::spinnaker;  // NOLINT: a fuzz entry point
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  // A small limit so the fuzzer reaches it easily, and the default one.
  JsonLimits tight;
  tight.max_depth = 8;
  tight.max_bytes = 2048;
  for (const JsonLimits& limits : {tight, JsonLimits{}}) {
    absl::StatusOr<Json> j = ParseJson(text, "fuzz input", limits);
    if (j.ok()) {
      Check(Depth(*j) <= limits.max_depth, "ParseJson accepted deeper nesting");
      Check(text.size() <= limits.max_bytes, "ParseJson accepted a large text");
      ReadFields(*j);
      std::string dumped = Dump(*j);
      // What was dumped parses again to the same depth (invalid UTF-8 was
      // replaced, so it may differ in content, never in shape).
      JsonLimits reparse = limits;
      reparse.max_bytes = kMaxJsonBytes;  // replacement characters grow it
      absl::StatusOr<Json> again = ParseJson(dumped, "dump", reparse);
      Check(again.ok(), "Dump produced text ParseJson refuses");
    } else {
      Check(!j.status().message().empty(), "an error without a message");
    }
    absl::StatusOr<Json> o = ParseJsonObject(text, "fuzz object", limits);
    if (o.ok()) {
      Check(o->is_object(), "ParseJsonObject accepted a non-object");
      ReadFields(*o);
      (void)Dump(*o);
    }
  }
  (void)WithinNesting(text, 8);
  (void)WithinNesting(text);
  return 0;
}
