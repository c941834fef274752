// Quartz cron expressions, as echo's cron triggers write them (Spinnaker's
// scheduler runs Quartz): "sec min hour day-of-month month day-of-week
// [year]", with Quartz's syntax in each field (*, ?, lists, ranges, steps
// "a/b", L, W, LW, "d#n", "dL", month and day names) and Jenkins' H in the
// seconds, minutes and hours fields, replaced by a hash of the trigger id so
// that many "H * * * * ?" triggers spread over the hour instead of firing
// together (Spinnaker's CronExpressionFuzzer).
//
// Fire times are computed in an IANA time zone (the one global zone of the
// scheduler; a trigger has none of its own), so "0 0 2 * * ?" fires at 02:00
// local time, and a local time skipped by a daylight-saving change does not
// fire that day, as Quartz does. In a repeated (fall-back) hour each local
// time fires once, at its first occurrence: the second pass of the repeated
// hour fires nothing (so "0 30 1 * * ?" fires once, and an hourly
// expression fires at 01:00 PDT then 02:00 PST).
//
// H is resolved exactly as CronExpressionFuzzer does: every 'H' (upper case)
// in the first three fields becomes Math.abs(id.hashCode() % 59) for seconds
// and minutes, and % 23 for hours (Java's String.hashCode over UTF-16), so
// "H/5" works and values stay 0-58 / 0-22. Without an 'H' anywhere in the
// expression it is scheduled exactly as written.
//
// Values: seconds and minutes 0-59, hours 0-23, day-of-month 1-31, month
// 1-12 or JAN-DEC, day-of-week 1-7 or SUN-SAT (SUN=1), year 1970-2099;
// names and L/W are case-insensitive (Quartz upper-cases). Expressions are
// at most 256 characters.
//
// Thread-safe: a parsed expression is immutable.
#ifndef GENNAKER_SERVICES_ECHO_CRON_CRON_H_
#define GENNAKER_SERVICES_ECHO_CRON_CRON_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace gennaker::echo {

class CronExpression {
 public:
  // Parses `expression`; an H in the seconds, minutes or hours field becomes
  // a value derived from `trigger_id` (stable across restarts and
  // replicas). INVALID_ARGUMENT with a message naming the field, e.g.
  // "Invalid cron expression '0 0 25 * * ?': hour 25 is out of range 0-23".
  // Quartz requires '?' in exactly one of day-of-month and day-of-week; so
  // does this.
  static absl::StatusOr<CronExpression> Parse(
      absl::string_view expression, absl::string_view trigger_id = "");

  // The expression as written.
  const std::string& expression() const;
  // The expression with H resolved (what is scheduled).
  const std::string& effective_expression() const;

  // The first fire time strictly after `after` (whole seconds, as Quartz),
  // evaluated in `zone`; absl::InfiniteFuture() when the expression never
  // fires again (a past year, "0 0 0 30 2 ?": nothing within 400 years).
  // Searched field by field (month, day, time of day), never second by
  // second: microseconds even for expressions that never fire. No fire time
  // is earlier than 1969-01-01 UTC.
  absl::Time NextAfter(absl::Time after, absl::TimeZone zone) const;
  // The next `count` fire times after `after` (fewer when the expression
  // stops firing; at most 100000).
  std::vector<absl::Time> NextTimes(absl::Time after, absl::TimeZone zone,
                                    int count) const;

  CronExpression(const CronExpression&);
  CronExpression& operator=(const CronExpression&);
  CronExpression(CronExpression&&) noexcept;
  CronExpression& operator=(CronExpression&&) noexcept;
  ~CronExpression();

 private:
  struct Fields;  // the parsed fields and the search (cron.cc)
  class Parser;
  explicit CronExpression(std::unique_ptr<Fields> fields);
  std::unique_ptr<Fields> fields_;
};

// Loads an IANA zone ("America/Los_Angeles", "UTC"). INVALID_ARGUMENT
// naming it when the zone is unknown.
absl::StatusOr<absl::TimeZone> LoadZone(absl::string_view name);

}  // namespace gennaker::echo

#endif  // GENNAKER_SERVICES_ECHO_CRON_CRON_H_
