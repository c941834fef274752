// The Prometheus source against a real Prometheus: clouddriver's local
// provider runs a baseline and a canary server group of gennaker-demo and
// publishes them as file_sd targets; Prometheus scrapes them every second;
// the source reads the canary's and the baseline's series by scope, mixes
// them, and lists metric names. Then the failures: a Prometheus that is
// down, one that answers garbage or 5xx (a tiny local HTTP server), a
// refused query, and a URL the outbound policy refuses.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/http/http_client.h"
#include "common/http/http_server.h"
#include "common/process/process.h"
#include "common/testing/prometheus.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_stores.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/clouddriver/local/local_provider.h"
#include "services/kayenta/metrics/prometheus.h"

namespace gennaker::kayenta {
namespace {

using ::gennaker::testing::IsOk;
using ::gennaker::testing::StatusIs;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

http::OutboundPolicy Trusting(const std::string& base_url) {
  http::OutboundPolicy policy = http::DefaultOutboundPolicy();
  policy.allowed_url_prefixes = {base_url + "/"};
  policy.timeout_ms = 5000;
  return policy;
}

v1::PrometheusAccount Account(const std::string& base_url) {
  v1::PrometheusAccount a;
  a.set_name("prom-it");
  a.set_base_url(base_url);
  return a;
}

Json Metric(const std::string& name, Json query) {
  query["type"] = "prometheus";
  return Json{{"name", name}, {"query", std::move(query)}};
}

class KayentaPrometheusTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto prom = testing::TestPrometheus::Start();
    ASSERT_THAT(prom, IsOk());
    prometheus_ = prom->release();
    state_dir_ = new std::string(testing::MakeTempDir("kayenta-prom-local"));
    provider_ = new clouddriver::local::LocalProvider("local", *state_dir_);
    ASSERT_THAT(
        provider_->PublishPrometheusTargets(prometheus_->file_sd_path()),
        IsOk());
    auto deploy = [](const std::string& stack, std::vector<std::string> flags) {
      std::vector<std::string> command = {testing::BinDir() + "/gennaker-demo",
                                          "--port", "{{port}}"};
      command.insert(command.end(), flags.begin(), flags.end());
      Json d = {{"application", "kayentait"},
                {"stack", stack},
                {"capacity", {{"min", 2}, {"max", 2}, {"desired", 2}}},
                {"command", command},
                {"healthCheck",
                 {{"path", "/health"},
                  {"intervalMs", 100},
                  {"healthyThreshold", 1}}}};
      return provider_->CreateServerGroup(d);
    };
    auto baseline = deploy("baseline", {"--version", "v1"});
    ASSERT_THAT(baseline, IsOk());
    auto canary = deploy("canary", {"--version", "v2", "--fail-rate", "0.2",
                                    "--latency-ms", "5"});
    ASSERT_THAT(canary, IsOk());
    baseline_ = new std::string(*baseline);
    canary_ = new std::string(*canary);
    start_ms_ = NowMs();

    // Traffic to every instance for a few scrapes.
    std::vector<int> ports;
    for (const std::string* sg : {baseline_, canary_}) {
      for (int i = 0; i < 200; ++i) {
        auto j = provider_->ServerGroup(*sg);
        ASSERT_THAT(j, IsOk());
        if ((*j)["instanceCounts"]["up"] == 2) {
          for (const auto& in : (*j)["instances"]) {
            ports.push_back(in["port"].get<int>());
          }
          break;
        }
        absl::SleepFor(absl::Milliseconds(50));
      }
    }
    ASSERT_EQ(ports.size(), 4u);
    // Traffic to every instance until each scope has a few scrapes of it
    // (Prometheus applies new file_sd targets a few seconds late).
    std::atomic<bool> stop{false};
    std::thread traffic([&ports, &stop] {
      while (!stop) {
        for (int port : ports) {
          http::ClientRequest r;
          r.url = absl::StrCat("http://127.0.0.1:", port, "/");
          (void)http::Fetch(r);
        }
      }
    });
    absl::Status ready = prometheus_->WaitForSeries(
        absl::StrCat("gennaker_requests_total{server_group=\"", *canary_,
                     "\",code=\"500\"}"),
        absl::Seconds(30));
    if (ready.ok()) {
      ready = prometheus_->WaitForSeries(
          absl::StrCat("gennaker_requests_total{server_group=\"", *baseline_,
                       "\"}"),
          absl::Seconds(30));
    }
    if (ready.ok()) absl::SleepFor(absl::Seconds(5));
    stop = true;
    traffic.join();
    ASSERT_THAT(ready, IsOk());
    end_ms_ = NowMs() + 1000;
  }

