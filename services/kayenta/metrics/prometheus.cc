#include "services/kayenta/metrics/prometheus.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/http/http.h"
#include "common/log/logging.h"
#include "common/spinnaker/json.h"
#include "common/spinnaker/time.h"
#include "common/status/status_macros.h"
#include "spdlog/spdlog.h"

namespace gennaker::kayenta {
namespace {

using spinnaker::Array;
using spinnaker::Object;
using spinnaker::String;
using spinnaker::Strings;

constexpr char kPromQlPrefix[] = "PromQL:";
constexpr absl::Duration kMetricNamesTtl = absl::Seconds(60);
// Longest piece of a bad answer quoted in an error message.
constexpr size_t kMaxQuotedBody = 200;

// Quoted for a PromQL string literal.
std::string QuoteLabelValue(const std::string& value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

// `template_text` with ${name} (and ${name:-default}) replaced from
// `bindings`; "$${" stands for a literal "${". An undefined variable without
// a default is an error, as Kayenta's substitutor is configured.
absl::StatusOr<std::string> Substitute(
    const std::string& template_text,
    const std::map<std::string, std::string>& bindings) {
  std::string out;
  size_t i = 0;
  while (i < template_text.size()) {
    if (template_text.compare(i, 3, "$${") == 0) {
      out += "${";
      i += 3;
      continue;
    }
    if (template_text.compare(i, 2, "${") != 0) {
      out += template_text[i++];
      continue;
    }
    const size_t close = template_text.find('}', i + 2);
    if (close == std::string::npos) {
      // No closing brace: the text is literal, as the substitutor leaves it.
      out += template_text.substr(i);
      break;
    }
    std::string name = template_text.substr(i + 2, close - i - 2);
    std::optional<std::string> fallback;
    if (const size_t d = name.find(":-"); d != std::string::npos) {
      fallback = name.substr(d + 2);
      name.resize(d);
    }
    auto it = bindings.find(name);
    if (it != bindings.end()) {
      out += it->second;
    } else if (fallback.has_value()) {
      out += *fallback;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "Cannot resolve variable '", name, "' in template '", template_text,
          "'; known variables: ",
          absl::StrJoin(bindings, ", ", [](std::string* s, const auto& kv) {
            absl::StrAppend(s, kv.first);
          })));
    }
    i = close + 1;
  }
  return out;
}

// The custom filter of the query config, expanded; nullopt when it has none.
absl::StatusOr<std::optional<std::string>> ExpandCustomFilter(
    const Json& config, const Json& query, const ScopeQuery& scope) {
  std::string text = String(query, "customInlineTemplate");
  if (text.empty()) {
    const std::string name = String(query, "customFilterTemplate");
    if (name.empty()) return std::optional<std::string>();
    const Json templates = Object(config, "templates");
    const std::string found = String(templates, name);
    if (found.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("Custom filter template '", name,
                       "' was not found in the canary "
                       "config's templates"));
    }
    text = found;
  }
  // Stored configs escape "${" as "$\{"; undo it before expanding.
  absl::StrReplaceAll({{"$\\{", "${"}}, &text);

  // Later bindings override earlier ones.
  std::map<std::string, std::string> bindings;
  auto bind = [&bindings](const std::string& k, const std::string& v) {
    if (!v.empty()) bindings[k] = v;
  };
  auto ext = [&scope](const std::string& k) -> std::string {
    auto it = scope.extended_scope_params.find(k);
    return it == scope.extended_scope_params.end() ? "" : it->second;
  };
  bind("project", ext("project"));
  bind("resourceType", ext("resourceType"));
  bind("scope", scope.scope);
  bind("location", scope.location);
  bind("resourceType", String(query, "resourceType"));
  for (const auto& [k, v] : scope.extended_scope_params) bindings[k] = v;
  GENNAKER_ASSIGN_OR_RETURN(std::string expanded, Substitute(text, bindings));
  return std::optional<std::string>(std::move(expanded));
}

