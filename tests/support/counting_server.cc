#include "tests/support/counting_server.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace gennaker::testing {

std::unique_ptr<CountingServer> CountingServer::Start(int running_polls) {
  std::unique_ptr<CountingServer> s(new CountingServer());
  s->running_polls_ = running_polls;
  CountingServer* self = s.get();
  http::Router router;
  auto hook = [self](const http::Request& r) {
    int delay = 0;
    (void)absl::SimpleAtoi(r.Query("delay_ms", "0"), &delay);
    int n = 0;
    const std::string key = r.Header("x-gennaker-idempotency-key");
    {
      absl::MutexLock l(&self->mu_);
      n = ++self->calls_[key];
      self->last_body_ = r.body;
      self->last_headers_ = r.headers;
      self->max_concurrent_ =
          std::max(self->max_concurrent_, ++self->in_flight_[key]);
    }
    if (delay > 0) absl::SleepFor(absl::Milliseconds(delay));
    {
      absl::MutexLock l(&self->mu_);
      --self->in_flight_[key];
    }
    http::Response resp;
    resp.body = absl::StrCat("{\"received\":", n, "}");
    return resp;
  };
  router.Add("POST", "/hook", hook);
  router.Add("PUT", "/hook", hook);
  router.Add("GET", "/job/{name}", [self](const http::Request& r) {
    int n = 0;
    {
      absl::MutexLock l(&self->mu_);
      n = ++self->polls_[r.params.at("name")];
    }
    http::Response resp;
    resp.body = n <= self->running_polls_
                    ? R"({"status":"RUNNING"})"
                    : R"({"status":"SUCCEEDED","progress":"done"})";
    return resp;
  });
  auto fail = [](const http::Request& r) {
    http::Response resp;
    int code = 500;
    (void)absl::SimpleAtoi(r.params.at("code"), &code);
    resp.status = code;
    resp.body = R"({"error":"as requested"})";
    return resp;
  };
  // A body that is not UTF-8 (Latin-1 "été"), as some servers send.
  router.Add("POST", "/latin1", [](const http::Request&) {
    http::Response resp;
    resp.status = 400;
    resp.content_type = "text/html; charset=iso-8859-1";
    resp.body = "<p>\xe9t\xe9</p>";
    return resp;
  });
  router.Add("POST", "/fail/{code}", fail);
  router.Add("GET", "/fail/{code}", fail);
  http::ServerOptions o;
  o.threads = 4;
  auto server = http::Server::Start(o, std::move(router));
  if (!server.ok()) return nullptr;
  s->server_ = std::move(*server);
  return s;
}

std::string CountingServer::Url(const std::string& path) const {
  return absl::StrCat("http://127.0.0.1:", server_->port(), path);
}

std::map<std::string, int> CountingServer::CallsByKey() {
  absl::MutexLock l(&mu_);
  return calls_;
}

int CountingServer::TotalCalls() {
  absl::MutexLock l(&mu_);
  int n = 0;
  for (auto& [k, v] : calls_) n += v;
  return n;
}

std::string CountingServer::LastBody() {
  absl::MutexLock l(&mu_);
  return last_body_;
}

int CountingServer::MaxConcurrentPerKey() {
  absl::MutexLock l(&mu_);
  return max_concurrent_;
}

std::map<std::string, std::string> CountingServer::LastHeaders() {
  absl::MutexLock l(&mu_);
  return last_headers_;
}

}  // namespace gennaker::testing
