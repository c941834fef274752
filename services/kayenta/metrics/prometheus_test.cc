#include "services/kayenta/metrics/prometheus.h"

#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/kayenta/metrics/metrics_source.h"

namespace gennaker::kayenta {
namespace {

using ::gennaker::testing::IsOk;
using ::gennaker::testing::IsOkAndHolds;
using ::gennaker::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

// The common setup of Kayenta's dry-run vectors.
Json Config() {
  return Json::parse(R"({"templates": {
      "someTemplate": "some-label=${scope}",
      "anotherTemplate": "my-server-group=${scope}"}})");
}

Json Metric(Json query) {
  Json m = Json::object();
  m["name"] = "cpu";
  query["type"] = "prometheus";
  if (!query.contains("metricName")) query["metricName"] = "some-metric-name";
  m["query"] = std::move(query);
  return m;
}

ScopeQuery Scope(const std::string& scope, const std::string& location) {
  ScopeQuery s;
  s.scope = scope;
  s.location = location;
  return s;
}

absl::StatusOr<std::string> Build(const Json& query, const ScopeQuery& scope) {
  return BuildPrometheusQuery(Config(), Metric(query), scope, "instance");
}

TEST(BuildPrometheusQueryTest, GceInstance) {
  for (const char* inline_template :
       {static_cast<const char*>(""), static_cast<const char*>(nullptr)}) {
    Json q = Json::parse(R"({"labelBindings": ["a=b"],
                             "resourceType": "gce_instance"})");
    if (inline_template != nullptr) q["customInlineTemplate"] = inline_template;
    EXPECT_THAT(
        Build(q, Scope("some-server-group", "us-central1")),
        IsOkAndHolds("avg(some-metric-name{a=b,instance=~\"some-server-"
                     "group-.{4}\",zone=~\".+/zones/us-central1-.{1}\"})"));
  }
}

TEST(BuildPrometheusQueryTest, GceInstanceWithProject) {
  Json q = Json::parse(R"({"resourceType": "gce_instance"})");
  ScopeQuery s = Scope("", "us-central1");
  s.extended_scope_params["project"] = "p1";
  EXPECT_THAT(Build(q, s),
              IsOkAndHolds("avg(some-metric-name{zone=~\".+/projects/p1/zones/"
                           "us-central1-.{1}\"})"));
}

TEST(BuildPrometheusQueryTest, AwsEc2Instance) {
  Json q = Json::parse(R"({"labelBindings": ["a=b"],
                           "resourceType": "aws_ec2_instance"})");
  EXPECT_THAT(Build(q, Scope("some-server-group", "us-central1")),
              IsOkAndHolds("avg(some-metric-name{a=b,asg_groupName=\"some-"
                           "server-group\",zone=~\"us-central1.{1}\"})"));
}

TEST(BuildPrometheusQueryTest, NamedTemplateGoesBeforeBindings) {
  Json q = Json::parse(R"({"labelBindings": ["a=b"],
                           "customFilterTemplate": "someTemplate",
                           "resourceType": "gce_instance"})");
  EXPECT_THAT(Build(q, Scope("some-app-canary", "us-central1")),
              IsOkAndHolds("avg(some-metric-name{some-label=some-app-canary,"
                           "a=b})"));
}

TEST(BuildPrometheusQueryTest, InlineTemplateWinsOverNamedAndResourceType) {
  for (const char* type :
       {"gce_instance", "aws_ec2_instance", "anything_else"}) {
    Json q = Json::parse(R"({"labelBindings": ["a=b"],
        "customFilterTemplate": "someTemplate",
        "customInlineTemplate": "customFilter=something,andSomething=else"})");
    q["resourceType"] = type;
    EXPECT_THAT(Build(q, Scope("", "us-central1")),
                IsOkAndHolds("avg(some-metric-name{customFilter=something,"
                             "andSomething=else,a=b})"))
        << type;
  }
}

TEST(BuildPrometheusQueryTest, TemplateWithoutResourceType) {
  for (const char* scope : {"some-baseline", "some-canary"}) {
    for (bool empty_type : {false, true}) {
      Json q = Json::parse(R"({"labelBindings": ["a=b"],
                               "customFilterTemplate": "anotherTemplate"})");
      if (empty_type) q["resourceType"] = "";
      EXPECT_THAT(
          Build(q, Scope(scope, "us-central1")),
          IsOkAndHolds(absl::StrCat(
              "avg(some-metric-name{my-server-group=", scope, ",a=b})")));
    }
  }
}