  static void TearDownTestSuite() {
    delete provider_;
    delete prometheus_;
    if (state_dir_ != nullptr) testing::RemoveTree(*state_dir_);
    delete state_dir_;
    delete baseline_;
    delete canary_;
  }

  void SetUp() override {
    ASSERT_NE(canary_, nullptr) << "the suite's setup failed";
  }

  static ScopeQuery Scope(const std::string& server_group) {
    ScopeQuery s;
    s.scope = server_group;
    s.location = clouddriver::local::kRegion;
    s.start_ms = start_ms_ - 10000;
    s.end_ms = end_ms_;
    s.step_seconds = 1;
    return s;
  }

  static std::unique_ptr<MetricsSource> Source(int attempts = 2) {
    auto source =
        NewPrometheusSource(Account(prometheus_->BaseUrl()),
                            Trusting(prometheus_->BaseUrl()), attempts);
    EXPECT_THAT(source, IsOk());
    return source.ok() ? std::move(*source) : nullptr;
  }

  static testing::TestPrometheus* prometheus_;
  static clouddriver::local::LocalProvider* provider_;
  static std::string* state_dir_;
  static std::string* baseline_;
  static std::string* canary_;
  static int64_t start_ms_;
  static int64_t end_ms_;
};

testing::TestPrometheus* KayentaPrometheusTest::prometheus_ = nullptr;
clouddriver::local::LocalProvider* KayentaPrometheusTest::provider_ = nullptr;
std::string* KayentaPrometheusTest::state_dir_ = nullptr;
std::string* KayentaPrometheusTest::baseline_ = nullptr;
std::string* KayentaPrometheusTest::canary_ = nullptr;
int64_t KayentaPrometheusTest::start_ms_ = 0;
int64_t KayentaPrometheusTest::end_ms_ = 0;

size_t Numbers(const Json& values) {
  size_t n = 0;
  for (const Json& v : values) {
    n += v.is_number() && !std::isnan(v.get<double>()) ? 1 : 0;
  }
  return n;
}

TEST_F(KayentaPrometheusTest, DefaultLabelsSelectTheScope) {
  auto source = Source();
  ASSERT_NE(source, nullptr);
  const Json metric =
      Metric("requests", {{"metricName", "gennaker_requests_total"},
                          {"labelBindings", {"code=\"200\""}},
                          {"groupByFields", {"instance"}}});
  for (const std::string* sg : {baseline_, canary_}) {
    auto sets = source->Query(Json::object(), metric, Scope(*sg));
    ASSERT_THAT(sets, IsOk());
    ASSERT_EQ(sets->size(), 2u) << sets->dump();
    for (const Json& set : *sets) {
      EXPECT_EQ(set["name"], "requests");
      const std::string instance = set["tags"]["instance"].get<std::string>();
      EXPECT_THAT(instance, HasSubstr(*sg));
      EXPECT_GT(Numbers(set["values"]), 1u) << set.dump();
      EXPECT_EQ(set["stepMillis"], 1000);
      EXPECT_GE(set["startTimeMillis"].get<int64_t>(), Scope(*sg).start_ms);
      EXPECT_EQ(set["attributes"]["query"],
                absl::StrCat("avg(gennaker_requests_total{code=\"200\","
                             "server_group=\"",
                             *sg, "\",location=\"localhost\"}) by (instance)"));
    }
  }
}

