#include "services/echo/cron/cron.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <iterator>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/testing/status_matchers.h"

namespace gennaker::echo {
namespace {

using ::gennaker::testing::IsOk;
using ::gennaker::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::TimeZone Zone(const std::string& name) {
  absl::StatusOr<absl::TimeZone> zone = LoadZone(name);
  EXPECT_THAT(zone, IsOk());
  return zone.ok() ? *zone : absl::UTCTimeZone();
}

absl::Time At(absl::TimeZone zone, int y, int m, int d, int h = 0, int mi = 0,
              int s = 0) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, h, mi, s), zone);
}

// Local time with its UTC offset, so DST tests see which occurrence fired.
std::string Fmt(absl::Time t, absl::TimeZone zone) {
  if (t == absl::InfiniteFuture()) return "never";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S %Ez %a", t, zone);
}

CronExpression MustParse(const std::string& expression,
                         const std::string& trigger_id = "") {
  absl::StatusOr<CronExpression> cron =
      CronExpression::Parse(expression, trigger_id);
  EXPECT_THAT(cron, IsOk()) << expression;
  if (!cron.ok()) return *CronExpression::Parse("0 0 0 1 1 ? 2099");
  return *std::move(cron);
}

// The next `count` fire times of `expression` after the local time `from`.
std::vector<std::string> Next(const std::string& expression,
                              absl::CivilSecond from, int count,
                              const std::string& zone_name = "UTC") {
  const absl::TimeZone zone = Zone(zone_name);
  const CronExpression cron = MustParse(expression);
  std::vector<std::string> out;
  for (absl::Time t :
       cron.NextTimes(absl::FromCivil(from, zone), zone, count)) {
    out.push_back(Fmt(t, zone));
  }
  return out;
}

// --- Simple schedules -----------------------------------------------------

TEST(CronNextTest, EverySecondIsStrictlyAfterAndWholeSeconds) {
  const absl::TimeZone utc = absl::UTCTimeZone();
  const CronExpression cron = MustParse("* * * * * ?");
  const absl::Time t = At(utc, 2026, 5, 4, 10, 0, 0);
  EXPECT_EQ(cron.NextAfter(t, utc), t + absl::Seconds(1));
  EXPECT_EQ(cron.NextAfter(t + absl::Milliseconds(999), utc),
            t + absl::Seconds(1));
  EXPECT_EQ(cron.NextAfter(t - absl::Milliseconds(1), utc), t);
  EXPECT_THAT(cron.NextTimes(t, utc, 3),
              ElementsAre(t + absl::Seconds(1), t + absl::Seconds(2),
                          t + absl::Seconds(3)));
}

TEST(CronNextTest, EveryMinute) {
  EXPECT_THAT(
      Next("0 * * * * ?", absl::CivilSecond(2026, 12, 31, 23, 58, 30), 3),
      ElementsAre("2026-12-31 23:59:00 +00:00 Thu",
                  "2027-01-01 00:00:00 +00:00 Fri",
                  "2027-01-01 00:01:00 +00:00 Fri"));
}

TEST(CronNextTest, EveryFifteenMinutes) {
  EXPECT_THAT(
      Next("0 0/15 * * * ?", absl::CivilSecond(2026, 5, 4, 10, 7, 0), 4),
      ElementsAre(
          "2026-05-04 10:15:00 +00:00 Mon", "2026-05-04 10:30:00 +00:00 Mon",
          "2026-05-04 10:45:00 +00:00 Mon", "2026-05-04 11:00:00 +00:00 Mon"));
  // A fire time itself is not "after" itself.
  EXPECT_THAT(
      Next("0 0/15 * * * ?", absl::CivilSecond(2026, 5, 4, 10, 15, 0), 1),
      ElementsAre("2026-05-04 10:30:00 +00:00 Mon"));
  // "*/n" and "a/n" (from a, not from 0).
  EXPECT_THAT(
      Next("*/20 15/20 * * * ?", absl::CivilSecond(2026, 5, 4, 10, 0), 4),
      ElementsAre(
          "2026-05-04 10:15:00 +00:00 Mon", "2026-05-04 10:15:20 +00:00 Mon",
          "2026-05-04 10:15:40 +00:00 Mon", "2026-05-04 10:35:00 +00:00 Mon"));
}

