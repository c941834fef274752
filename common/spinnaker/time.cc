#include "common/spinnaker/time.h"

#include <cctype>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"

namespace gennaker::spinnaker {
namespace {

// The largest duration accepted: the span of the sane instant range, so
// instant + duration stays far from int64 limits.
constexpr int64_t kMaxDurationMs = kMaxSaneEpochMs - kMinSaneEpochMs;

absl::Status BadDuration(absl::string_view text, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("'", text, "' is not an ISO-8601 duration such as PT1H30M",
                   why.empty() ? "" : ": ", why));
}

}  // namespace

bool SaneEpochMs(int64_t epoch_ms) {
  return epoch_ms >= kMinSaneEpochMs && epoch_ms <= kMaxSaneEpochMs;
}

std::string FormatIsoInstant(int64_t epoch_ms) {
  const absl::Time t = absl::FromUnixMillis(epoch_ms);
  return absl::FormatTime(
      epoch_ms % 1000 == 0 ? "%E4Y-%m-%dT%H:%M:%SZ" : "%E4Y-%m-%dT%H:%M:%E3SZ",
      t, absl::UTCTimeZone());
}

absl::StatusOr<int64_t> ParseIsoInstant(absl::string_view text) {
  // absl's %Y takes any number of digits and a sign; require the four-digit
  // year ISO-8601 (and Java) writes, which also bounds the range.
  const bool four_digit_year =
      text.size() >= 5 && absl::ascii_isdigit(text[0]) &&
      absl::ascii_isdigit(text[1]) && absl::ascii_isdigit(text[2]) &&
      absl::ascii_isdigit(text[3]) && text[4] == '-';
  absl::Time t;
  std::string err;
  if (!four_digit_year ||
      !absl::ParseTime(absl::RFC3339_full, std::string(text), &t, &err)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text,
                     "' is not an ISO-8601 instant such as "
                     "2025-01-01T00:00:00Z",
                     err.empty() ? "" : ": ", err));
  }
  if (t < absl::FromUnixMillis(kMinSaneEpochMs) ||
      t > absl::FromUnixMillis(kMaxSaneEpochMs + 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", text, "' is outside the years 0001..9999 an instant may have"));
  }
  // Floor to the millisecond (ToUnixMillis rounds toward negative infinity).
  const int64_t ms = absl::ToUnixMillis(t);
  if (!SaneEpochMs(ms)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", text, "' is outside the years 0001..9999 an instant may have"));
  }
  return ms;
}

absl::StatusOr<int64_t> ParseIsoDurationMs(absl::string_view text) {
  const std::string s = absl::AsciiStrToUpper(text);
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    return BadDuration(text, "a duration must not be signed");
  }
  if (s.size() < 3 || s[0] != 'P') return BadDuration(text, "");
  size_t i = 1;
  bool time_part = false;
  bool any = false;
  // Units must appear in order D, H, M, S; `rank` is the last one seen.
  int rank = 0;
  int64_t total = 0;
  while (i < s.size()) {
    if (s[i] == 'T') {
      if (time_part || i + 1 == s.size()) return BadDuration(text, "");
      time_part = true;
      ++i;
      continue;
    }
    // Digits, then an optional fraction (seconds only), then a unit.
    int64_t whole = 0;
    size_t digits = 0;
    while (i < s.size() && absl::ascii_isdigit(s[i])) {
      // Anything past 1e15 is refused below anyway; stop before overflowing.
      if (whole > 1000000000000000) {
        return BadDuration(text, "too large");
      }
      whole = whole * 10 + (s[i] - '0');
      ++i;
      ++digits;
    }
    int64_t frac_ms = 0;
    bool has_frac = false;
    if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
      has_frac = true;
      ++i;
      int64_t scale = 100;
      size_t frac_digits = 0;
      while (i < s.size() && absl::ascii_isdigit(s[i])) {
        frac_ms += (s[i] - '0') * scale;
        scale /= 10;
        ++i;
        ++frac_digits;
      }
      if (frac_digits == 0 || frac_digits > 9) return BadDuration(text, "");
    }
    if (digits == 0 || i >= s.size()) return BadDuration(text, "");
    const char unit = s[i++];
    int64_t unit_ms = 0;
    int unit_rank = 0;
    if (!time_part && unit == 'D') {
      unit_ms = 86400000;
      unit_rank = 1;
    } else if (time_part && unit == 'H') {
      unit_ms = 3600000;
      unit_rank = 2;
    } else if (time_part && unit == 'M') {
      unit_ms = 60000;
      unit_rank = 3;
    } else if (time_part && unit == 'S') {
      unit_ms = 1000;
      unit_rank = 4;
    } else {
      return BadDuration(text, "");
    }
    if (unit_rank <= rank || (has_frac && unit != 'S')) {
      return BadDuration(text, "");
    }
    rank = unit_rank;
    if (whole > kMaxDurationMs / unit_ms) return BadDuration(text, "too large");
    total += whole * unit_ms + frac_ms;
    if (total > kMaxDurationMs) return BadDuration(text, "too large");
    any = true;
  }
  if (!any) return BadDuration(text, "");
  return total;
}

std::string FormatIsoDuration(int64_t ms) {
  if (ms == 0) return "PT0S";
  const bool negative = ms < 0;
  // Magnitude in unsigned arithmetic: -INT64_MIN is not representable.
  const uint64_t abs =
      negative ? 0 - static_cast<uint64_t>(ms) : static_cast<uint64_t>(ms);
  const char* sign = negative ? "-" : "";
  const uint64_t hours = abs / 3600000;
  const uint64_t minutes = abs / 60000 % 60;
  const uint64_t millis = abs % 60000;
  std::string out = "PT";
  if (hours > 0) absl::StrAppend(&out, sign, hours, "H");
  if (minutes > 0) absl::StrAppend(&out, sign, minutes, "M");
  if (millis > 0) {
    absl::StrAppend(&out, sign, millis / 1000);
    if (millis % 1000 != 0) {
      std::string frac =
          absl::StrFormat("%03d", static_cast<int>(millis % 1000));
      while (frac.back() == '0') frac.pop_back();
      absl::StrAppend(&out, ".", frac);
    }
    absl::StrAppend(&out, "S");
  }
  return out;
}

}  // namespace gennaker::spinnaker