std::string IsoMillis(int64_t ms) { return spinnaker::FormatIsoInstant(ms); }

// Largest step (one point a day): bounds step * 1000 and the grid arithmetic.
constexpr int64_t kMaxStepSeconds = 86400;

// A query window arithmetic on which cannot overflow: instants within years
// 0001..9999, start <= end, a step of 1..86400 s.
absl::Status CheckWindow(const ScopeQuery& scope) {
  if (scope.step_seconds < 1 || scope.step_seconds > kMaxStepSeconds) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the step must be between 1 and ", kMaxStepSeconds, " seconds"));
  }
  if (!spinnaker::SaneEpochMs(scope.start_ms) ||
      !spinnaker::SaneEpochMs(scope.end_ms)) {
    return absl::InvalidArgumentError(
        "start and end must lie within years 0001..9999");
  }
  if (scope.end_ms < scope.start_ms) {
    return absl::InvalidArgumentError("end is before start");
  }
  return absl::OkStatus();
}

// A sample value as Prometheus writes it (a string), or nullopt.
std::optional<double> SampleValue(const Json& v) {
  if (v.is_number()) return v.get<double>();
  if (!v.is_string()) return std::nullopt;
  const std::string& s = v.get_ref<const std::string&>();
  if (s == "+Inf" || s == "Inf") return std::numeric_limits<double>::infinity();
  if (s == "-Inf") return -std::numeric_limits<double>::infinity();
  if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
  double d;
  if (absl::SimpleAtod(s, &d)) return d;
  return std::nullopt;
}

std::string Quoted(const std::string& body) {
  std::string s = body.substr(0, kMaxQuotedBody);
  for (char& c : s) {
    if (!absl::ascii_isprint(static_cast<unsigned char>(c))) c = '?';
  }
  if (body.size() > kMaxQuotedBody) s += "...";
  return s;
}

class PrometheusSource : public MetricsSource {
 public:
  PrometheusSource(v1::PrometheusAccount account,
                   std::unique_ptr<http::OutboundClient> client, int attempts)
      : account_(std::move(account)),
        client_(std::move(client)),
        attempts_(attempts) {
    name_ = account_.name();
    base_url_ = account_.base_url();
    while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
    scope_label_ = account_.scope_label().empty() ? kDefaultScopeLabel
                                                  : account_.scope_label();
    location_label_ = account_.location_label().empty()
                          ? kDefaultLocationLabel
                          : account_.location_label();
  }

  const std::string& Name() const override { return name_; }
  const std::string& Type() const override { return type_; }

  absl::StatusOr<Json> Query(const Json& config, const Json& metric,
                             const ScopeQuery& scope) override {
    const std::string metric_name = String(metric, "name");
    auto refuse = [&](const std::string& why) {
      return absl::InvalidArgumentError(absl::StrCat("prometheus account '",
                                                     name_, "', metric '",
                                                     metric_name, "': ", why));
    };
    const Json query_config = Object(metric, "query");
    const std::string type = String(query_config, "type");
    if (!type.empty() && type != "prometheus") {
      return refuse(absl::StrCat("query type '", type, "' is not prometheus"));
    }
    if (absl::Status w = CheckWindow(scope); !w.ok()) {
      return refuse(std::string(w.message()));
    }
    absl::StatusOr<std::string> promql = BuildPrometheusQuery(
        config, metric, scope, scope_label_, location_label_);
    if (!promql.ok()) return refuse(std::string(promql.status().message()));

    const std::string path =
        absl::StrCat("/api/v1/query_range?query=", http::PercentEncode(*promql),
                     "&start=", http::PercentEncode(IsoMillis(scope.start_ms)),
                     "&end=", http::PercentEncode(IsoMillis(scope.end_ms)),
                     "&step=", scope.step_seconds);
    const absl::Time began = absl::Now();
    GENNAKER_ASSIGN_OR_RETURN(
        Json body,
        Get(path, absl::StrCat("metric '", metric_name, "' (", *promql, ")")));
    absl::StatusOr<Json> sets =
        PrometheusResponseToMetricSets(body, metric_name, *promql, scope);
    if (!sets.ok()) return refuse(std::string(sets.status().message()));
    SPDLOG_INFO(
        "event=prometheus_query account={} metric={} scope={} location={} "
        "sets={} ms={}",
        name_, metric_name, scope.scope, scope.location, sets->size(),
        absl::ToInt64Milliseconds(absl::Now() - began));
    return sets;
  }