TEST(CronNextTest, ListsRangesAndStepsInRanges) {
  EXPECT_THAT(
      Next("0 10,40 8-9 * * ?", absl::CivilSecond(2026, 5, 4, 8, 20), 4),
      ElementsAre(
          "2026-05-04 08:40:00 +00:00 Mon", "2026-05-04 09:10:00 +00:00 Mon",
          "2026-05-04 09:40:00 +00:00 Mon", "2026-05-05 08:10:00 +00:00 Tue"));
  EXPECT_THAT(Next("0 0 9-17/4 * * ?", absl::CivilSecond(2026, 5, 4), 4),
              ElementsAre("2026-05-04 09:00:00 +00:00 Mon",
                          "2026-05-04 13:00:00 +00:00 Mon",
                          "2026-05-04 17:00:00 +00:00 Mon",
                          "2026-05-05 09:00:00 +00:00 Tue"));
  // A range past the maximum wraps around, as in Quartz.
  EXPECT_THAT(Next("0 0 22-1 * * ?", absl::CivilSecond(2026, 5, 4, 2, 0), 4),
              ElementsAre("2026-05-04 22:00:00 +00:00 Mon",
                          "2026-05-04 23:00:00 +00:00 Mon",
                          "2026-05-05 00:00:00 +00:00 Tue",
                          "2026-05-05 01:00:00 +00:00 Tue"));
}

TEST(CronNextTest, WeekdaysAtNoon) {
  EXPECT_THAT(
      Next("0 0 12 ? * MON-FRI", absl::CivilSecond(2026, 1, 2, 13, 0), 3),
      ElementsAre("2026-01-05 12:00:00 +00:00 Mon",
                  "2026-01-06 12:00:00 +00:00 Tue",
                  "2026-01-07 12:00:00 +00:00 Wed"));
  // Numbers are Quartz's: 1 = Sunday, so 2-6 is MON-FRI.
  EXPECT_THAT(Next("0 0 12 ? * 2-6", absl::CivilSecond(2026, 1, 2, 13, 0), 1),
              ElementsAre("2026-01-05 12:00:00 +00:00 Mon"));
  // A weekday range that wraps: FRI-MON.
  EXPECT_THAT(Next("0 0 12 ? * FRI-MON", absl::CivilSecond(2026, 1, 6), 5),
              ElementsAre("2026-01-09 12:00:00 +00:00 Fri",
                          "2026-01-10 12:00:00 +00:00 Sat",
                          "2026-01-11 12:00:00 +00:00 Sun",
                          "2026-01-12 12:00:00 +00:00 Mon",
                          "2026-01-16 12:00:00 +00:00 Fri"));
  // Steps over weekdays: MON, WED, FRI.
  EXPECT_THAT(Next("0 0 12 ? * MON/2", absl::CivilSecond(2026, 1, 4), 4),
              ElementsAre("2026-01-05 12:00:00 +00:00 Mon",
                          "2026-01-07 12:00:00 +00:00 Wed",
                          "2026-01-09 12:00:00 +00:00 Fri",
                          "2026-01-12 12:00:00 +00:00 Mon"));
}

TEST(CronNextTest, MonthAndDayNamesAnyCase) {
  const std::vector<std::string> expected = {
      "2026-01-04 09:00:00 +00:00 Sun", "2026-01-11 09:00:00 +00:00 Sun",
      "2026-01-18 09:00:00 +00:00 Sun", "2026-01-25 09:00:00 +00:00 Sun",
      "2026-07-05 09:00:00 +00:00 Sun"};
  EXPECT_EQ(Next("0 0 9 ? JAN,JUL SUN", absl::CivilSecond(2026, 1, 1), 5),
            expected);
  EXPECT_EQ(Next("0 0 9 ? jan,jul sun", absl::CivilSecond(2026, 1, 1), 5),
            expected);
  EXPECT_EQ(Next("0 0 9 ? 1,7 1", absl::CivilSecond(2026, 1, 1), 5), expected);
  EXPECT_THAT(Next("0 0 0 1 MAR-MAY ?", absl::CivilSecond(2026, 1, 1), 4),
              ElementsAre("2026-03-01 00:00:00 +00:00 Sun",
                          "2026-04-01 00:00:00 +00:00 Wed",
                          "2026-05-01 00:00:00 +00:00 Fri",
                          "2027-03-01 00:00:00 +00:00 Mon"));
}

// --- L, W, # ----------------------------------------------------------------

TEST(CronNextTest, LastDayOfMonth) {
  EXPECT_THAT(Next("0 15 10 L * ?", absl::CivilSecond(2026, 1, 15), 4),
              ElementsAre("2026-01-31 10:15:00 +00:00 Sat",
                          "2026-02-28 10:15:00 +00:00 Sat",
                          "2026-03-31 10:15:00 +00:00 Tue",
                          "2026-04-30 10:15:00 +00:00 Thu"));
  // L-n: n days before the last.
  EXPECT_THAT(Next("0 0 0 L-2 * ?", absl::CivilSecond(2026, 1, 15), 2),
              ElementsAre("2026-01-29 00:00:00 +00:00 Thu",
                          "2026-02-26 00:00:00 +00:00 Thu"));
  // February of a leap year.
  EXPECT_THAT(Next("0 0 0 L 2 ?", absl::CivilSecond(2027, 3, 1), 2),
              ElementsAre("2028-02-29 00:00:00 +00:00 Tue",
                          "2029-02-28 00:00:00 +00:00 Wed"));
}

