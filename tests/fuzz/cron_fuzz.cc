// libFuzzer target for echo's Quartz cron expressions
// (services/echo/cron/cron.cc), which pipeline configs supply and Deck's
// trigger editor validates through gate's /cron/validate.
//
// Input: the first line is a trigger id (for H), the rest the expression.
// Parses it and, when it parses, computes fire times in UTC and in a zone
// with daylight saving from a few starting points: it must never hang or
// crash, and each fire time must come after its starting point.
// Built and run by scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/echo/cron/cron.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using gennaker::echo::CronExpression;
  absl::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t nl = in.find('\n');
  absl::string_view id = nl == absl::string_view::npos ? "" : in.substr(0, nl);
  absl::string_view expression =
      nl == absl::string_view::npos ? in : in.substr(nl + 1);
  absl::StatusOr<CronExpression> cron = CronExpression::Parse(expression, id);
  if (!cron.ok()) return 0;
  static const absl::TimeZone kUtc = absl::UTCTimeZone();
  static absl::TimeZone la = [] {
    absl::TimeZone z;
    if (!absl::LoadTimeZone("America/Los_Angeles", &z)) z = absl::UTCTimeZone();
    return z;
  }();
  for (int64_t start_s :
       {int64_t{0}, int64_t{1796200000}, int64_t{4102444800}}) {
    const absl::Time start = absl::FromUnixSeconds(start_s);
    for (const absl::TimeZone& zone : {kUtc, la}) {
      for (absl::Time t : cron->NextTimes(start, zone, 3)) {
        if (t <= start) std::abort();
      }
    }
  }
  return 0;
}