  absl::StatusOr<std::vector<std::string>> MetricNames(
      const std::string& filter) override {
    std::vector<std::string> names;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (names_at_.has_value() && absl::Now() - *names_at_ < kMetricNamesTtl) {
        names = names_;
      }
    }
    if (names.empty()) {
      GENNAKER_ASSIGN_OR_RETURN(
          Json body, Get("/api/v1/label/__name__/values", "metric names"));
      const Json* data = spinnaker::internal::Member(body, "data");
      if (data == nullptr || !data->is_array()) {
        return absl::InvalidArgumentError(
            absl::StrCat("prometheus account '", name_,
                         "' answered the metric names without a data list"));
      }
      for (const Json& n : *data) {
        if (n.is_string()) names.push_back(n.get<std::string>());
      }
      std::sort(names.begin(), names.end());
      std::lock_guard<std::mutex> lock(mu_);
      names_ = names;
      names_at_ = absl::Now();
    }
    if (filter.empty()) return names;
    const std::string needle = absl::AsciiStrToLower(filter);
    std::vector<std::string> out;
    for (const std::string& n : names) {
      if (absl::StrContains(absl::AsciiStrToLower(n), needle)) out.push_back(n);
    }
    return out;
  }

 private:
  // GET base_url + path_and_query with retries; the parsed JSON answer of
  // status "success". `what` names the call in errors.
  absl::StatusOr<Json> Get(const std::string& path_and_query,
                           const std::string& what) {
    http::ClientRequest request;
    request.url = base_url_ + path_and_query;
    request.timeout_ms = client_->policy().timeout_ms;
    request.headers.emplace_back("Accept", "application/json");
    if (!account_.username().empty()) {
      request.headers.emplace_back(
          "Authorization",
          absl::StrCat("Basic ",
                       absl::Base64Escape(absl::StrCat(account_.username(), ":",
                                                       account_.password()))));
    }
    const std::string prefix =
        absl::StrCat("prometheus account '", name_, "' (",
                     RedactSecrets(base_url_), ") ", what, ": ");
    absl::Status last;
    for (int attempt = 1; attempt <= attempts_; ++attempt) {
      if (attempt > 1) {
        std::this_thread::sleep_for(std::chrono::milliseconds(
            std::min(1000, 100 << std::min(attempt - 2, 4))));
      }
      absl::StatusOr<http::ClientResponse> response = client_->Fetch(request);
      if (!response.ok()) {
        const absl::StatusCode code = response.status().code();
        last = absl::Status(
            code, absl::StrCat(prefix, "request failed: ",
                               RedactSecrets(response.status().message())));
        if (code == absl::StatusCode::kUnavailable ||
            code == absl::StatusCode::kDeadlineExceeded) {
          SPDLOG_WARN(
              "event=prometheus_fetch_failed account={} attempt={} of={} "
              "error={}",
              name_, attempt, attempts_,
              RedactSecrets(response.status().message()));
          continue;
        }
        return last;  // refused by the policy or over the size cap
      }
      if (response->status >= 500 || response->status == 429) {
        last = absl::UnavailableError(absl::StrCat(prefix, "answered HTTP ",
                                                   response->status, ": ",
                                                   ErrorText(response->body)));
        SPDLOG_WARN(
            "event=prometheus_fetch_failed account={} attempt={} of={} "
            "status={}",
            name_, attempt, attempts_, response->status);
        continue;
      }
      return ReadAnswer(*response, prefix, path_and_query);
    }
    return last;
  }

  // Prometheus's "error" of a JSON error answer, else the body quoted.
  static std::string ErrorText(const std::string& body) {
    absl::StatusOr<Json> j = spinnaker::ParseJson(body, "answer");
    if (j.ok() && j->is_object()) {
      const std::string error = String(*j, "error");
      if (!error.empty()) {
        return absl::StrCat(String(*j, "errorType"), ": ", error);
      }
    }
    return absl::StrCat("'", Quoted(body), "'");
  }

  absl::StatusOr<Json> ReadAnswer(const http::ClientResponse& response,
                                  const std::string& prefix,
                                  absl::string_view path_and_query) {
    if (response.status == 401 || response.status == 403) {
      return absl::PermissionDeniedError(
          absl::StrCat(prefix, "answered HTTP ", response.status,
                       " (check the account's username and password)"));
    }
    if (response.status == 404) {
      // Not the query's fault: the account points at something that is not
      // Prometheus's API (a wrong base_url path, or a proxy in front).
      const absl::string_view path =
          path_and_query.substr(0, path_and_query.find('?'));
      return absl::FailedPreconditionError(
          absl::StrCat(prefix, "answered HTTP 404 for ", path,
                       " (is the account's base_url the Prometheus server?)"));
    }
    if (response.status < 200 || response.status >= 300) {
      return absl::InvalidArgumentError(absl::StrCat(prefix, "answered HTTP ",
                                                     response.status, ": ",
                                                     ErrorText(response.body)));
    }
    absl::StatusOr<Json> body = spinnaker::ParseJson(response.body, "answer");
    if (!body.ok() || !body->is_object()) {
      return absl::InvalidArgumentError(absl::StrCat(
          prefix, "answered something that is not Prometheus JSON: '",
          Quoted(response.body), "'"));
    }
    if (String(*body, "status") != "success") {
      return absl::InvalidArgumentError(absl::StrCat(
          prefix, "answered an error: ", ErrorText(response.body)));
    }
    return body;
  }

  const v1::PrometheusAccount account_;
  const std::unique_ptr<http::OutboundClient> client_;
  const int attempts_;
  const std::string type_ = "prometheus";
  std::string name_;
  std::string base_url_;
  std::string scope_label_;
  std::string location_label_;

  std::mutex mu_;
  std::vector<std::string> names_;
  std::optional<absl::Time> names_at_;
};

}  // namespace