TEST(CronNextTest, LastWeekdayOfMonthInDayOfWeek) {
  // 6L: the last Friday.
  EXPECT_THAT(Next("0 15 10 ? * 6L", absl::CivilSecond(2026, 1, 1), 4),
              ElementsAre("2026-01-30 10:15:00 +00:00 Fri",
                          "2026-02-27 10:15:00 +00:00 Fri",
                          "2026-03-27 10:15:00 +00:00 Fri",
                          "2026-04-24 10:15:00 +00:00 Fri"));
  EXPECT_EQ(Next("0 15 10 ? * FRIL", absl::CivilSecond(2026, 1, 1), 4),
            Next("0 15 10 ? * 6L", absl::CivilSecond(2026, 1, 1), 4));
  // "L" alone in day-of-week is Saturday (7).
  EXPECT_THAT(Next("0 0 12 ? * L", absl::CivilSecond(2026, 1, 1), 2),
              ElementsAre("2026-01-03 12:00:00 +00:00 Sat",
                          "2026-01-10 12:00:00 +00:00 Sat"));
}

TEST(CronNextTest, NthWeekdayOfMonth) {
  EXPECT_THAT(Next("0 15 10 ? * 6#3", absl::CivilSecond(2026, 1, 1), 3),
              ElementsAre("2026-01-16 10:15:00 +00:00 Fri",
                          "2026-02-20 10:15:00 +00:00 Fri",
                          "2026-03-20 10:15:00 +00:00 Fri"));
  EXPECT_THAT(Next("0 0 9 ? * MON#1", absl::CivilSecond(2026, 1, 1), 2),
              ElementsAre("2026-01-05 09:00:00 +00:00 Mon",
                          "2026-02-02 09:00:00 +00:00 Mon"));
  // The fifth Friday exists only in some months: skipped elsewhere.
  EXPECT_THAT(Next("0 0 0 ? * 6#5", absl::CivilSecond(2026, 1, 1), 2),
              ElementsAre("2026-01-30 00:00:00 +00:00 Fri",
                          "2026-05-29 00:00:00 +00:00 Fri"));
}

TEST(CronNextTest, NearestWeekday) {
  // Feb 15 and Mar 15 2026 are Sundays (-> Monday), Aug 15 a Saturday (->
  // Friday).
  EXPECT_THAT(
      Next("0 0 12 15W * ?", absl::CivilSecond(2026, 1, 1), 8),
      ElementsAre(
          "2026-01-15 12:00:00 +00:00 Thu", "2026-02-16 12:00:00 +00:00 Mon",
          "2026-03-16 12:00:00 +00:00 Mon", "2026-04-15 12:00:00 +00:00 Wed",
          "2026-05-15 12:00:00 +00:00 Fri", "2026-06-15 12:00:00 +00:00 Mon",
          "2026-07-15 12:00:00 +00:00 Wed", "2026-08-14 12:00:00 +00:00 Fri"));
  // W never leaves the month: Aug 1 2026 is a Saturday -> Monday the 3rd.
  EXPECT_THAT(Next("0 0 12 1W * ?", absl::CivilSecond(2026, 7, 2), 2),
              ElementsAre("2026-08-03 12:00:00 +00:00 Mon",
                          "2026-09-01 12:00:00 +00:00 Tue"));
  // 31W: not in months without a 31st; May 31 2026 is a Sunday and the last
  // day -> Friday the 29th.
  EXPECT_THAT(Next("0 0 12 31W * ?", absl::CivilSecond(2026, 1, 1), 4),
              ElementsAre("2026-01-30 12:00:00 +00:00 Fri",
                          "2026-03-31 12:00:00 +00:00 Tue",
                          "2026-05-29 12:00:00 +00:00 Fri",
                          "2026-07-31 12:00:00 +00:00 Fri"));
}

TEST(CronNextTest, LastWeekdayOfMonth) {
  EXPECT_THAT(Next("0 0 12 LW * ?", absl::CivilSecond(2026, 1, 1), 5),
              ElementsAre("2026-01-30 12:00:00 +00:00 Fri",
                          "2026-02-27 12:00:00 +00:00 Fri",
                          "2026-03-31 12:00:00 +00:00 Tue",
                          "2026-04-30 12:00:00 +00:00 Thu",
                          "2026-05-29 12:00:00 +00:00 Fri"));
}

// --- Years, leap years, never ------------------------------------------------

TEST(CronNextTest, LeapDay) {
  EXPECT_THAT(Next("0 0 0 29 2 ?", absl::CivilSecond(2026, 1, 1), 3),
              ElementsAre("2028-02-29 00:00:00 +00:00 Tue",
                          "2032-02-29 00:00:00 +00:00 Sun",
                          "2036-02-29 00:00:00 +00:00 Fri"));
  // 2100 is not a leap year.
  EXPECT_THAT(Next("0 0 0 29 2 ?", absl::CivilSecond(2096, 3, 1), 1),
              ElementsAre("2104-02-29 00:00:00 +00:00 Fri"));
}