TEST_F(KayentaPrometheusTest, PromQlModeAndMixing) {
  auto source = Source();
  ASSERT_NE(source, nullptr);
  const Json config = {
      {"templates",
       {{"errors",
         "PromQL:sum(increase(gennaker_requests_total{server_group="
         "\"${scope}\",code=\"500\"}[${window}]))"}}}};
  const Json metric = Metric("errors", {{"customFilterTemplate", "errors"}});
  ScopeQuery canary = Scope(*canary_);
  canary.extended_scope_params["window"] = "3s";
  ScopeQuery baseline = Scope(*baseline_);
  baseline.extended_scope_params["window"] = "3s";

  auto experiment = source->Query(config, metric, canary);
  ASSERT_THAT(experiment, IsOk());
  ASSERT_EQ(experiment->size(), 1u);
  EXPECT_EQ((*experiment)[0]["tags"], Json::object());
  EXPECT_GT(Numbers((*experiment)[0]["values"]), 0u) << (*experiment)[0].dump();
  // The baseline never fails: no series, so the no-data placeholder.
  auto control = source->Query(config, metric, baseline);
  ASSERT_THAT(control, IsOk());
  ASSERT_EQ(control->size(), 1u);
  EXPECT_EQ((*control)[0]["values"], Json::array());
  EXPECT_EQ((*control)[0]["startTimeMillis"], baseline.start_ms);

  auto pairs = MixMetricSets(metric, *control, *experiment);
  ASSERT_THAT(pairs, IsOk());
  ASSERT_EQ(pairs->size(), 1u);
  const Json& pair = (*pairs)[0];
  EXPECT_EQ(pair["name"], "errors");
  // The placeholder became NaNs over the whole window.
  EXPECT_EQ(pair["values"]["control"].size(),
            static_cast<size_t>((baseline.end_ms - baseline.start_ms) / 1000));
  EXPECT_EQ(Numbers(pair["values"]["control"]), 0u);
  EXPECT_EQ(pair["values"]["experiment"], (*experiment)[0]["values"]);
}

TEST_F(KayentaPrometheusTest, RefusedQueryNamesAccountAndMetric) {
  auto source = Source();
  ASSERT_NE(source, nullptr);
  const Json metric =
      Metric("broken", {{"customInlineTemplate", "PromQL:sum(rate("}});
  EXPECT_THAT(source->Query(Json::object(), metric, Scope(*canary_)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("prom-it"), HasSubstr("broken"),
                             HasSubstr("bad_data"))));
  const Json undefined = Metric(
      "undefined", {{"customInlineTemplate", "PromQL:up{a=\"${nope}\"}"}});
  EXPECT_THAT(source->Query(Json::object(), undefined, Scope(*canary_)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("prom-it"), HasSubstr("undefined"),
                             HasSubstr("nope"))));
}

TEST_F(KayentaPrometheusTest, MetricNames) {
  auto source = Source();
  ASSERT_NE(source, nullptr);
  auto all = source->MetricNames("");
  ASSERT_THAT(all, IsOk());
  EXPECT_THAT(*all, Contains("gennaker_requests_total"));
  EXPECT_TRUE(std::is_sorted(all->begin(), all->end()));
  auto some = source->MetricNames("REQUEST_DURATION");
  ASSERT_THAT(some, IsOk());
  EXPECT_THAT(*some, Contains("gennaker_request_duration_seconds_bucket"));
  for (const std::string& n : *some) {
    EXPECT_THAT(n, HasSubstr("request_duration"));
  }
}