absl::StatusOr<std::string> BuildPrometheusQuery(
    const Json& config, const Json& metric, const ScopeQuery& scope,
    const std::string& scope_label, const std::string& location_label) {
  const Json query = Object(metric, "query");
  if (!String(query, "customFilter").empty()) {
    return absl::InvalidArgumentError(
        "customFilter is no longer supported; use customInlineTemplate or "
        "customFilterTemplate");
  }
  GENNAKER_ASSIGN_OR_RETURN(std::optional<std::string> custom,
                            ExpandCustomFilter(config, query, scope));
  if (custom.has_value() && absl::StartsWith(*custom, kPromQlPrefix)) {
    return custom->substr(sizeof(kPromQlPrefix) - 1);
  }

  const std::string metric_name = String(query, "metricName");
  if (metric_name.empty()) {
    return absl::InvalidArgumentError(
        "metricName is required (or a custom filter starting with PromQL:)");
  }
  std::string resource_type = String(query, "resourceType");
  if (resource_type.empty()) {
    auto it = scope.extended_scope_params.find("resourceType");
    if (it != scope.extended_scope_params.end()) resource_type = it->second;
  }
  std::string project;
  if (auto it = scope.extended_scope_params.find("project");
      it != scope.extended_scope_params.end()) {
    project = it->second;
  }

  std::vector<std::string> filters = Strings(query, "labelBindings");
  if (custom.has_value() && !custom->empty()) {
    // Split as Java's String.split(","): trailing empty pieces dropped.
    std::vector<std::string> tokens = absl::StrSplit(*custom, ',');
    while (!tokens.empty() && tokens.back().empty()) tokens.pop_back();
    filters.insert(filters.begin(), tokens.begin(), tokens.end());
  } else if (resource_type == "gce_instance") {
    if (scope.location.empty()) {
      return absl::InvalidArgumentError(
          "location is required for resourceType gce_instance");
    }
    if (!scope.scope.empty()) {
      filters.push_back(
          absl::StrCat(scope_label, "=~\"", scope.scope, "-.{4}\""));
    }
    filters.push_back(absl::StrCat(
        "zone=~\".+/",
        project.empty() ? "" : absl::StrCat("projects/", project, "/"),
        "zones/", scope.location, "-.{1}\""));
  } else if (resource_type == "aws_ec2_instance") {
    if (scope.location.empty()) {
      return absl::InvalidArgumentError(
          "location is required for resourceType aws_ec2_instance");
    }
    if (!scope.scope.empty()) {
      filters.push_back(
          absl::StrCat("asg_groupName=", QuoteLabelValue(scope.scope)));
    }
    filters.push_back(absl::StrCat("zone=~\"", scope.location, ".{1}\""));
  } else if (!resource_type.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("There is no explicit support for resourceType '",
                     resource_type, "'; use a custom filter template"));
  } else if (!scope.scope.empty() || !scope.location.empty()) {
    // Gennaker's default: the labels of clouddriver's file_sd targets.
    if (!scope.scope.empty()) {
      filters.push_back(
          absl::StrCat(scope_label, "=", QuoteLabelValue(scope.scope)));
    }
    if (!scope.location.empty()) {
      filters.push_back(
          absl::StrCat(location_label, "=", QuoteLabelValue(scope.location)));
    }
  } else {
    return absl::InvalidArgumentError(
        "Either a resource type, a custom filter or a scope is required.");
  }

  std::string out = metric_name;
  if (!filters.empty())
    absl::StrAppend(&out, "{", absl::StrJoin(filters, ","), "}");
  out = absl::StrCat("avg(", out, ")");
  const std::vector<std::string> group_by = Strings(query, "groupByFields");
  if (!group_by.empty()) {
    absl::StrAppend(&out, " by (", absl::StrJoin(group_by, ","), ")");
  }
  return out;
}

