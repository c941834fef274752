#include "services/echo/cron/cron.h"

#include <array>
#include <bitset>
#include <cctype>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "common/status/status_macros.h"

namespace gennaker::echo {
namespace {

// Outside input: bound what we parse and echo back in messages.
constexpr size_t kMaxExpressionLength = 256;
constexpr size_t kMaxZoneNameLength = 64;
// Quartz's year range.
constexpr int kMinYear = 1970;
constexpr int kMaxYear = 2099;
// The Gregorian calendar repeats every 400 years, so a day pattern that
// matches nothing in 400 years never matches.
constexpr int kScanYears = 400;
// Upper bound on candidate local times NextAfter tries (each skip over a DST
// gap or a repeated hour costs one); far above what any expression needs.
constexpr int kMaxCandidates = 10000;
// NextTimes never returns more than this many times.
constexpr int kMaxNextTimes = 100000;

enum FieldIndex {
  kSecond = 0,
  kMinute,
  kHour,
  kDayOfMonth,
  kMonth,
  kDayOfWeek,
  kYear,
};

struct FieldSpec {
  const char* name;
  int min;
  int max;
  // Quartz's largest accepted increment in "a/n".
  int max_increment;
};

constexpr std::array<FieldSpec, 7> kSpecs = {{
    {"second", 0, 59, 59},
    {"minute", 0, 59, 59},
    {"hour", 0, 23, 23},
    {"day-of-month", 1, 31, 31},
    {"month", 1, 12, 12},
    {"day-of-week", 1, 7, 7},
    {"year", kMinYear, kMaxYear, kMaxYear - kMinYear},
}};

constexpr std::array<const char*, 12> kMonthNames = {
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN",
    "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
// Quartz numbering: SUN=1 ... SAT=7.
constexpr std::array<const char*, 7> kDayNames = {"SUN", "MON", "TUE", "WED",
                                                  "THU", "FRI", "SAT"};

// Values of one field, indexed by value - spec.min (years need 130 bits).
using ValueSet = std::bitset<kMaxYear - kMinYear + 1>;

// Java's String.hashCode over the UTF-16 code units of `utf8` (what the
// trigger id is in Spinnaker), with Java's 32-bit wrap-around. Malformed
// UTF-8 counts as U+FFFD, as Java's decoder replaces it.
int32_t JavaStringHashCode(absl::string_view utf8) {
  uint32_t h = 0;
  auto add = [&h](uint32_t unit) { h = h * 31u + unit; };
  size_t i = 0;
  while (i < utf8.size()) {
    const auto b0 = static_cast<unsigned char>(utf8[i]);
    uint32_t cp = 0;
    size_t len = 0;
    if (b0 < 0x80) {
      cp = b0;
      len = 1;
    } else if ((b0 & 0xE0) == 0xC0) {
      cp = b0 & 0x1F;
      len = 2;
    } else if ((b0 & 0xF0) == 0xE0) {
      cp = b0 & 0x0F;
      len = 3;
    } else if ((b0 & 0xF8) == 0xF0) {
      cp = b0 & 0x07;
      len = 4;
    }
    bool ok = len > 0 && i + len <= utf8.size();
    for (size_t k = 1; ok && k < len; ++k) {
      const auto b = static_cast<unsigned char>(utf8[i + k]);
      if ((b & 0xC0) != 0x80) {
        ok = false;
      } else {
        cp = (cp << 6) | (b & 0x3F);
      }
    }
    if (ok) {
      // Reject overlong forms, surrogates and values past U+10FFFF.
      static constexpr uint32_t kMinForLen[] = {0, 0, 0x80, 0x800, 0x10000};
      ok = cp >= kMinForLen[len] && cp <= 0x10FFFF &&
           !(cp >= 0xD800 && cp <= 0xDFFF);
    }
    if (!ok) {
      add(0xFFFD);
      ++i;
      continue;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      add(0xD800 + (cp >> 10));
      add(0xDC00 + (cp & 0x3FF));
    } else {
      add(cp);
    }
    i += len;
  }
  return static_cast<int32_t>(h);
}

// CronExpressionFuzzer's hash: Math.abs(id.hashCode() % modulus). Note the
// moduli are 59 and 23 (not 60 and 24), so H never becomes 59 or 23.
int FuzzValue(absl::string_view trigger_id, int modulus) {
  const int32_t r = JavaStringHashCode(trigger_id) % modulus;  // Java's %.
  return r < 0 ? -r : r;
}

// The expression for messages: control characters shown as '?'.
std::string Printable(absl::string_view s) {
  std::string out(s);
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) c = '?';
  }
  return out;
}

bool IsLeapYear(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int DaysInMonth(int64_t y, int m) {
  static constexpr std::array<int, 13> kDays = {0,  31, 28, 31, 30, 31, 30,
                                                31, 31, 30, 31, 30, 31};
  return (m == 2 && IsLeapYear(y)) ? 29 : kDays[m];
}

// Quartz numbering: SUN=1 ... SAT=7.
int QuartzWeekday(int64_t y, int m, int d) {
  switch (absl::GetWeekday(absl::CivilDay(y, m, d))) {
    case absl::Weekday::sunday:
      return 1;
    case absl::Weekday::monday:
      return 2;
    case absl::Weekday::tuesday:
      return 3;
    case absl::Weekday::wednesday:
      return 4;
    case absl::Weekday::thursday:
      return 5;
    case absl::Weekday::friday:
      return 6;
    case absl::Weekday::saturday:
      return 7;
  }
  return 0;
}

// Quartz's W: the weekday nearest to `day` without leaving the month.
int NearestWeekday(int64_t y, int m, int day, int last) {
  const int wd = QuartzWeekday(y, m, day);
  if (wd == 7) return day == 1 ? 3 : day - 1;           // Saturday.
  if (wd == 1) return day == last ? day - 2 : day + 1;  // Sunday.
  return day;
}

bool AllDigits(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

struct CronExpression::Fields {
  enum class DomMode {
    kAny,             // '?'
    kSet,             // values, ranges, steps
    kLast,            // L, L-n, and with nearest_weekday LW, L-nW
    kNearestWeekday,  // nW
  };
  enum class DowMode {
    kAny,     // '?'
    kSet,     // values, ranges, steps (and "L" alone = Saturday)
    kLastOf,  // dL: the last weekday d of the month
    kNthOf,   // d#n: the nth weekday d of the month
  };

  std::string expression;
  std::string effective_expression;

  std::bitset<60> seconds;
  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<32> days_of_month;  // index = day
  std::bitset<13> months;         // index = month
  std::bitset<8> days_of_week;    // index = Quartz weekday, 1-7
  bool any_year = true;
  ValueSet years;  // index = year - kMinYear
  int last_year = kMaxYear;

  DomMode dom_mode = DomMode::kAny;
  int dom_value = 0;  // kLast: offset; kNearestWeekday: day
  bool dom_nearest_weekday = false;
  DowMode dow_mode = DowMode::kAny;
  int dow_value = 0;  // the weekday of kLastOf / kNthOf
  int dow_nth = 0;

  bool YearMatches(int64_t y) const {
    if (any_year) return true;
    return y >= kMinYear && y <= kMaxYear && years[y - kMinYear];
  }

  bool DayMatches(int64_t y, int m, int d, int last) const {
    switch (dom_mode) {
      case DomMode::kSet:
        return days_of_month[d];
      case DomMode::kLast: {
        int target = last - dom_value;
        if (target < 1) return false;
        if (dom_nearest_weekday) target = NearestWeekday(y, m, target, last);
        return d == target;
      }
      case DomMode::kNearestWeekday:
        if (dom_value > last) return false;  // no such day this month
        return d == NearestWeekday(y, m, dom_value, last);
      case DomMode::kAny:
        break;
    }
    const int wd = QuartzWeekday(y, m, d);
    switch (dow_mode) {
      case DowMode::kSet:
        return days_of_week[wd];
      case DowMode::kLastOf:
        return wd == dow_value && d + 7 > last;
      case DowMode::kNthOf:
        return wd == dow_value && (d - 1) / 7 + 1 == dow_nth;
      case DowMode::kAny:
        break;
    }
    return true;  // unreachable: Parse requires one of the two to be set
  }

  // The first time of day at or after h0:m0:s0 that matches.
  std::optional<std::array<int, 3>> NextTimeOfDay(int h0, int m0,
                                                  int s0) const {
    for (int h = h0; h < 24; ++h) {
      if (!hours[h]) continue;
      for (int mi = (h == h0 ? m0 : 0); mi < 60; ++mi) {
        if (!minutes[mi]) continue;
        for (int s = (h == h0 && mi == m0 ? s0 : 0); s < 60; ++s) {
          if (seconds[s]) return std::array<int, 3>{h, mi, s};
        }
      }
    }
    return std::nullopt;
  }

  // The first local time at or after `start` that matches every field,
  // looking no further than the end of `max_year`. Advances field by field:
  // month, then day, then time of day.
  std::optional<absl::CivilSecond> NextMatch(absl::CivilSecond start,
                                             int64_t max_year) const {
    const int64_t y0 = start.year();
    const int mo0 = start.month();
    const int d0 = start.day();
    for (int64_t y = y0; y <= max_year; ++y) {
      if (!any_year && y > last_year) return std::nullopt;
      if (!YearMatches(y)) continue;
      for (int mo = (y == y0 ? mo0 : 1); mo <= 12; ++mo) {
        if (!months[mo]) continue;
        const int last = DaysInMonth(y, mo);
        const bool first_month = y == y0 && mo == mo0;
        for (int d = (first_month ? d0 : 1); d <= last; ++d) {
          if (!DayMatches(y, mo, d, last)) continue;
          const bool first_day = first_month && d == d0;
          const auto tod =
              first_day
                  ? NextTimeOfDay(start.hour(), start.minute(), start.second())
                  : NextTimeOfDay(0, 0, 0);
          if (tod) {
            return absl::CivilSecond(y, mo, d, (*tod)[0], (*tod)[1], (*tod)[2]);
          }
        }
      }
    }
    return std::nullopt;
  }
};

class CronExpression::Parser {
 public:
  explicit Parser(absl::string_view expression)
      : expression_(Printable(expression)) {}

  absl::Status Error(absl::string_view detail) const {
    return absl::InvalidArgumentError(
        absl::StrCat("Invalid cron expression '", expression_, "': ", detail));
  }

  // A number or (month, day-of-week) a three-letter name, in range.
  absl::StatusOr<int> Value(absl::string_view token, int field) const {
    const FieldSpec& spec = kSpecs[field];
    int value = 0;
    if (AllDigits(token)) {
      if (token.size() > 9 || !absl::SimpleAtoi(token, &value)) {
        return Error(absl::StrCat(spec.name, " ", token, " is out of range ",
                                  spec.min, "-", spec.max));
      }
    } else if (field == kMonth || field == kDayOfWeek) {
      const bool month = field == kMonth;
      const size_t n = month ? kMonthNames.size() : kDayNames.size();
      for (size_t i = 0; i < n; ++i) {
        if (token == (month ? kMonthNames[i] : kDayNames[i])) {
          return static_cast<int>(i) + 1;
        }
      }
      return Error(absl::StrCat("invalid ", spec.name, " '", token,
                                "' (expected 1-", spec.max,
                                month ? " or JAN-DEC" : " or SUN-SAT", ")"));
    } else if (token.empty()) {
      return Error(absl::StrCat("missing value in ", spec.name));
    } else {
      return Error(absl::StrCat("invalid ", spec.name, " '", token,
                                "' (expected a number ", spec.min, "-",
                                spec.max, ")"));
    }
    if (value < spec.min || value > spec.max) {
      return Error(absl::StrCat(spec.name, " ", value, " is out of range ",
                                spec.min, "-", spec.max));
    }
    return value;
  }

  // A comma-separated list of *, a, a-b (wrapping past the maximum when
  // b < a, as Quartz does), each optionally with /increment.
  absl::StatusOr<ValueSet> List(absl::string_view text, int field) const {
    const FieldSpec& spec = kSpecs[field];
    ValueSet set;
    for (absl::string_view item : absl::StrSplit(text, ',')) {
      if (item.empty()) {
        return Error(absl::StrCat("empty item in the ", spec.name, " list '",
                                  text, "'"));
      }
      absl::string_view base = item;
      int step = 1;
      bool has_step = false;
      if (const size_t slash = item.find('/');
          slash != absl::string_view::npos) {
        has_step = true;
        base = item.substr(0, slash);
        const absl::string_view inc = item.substr(slash + 1);
        if (!AllDigits(inc) || inc.size() > 9 ||
            !absl::SimpleAtoi(inc, &step) || step < 1 ||
            step > spec.max_increment) {
          return Error(absl::StrCat("increment '", inc, "' in ", spec.name,
                                    " must be a number 1-",
                                    spec.max_increment));
        }
      }
      int lo = spec.min;
      int hi = spec.max;
      // Quartz reads "/n" as "*/n" (from the field's minimum).
      if (base != "*" && !base.empty()) {
        const size_t dash = base.find('-');
        if (dash == absl::string_view::npos) {
          GENNAKER_ASSIGN_OR_RETURN(lo, Value(base, field));
          hi = has_step ? spec.max : lo;
        } else {
          GENNAKER_ASSIGN_OR_RETURN(lo, Value(base.substr(0, dash), field));
          GENNAKER_ASSIGN_OR_RETURN(hi, Value(base.substr(dash + 1), field));
        }
      } else if (base.empty() && !has_step) {
        return Error(absl::StrCat("missing value in ", spec.name));
      }
      const int span = spec.max - spec.min + 1;
      const int end = hi >= lo ? hi : hi + span;
      for (int v = lo; v <= end; v += step) {
        set.set(static_cast<size_t>((v - spec.min) % span));
      }
    }
    return set;
  }

  absl::Status DayOfMonth(absl::string_view text, Fields* f) const {
    if (text.find_first_of("LW") == absl::string_view::npos) {
      GENNAKER_ASSIGN_OR_RETURN(const ValueSet set, List(text, kDayOfMonth));
      f->dom_mode = Fields::DomMode::kSet;
      for (int d = 1; d <= 31; ++d) f->days_of_month[d] = set[d - 1];
      return absl::OkStatus();
    }
    const absl::string_view kUsage =
        "'L' and 'W' in day-of-month stand alone, as L, L-3, LW, L-3W or "
        "15W";
    if (text[0] == 'L') {
      absl::string_view rest = text.substr(1);
      bool weekday = false;
      if (!rest.empty() && rest.back() == 'W') {
        weekday = true;
        rest.remove_suffix(1);
      }
      int offset = 0;
      if (!rest.empty()) {
        if (rest[0] != '-' || !AllDigits(rest.substr(1))) {
          return Error(
              absl::StrCat("invalid day-of-month '", text, "': ", kUsage));
        }
        if (rest.size() > 3 || !absl::SimpleAtoi(rest.substr(1), &offset) ||
            offset > 30) {
          return Error(absl::StrCat("offset from the last day in '", text,
                                    "' must be 0-30"));
        }
      }
      f->dom_mode = Fields::DomMode::kLast;
      f->dom_value = offset;
      f->dom_nearest_weekday = weekday;
      return absl::OkStatus();
    }
    if (text.back() == 'W' && AllDigits(text.substr(0, text.size() - 1))) {
      GENNAKER_ASSIGN_OR_RETURN(
          const int day, Value(text.substr(0, text.size() - 1), kDayOfMonth));
      f->dom_mode = Fields::DomMode::kNearestWeekday;
      f->dom_value = day;
      return absl::OkStatus();
    }
    return Error(absl::StrCat("invalid day-of-month '", text, "': ", kUsage));
  }

  absl::Status DayOfWeek(absl::string_view text, Fields* f) const {
    const size_t hash = text.find('#');
    if (hash != absl::string_view::npos) {
      if (text.find_first_of(",-/L") != absl::string_view::npos) {
        return Error(absl::StrCat("invalid day-of-week '", text,
                                  "': '#' stands alone, as in 6#3 or FRI#3"));
      }
      GENNAKER_ASSIGN_OR_RETURN(const int day,
                                Value(text.substr(0, hash), kDayOfWeek));
      const absl::string_view nth = text.substr(hash + 1);
      int n = 0;
      if (nth.size() != 1 || !absl::SimpleAtoi(nth, &n) || n < 1 || n > 5) {
        return Error(absl::StrCat("in day-of-week '", text,
                                  "' the number after '#' must be 1-5"));
      }
      f->dow_mode = Fields::DowMode::kNthOf;
      f->dow_value = day;
      f->dow_nth = n;
      return absl::OkStatus();
    }
    if (text == "L") {  // Quartz: "L" alone is the last day of the week.
      f->dow_mode = Fields::DowMode::kSet;
      f->days_of_week[7] = true;
      return absl::OkStatus();
    }
    if (text.find('L') != absl::string_view::npos) {
      if (text.back() != 'L' ||
          text.find_first_of(",-/") != absl::string_view::npos ||
          text.find('L') != text.size() - 1) {
        return Error(absl::StrCat(
            "invalid day-of-week '", text,
            "': 'L' stands alone or after one day, as in L, 6L or FRIL"));
      }
      GENNAKER_ASSIGN_OR_RETURN(
          const int day, Value(text.substr(0, text.size() - 1), kDayOfWeek));
      f->dow_mode = Fields::DowMode::kLastOf;
      f->dow_value = day;
      return absl::OkStatus();
    }
    GENNAKER_ASSIGN_OR_RETURN(const ValueSet set, List(text, kDayOfWeek));
    f->dow_mode = Fields::DowMode::kSet;
    for (int d = 1; d <= 7; ++d) f->days_of_week[d] = set[d - 1];
    return absl::OkStatus();
  }

  absl::Status Parse(const std::vector<std::string>& fields, Fields* f) const {
    for (size_t i = 0; i < fields.size(); ++i) {
      for (char c : fields[i]) {
        const auto u = static_cast<unsigned char>(c);
        if (!absl::ascii_isalnum(u) && c != '*' && c != '?' && c != ',' &&
            c != '-' && c != '/' && c != '#') {
          return Error(absl::StrCat("unexpected character '",
                                    absl::ascii_isprint(u)
                                        ? std::string(1, c)
                                        : absl::StrCat("\\x", absl::Hex(u)),
                                    "' in ", kSpecs[i].name));
        }
      }
      if (fields[i].find('?') != std::string::npos) {
        if (i != kDayOfMonth && i != kDayOfWeek) {
          return Error(absl::StrCat(
              "'?' is allowed only in day-of-month and day-of-week, not in ",
              kSpecs[i].name));
        }
        if (fields[i] != "?") {
          return Error(
              absl::StrCat("'?' in ", kSpecs[i].name, " must stand alone"));
        }
      }
    }
    // Quartz's rule, checked first: it is the most common mistake.
    const bool dom_any = fields[kDayOfMonth] == "?";
    const bool dow_any = fields[kDayOfWeek] == "?";
    if (dom_any && dow_any) {
      return Error(
          "day-of-month and day-of-week cannot both be '?': set one of them");
    }
    if (!dom_any && !dow_any) {
      return Error(
          "exactly one of day-of-month and day-of-week must be '?' (e.g. "
          "'0 0 12 ? * MON-FRI' or '0 0 12 1 * ?'); Quartz does not "
          "support both");
    }

    const std::pair<int, std::bitset<60>*> sixty[] = {{kSecond, &f->seconds},
                                                      {kMinute, &f->minutes}};
    for (const auto& [index, bits] : sixty) {
      GENNAKER_ASSIGN_OR_RETURN(const ValueSet set, List(fields[index], index));
      for (int v = 0; v < 60; ++v) (*bits)[v] = set[v];
    }
    {
      GENNAKER_ASSIGN_OR_RETURN(const ValueSet set, List(fields[kHour], kHour));
      for (int v = 0; v < 24; ++v) f->hours[v] = set[v];
    }
    if (dom_any) {
      f->dom_mode = Fields::DomMode::kAny;
    } else {
      GENNAKER_RETURN_IF_ERROR(DayOfMonth(fields[kDayOfMonth], f));
    }
    {
      GENNAKER_ASSIGN_OR_RETURN(const ValueSet set,
                                List(fields[kMonth], kMonth));
      for (int v = 1; v <= 12; ++v) f->months[v] = set[v - 1];
    }
    if (dow_any) {
      f->dow_mode = Fields::DowMode::kAny;
    } else {
      GENNAKER_RETURN_IF_ERROR(DayOfWeek(fields[kDayOfWeek], f));
    }
    f->any_year = true;
    if (fields.size() == 7 && fields[kYear] != "*") {
      GENNAKER_ASSIGN_OR_RETURN(f->years, List(fields[kYear], kYear));
      f->any_year = false;
      for (int y = kMaxYear; y >= kMinYear; --y) {
        if (f->years[y - kMinYear]) {
          f->last_year = y;
          break;
        }
      }
    }
    return absl::OkStatus();
  }

 private:
  std::string expression_;
};

absl::StatusOr<CronExpression> CronExpression::Parse(
    absl::string_view expression, absl::string_view trigger_id) {
  if (expression.size() > kMaxExpressionLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("Invalid cron expression: longer than ",
                     kMaxExpressionLength, " characters"));
  }
  const Parser parser(expression);
  std::vector<std::string> fields =
      absl::StrSplit(expression, absl::ByAnyChar(" \t\r\n"), absl::SkipEmpty());
  if (fields.empty()) return parser.Error("it is empty");
  if (fields.size() < 6 || fields.size() > 7) {
    return parser.Error(absl::StrCat(
        "expected 6 or 7 fields (second minute hour day-of-month month "
        "day-of-week [year]), got ",
        fields.size()));
  }

  auto f = std::make_unique<Fields>();
  f->expression = std::string(expression);
  // CronExpressionFuzzer: only when the expression contains 'H' (case
  // sensitive) is it rebuilt, with every H in the first three fields
  // replaced; otherwise it is scheduled exactly as written.
  if (expression.find('H') != absl::string_view::npos) {
    const std::string sixty = absl::StrCat(FuzzValue(trigger_id, 59));
    const std::string hours = absl::StrCat(FuzzValue(trigger_id, 23));
    for (int i = kSecond; i <= kHour; ++i) {
      fields[i] =
          absl::StrReplaceAll(fields[i], {{"H", i == kHour ? hours : sixty}});
    }
    f->effective_expression = absl::StrJoin(fields, " ");
  } else {
    f->effective_expression = f->expression;
  }
  // Quartz upper-cases the expression (after the fuzzer ran).
  for (std::string& field : fields) absl::AsciiStrToUpper(&field);

  if (absl::Status s = parser.Parse(fields, f.get()); !s.ok()) return s;
  return CronExpression(std::move(f));
}

CronExpression::CronExpression(std::unique_ptr<Fields> fields)
    : fields_(std::move(fields)) {}
CronExpression::CronExpression(const CronExpression& other)
    : fields_(std::make_unique<Fields>(*other.fields_)) {}
CronExpression& CronExpression::operator=(const CronExpression& other) {
  if (this != &other) fields_ = std::make_unique<Fields>(*other.fields_);
  return *this;
}
CronExpression::CronExpression(CronExpression&&) noexcept = default;
CronExpression& CronExpression::operator=(CronExpression&&) noexcept = default;
CronExpression::~CronExpression() = default;

const std::string& CronExpression::expression() const {
  return fields_->expression;
}

const std::string& CronExpression::effective_expression() const {
  return fields_->effective_expression;
}

absl::Time CronExpression::NextAfter(absl::Time after,
                                     absl::TimeZone zone) const {
  // Nothing is scheduled a million years out; this also keeps the second
  // arithmetic below from overflowing near the end of absl::Time.
  static const absl::Time kLatest =
      absl::FromCivil(absl::CivilSecond(1000000, 1, 1), absl::UTCTimeZone());
  if (after >= kLatest) return absl::InfiniteFuture();
  // Quartz has no fire times before 1970; this also keeps the civil
  // arithmetic below away from absurd years.
  const absl::Time earliest =
      absl::FromCivil(absl::CivilSecond(1969, 1, 1), absl::UTCTimeZone());
  if (after < earliest) after = earliest;
  // Fire times are whole seconds strictly after `after` (Quartz adds one
  // second and drops the milliseconds).
  const absl::Time first =
      absl::FromUnixSeconds(absl::ToUnixSeconds(after) + 1);
  absl::CivilSecond cs = absl::ToCivilSecond(first, zone);
  {
    // In the second pass of a repeated (fall-back) hour every local time
    // already had its turn in the first pass: resume after the repeat.
    const absl::TimeZone::TimeInfo ti = zone.At(cs);
    if (ti.kind == absl::TimeZone::TimeInfo::REPEATED && first >= ti.trans) {
      cs = absl::ToCivilSecond(ti.trans - absl::Seconds(1), zone) + 1;
    }
  }
  const int64_t max_year = cs.year() + kScanYears;
  for (int i = 0; i < kMaxCandidates; ++i) {
    const std::optional<absl::CivilSecond> c = fields_->NextMatch(cs, max_year);
    if (!c) return absl::InfiniteFuture();
    const absl::TimeZone::TimeInfo ti = zone.At(*c);
    if (ti.kind == absl::TimeZone::TimeInfo::SKIPPED) {
      // The clock jumped over this local time: it does not fire; resume at
      // the first local time after the jump.
      const absl::CivilSecond resume = absl::ToCivilSecond(ti.trans, zone);
      cs = resume > *c ? resume : *c + 1;
      continue;
    }
    // UNIQUE: pre == post. REPEATED: pre is the first occurrence.
    if (ti.pre > after) return ti.pre;
    cs = *c + 1;
  }
  return absl::InfiniteFuture();
}

std::vector<absl::Time> CronExpression::NextTimes(absl::Time after,
                                                  absl::TimeZone zone,
                                                  int count) const {
  std::vector<absl::Time> out;
  if (count <= 0) return out;
  if (count > kMaxNextTimes) count = kMaxNextTimes;
  out.reserve(static_cast<size_t>(count));
  absl::Time t = after;
  for (int i = 0; i < count; ++i) {
    t = NextAfter(t, zone);
    if (t == absl::InfiniteFuture()) break;
    out.push_back(t);
  }
  return out;
}

absl::StatusOr<absl::TimeZone> LoadZone(absl::string_view name) {
  const auto unknown = [&] {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown time zone '", Printable(name.substr(0, 80)), "'"));
  };
  // IANA names only: no paths outside the zoneinfo directory.
  if (name.empty() || name.size() > kMaxZoneNameLength || name[0] == '/' ||
      name.find("..") != absl::string_view::npos) {
    return unknown();
  }
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '/' &&
        c != '_' && c != '-' && c != '+') {
      return unknown();
    }
  }
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(std::string(name), &zone)) return unknown();
  return zone;
}

}  // namespace gennaker::echo
