#include "common/http/outbound.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/service/defaults.h"
#include "re2/re2.h"

namespace gennaker::http {
namespace {

// An address as 16 bytes: IPv4 as IPv4-mapped IPv6, so one CIDR check serves
// both families.
struct Address {
  unsigned char bytes[16] = {};
};

struct Cidr {
  Address base;
  int bits = 128;
};

Address FromV4(const in_addr& a) {
  Address out;
  out.bytes[10] = 0xff;
  out.bytes[11] = 0xff;
  std::memcpy(out.bytes + 12, &a, 4);
  return out;
}

bool ParseAddress(absl::string_view text, Address* out) {
  std::string s(text);
  in_addr v4;
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    *out = FromV4(v4);
    return true;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(out->bytes, &v6, 16);
    return true;
  }
  return false;
}

bool ParseCidr(absl::string_view text, Cidr* out) {
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(text, absl::MaxSplits('/', 1));
  if (!ParseAddress(parts.first, &out->base)) return false;
  const bool v4 = parts.first.find(':') == absl::string_view::npos;
  if (parts.second.empty()) {
    out->bits = 128;
    return true;
  }
  int bits;
  if (!absl::SimpleAtoi(parts.second, &bits) || bits < 0 ||
      bits > (v4 ? 32 : 128)) {
    return false;
  }
  out->bits = v4 ? bits + 96 : bits;
  return true;
}

bool Contains(const Cidr& cidr, const Address& a) {
  int bits = cidr.bits;
  for (int i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    const unsigned char mask =
        bits >= 8 ? 0xff : static_cast<unsigned char>(0xff << (8 - bits));
    if ((cidr.base.bytes[i] & mask) != (a.bytes[i] & mask)) return false;
  }
  return true;
}

std::vector<Cidr> MustParse(std::initializer_list<const char*> texts) {
  std::vector<Cidr> out;
  for (const char* t : texts) {
    Cidr c;
    if (ParseCidr(t, &c)) out.push_back(c);
  }
  return out;
}

// 0.0.0.0 and :: connect to the local host on Linux.
const std::vector<Cidr>& Loopback() {
  static const auto* kNets = new std::vector<Cidr>(
      MustParse({"127.0.0.0/8", "0.0.0.0/8", "::1/128", "::/128"}));
  return *kNets;
}

// Link-local, where clouds serve instance metadata and credentials
// (169.254.169.254, fd00:ec2::254).
const std::vector<Cidr>& LinkLocal() {
  static const auto* kNets = new std::vector<Cidr>(
      MustParse({"169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128"}));
  return *kNets;
}

bool InAny(const std::vector<Cidr>& nets, const Address& a) {
  return std::any_of(nets.begin(), nets.end(),
                     [&](const Cidr& c) { return Contains(c, a); });
}

struct ParsedUrl {
  std::string scheme;
  std::string host;
  int port = 0;
  std::string path;  // "/" when empty
  bool has_user = false;
};

absl::StatusOr<ParsedUrl> ParseUrl(const std::string& url) {
  CURLU* h = curl_url();
  if (h == nullptr) return absl::InternalError("curl_url failed");
  ParsedUrl out;
  absl::Status status;
  if (curl_url_set(h, CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    status =
        absl::InvalidArgumentError(absl::StrCat("'", url, "' is not a URL"));
  } else {
    char* part = nullptr;
    if (curl_url_get(h, CURLUPART_SCHEME, &part, 0) == CURLUE_OK) {
      out.scheme = absl::AsciiStrToLower(part);
      curl_free(part);
    }
    if (curl_url_get(h, CURLUPART_HOST, &part, 0) == CURLUE_OK) {
      out.host = absl::AsciiStrToLower(part);
      curl_free(part);
    }
    if (curl_url_get(h, CURLUPART_PORT, &part, CURLU_DEFAULT_PORT) ==
        CURLUE_OK) {
      (void)absl::SimpleAtoi(part, &out.port);
      curl_free(part);
    }
    if (curl_url_get(h, CURLUPART_PATH, &part, 0) == CURLUE_OK) {
      out.path = part;
      curl_free(part);
    }
    if (curl_url_get(h, CURLUPART_USER, &part, 0) == CURLUE_OK) {
      out.has_user = true;
      curl_free(part);
    }
  }
  curl_url_cleanup(h);
  if (!status.ok()) return status;
  if (out.path.empty()) out.path = "/";
  // IPv6 literals come bracketed.
  if (absl::StartsWith(out.host, "[") && absl::EndsWith(out.host, "]")) {
    out.host = out.host.substr(1, out.host.size() - 2);
  }
  return out;
}

// `location` resolved against `base`.
absl::StatusOr<std::string> ResolveRedirect(const std::string& base,
                                            const std::string& location) {
  CURLU* h = curl_url();
  if (h == nullptr) return absl::InternalError("curl_url failed");
  std::string out;
  if (curl_url_set(h, CURLUPART_URL, base.c_str(), 0) == CURLUE_OK &&
      curl_url_set(h, CURLUPART_URL, location.c_str(), 0) == CURLUE_OK) {
    char* full = nullptr;
    if (curl_url_get(h, CURLUPART_URL, &full, 0) == CURLUE_OK) {
      out = full;
      curl_free(full);
    }
  }
  curl_url_cleanup(h);
  if (out.empty()) {
    return absl::PermissionDeniedError(
        absl::StrCat(base, ": redirect to an invalid location"));
  }
  return out;
}

bool IsRedirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 ||
         status == 308;
}

// Whether `from` and `to` differ in scheme, host or port (an unparsable URL
// counts as a different origin).
bool CrossOrigin(const std::string& from, const std::string& to) {
  absl::StatusOr<ParsedUrl> a = ParseUrl(from);
  absl::StatusOr<ParsedUrl> b = ParseUrl(to);
  if (!a.ok() || !b.ok()) return true;
  return a->scheme != b->scheme || a->host != b->host || a->port != b->port;
}

// Credentials meant for the first origin must not follow a redirect to
// another one (as curl and browsers do): the target could be anyone's.
void DropCredentials(
    std::vector<std::pair<std::string, std::string>>* headers) {
  headers->erase(
      std::remove_if(headers->begin(), headers->end(),
                     [](const std::pair<std::string, std::string>& h) {
                       const std::string name = absl::AsciiStrToLower(h.first);
                       return name == "authorization" ||
                              name == "proxy-authorization" || name == "cookie";
                     }),
      headers->end());
}

}  // namespace

