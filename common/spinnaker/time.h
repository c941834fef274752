// Instants and durations as Spinnaker's JSON writes them.
//
// Contract:
// - FormatIsoInstant: ISO-8601 UTC as Java's Instant prints one
//   ("2025-01-01T00:00:00Z"; the fraction, three digits, only when the
//   milliseconds are non-zero: "2025-01-01T00:00:00.120Z"). Instants outside
//   SaneEpochMs still format (absl's calendar), but nothing here produces them.
// - ParseIsoInstant: "YYYY-MM-DDTHH:MM:SS[.fff...](Z|+hh:mm|-hh:mm)"; the
//   result must lie within years 0001..9999 (SaneEpochMs), else
//   INVALID_ARGUMENT. Sub-millisecond digits are truncated.
// - ParseIsoDurationMs: "P[nD][T[nH][nM][n[.f]S]]" (case-insensitive, as Java's
//   Duration parses); negative or overflowing values are INVALID_ARGUMENT.
// - FormatIsoDuration: Java's Duration text ("PT1H30M", "PT0S", "PT1.5S";
//   hours are not folded into days). Negative values carry a sign on each
//   component ("PT-1H-30M").
// Every function is total over its input: no undefined behaviour for any
// int64 or any string.
#ifndef GENNAKER_COMMON_SPINNAKER_TIME_H_
#define GENNAKER_COMMON_SPINNAKER_TIME_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gennaker::spinnaker {

// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z in epoch ms.
inline constexpr int64_t kMinSaneEpochMs = -62135596800000;
inline constexpr int64_t kMaxSaneEpochMs = 253402300799999;

// True when `epoch_ms` lies within years 0001..9999. Differences and sums of
// two such values (and of a duration below ~290 million years) never overflow.
bool SaneEpochMs(int64_t epoch_ms);

std::string FormatIsoInstant(int64_t epoch_ms);
absl::StatusOr<int64_t> ParseIsoInstant(absl::string_view text);

absl::StatusOr<int64_t> ParseIsoDurationMs(absl::string_view text);
std::string FormatIsoDuration(int64_t ms);

}  // namespace gennaker::spinnaker

#endif  // GENNAKER_COMMON_SPINNAKER_TIME_H_