TEST(CronNextTest, YearField) {
  EXPECT_THAT(Next("0 0 0 1 1 ? 2027", absl::CivilSecond(2026, 6, 1), 5),
              ElementsAre("2027-01-01 00:00:00 +00:00 Fri"));
  EXPECT_THAT(
      Next("0 0 0 1 JAN ? 2027-2031/2", absl::CivilSecond(2026, 6, 1), 5),
      ElementsAre("2027-01-01 00:00:00 +00:00 Fri",
                  "2029-01-01 00:00:00 +00:00 Mon",
                  "2031-01-01 00:00:00 +00:00 Wed"));
  EXPECT_THAT(Next("0 0 0 1 1 ? 2030,2028", absl::CivilSecond(2026, 6, 1), 5),
              ElementsAre("2028-01-01 00:00:00 +00:00 Sat",
                          "2030-01-01 00:00:00 +00:00 Tue"));
  EXPECT_THAT(Next("0 0 0 1 1 ? *", absl::CivilSecond(2026, 6, 1), 1),
              ElementsAre("2027-01-01 00:00:00 +00:00 Fri"));
}

TEST(CronNextTest, NeverFiring) {
  const absl::TimeZone utc = absl::UTCTimeZone();
  const absl::Time now = At(utc, 2026, 1, 1);
  for (const char* expression :
       {"0 0 0 30 2 ?", "0 0 0 31 4,6,9,11 ?", "0 0 0 1 1 ? 2020",
        "0 0 0 ? 2 6#5 2026-2030", "0 0 0 29 2 ? 2097-2099"}) {
    const CronExpression cron = MustParse(expression);
    const absl::Time start = absl::Now();
    EXPECT_EQ(cron.NextAfter(now, utc), absl::InfiniteFuture()) << expression;
    EXPECT_TRUE(cron.NextTimes(now, utc, 3).empty()) << expression;
    // Scanned field by field, not second by second.
    EXPECT_LT(absl::Now() - start, absl::Seconds(2)) << expression;
  }
  // Past the last year of the field.
  const CronExpression once = MustParse("0 0 0 1 1 ? 2027");
  EXPECT_EQ(once.NextAfter(At(utc, 2027, 1, 1), utc), absl::InfiniteFuture());
  EXPECT_EQ(MustParse("* * * * * ?").NextAfter(absl::InfiniteFuture(), utc),
            absl::InfiniteFuture());
  EXPECT_EQ(MustParse("* * * * * ?")
                .NextAfter(absl::InfiniteFuture() - absl::Seconds(1), utc),
            absl::InfiniteFuture());
  EXPECT_EQ(MustParse("* * * * * ?")
                .NextAfter(absl::FromUnixSeconds(INT64_MAX / 2), utc),
            absl::InfiniteFuture());
}

TEST(CronNextTest, FromTheInfinitePastStartsIn1970) {
  const absl::TimeZone utc = absl::UTCTimeZone();
  EXPECT_EQ(MustParse("0 0 0 1 1 ?").NextAfter(absl::InfinitePast(), utc),
            At(utc, 1970, 1, 1));
}

TEST(CronNextTest, NextTimesCounts) {
  const absl::TimeZone utc = absl::UTCTimeZone();
  const CronExpression cron = MustParse("0 0 * * * ?");
  const absl::Time from = At(utc, 2026, 5, 4, 10, 30);
  EXPECT_TRUE(cron.NextTimes(from, utc, 0).empty());
  EXPECT_TRUE(cron.NextTimes(from, utc, -3).empty());
  const std::vector<absl::Time> times = cron.NextTimes(from, utc, 48);
  ASSERT_EQ(times.size(), 48u);
  EXPECT_EQ(times.front(), At(utc, 2026, 5, 4, 11));
  EXPECT_EQ(times.back(), At(utc, 2026, 5, 6, 10));
  for (size_t i = 1; i < times.size(); ++i) {
    EXPECT_EQ(times[i] - times[i - 1], absl::Hours(1));
  }
  // Fewer when the expression stops firing.
  EXPECT_EQ(MustParse("0 0 0 1 1 ? 2027-2028").NextTimes(from, utc, 5).size(),
            2u);
}

// --- Time zones and DST -----------------------------------------------------

TEST(CronZoneTest, FiresAtLocalTime) {
  const absl::TimeZone la = Zone("America/Los_Angeles");
  const CronExpression cron = MustParse("0 0 2 * * ?");
  // 02:00 PDT is 09:00 UTC.
  EXPECT_EQ(cron.NextAfter(At(la, 2026, 6, 1), la),
            At(absl::UTCTimeZone(), 2026, 6, 1, 9));
  EXPECT_THAT(
      Next("0 0 2 * * ?", absl::CivilSecond(2026, 6, 1), 1, "Asia/Kolkata"),
      ElementsAre("2026-06-01 02:00:00 +05:30 Mon"));
}