struct OutboundClient::Compiled {
  std::unique_ptr<RE2> hosts;  // null: any
  std::vector<Cidr> rejected;
  std::vector<ParsedUrl> trusted;  // allowed_url_prefixes, parsed
};

std::vector<int> SuitePorts() {
  std::vector<int> ports = {kGateHttpPort, 5432, 6379, 15432, 16379};
  for (absl::string_view service : kServiceNames) {
    const int grpc = DefaultGrpcPort(service);
    ports.push_back(grpc);
    ports.push_back(grpc + kAdminPortOffset);
  }
  return ports;
}

OutboundPolicy DefaultOutboundPolicy() {
  OutboundPolicy p;
  p.rejected_ports = SuitePorts();
  return p;
}

absl::StatusOr<std::unique_ptr<OutboundClient>> OutboundClient::Create(
    OutboundPolicy policy) {
  auto compiled = std::make_unique<Compiled>();
  if (!policy.allowed_hostnames_regex.empty()) {
    compiled->hosts =
        std::make_unique<RE2>(policy.allowed_hostnames_regex, RE2::Quiet);
    if (!compiled->hosts->ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("allowedHostnamesRegex: ", compiled->hosts->error()));
    }
  }
  for (const std::string& text : policy.rejected_cidrs) {
    Cidr c;
    if (!ParseCidr(text, &c)) {
      return absl::InvalidArgumentError(
          absl::StrCat("rejectedCidrs: '", text, "' is not a CIDR"));
    }
    compiled->rejected.push_back(c);
  }
  for (const std::string& prefix : policy.allowed_url_prefixes) {
    absl::StatusOr<ParsedUrl> u = ParseUrl(prefix);
    if (!u.ok() || u->host.empty() || u->has_user) {
      return absl::InvalidArgumentError(
          absl::StrCat("allowedUrlPrefixes: '", prefix,
                       "' must be a URL with a host and no user name"));
    }
    compiled->trusted.push_back(*std::move(u));
  }
  for (std::string& scheme : policy.allowed_schemes) {
    scheme = absl::AsciiStrToLower(scheme);
    if (scheme != "http" && scheme != "https") {
      return absl::InvalidArgumentError(absl::StrCat(
          "allowedSchemes: only http and https may be allowed, not '", scheme,
          "'"));
    }
  }
  if (policy.max_response_bytes < 1 || policy.timeout_ms < 1 ||
      policy.max_redirects < 0) {
    return absl::InvalidArgumentError(
        "maxResponseBytes and timeoutMs must be positive, maxRedirects not "
        "negative");
  }
  return std::unique_ptr<OutboundClient>(
      new OutboundClient(std::move(policy), std::move(compiled)));
}

OutboundClient::OutboundClient(OutboundPolicy policy,
                               std::unique_ptr<Compiled> compiled)
    : policy_(std::move(policy)), compiled_(std::move(compiled)) {}

OutboundClient::~OutboundClient() = default;

// A URL is trusted when its scheme, host and port are a trusted prefix's and
// its path lies under the prefix's path (whole segments: "/api" covers
// "/api" and "/api/x", not "/apix"); one naming a user is never trusted, so
// "http://prom:9090@169.254.169.254/" cannot pass for a prefix of
// "http://prom:9090".
bool OutboundClient::Trusted(const std::string& url) const {
  if (compiled_->trusted.empty()) return false;
  absl::StatusOr<ParsedUrl> u = ParseUrl(url);
  if (!u.ok() || u->has_user) return false;
  for (const ParsedUrl& t : compiled_->trusted) {
    if (t.scheme != u->scheme || t.host != u->host || t.port != u->port) {
      continue;
    }
    if (!absl::StartsWith(u->path, t.path)) continue;
    if (u->path.size() == t.path.size() || absl::EndsWith(t.path, "/") ||
        u->path[t.path.size()] == '/') {
      return true;
    }
  }
  return false;
}