TEST_F(KayentaPrometheusTest, PolicyRefusesLoopbackByDefault) {
  auto source = NewPrometheusSource(Account(prometheus_->BaseUrl()),
                                    http::DefaultOutboundPolicy(), 1);
  ASSERT_THAT(source, IsOk());
  EXPECT_THAT(
      (*source)->Query(Json::object(), Metric("m", {{"metricName", "up"}}),
                       Scope(*canary_)),
      StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("prom-it")));
}

TEST(KayentaPrometheusDownTest, DownIsUnavailable) {
  auto port = process::FreePort();
  ASSERT_THAT(port, IsOk());
  const std::string url = absl::StrCat("http://127.0.0.1:", *port);
  auto source = NewPrometheusSource(Account(url), Trusting(url), 3);
  ASSERT_THAT(source, IsOk());
  ScopeQuery s;
  s.scope = "x-v000";
  s.start_ms = NowMs() - 60000;
  s.end_ms = NowMs();
  EXPECT_THAT((*source)->Query(Json::object(),
                               Metric("cpu", {{"metricName", "up"}}), s),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr("prom-it"), HasSubstr("cpu"))));
  EXPECT_THAT((*source)->MetricNames(""),
              StatusIs(absl::StatusCode::kUnavailable));
}

// A server that answers what the test says and records what it got.
class FakeServer {
 public:
  FakeServer(int status, std::string body) {
    http::Router router;
    auto handler = [this, status, body](const http::Request& r) {
      hits_++;
      {
        std::lock_guard<std::mutex> lock(mu_);
        authorization_ = r.Header("authorization");
        query_ = r.Query("query");
        step_ = r.Query("step");
      }
      http::Response resp;
      resp.status = status;
      resp.content_type = "text/plain";
      resp.body = body;
      return resp;
    };
    router.Add("GET", "/api/v1/query_range", handler);
    router.Add("GET", "/api/v1/label/__name__/values", handler);
    auto server = http::Server::Start({}, std::move(router));
    EXPECT_THAT(server, IsOk());
    if (server.ok()) server_ = std::move(*server);
  }
  std::string Url() const {
    return absl::StrCat("http://127.0.0.1:", server_->port());
  }
  int hits() const { return hits_; }
  std::string authorization() {
    std::lock_guard<std::mutex> lock(mu_);
    return authorization_;
  }
  std::string query() {
    std::lock_guard<std::mutex> lock(mu_);
    return query_;
  }
  std::string step() {
    std::lock_guard<std::mutex> lock(mu_);
    return step_;
  }

 private:
  std::unique_ptr<http::Server> server_;
  std::atomic<int> hits_{0};
  std::mutex mu_;
  std::string authorization_, query_, step_;
};

ScopeQuery AnyScope() {
  ScopeQuery s;
  s.scope = "app-v001";
  s.location = "localhost";
  s.start_ms = NowMs() - 60000;
  s.end_ms = NowMs();
  s.step_seconds = 10;
  return s;
}

TEST(KayentaPrometheusFakeTest, GarbageIsAClearError) {
  FakeServer garbage(200, "<html>this is not prometheus</html>");
  v1::PrometheusAccount account = Account(garbage.Url());
  account.set_username("kayenta");
  account.set_password("s3cret-pw");
  auto source = NewPrometheusSource(account, Trusting(garbage.Url()), 3);
  ASSERT_THAT(source, IsOk());
  absl::StatusOr<Json> r = (*source)->Query(
      Json::object(), Metric("cpu", {{"metricName", "up"}}), AnyScope());
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument,
                          AllOf(HasSubstr("prom-it"), HasSubstr("cpu"),
                                HasSubstr("not Prometheus JSON"),
                                HasSubstr("this is not prometheus"))));
  EXPECT_THAT(std::string(r.status().message()),
              ::testing::Not(HasSubstr("s3cret-pw")));
  EXPECT_EQ(garbage.hits(), 1);  // an answer is not retried
  EXPECT_EQ(garbage.authorization(),
            "Basic " + absl::Base64Escape("kayenta:s3cret-pw"));
  EXPECT_EQ(garbage.query(),
            "avg(up{server_group=\"app-v001\",location=\"localhost\"})");
  EXPECT_EQ(garbage.step(), "10");
}

