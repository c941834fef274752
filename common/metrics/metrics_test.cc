#include "common/metrics/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace gennaker {
namespace {

using ::testing::HasSubstr;

TEST(MetricsTest, RendersCountersAndHistogramsByMethod) {
  Metrics m("orca");
  m.RecordRequest("grpc", "/x.Y/Get", "OK", 0.002);
  m.RecordRequest("grpc", "/x.Y/Get", "OK", 0.2);
  m.RecordRequest("grpc", "/x.Y/Get", "NOT_FOUND", 0.0001);
  m.SetGauge("gennaker_queue_depth", 7);
  std::string text = m.Render();
  EXPECT_THAT(
      text, HasSubstr("gennaker_requests_total{service=\"orca\",kind=\"grpc\","
                      "method=\"/x.Y/Get\",code=\"OK\"} 2"));
  EXPECT_THAT(text, HasSubstr("code=\"NOT_FOUND\"} 1"));
  EXPECT_THAT(text, HasSubstr("method=\"/x.Y/Get\",le=\"0.0025\"} 2"));
  EXPECT_THAT(text, HasSubstr("method=\"/x.Y/Get\",le=\"+Inf\"} 3"));
  EXPECT_THAT(
      text,
      HasSubstr("gennaker_request_duration_seconds_count{service=\"orca\","
                "kind=\"grpc\",method=\"/x.Y/Get\"} 3"));
  EXPECT_THAT(text, HasSubstr("gennaker_queue_depth{service=\"orca\"} 7"));
}

}  // namespace
}  // namespace gennaker