namespace {

// Why the policy refuses `a` on `port`, or "".
std::string Refusal(const OutboundPolicy& policy,
                    const std::vector<Cidr>& rejected, const Address& a,
                    int port) {
  if (!policy.allow_loopback && InAny(Loopback(), a)) {
    return "loopback addresses are not allowed";
  }
  if (!policy.allow_link_local && InAny(LinkLocal(), a)) {
    return "link-local and metadata addresses are not allowed";
  }
  if (InAny(rejected, a)) return "the address is in a rejected range";
  if (std::find(policy.rejected_ports.begin(), policy.rejected_ports.end(),
                port) != policy.rejected_ports.end()) {
    return absl::StrCat("port ", port, " belongs to the suite");
  }
  return "";
}

}  // namespace

absl::Status OutboundClient::CheckUrl(const std::string& url) const {
  absl::StatusOr<ParsedUrl> u = ParseUrl(url);
  if (!u.ok()) return absl::PermissionDeniedError(u.status().message());
  auto refuse = [&](absl::string_view why) {
    return absl::PermissionDeniedError(
        absl::StrCat("outbound call to ", url, " refused: ", why));
  };
  if (std::find(policy_.allowed_schemes.begin(), policy_.allowed_schemes.end(),
                u->scheme) == policy_.allowed_schemes.end()) {
    return refuse(absl::StrCat("scheme '", u->scheme, "' is not allowed (",
                               absl::StrJoin(policy_.allowed_schemes, ", "),
                               ")"));
  }
  if (u->host.empty()) return refuse("no host");
  if (compiled_->hosts != nullptr &&
      !RE2::FullMatch(u->host, *compiled_->hosts)) {
    return refuse("the host is not allowed");
  }
  if (!policy_.allow_loopback &&
      (u->host == "localhost" || absl::EndsWith(u->host, ".localhost"))) {
    return refuse("loopback addresses are not allowed");
  }
  if (std::find(policy_.rejected_ports.begin(), policy_.rejected_ports.end(),
                u->port) != policy_.rejected_ports.end()) {
    return refuse(absl::StrCat("port ", u->port, " belongs to the suite"));
  }
  Address a;
  if (ParseAddress(u->host, &a)) {
    std::string why = Refusal(policy_, compiled_->rejected, a, u->port);
    if (!why.empty()) return refuse(why);
  }
  return absl::OkStatus();
}

absl::StatusOr<ClientResponse> OutboundClient::Fetch(
    ClientRequest request) const {
  using Clock = std::chrono::steady_clock;
  const int budget_ms = request.timeout_ms > 0
                            ? std::min(request.timeout_ms, policy_.timeout_ms)
                            : policy_.timeout_ms;
  const Clock::time_point deadline =
      Clock::now() + std::chrono::milliseconds(budget_ms);
  request.max_response_bytes = policy_.max_response_bytes;
  request.protocols = absl::StrJoin(policy_.allowed_schemes, ",");
  request.isolated = true;
  for (int hop = 0; hop <= policy_.max_redirects; ++hop) {
    const bool trusted = Trusted(request.url);
    if (!trusted) {
      absl::Status ok = CheckUrl(request.url);
      if (!ok.ok()) return ok;
      const std::vector<Cidr>* rejected = &compiled_->rejected;
      const OutboundPolicy* policy = &policy_;
      request.address_filter = [policy, rejected](const sockaddr* sa,
                                                  socklen_t) -> std::string {
        Address a;
        int port = 0;
        if (sa->sa_family == AF_INET) {
          const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
          a = FromV4(in->sin_addr);
          port = ntohs(in->sin_port);
        } else if (sa->sa_family == AF_INET6) {
          const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
          std::memcpy(a.bytes, &in6->sin6_addr, 16);
          port = ntohs(in6->sin6_port);
        } else {
          return "only IP addresses may be connected to";
        }
        return Refusal(*policy, *rejected, a, port);
      };
    } else {
      request.address_filter = nullptr;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - Clock::now())
                          .count();
    if (left <= 0) {
      return absl::DeadlineExceededError(
          absl::StrCat(request.method, " ", request.url, ": timed out"));
    }
    request.timeout_ms = static_cast<int>(left);
    absl::StatusOr<ClientResponse> response = http::Fetch(request);
    if (!response.ok() || !IsRedirect(response->status)) return response;
    auto location = response->headers.find("location");
    if (location == response->headers.end()) return response;
    absl::StatusOr<std::string> next =
        ResolveRedirect(request.url, location->second);
    if (!next.ok()) return next.status();
    if (response->status == 303 ||
        ((response->status == 301 || response->status == 302) &&
         request.method == "POST")) {
      request.method = "GET";
      request.body.clear();
    }
    if (CrossOrigin(request.url, *next)) DropCredentials(&request.headers);
    request.url = *std::move(next);
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "more than ", policy_.max_redirects, " redirects from ", request.url));
}

}  // namespace gennaker::http
