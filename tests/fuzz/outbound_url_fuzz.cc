// libFuzzer target for the outbound policy's reading of user-supplied URLs
// (webhook stages, #fromUrl and friends): OutboundClient::CheckUrl under the
// default policy, and OutboundClient::Create on operator-supplied policy
// fields (rejected CIDRs, host regex). No call is made.
//
// Input: the first line is the URL; further lines, when present, are a CIDR
// and a host regex for a second policy.
//
// Beyond not crashing, CheckUrl must refuse, under the default policy, every
// URL that libcurl itself reads as a scheme other than http/https, as host
// "localhost", or as a literal loopback (127.0.0.0/8, 0.0.0.0/8, ::1, ::,
// also IPv4-mapped) or link-local (169.254.0.0/16, fe80::/10) address. Built
// and run by scripts/fuzz.sh.
#include <arpa/inet.h>
#include <curl/curl.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "common/http/outbound.h"

namespace gennaker::http {
namespace {

struct CurlView {
  bool ok = false;
  std::string scheme;
  std::string host;
};

// How libcurl (which makes the call) reads `url`.
CurlView ReadWithCurl(const std::string& url) {
  CurlView v;
  CURLU* h = curl_url();
  if (h == nullptr) return v;
  if (curl_url_set(h, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK) {
    v.ok = true;
    char* part = nullptr;
    if (curl_url_get(h, CURLUPART_SCHEME, &part, 0) == CURLUE_OK) {
      v.scheme = absl::AsciiStrToLower(part);
      curl_free(part);
    }
    if (curl_url_get(h, CURLUPART_HOST, &part, 0) == CURLUE_OK) {
      v.host = absl::AsciiStrToLower(part);
      curl_free(part);
    }
  }
  curl_url_cleanup(h);
  if (v.host.size() >= 2 && v.host.front() == '[' && v.host.back() == ']') {
    v.host = v.host.substr(1, v.host.size() - 2);
  }
  return v;
}

// True for a literal address the default policy must never let through.
bool Private(const std::string& host) {
  unsigned char v4[4];
  if (inet_pton(AF_INET, host.c_str(), v4) == 1) {
    return v4[0] == 127 || v4[0] == 0 || (v4[0] == 169 && v4[1] == 254);
  }
  unsigned char v6[16];
  if (inet_pton(AF_INET6, host.c_str(), v6) != 1) return false;
  static const unsigned char kMapped[12] = {0, 0, 0, 0, 0,    0,
                                            0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(v6, kMapped, 12) == 0) {
    return v6[12] == 127 || v6[12] == 0 || (v6[12] == 169 && v6[13] == 254);
  }
  static const unsigned char kZero[15] = {};
  if (std::memcmp(v6, kZero, 15) == 0 && v6[15] <= 1) return true;  // ::, ::1
  return v6[0] == 0xfe && (v6[1] & 0xc0) == 0x80;                   // fe80::/10
}

void Fail(const std::string& url, const char* why) {
  std::fprintf(stderr, "outbound_url_fuzz: '%s' passed CheckUrl but %s\n",
               url.c_str(), why);
  std::abort();
}

}  // namespace
}  // namespace gennaker::http

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace http = gennaker::http;
  static const http::OutboundClient* kDefault =
      http::OutboundClient::Create(http::DefaultOutboundPolicy())->release();
  std::string input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> lines = absl::StrSplit(input, '\n');
  const std::string& url = lines[0];
  // libcurl stops at a NUL; so does every caller handing it a C string.
  if (url.find('\0') != std::string::npos) return 0;

  absl::Status checked = kDefault->CheckUrl(url);
  if (checked.ok()) {
    http::CurlView v = http::ReadWithCurl(url);
    if (!v.ok) http::Fail(url, "libcurl does not read it as a URL");
    if (v.scheme != "http" && v.scheme != "https") {
      http::Fail(url, "its scheme is not http or https");
    }
    if (v.host == "localhost") http::Fail(url, "its host is localhost");
    if (http::Private(v.host)) {
      http::Fail(url, "its host is a loopback or link-local address");
    }
  }

  if (lines.size() > 1) {
    http::OutboundPolicy policy = http::DefaultOutboundPolicy();
    policy.rejected_cidrs = {lines[1]};
    if (lines.size() > 2) policy.allowed_hostnames_regex = lines[2];
    absl::StatusOr<std::unique_ptr<http::OutboundClient>> client =
        http::OutboundClient::Create(policy);
    if (client.ok()) (void)(*client)->CheckUrl(url);
  }
  return 0;
}