TEST(BuildPrometheusQueryTest, PromQlVerbatim) {
  Json q = Json::object();
  q["customInlineTemplate"] =
      "PromQL:histogram_quantile(0.5, prometheus_http_response_size_bytes_"
      "bucket{instance=\"localhost:9090\",handler=\"/graph\"})";
  EXPECT_THAT(Build(q, Scope("", "")),
              IsOkAndHolds("histogram_quantile(0.5, prometheus_http_response_"
                           "size_bytes_bucket{instance=\"localhost:9090\","
                           "handler=\"/graph\"})"));
}

TEST(BuildPrometheusQueryTest, PromQlWithScopeAndExtendedParams) {
  Json q = Json::object();
  q["metricName"] = "";
  q["customInlineTemplate"] =
      "PromQL:histogram_quantile(${quantile}, prometheus_http_response_size_"
      "bytes_bucket{instance=\"localhost:9090\",handler=\"${scope}\"})";
  ScopeQuery s = Scope("/graph", "");
  s.extended_scope_params["quantile"] = "0.99";
  EXPECT_THAT(Build(q, s),
              IsOkAndHolds("histogram_quantile(0.99, prometheus_http_response_"
                           "size_bytes_bucket{instance=\"localhost:9090\","
                           "handler=\"/graph\"})"));
}

TEST(BuildPrometheusQueryTest, ExtendedParamsOverrideScope) {
  Json q = Json::object();
  q["customInlineTemplate"] =
      "PromQL:up{sg=\"${scope}\",r=\"${resourceType}\"}";
  q["resourceType"] = "from_query";
  ScopeQuery s = Scope("a", "");
  s.extended_scope_params["resourceType"] = "from_scope";
  EXPECT_THAT(Build(q, s), IsOkAndHolds("up{sg=\"a\",r=\"from_scope\"}"));
  s.extended_scope_params["scope"] = "b";
  EXPECT_THAT(Build(q, s), IsOkAndHolds("up{sg=\"b\",r=\"from_scope\"}"));
}

TEST(BuildPrometheusQueryTest, EscapesAndDefaults) {
  Json q = Json::object();
  q["customInlineTemplate"] =
      "PromQL:up{a=\"$${x}\",b=\"${missing:-d}\",c=\"$\\{scope}\"}";
  EXPECT_THAT(Build(q, Scope("s", "")),
              IsOkAndHolds("up{a=\"${x}\",b=\"d\",c=\"s\"}"));
}

TEST(BuildPrometheusQueryTest, GennakerLabelsByDefault) {
  Json q = Json::parse(R"({"metricName": "gennaker_requests_total",
                           "labelBindings": ["code=\"500\""],
                           "groupByFields": ["code", "instance"]})");
  EXPECT_THAT(
      BuildPrometheusQuery(Config(), Metric(q), Scope("app-v001", "local")),
      IsOkAndHolds("avg(gennaker_requests_total{code=\"500\",server_group="
                   "\"app-v001\",location=\"local\"}) by (code,instance)"));
  EXPECT_THAT(BuildPrometheusQuery(Config(), Metric(q), Scope("we\"ird", ""),
                                   "sg", "region"),
              IsOkAndHolds("avg(gennaker_requests_total{code=\"500\",sg="
                           "\"we\\\"ird\"}) by (code,instance)"));
}

