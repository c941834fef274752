#include "services/clouddriver/local/load_balancer.h"

#include <arpa/inet.h>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/http/http.h"
#include "common/http/http_client.h"
#include "common/log/log.h"

namespace gennaker::clouddriver::local {

namespace {

// Headers that describe one hop, not the message (RFC 9110 7.6.1).
bool HopByHop(const std::string& name) {
  return name == "connection" || name == "keep-alive" ||
         name == "proxy-connection" || name == "transfer-encoding" ||
         name == "te" || name == "trailer" || name == "upgrade" ||
         name == "host" || name == "content-length";
}

std::string QueryString(const http::Request& r) {
  std::string out;
  for (const auto& [k, v] : r.query) {
    absl::StrAppend(&out, out.empty() ? "?" : "&", http::PercentEncode(k), "=",
                    http::PercentEncode(v));
  }
  return out;
}

http::Response JsonError(int status, const std::string& message) {
  http::Response r;
  r.status = status;
  r.body =
      absl::StrCat(R"({"status":)", status, R"(,"message":")", message, "\"}");
  return r;
}

}  // namespace

absl::StatusOr<bool> InCidr(const std::string& ip, const std::string& cidr) {
  size_t slash = cidr.find('/');
  std::string base = cidr.substr(0, slash);
  int bits = 32;
  if (slash != std::string::npos &&
      (!absl::SimpleAtoi(cidr.substr(slash + 1), &bits) || bits < 0 ||
       bits > 32)) {
    return absl::InvalidArgumentError(absl::StrCat("bad CIDR '", cidr, "'"));
  }
  in_addr net{}, addr{};
  if (inet_pton(AF_INET, base.c_str(), &net) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("bad CIDR '", cidr, "'"));
  }
  if (inet_pton(AF_INET, ip.c_str(), &addr) != 1) return false;
  uint32_t mask = bits == 0 ? 0 : htonl(~uint32_t{0} << (32 - bits));
  return (net.s_addr & mask) == (addr.s_addr & mask);
}

absl::StatusOr<std::unique_ptr<LoadBalancer>> LoadBalancer::Start(
    LoadBalancerOptions options, Targets targets) {
  for (const std::string& cidr : options.allowed_cidrs) {
    absl::StatusOr<bool> ok = InCidr("0.0.0.0", cidr);
    if (!ok.ok()) return ok.status();
  }
  std::unique_ptr<LoadBalancer> lb(
      new LoadBalancer(std::move(options), std::move(targets)));
  LoadBalancer* self = lb.get();
  http::Router router;
  for (const char* method :
       {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}) {
    auto proxy = [self](const http::Request& r) { return self->Proxy(r); };
    router.Add(method, "/", proxy);
    router.Add(method, "/**", proxy);
  }
  http::ServerOptions so;
  so.host = lb->options_.host;
  so.port = lb->options_.port;
  so.threads = lb->options_.threads;
  absl::StatusOr<std::unique_ptr<http::Server>> server =
      http::Server::Start(so, std::move(router));
  if (!server.ok()) return server.status();
  lb->server_ = std::move(*server);
  return lb;
}

http::Response LoadBalancer::Proxy(const http::Request& r) {
  if (!options_.allowed_cidrs.empty()) {
    bool allowed = false;
    for (const std::string& cidr : options_.allowed_cidrs) {
      absl::StatusOr<bool> in = InCidr(r.remote_address, cidr);
      allowed = allowed || (in.ok() && *in);
    }
    if (!allowed) {
      return JsonError(403, absl::StrCat("client ", r.remote_address,
                                         " is not allowed by the firewall"));
    }
  }
  std::vector<Target> targets = targets_();
  if (targets.empty()) {
    return JsonError(503, absl::StrCat("load balancer ", options_.name,
                                       " has no healthy instances"));
  }
  http::ClientRequest out;
  out.method = r.method;
  out.body = r.body;
  out.timeout_ms = options_.request_timeout_ms;
  for (const auto& [k, v] : r.headers) {
    if (!HopByHop(k)) out.headers.push_back({k, v});
  }
  out.headers.push_back({"X-Forwarded-For", r.remote_address});
  std::string target_path = r.path + QueryString(r);
  uint64_t start = next_++;
  for (size_t attempt = 0; attempt < targets.size(); ++attempt) {
    const Target& t = targets[(start + attempt) % targets.size()];
    out.url = absl::StrCat("http://127.0.0.1:", t.port, target_path);
    absl::StatusOr<http::ClientResponse> resp = http::Fetch(out);
    if (!resp.ok()) {
      // Only a refused or broken connection moves on; a timeout may have
      // been processed by the backend already.
      if (absl::IsDeadlineExceeded(resp.status())) {
        return JsonError(504, "the instance did not answer in time");
      }
      SPDLOG_INFO("event=lb_retry load_balancer={} instance={} error={}",
                  options_.name, t.instance_id, resp.status());
      continue;
    }
    http::Response in;
    in.status = resp->status;
    in.body = std::move(resp->body);
    auto ct = resp->headers.find("content-type");
    in.content_type = ct != resp->headers.end() ? ct->second : "text/plain";
    for (const auto& [k, v] : resp->headers) {
      if (!HopByHop(k) && k != "content-type" && k != "date") {
        in.headers.push_back({k, v});
      }
    }
    return in;
  }
  return JsonError(502, "no instance could be reached");
}

}  // namespace gennaker::clouddriver::local