TEST(CronZoneTest, SpringForwardSkipsTheMissingHour) {
  // 2026-03-08 02:00 PST jumps to 03:00 PDT in Los Angeles: 02:30 does not
  // exist that day and does not fire.
  EXPECT_THAT(Next("0 30 2 * * ?", absl::CivilSecond(2026, 3, 6, 12, 0), 3,
                   "America/Los_Angeles"),
              ElementsAre("2026-03-07 02:30:00 -08:00 Sat",
                          "2026-03-09 02:30:00 -07:00 Mon",
                          "2026-03-10 02:30:00 -07:00 Tue"));
  EXPECT_THAT(Next("0 0 * * * ?", absl::CivilSecond(2026, 3, 8, 0, 30), 3,
                   "America/Los_Angeles"),
              ElementsAre("2026-03-08 01:00:00 -08:00 Sun",
                          "2026-03-08 03:00:00 -07:00 Sun",
                          "2026-03-08 04:00:00 -07:00 Sun"));
  EXPECT_THAT(Next("0 0 3 * * ?", absl::CivilSecond(2026, 3, 8, 0, 30), 1,
                   "America/Los_Angeles"),
              ElementsAre("2026-03-08 03:00:00 -07:00 Sun"));
  // Every second across the gap: 01:59:59 PST is followed by 03:00:00 PDT.
  EXPECT_THAT(Next("* * * * * ?", absl::CivilSecond(2026, 3, 8, 1, 59, 58), 2,
                   "America/Los_Angeles"),
              ElementsAre("2026-03-08 01:59:59 -08:00 Sun",
                          "2026-03-08 03:00:00 -07:00 Sun"));
}

TEST(CronZoneTest, FallBackFiresOnceAtTheFirstOccurrence) {
  // 2026-11-01 02:00 PDT goes back to 01:00 PST: 01:30 happens twice.
  const absl::TimeZone la = Zone("America/Los_Angeles");
  const CronExpression cron = MustParse("0 30 1 * * ?");
  const std::vector<absl::Time> times =
      cron.NextTimes(At(la, 2026, 10, 31, 12), la, 3);
  ASSERT_EQ(times.size(), 3u);
  EXPECT_EQ(Fmt(times[0], la), "2026-11-01 01:30:00 -07:00 Sun");
  EXPECT_EQ(times[0], absl::FromCivil(absl::CivilSecond(2026, 11, 1, 8, 30),
                                      absl::UTCTimeZone()));
  EXPECT_EQ(Fmt(times[1], la), "2026-11-02 01:30:00 -08:00 Mon");
  EXPECT_EQ(Fmt(times[2], la), "2026-11-03 01:30:00 -08:00 Tue");
  // Asked during the second 01:xx hour (01:10 PST), the day's 01:30 already
  // fired: next is tomorrow.
  const absl::Time pst_0110 = absl::FromCivil(
      absl::CivilSecond(2026, 11, 1, 9, 10), absl::UTCTimeZone());
  EXPECT_EQ(Fmt(pst_0110, la), "2026-11-01 01:10:00 -08:00 Sun");
  EXPECT_EQ(Fmt(cron.NextAfter(pst_0110, la), la),
            "2026-11-02 01:30:00 -08:00 Mon");
  // Hourly: the repeated 01:00 does not fire a second time.
  EXPECT_THAT(Next("0 0 * * * ?", absl::CivilSecond(2026, 11, 1, 0, 30), 3,
                   "America/Los_Angeles"),
              ElementsAre("2026-11-01 01:00:00 -07:00 Sun",
                          "2026-11-01 02:00:00 -08:00 Sun",
                          "2026-11-01 03:00:00 -08:00 Sun"));
}

