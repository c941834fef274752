// libFuzzer target for halyard's reading of an operator's halconfig: the YAML
// text merged into the defaults by reflection (common/config/config_loader.cc),
// then validated, rendered back to YAML and read again, and every key of it
// read and set by dotted path (`halyard config get/set`). None of it may
// crash, throw or loop on any text. Built and run by scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/status/statusor.h"
#include "common/config/config_loader.h"
#include "services/halyard/halconfig.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using gennaker::halyard::v1::Halconfig;
  namespace halyard = gennaker::halyard;
  namespace config = gennaker::config;
  std::string yaml(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<Halconfig> parsed = halyard::ParseHalconfig(yaml, "fuzz");
  if (!parsed.ok()) return 0;
  (void)halyard::Validate(*parsed);
  (void)halyard::ValidateStatus(*parsed);
  (void)config::RuleViolations(*parsed);
  // What `halyard config show` prints must load again.
  std::string written = config::ToYaml(*parsed);
  absl::StatusOr<Halconfig> again = halyard::ParseHalconfig(written, "again");
  if (!again.ok()) {
    std::fprintf(
        stderr, "halconfig_fuzz: ToYaml output does not load: %s\n%s\n",
        std::string(again.status().message()).c_str(), written.c_str());
    std::abort();
  }
  for (const char* key :
       {"name", "storage", "storage.postgres.port", "services.orca",
        "services.gate.httpPort", "providers.local.accounts"}) {
    (void)config::GetField(*parsed, key);
  }
  // The text as a value and as a key of `halyard config set`.
  Halconfig edited = *parsed;
  (void)config::SetField(&edited, "services.orca.logLevel", yaml);
  (void)config::SetField(&edited, yaml, "1");
  return 0;
}