TEST(KayentaPrometheusFakeTest, JsonThatIsNotAMatrixIsAClearError) {
  FakeServer odd(200, R"({"status": "success", "data": {"resultType":
      "scalar", "result": [1, "1"]}})");
  auto source = NewPrometheusSource(Account(odd.Url()), Trusting(odd.Url()), 1);
  ASSERT_THAT(source, IsOk());
  EXPECT_THAT(
      (*source)->Query(Json::object(), Metric("cpu", {{"metricName", "up"}}),
                       AnyScope()),
      StatusIs(
          absl::StatusCode::kInvalidArgument,
          AllOf(HasSubstr("prom-it"), HasSubstr("cpu"), HasSubstr("scalar"))));
}

TEST(KayentaPrometheusFakeTest, ServerErrorsAreRetriedThenUnavailable) {
  FakeServer failing(503, "overloaded");
  auto source =
      NewPrometheusSource(Account(failing.Url()), Trusting(failing.Url()), 3);
  ASSERT_THAT(source, IsOk());
  EXPECT_THAT(
      (*source)->Query(Json::object(), Metric("cpu", {{"metricName", "up"}}),
                       AnyScope()),
      StatusIs(absl::StatusCode::kUnavailable,
               AllOf(HasSubstr("prom-it"), HasSubstr("cpu"), HasSubstr("503"),
                     HasSubstr("overloaded"))));
  EXPECT_EQ(failing.hits(), 3);
}

TEST(KayentaPrometheusFakeTest, NotFoundIsAFailedPreconditionNamingThePath) {
  FakeServer wrong(404, "404 page not found");
  auto source =
      NewPrometheusSource(Account(wrong.Url()), Trusting(wrong.Url()), 3);
  ASSERT_THAT(source, IsOk());
  EXPECT_THAT(
      (*source)->Query(Json::object(), Metric("cpu", {{"metricName", "up"}}),
                       AnyScope()),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               AllOf(HasSubstr("prom-it"), HasSubstr("404"),
                     HasSubstr("/api/v1/query_range"))));
  EXPECT_EQ(wrong.hits(), 1);  // not retried
}

TEST(KayentaPrometheusFakeTest, TooManyRequestsIsRetriedThenUnavailable) {
  FakeServer busy(429, "slow down");
  auto source =
      NewPrometheusSource(Account(busy.Url()), Trusting(busy.Url()), 3);
  ASSERT_THAT(source, IsOk());
  EXPECT_THAT(
      (*source)->Query(Json::object(), Metric("cpu", {{"metricName", "up"}}),
                       AnyScope()),
      StatusIs(absl::StatusCode::kUnavailable,
               AllOf(HasSubstr("prom-it"), HasSubstr("429"))));
  EXPECT_EQ(busy.hits(), 3);
}

TEST(KayentaPrometheusFakeTest, MetricNamesAreCached) {
  FakeServer names(200, R"({"status": "success",
                            "data": ["b_metric", "a_metric", "up"]})");
  auto source =
      NewPrometheusSource(Account(names.Url()), Trusting(names.Url()), 1);
  ASSERT_THAT(source, IsOk());
  EXPECT_THAT((*source)->MetricNames(""),
              ::gennaker::testing::IsOkAndHolds(
                  std::vector<std::string>{"a_metric", "b_metric", "up"}));
  EXPECT_THAT((*source)->MetricNames("METRIC"),
              ::gennaker::testing::IsOkAndHolds(
                  std::vector<std::string>{"a_metric", "b_metric"}));
  EXPECT_EQ(names.hits(), 1);
}

}  // namespace
}  // namespace gennaker::kayenta