TEST(BuildPrometheusQueryTest, Errors) {
  EXPECT_THAT(Build(Json::parse(R"({"customFilterTemplate": "nope"})"),
                    Scope("s", "l")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nope")));
  EXPECT_THAT(
      Build(Json::parse(R"({"customInlineTemplate": "a=${undefinedVar}"})"),
            Scope("s", "l")),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("undefinedVar")));
  EXPECT_THAT(
      Build(Json::parse(R"({"customFilter": "a=b"})"), Scope("s", "l")),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("customFilter")));
  EXPECT_THAT(
      Build(Json::parse(R"({"resourceType": "k8s_pod"})"), Scope("s", "l")),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("no explicit support")));
  EXPECT_THAT(
      Build(Json::parse(R"({"resourceType": "gce_instance"})"), Scope("s", "")),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("location is required")));
  EXPECT_THAT(
      Build(Json::parse(R"({"metricName": ""})"), Scope("s", "l")),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("metricName")));
  EXPECT_THAT(Build(Json::object(), Scope("", "")),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

ScopeQuery Window() {
  ScopeQuery s = Scope("sg", "local");
  s.start_ms = 1599657179540;
  s.end_ms = 1599657239540;
  s.step_seconds = 1;
  return s;
}

TEST(PrometheusResponseTest, MapsSeriesAndFillsGapsWithNaN) {
  const Json body = Json::parse(R"({"status": "success", "data": {
      "resultType": "matrix", "result": [
        {"metric": {"__name__": "m", "uri": "/uri-1", "method": "GET"},
         "values": [[1599657179.54, "43"], [1599657180.54, "41"],
                    [1599657182.54, "+Inf"], [1599657183.54, "NaN"],
                    [1599657184.54, "-Inf"]]},
        {"metric": {}, "values": [[1599657200, "1.5"]]}]}})");
  auto sets = PrometheusResponseToMetricSets(body, "cpu", "avg(m)", Window());
  ASSERT_THAT(sets, IsOk());
  ASSERT_EQ(sets->size(), 2u);
  const Json& a = (*sets)[0];
  EXPECT_EQ(a["name"], "cpu");
  EXPECT_EQ(a["tags"], Json::parse(R"({"method": "GET", "uri": "/uri-1"})"));
  EXPECT_EQ(a["startTimeMillis"], 1599657179540);
  EXPECT_EQ(a["startTimeIso"], "2020-09-09T13:12:59.540Z");
  EXPECT_EQ(a["stepMillis"], 1000);
  EXPECT_EQ(a["endTimeMillis"], 1599657179540 + 6 * 1000);
  EXPECT_EQ(a["attributes"]["query"], "avg(m)");
  ASSERT_EQ(a["values"].size(), 6u);
  EXPECT_EQ(a["values"][0].get<double>(), 43);
  EXPECT_EQ(a["values"][1].get<double>(), 41);
  EXPECT_TRUE(std::isnan(a["values"][2].get<double>()));  // the gap
  EXPECT_EQ(a["values"][3].get<double>(),
            std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(a["values"][4].get<double>()));
  EXPECT_EQ(a["values"][5].get<double>(),
            -std::numeric_limits<double>::infinity());
  const Json& b = (*sets)[1];
  EXPECT_EQ(b["tags"], Json::object());
  EXPECT_EQ(b["startTimeIso"], "2020-09-09T13:13:20Z");
  EXPECT_EQ(b["values"], Json::parse("[1.5]"));
}

TEST(PrometheusResponseTest, NoSeriesGivesPlaceholder) {
  for (
      const char* text :
      {R"({"status": "success", "data": {"resultType": "matrix", "result": []}})",
       R"({"status": "success", "data": {"resultType": "matrix"}})"}) {
    auto sets =
        PrometheusResponseToMetricSets(Json::parse(text), "cpu", "q", Window());
    ASSERT_THAT(sets, IsOk());
    ASSERT_EQ(sets->size(), 1u);
    const Json& p = (*sets)[0];
    EXPECT_EQ(p["tags"], Json::object());
    EXPECT_EQ(p["values"], Json::array());
    EXPECT_EQ(p["startTimeMillis"], Window().start_ms);
    EXPECT_EQ(p["endTimeMillis"], Window().end_ms);
    EXPECT_EQ(p["stepMillis"], 1000);
  }
}

TEST(PrometheusResponseTest, RefusesPointsOutsideTheWindow) {
  EXPECT_THAT(PrometheusResponseToMetricSets(
                  Json::parse(R"({"status": "success", "data": {
                      "resultType": "matrix", "result": [
                        {"metric": {}, "values": [[1599657179.54, "1"],
                                                  [9999999999, "2"]]}]}})"),
                  "cpu", "q", Window()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("outside the query window")));
}

TEST(PrometheusResponseTest, RefusesOtherAnswers) {
  EXPECT_THAT(PrometheusResponseToMetricSets(
                  Json::parse(R"({"status": "error", "error": "boom"})"), "cpu",
                  "q", Window()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("boom")));
  EXPECT_THAT(
      PrometheusResponseToMetricSets(
          Json::parse(R"({"status": "success", "data": {
                      "resultType": "vector", "result": []}})"),
          "cpu", "q", Window()),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("vector")));
  EXPECT_THAT(PrometheusResponseToMetricSets(
                  Json::parse(R"({"status": "success", "data": {
                      "resultType": "matrix", "result": [
                        {"metric": {}, "values": [[1, "x"]]}]}})"),
                  "cpu", "q", Window()),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

