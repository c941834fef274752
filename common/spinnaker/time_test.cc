#include "common/spinnaker/time.h"

#include <limits>

#include "gtest/gtest.h"

namespace gennaker::spinnaker {
namespace {

TEST(TimeTest, FormatsInstantsAsJavaDoes) {
  EXPECT_EQ(FormatIsoInstant(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatIsoInstant(1545080199689), "2018-12-17T20:56:39.689Z");
  EXPECT_EQ(FormatIsoInstant(1500), "1970-01-01T00:00:01.500Z");
  EXPECT_EQ(FormatIsoInstant(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatIsoInstant(kMaxSaneEpochMs), "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatIsoInstant(kMinSaneEpochMs), "0001-01-01T00:00:00Z");
}

TEST(TimeTest, ParsesInstantsWithOffsetsAndFractions) {
  EXPECT_EQ(*ParseIsoInstant("1970-01-01T00:01:00Z"), 60000);
  EXPECT_EQ(*ParseIsoInstant("1970-01-01T01:00:00+01:00"), 0);
  EXPECT_EQ(*ParseIsoInstant("2018-12-17T20:56:39.689Z"), 1545080199689);
  EXPECT_EQ(*ParseIsoInstant("2018-12-17T20:56:39.689999Z"), 1545080199689);
  EXPECT_EQ(*ParseIsoInstant("0001-01-01T00:00:00Z"), kMinSaneEpochMs);
  EXPECT_EQ(*ParseIsoInstant("9999-12-31T23:59:59.999Z"), kMaxSaneEpochMs);
  EXPECT_EQ(ParseIsoInstant("yesterday").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(ParseIsoInstant("").ok());
  EXPECT_FALSE(ParseIsoInstant("0000-12-31T00:00:00Z").ok());
  EXPECT_FALSE(ParseIsoInstant("9999-12-31T23:59:59-01:00").ok());
  EXPECT_FALSE(ParseIsoInstant("99999-01-01T00:00:00Z").ok());
  EXPECT_FALSE(ParseIsoInstant("-2000-01-01T00:00:00Z").ok());
  EXPECT_FALSE(ParseIsoInstant("2020-01-01T00:00:00").ok());
}

TEST(TimeTest, ParsesDurations) {
  EXPECT_EQ(*ParseIsoDurationMs("PT1H30M"), 90 * 60000);
  EXPECT_EQ(*ParseIsoDurationMs("P1D"), 86400000);
  EXPECT_EQ(*ParseIsoDurationMs("PT0.5S"), 500);
  EXPECT_EQ(*ParseIsoDurationMs("pt2m"), 120000);
  EXPECT_EQ(*ParseIsoDurationMs("P1DT1S"), 86401000);
  for (const char* bad : {"", "P", "PT", "1H", "-PT1H", "PT-1H", "PT1H1H",
                          "PT1M1H", "P1H", "PT1.5H", "PT99999999999999999999H",
                          "P999999999999D", "PT1.S", "PT1X"}) {
    EXPECT_EQ(ParseIsoDurationMs(bad).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(TimeTest, FormatsDurations) {
  EXPECT_EQ(FormatIsoDuration(3600000), "PT1H");
  EXPECT_EQ(FormatIsoDuration(5400000), "PT1H30M");
  EXPECT_EQ(FormatIsoDuration(0), "PT0S");
  EXPECT_EQ(FormatIsoDuration(90500), "PT1M30.5S");
  EXPECT_EQ(FormatIsoDuration(-5400000), "PT-1H-30M");
  // No undefined behaviour at the extremes.
  EXPECT_FALSE(FormatIsoDuration(std::numeric_limits<int64_t>::min()).empty());
  EXPECT_EQ(*ParseIsoDurationMs(FormatIsoDuration(86400000 * 3 + 1)),
            86400000 * 3 + 1);
}

TEST(TimeTest, SaneRange) {
  EXPECT_TRUE(SaneEpochMs(0));
  EXPECT_FALSE(SaneEpochMs(std::numeric_limits<int64_t>::min()));
  EXPECT_FALSE(SaneEpochMs(kMaxSaneEpochMs + 1));
}

}  // namespace
}  // namespace gennaker::spinnaker