TEST(CronZoneTest, LoadZone) {
  EXPECT_THAT(LoadZone("America/Los_Angeles"), IsOk());
  EXPECT_THAT(LoadZone("UTC"), IsOk());
  EXPECT_THAT(LoadZone("Europe/Paris"), IsOk());
  EXPECT_THAT(LoadZone("Mars/Olympus_Mons"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "unknown time zone 'Mars/Olympus_Mons'"));
  for (const char* bad : {"", "../../etc/passwd", "/etc/localtime",
                          "America/Los Angeles", "UTC;rm"}) {
    EXPECT_THAT(LoadZone(bad), StatusIs(absl::StatusCode::kInvalidArgument,
                                        HasSubstr("unknown time zone")))
        << bad;
  }
  EXPECT_THAT(LoadZone(std::string(500, 'A')),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(CronZoneTest, HalfHourDaylightSaving) {
  // Lord Howe Island moves its clocks by 30 minutes: on 2026-10-04 02:00
  // becomes 02:30, so 02:15 does not exist that day.
  EXPECT_THAT(Next("0 15 2 * * ?", absl::CivilSecond(2026, 10, 2, 12, 0), 2,
                   "Australia/Lord_Howe"),
              ElementsAre("2026-10-03 02:15:00 +10:30 Sat",
                          "2026-10-05 02:15:00 +11:00 Mon"));
}

// From any instant between two consecutive fire times, the next one is the
// later of the two: the field-by-field search agrees with itself from every
// starting point (mid-minute, mid-day, inside DST changes).
TEST(CronZoneTest, NextAfterIsConsistentFromAnyStartingPoint) {
  const absl::TimeZone la = Zone("America/Los_Angeles");
  std::mt19937_64 random(42);
  for (const char* expression :
       {"*/7 * * * * ?", "0 0/15 * * * ?", "0 30 1,2 * * ?", "0 0 * * * ?",
        "15 10 10 L * ?", "0 0 12 ? * 6#3", "0 0 12 LW * ?", "0 0 0 29 2 ?",
        "5 4 3 ? * MON-FRI"}) {
    const CronExpression cron = MustParse(expression);
    for (const absl::CivilSecond from :
         {absl::CivilSecond(2026, 3, 7, 23, 0), absl::CivilSecond(2026, 11, 1),
          absl::CivilSecond(2027, 12, 31, 23, 59, 59)}) {
      const std::vector<absl::Time> times =
          cron.NextTimes(absl::FromCivil(from, la), la, 6);
      ASSERT_EQ(times.size(), 6u) << expression;
      for (size_t i = 1; i < times.size(); ++i) {
        ASSERT_LT(times[i - 1], times[i]) << expression;
        const int64_t span = absl::ToInt64Milliseconds(times[i] - times[i - 1]);
        for (int k = 0; k < 20; ++k) {
          const absl::Time t =
              times[i - 1] + absl::Milliseconds(static_cast<int64_t>(
                                 random() % static_cast<uint64_t>(span)));
          EXPECT_EQ(cron.NextAfter(t, la), times[i])
              << expression << " from " << Fmt(t, la);
        }
      }
    }
  }
}

// --- H (CronExpressionFuzzer) ------------------------------------------------

TEST(CronFuzzTest, MatchesSpinnakersFuzzer) {
  // Spinnaker's own examples: "abcd" -> 22 (mod 59), "abcde" -> 15 (mod 23).
  EXPECT_EQ(MustParse("H * * ? * *", "abcd").effective_expression(),
            "22 * * ? * *");
  EXPECT_EQ(MustParse("* * H ? * *", "abcde").effective_expression(),
            "* * 15 ? * *");
  EXPECT_EQ(MustParse("H/5 * * ? * *", "abcd").effective_expression(),
            "22/5 * * ? * *");
  EXPECT_EQ(MustParse("H H H ? * MON-FRI", "abcd").effective_expression(),
            "22 22 18 ? * MON-FRI");
  // A negative hashCode: Math.abs of the remainder.
  EXPECT_EQ(MustParse("0 H H * * ?", "trigger-1").effective_expression(),
            "0 35 4 * * ?");
  // Java hashes UTF-16 code units (a surrogate pair for the emoji).
  EXPECT_EQ(MustParse("0 H H * * ?", "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80")
                .effective_expression(),
            "0 18 2 * * ?");
  EXPECT_EQ(MustParse("0 H 9 ? * THU", "abcd").effective_expression(),
            "0 22 9 ? * THU");
  // The expression as written is kept.
  EXPECT_EQ(MustParse("0 H 9 ? * THU", "abcd").expression(), "0 H 9 ? * THU");
}

TEST(CronFuzzTest, WithoutHTheExpressionIsUnchanged) {
  const CronExpression cron = MustParse("  0 0   12 ? * MON  ", "abcd");
  EXPECT_EQ(cron.expression(), "  0 0   12 ? * MON  ");
  EXPECT_EQ(cron.effective_expression(), "  0 0   12 ? * MON  ");
}

TEST(CronFuzzTest, StableAndSpread) {
  const std::string id = "5f2a1c4e-0b7d-4e8a-9c1f-3d6e2a7b8c90";
  EXPECT_EQ(MustParse("H H H * * ?", id).effective_expression(), "3 3 9 * * ?");
  EXPECT_EQ(MustParse("H H H * * ?", id).effective_expression(),
            MustParse("H H H * * ?", id).effective_expression());
  std::set<std::string> minutes;
  for (int i = 0; i < 200; ++i) {
    const CronExpression cron =
        MustParse("0 H * * * ?", absl::StrCat("trigger-", i));
    const std::string& effective = cron.effective_expression();
    const std::string minute = effective.substr(2, effective.find(' ', 2) - 2);
    const int value = std::stoi(minute);
    EXPECT_GE(value, 0);
    EXPECT_LE(value, 58);  // mod 59
    minutes.insert(minute);
  }
  EXPECT_GT(minutes.size(), 30u);
  EXPECT_NE(MustParse("0 H * * * ?", "trigger-1").effective_expression(),
            MustParse("0 H * * * ?", "trigger-2").effective_expression());
}

TEST(CronFuzzTest, SchedulesTheResolvedExpression) {
  const absl::TimeZone utc = absl::UTCTimeZone();
  const CronExpression cron = MustParse("0 H * * * ?", "abcd");
  EXPECT_EQ(cron.NextAfter(At(utc, 2026, 5, 4, 10, 0), utc),
            At(utc, 2026, 5, 4, 10, 22));
  const CronExpression hourly = MustParse("0 H/20 * * * ?", "abcd");
  EXPECT_THAT(
      hourly.NextTimes(At(utc, 2026, 5, 4, 10, 0), utc, 3),
      ElementsAre(At(utc, 2026, 5, 4, 10, 22), At(utc, 2026, 5, 4, 10, 42),
                  At(utc, 2026, 5, 4, 11, 22)));
}

// --- Errors -----------------------------------------------------------------

TEST(CronParseTest, ErrorMessages) {
  struct Case {
    const char* expression;
    const char* message;
  };
  const Case cases[] = {
      {"0 0 25 * * ?",
       "Invalid cron expression '0 0 25 * * ?': hour 25 is out of range "
       "0-23"},
      {"0 0 12 * *",
       "Invalid cron expression '0 0 12 * *': expected 6 or 7 fields (second "
       "minute hour day-of-month month day-of-week [year]), got 5"},
      {"garbage", "expected 6 or 7 fields"},
      {"0 0 12 * * ? 2030 x", "got 8"},
      {"", "Invalid cron expression '': it is empty"},
      {"   ", "it is empty"},
      {"60 * * * * ?", "second 60 is out of range 0-59"},
      {"0 60 * * * ?", "minute 60 is out of range 0-59"},
      {"0 0 0 32 * ?", "day-of-month 32 is out of range 1-31"},
      {"0 0 0 0 * ?", "day-of-month 0 is out of range 1-31"},
      {"0 0 0 1 13 ?", "month 13 is out of range 1-12"},
      {"0 0 0 ? * 8", "day-of-week 8 is out of range 1-7"},
      {"0 0 0 ? * 0", "day-of-week 0 is out of range 1-7"},
      {"0 0 0 1 1 ? 1969", "year 1969 is out of range 1970-2099"},
      {"0 0 0 1 1 ? 2100", "year 2100 is out of range 1970-2099"},
      {"0 0 99999999999 * * ?", "hour 99999999999 is out of range 0-23"},
      {"0 0 12 * * MON",
       "exactly one of day-of-month and day-of-week must be '?'"},
      {"0 0 12 * * *",
       "exactly one of day-of-month and day-of-week must be '?'"},
      {"0 0 12 ? * ?", "cannot both be '?'"},
      {"? 0 12 * * ?",
       "'?' is allowed only in day-of-month and day-of-week, "
       "not in second"},
      {"0 0 12 1? * ?", "'?' in day-of-month must stand alone"},
      {"0 0 12 ? * FOO", "invalid day-of-week 'FOO' (expected 1-7 or SUN-SAT)"},
      {"0 0 12 1 FOO ?", "invalid month 'FOO' (expected 1-12 or JAN-DEC)"},
      {"0 0 12 ? * MONDAY", "invalid day-of-week 'MONDAY'"},
      {"a b c ? e f", "invalid second 'A' (expected a number 0-59)"},
      {"h * * * * ?", "invalid second 'H'"},
      {"0 0 12 1-X * ?", "invalid day-of-month 'X'"},
      {"0 0/0 * * * ?", "increment '0' in minute must be a number 1-59"},
      {"0 0/60 * * * ?", "increment '60' in minute must be a number 1-59"},
      {"0 0 0/24 * * ?", "increment '24' in hour must be a number 1-23"},
      {"0 0/x * * * ?", "increment 'X' in minute"},
      {"0 0 12 1,,2 * ?", "empty item in the day-of-month list"},
      {"0 0 12 1- * ?", "missing value in day-of-month"},
      {"0 0 12 L,5 * ?", "'L' and 'W' in day-of-month stand alone"},
      {"0 0 12 1-5W * ?", "'L' and 'W' in day-of-month stand alone"},
      {"0 0 12 32W * ?", "day-of-month 32 is out of range 1-31"},
      {"0 0 12 L-31 * ?", "offset from the last day in 'L-31' must be 0-30"},
      {"0 0 12 ? * 6#6", "the number after '#' must be 1-5"},
      {"0 0 12 ? * 6#0", "the number after '#' must be 1-5"},
      {"0 0 12 ? * 6#3,2", "'#' stands alone"},
      {"0 0 12 ? * 8#1", "day-of-week 8 is out of range 1-7"},
      {"0 0 12 ? * 6L,2", "'L' stands alone or after one day"},
      {"0 0 12 ? * 9L", "day-of-week 9 is out of range 1-7"},
      {"0 0 12 1 * ? %", "unexpected character '%' in year"},
      {"0 0 12\x01 1 * ?", "unexpected character '\\x1' in hour"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(
        CronExpression::Parse(c.expression, "id"),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)))
        << c.expression;
  }
  // Messages name the expression as written.
  EXPECT_THAT(CronExpression::Parse("0 0 12 ? * FOO"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Invalid cron expression '0 0 12 ? * FOO'")));
}

TEST(CronParseTest, OverlongInputIsRejectedWithoutEchoingIt) {
  const std::string expression = "0 0 12 ? * " + std::string(1000, '1');
  EXPECT_THAT(CronExpression::Parse(expression),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "Invalid cron expression: longer than 256 characters"));
}

TEST(CronParseTest, AcceptsQuartzForms) {
  for (const char* expression :
       {"0 0 12 * * ?", "0 15 10 ? * *", "0 0/5 14,18 * * ?", "0 0-5 14 * * ?",
        "0 10,44 14 ? 3 WED", "0 15 10 ? * 6L 2026-2030", "0 0 12 1/5 * ?",
        "0 11 11 11 11 ?", "0 0 12 L-3W * ?", "*/5 * * ? * *",
        "0 0 0 ? * SUN#1", "0 0 0 ? JAN-DEC/3 MON", "0\t0\t12 ? * MON"}) {
    EXPECT_THAT(CronExpression::Parse(expression), IsOk()) << expression;
  }
}

// Hostile input: random expressions built from cron's own alphabet either
// parse (and then schedule without hanging) or fail with INVALID_ARGUMENT.
TEST(CronParseTest, RandomInputNeverCrashes) {
  const std::string alphabet = "0123456789*?,-/#LW HMONFRIJAN\t";
  const absl::TimeZone la = Zone("America/Los_Angeles");
  std::mt19937 random(7);
  int parsed = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string expression;
    const int length = static_cast<int>(random() % 40);
    for (int k = 0; k < length; ++k) {
      expression += alphabet[random() % alphabet.size()];
    }
    // Mostly six fields, each a valid Quartz field or (one in four) random
    // pieces, with '?' in one day field: past the field count and '?' rule.
    if (i % 2 == 0) {
      static const std::vector<std::vector<std::string>> kValid = {
          {"0", "*/5", "H", "10-20", "1,2,3", "H/7", "59", "5/10"},
          {"0", "*/5", "H", "10-20", "1,2,3", "H/7", "59", "5/10"},
          {"*", "0", "23", "22-2", "H", "9-17/2"},
          {"1", "L", "LW", "15W", "L-3", "1-15", "*", "31", "L-30W"},
          {"*", "JAN", "2", "FEB-APR", "*/3", "12", "NOV-FEB"},
          {"MON-FRI", "6L", "6#3", "*", "SUN", "L", "1,7", "SAT#5"}};
      static const char* const kPieces[] = {
          "1", "2", "5", "7",   "12",  "15",  "30", "59", "*", "/",   "-", ",",
          "L", "W", "#", "MON", "JAN", "FRI", "H",  "0",  "3", "L-2", "6L"};
      expression.clear();
      const int question = random() % 2 == 0 ? 3 : 5;
      for (int f = 0; f < 6; ++f) {
        if (f > 0) expression += ' ';
        if (f == question) {
          expression += '?';
        } else if (random() % 4 != 0) {
          expression += kValid[f][random() % kValid[f].size()];
        } else {
          const int n = 1 + static_cast<int>(random() % 3);
          for (int k = 0; k < n; ++k) {
            expression += kPieces[random() % std::size(kPieces)];
          }
        }
      }
    }
    absl::StatusOr<CronExpression> cron =
        CronExpression::Parse(expression, "id");
    if (!cron.ok()) {
      EXPECT_EQ(cron.status().code(), absl::StatusCode::kInvalidArgument);
      continue;
    }
    ++parsed;
    const absl::Time next = cron->NextAfter(At(la, 2026, 3, 7), la);
    EXPECT_GT(next, At(la, 2026, 3, 7)) << expression;
  }
  EXPECT_GT(parsed, 1000);
}

TEST(CronParseTest, CopiesAndMovesKeepTheSchedule) {
  const absl::TimeZone utc = absl::UTCTimeZone();
  const absl::Time from = At(utc, 2026, 1, 1);
  CronExpression original = MustParse("0 0 12 ? * 6#3", "x");
  const absl::Time expected = original.NextAfter(from, utc);
  CronExpression copy = original;
  EXPECT_EQ(copy.NextAfter(from, utc), expected);
  CronExpression moved = std::move(copy);
  EXPECT_EQ(moved.NextAfter(from, utc), expected);
  CronExpression assigned = MustParse("* * * * * ?");
  assigned = moved;
  EXPECT_EQ(assigned.NextAfter(from, utc), expected);
  EXPECT_EQ(assigned.expression(), "0 0 12 ? * 6#3");
}

}  // namespace
}  // namespace gennaker::echo