Json Set(Json tags, std::vector<double> values, int64_t start, int64_t end,
         int64_t step) {
  Json s = Json::object();
  s["name"] = "cpu";
  s["tags"] = std::move(tags);
  s["values"] = values;
  s["startTimeMillis"] = start;
  s["startTimeIso"] = "x";
  s["endTimeMillis"] = end;
  s["stepMillis"] = step;
  s["attributes"] = Json::parse(R"({"query": "q"})");
  return s;
}

Json CpuMetric() { return Json::parse(R"({"name": "cpu"})"); }

size_t NaNs(const Json& values) {
  size_t n = 0;
  for (const Json& v : values) n += std::isnan(v.get<double>()) ? 1 : 0;
  return n;
}

TEST(MixMetricSetsTest, PairsByTags) {
  Json control = Json::array({Set({{"code", "200"}}, {1, 2}, 0, 2000, 1000),
                              Set({{"code", "500"}}, {3}, 0, 1000, 1000)});
  Json experiment = Json::array({Set({{"code", "200"}}, {5, 6}, 10, 2010, 1000),
                                 Set({{"code", "404"}}, {7}, 10, 1010, 1000)});
  auto pairs = MixMetricSets(CpuMetric(), control, experiment);
  ASSERT_THAT(pairs, IsOk());
  ASSERT_EQ(pairs->size(), 3u);
  // Sorted by tags: 200, 404, 500.
  const Json& ok = (*pairs)[0];
  EXPECT_EQ(ok["name"], "cpu");
  EXPECT_FALSE(ok["id"].get<std::string>().empty());
  EXPECT_EQ(ok["tags"], Json::parse(R"({"code": "200"})"));
  EXPECT_EQ(ok["values"]["control"], Json::parse("[1, 2]"));
  EXPECT_EQ(ok["values"]["experiment"], Json::parse("[5, 6]"));
  EXPECT_EQ(ok["scopes"]["experiment"]["startTimeMillis"], 10);
  EXPECT_EQ(ok["scopes"]["control"]["stepMillis"], 1000);
  EXPECT_EQ(ok["attributes"]["control"]["query"], "q");
  // 404 only in the experiment: the control side is a NaN template.
  EXPECT_EQ((*pairs)[1]["values"]["experiment"], Json::parse("[7]"));
  EXPECT_EQ((*pairs)[1]["values"]["control"].size(), 2u);
  EXPECT_EQ(NaNs((*pairs)[1]["values"]["control"]), 2u);
  // 500 only in the control.
  EXPECT_EQ((*pairs)[2]["values"]["control"], Json::parse("[3]"));
  EXPECT_EQ(NaNs((*pairs)[2]["values"]["experiment"]), 2u);
}

TEST(MixMetricSetsTest, PlaceholderBecomesNaNsPerTagSet) {
  Json control = Json::array({Set(Json::object(), {}, 0, 5000, 1000)});
  Json experiment =
      Json::array({Set({{"code", "200"}}, {1, 2, 3}, 0, 3000, 1000),
                   Set({{"code", "500"}}, {4}, 0, 1000, 1000)});
  auto pairs = MixMetricSets(CpuMetric(), control, experiment);
  ASSERT_THAT(pairs, IsOk());
  ASSERT_EQ(pairs->size(), 2u);
  for (const Json& p : *pairs) {
    EXPECT_EQ(p["values"]["control"].size(), 5u);
    EXPECT_EQ(NaNs(p["values"]["control"]), 5u);
    EXPECT_FALSE(p["tags"].empty());
  }
}

TEST(MixMetricSetsTest, BothPlaceholdersArePaddedNaNs) {
  Json control = Json::array({Set(Json::object(), {}, 0, 4000, 1000)});
  Json experiment = Json::array({Set(Json::object(), {}, 0, 3000, 1000)});
  auto pairs = MixMetricSets(CpuMetric(), control, experiment);
  ASSERT_THAT(pairs, IsOk());
  ASSERT_EQ(pairs->size(), 1u);
  EXPECT_EQ(NaNs((*pairs)[0]["values"]["control"]), 4u);
  EXPECT_EQ(NaNs((*pairs)[0]["values"]["experiment"]), 3u);
}