absl::StatusOr<Json> PrometheusResponseToMetricSets(
    const Json& body, const std::string& metric_name, const std::string& query,
    const ScopeQuery& scope) {
  GENNAKER_RETURN_IF_ERROR(CheckWindow(scope));
  if (String(body, "status") != "success") {
    return absl::InvalidArgumentError(
        absl::StrCat("the answer's status is not success: ",
                     String(body, "error", "(no error given)")));
  }
  const Json data = Object(body, "data");
  const std::string result_type = String(data, "resultType");
  if (!result_type.empty() && result_type != "matrix") {
    return absl::InvalidArgumentError(absl::StrCat(
        "the answer is a ", result_type, ", not a matrix of series"));
  }
  const Json result = Array(data, "result");
  const int64_t step_ms = scope.step_seconds * 1000;
  Json attributes = Json::object();
  attributes["query"] = query;

  Json sets = Json::array();
  for (const Json& series : result) {
    Json tags = Json::object();
    // Tags sorted by name, so equal label sets compare equal.
    std::map<std::string, std::string> sorted;
    const Json labels = Object(series, "metric");
    for (const auto& [k, v] : labels.items()) {
      if (k != "__name__" && v.is_string()) sorted[k] = v.get<std::string>();
    }
    for (const auto& [k, v] : sorted) tags[k] = v;

    // Points onto the step grid, starting at the first one; holes are NaN.
    const Json points = Array(series, "values");
    // A point far past the window would grow the series without bound;
    // Prometheus itself answers at most 11,000 points a series.
    const double max_index = std::max(
        static_cast<double>(scope.end_ms - scope.start_ms) / step_ms + 1,
        11000.0);
    std::vector<double> values;
    std::optional<double> first_ts;
    for (const Json& p : points) {
      if (!p.is_array() || p.size() != 2 || !p[0].is_number()) {
        return absl::InvalidArgumentError(
            "a series point is not a [timestamp, value] pair");
      }
      const std::optional<double> v = SampleValue(p[1]);
      if (!v.has_value()) {
        if (!p[1].is_null()) {
          return absl::InvalidArgumentError(
              absl::StrCat("a sample value is not a number: ", p[1].dump()));
        }
        continue;  // null samples are skipped, as Kayenta does
      }
      const double ts = p[0].get<double>();
      // Within years 0001..9999, so ts * 1000 converts to int64 defined.
      if (!(ts >= spinnaker::kMinSaneEpochMs / 1000.0 &&
            ts <= spinnaker::kMaxSaneEpochMs / 1000.0)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "a series point has a timestamp outside years 0001..9999: ",
            p[0].dump()));
      }
      if (!first_ts.has_value()) first_ts = ts;
      const double offset = (ts - *first_ts) / scope.step_seconds;
      if (offset < 0) continue;  // out of order: not on the grid
      if (!(offset <= max_index)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "a series point (at ", ts, " s) lies outside the query window"));
      }
      const size_t index = static_cast<size_t>(std::llround(offset));
      if (index < values.size()) {
        values[index] = *v;
        continue;
      }
      values.resize(index, std::numeric_limits<double>::quiet_NaN());
      values.push_back(*v);
    }
    const int64_t start_ms = first_ts.has_value()
                                 ? static_cast<int64_t>(*first_ts * 1000)
                                 : scope.start_ms;
    const int64_t end_ms =
        start_ms + static_cast<int64_t>(values.size()) * step_ms;
    Json set = Json::object();
    set["name"] = metric_name;
    set["tags"] = std::move(tags);
    set["values"] = values;
    set["startTimeMillis"] = start_ms;
    set["startTimeIso"] = IsoMillis(start_ms);
    set["endTimeMillis"] = end_ms;
    set["endTimeIso"] = IsoMillis(end_ms);
    set["stepMillis"] = step_ms;
    set["attributes"] = attributes;
    sets.push_back(std::move(set));
  }
  if (sets.empty()) {
    // The no-data placeholder: the mixer turns it into NaNs over the scope.
    Json set = Json::object();
    set["name"] = metric_name;
    set["tags"] = Json::object();
    set["values"] = Json::array();
    set["startTimeMillis"] = scope.start_ms;
    set["startTimeIso"] = IsoMillis(scope.start_ms);
    set["endTimeMillis"] = scope.end_ms;
    set["endTimeIso"] = IsoMillis(scope.end_ms);
    set["stepMillis"] = step_ms;
    set["attributes"] = attributes;
    sets.push_back(std::move(set));
  }
  return sets;
}

absl::StatusOr<std::unique_ptr<MetricsSource>> NewPrometheusSource(
    const v1::PrometheusAccount& account, http::OutboundPolicy policy,
    int attempts) {
  if (account.name().empty()) {
    return absl::InvalidArgumentError("prometheus account: name is required");
  }
  const std::string& url = account.base_url();
  if (!absl::StartsWith(url, "http://") && !absl::StartsWith(url, "https://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("prometheus account '", account.name(),
                     "': base_url must be an http:// or https:// URL, got '",
                     RedactSecrets(url), "'"));
  }
  if (absl::StrContains(url, "?") || absl::StrContains(url, "#")) {
    return absl::InvalidArgumentError(
        absl::StrCat("prometheus account '", account.name(),
                     "': base_url must not have a query or fragment"));
  }
  absl::StatusOr<std::unique_ptr<http::OutboundClient>> client =
      http::OutboundClient::Create(std::move(policy));
  if (!client.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("prometheus account '", account.name(),
                     "': outbound policy: ", client.status().message()));
  }
  return std::unique_ptr<MetricsSource>(std::make_unique<PrometheusSource>(
      account, std::move(*client), std::max(1, attempts)));
}

}  // namespace gennaker::kayenta