TEST(MixMetricSetsTest, NullValuesReadAsNaNAndShortSidesPadded) {
  Json c = Set(Json::object(), {1}, 0, 3000, 1000);
  c["values"] = Json::parse("[1, null]");
  auto pairs = MixMetricSets(
      CpuMetric(), Json::array({c}),
      Json::array({Set(Json::object(), {2, 3, 4}, 0, 3000, 1000)}));
  ASSERT_THAT(pairs, IsOk());
  const Json& v = (*pairs)[0]["values"]["control"];
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].get<double>(), 1);
  EXPECT_EQ(NaNs(v), 2u);
}

TEST(MixMetricSetsTest, DifferentTagKeysAreRefused) {
  EXPECT_THAT(
      MixMetricSets(CpuMetric(), Json::array({Set({{"a", "1"}}, {1}, 0, 1, 1)}),
                    Json::array({Set({{"b", "1"}}, {1}, 0, 1, 1)})),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tag keys")));
  EXPECT_THAT(MixMetricSets(CpuMetric(), Json::object(), Json::array()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      MixMetricSets(
          CpuMetric(),
          Json::array({Set(Json::object(), {}, 0, int64_t{1} << 40, 1)}),
          Json::array()),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("steps")));
}

TEST(MixMetricSetsTest, TimingOutsideTheYearRangeIsRefused) {
  // end - start would overflow int64.
  EXPECT_THAT(
      MixMetricSets(CpuMetric(),
                    Json::array({Set(Json::object(), {},
                                     std::numeric_limits<int64_t>::min(),
                                     std::numeric_limits<int64_t>::max(), 1)}),
                    Json::array()),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("outside years 0001..9999")));
}

TEST(MixMetricSetsTest, TotalPointsOfAMetricAreCapped) {
  // Each set is under the per-set cap; together they exceed the metric's.
  Json control = Json::array();
  Json experiment = Json::array();
  for (int i = 0; i < 6; ++i) {
    const Json tags = {{"code", absl::StrCat(i)}};
    control.push_back(Set(tags, {}, 0, 500'000, 1));
    experiment.push_back(Set(tags, {}, 0, 500'000, 1));
  }
  EXPECT_THAT(MixMetricSets(CpuMetric(), control, experiment),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("cpu"), HasSubstr("5000000"))));
}

TEST(PrometheusResponseTest, RefusesWindowsThatWouldOverflow) {
  const Json body = Json::parse(R"({"status": "success", "data": {
      "resultType": "matrix", "result": []}})");
  ScopeQuery big_step = Window();
  big_step.step_seconds = int64_t{1} << 62;  // * 1000 overflows
  EXPECT_THAT(PrometheusResponseToMetricSets(body, "cpu", "q", big_step),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("step")));
  ScopeQuery far = Window();
  far.start_ms = std::numeric_limits<int64_t>::min();
  EXPECT_THAT(
      PrometheusResponseToMetricSets(body, "cpu", "q", far),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("0001..9999")));
  ScopeQuery backwards = Window();
  std::swap(backwards.start_ms, backwards.end_ms);
  EXPECT_THAT(PrometheusResponseToMetricSets(body, "cpu", "q", backwards),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // A timestamp whose milliseconds do not fit int64.
  EXPECT_THAT(
      PrometheusResponseToMetricSets(
          Json::parse(R"({"status": "success", "data": {
                      "resultType": "matrix", "result": [
                        {"metric": {}, "values": [[1e300, "1"]]}]}})"),
          "cpu", "q", Window()),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("timestamp")));
}

TEST(NewPrometheusSourceTest, ChecksTheAccount) {
  v1::PrometheusAccount account;
  account.set_name("p");
  account.set_base_url("ftp://x");
  EXPECT_THAT(
      NewPrometheusSource(account, http::DefaultOutboundPolicy(), 1),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("base_url")));
  account.set_base_url("http://prometheus:9090/");
  auto source = NewPrometheusSource(account, http::DefaultOutboundPolicy(), 1);
  ASSERT_THAT(source, IsOk());
  EXPECT_EQ((*source)->Name(), "p");
  EXPECT_EQ((*source)->Type(), "prometheus");
}

}  // namespace
}  // namespace gennaker::kayenta
