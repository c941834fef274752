#include "services/echo/triggers/events.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "services/echo/triggers/scm_handlers.h"

namespace gennaker::echo {
namespace {

using scm_internal::GithubFileArtifacts;
using scm_internal::GitlabFileArtifacts;
using scm_internal::HandleBitbucket;
using scm_internal::HandleGitea;
using scm_internal::HandleGithub;
using scm_internal::HandleGitlab;
using scm_internal::HandleStash;
using spinnaker::String;

// Webhook bodies are small (GitHub caps them at 25 MB; a push with many
// commits is a few hundred KB).
constexpr size_t kMaxBodyBytes = size_t{8} << 20;
constexpr size_t kMaxHeaders = 200;
// The request header BuildWebhookEvent stores in place of X-Gitlab-Token.
constexpr char kGitlabTokenHmac[] = "x-gennaker-gitlab-token-hmac";

const Json* Member(const Json& j, std::string_view key) {
  return spinnaker::internal::Member(j, key);
}

const Json* ObjectMember(const Json& j, std::string_view key) {
  const Json* m = Member(j, key);
  return m != nullptr && m->is_object() ? m : nullptr;
}

std::string Hex(const unsigned char* data, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0xf]);
  }
  return out;
}

// Decodes hex (either case); false when malformed.
bool DecodeHex(absl::string_view hex, std::string* out) {
  if (hex.size() % 2 != 0) return false;
  out->clear();
  out->reserve(hex.size() / 2);
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]);
    int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>((hi << 4) | lo));
  }
  return true;
}

// Constant-time equality of two byte strings (the length is not secret).
bool SameBytes(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string Hmac(const EVP_MD* md, absl::string_view key,
                 absl::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(md, key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(),
           out, &len) == nullptr) {
    return "";
  }
  return std::string(reinterpret_cast<const char*>(out), len);
}

// The first value of request header `name` (lower-case) in the event.
const std::string* HeaderValue(const Json& event, std::string_view name) {
  const Json* details = ObjectMember(event, "details");
  if (details == nullptr) return nullptr;
  const Json* headers = ObjectMember(*details, "requestHeaders");
  if (headers == nullptr) return nullptr;
  for (auto it = headers->begin(); it != headers->end(); ++it) {
    if (!absl::EqualsIgnoreCase(it.key(),
                                absl::string_view(name.data(), name.size())))
      continue;
    const Json& v = it.value();
    if (v.is_string()) return v.get_ptr<const std::string*>();
    if (v.is_array() && !v.empty() && v.front().is_string()) {
      return v.front().get_ptr<const std::string*>();
    }
    return nullptr;
  }
  return nullptr;
}

bool SensitiveHeader(absl::string_view lower) {
  return lower == "authorization" || lower == "proxy-authorization" ||
         lower == "cookie" || lower == "set-cookie";
}

}  // namespace

absl::StatusOr<WebhookEvent> BuildWebhookEvent(const IncomingWebhook& webhook) {
  if (webhook.type.empty()) {
    return absl::InvalidArgumentError("webhook type is missing");
  }
  if (webhook.raw_body.size() > kMaxBodyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("webhook body is larger than ", kMaxBodyBytes, " bytes"));
  }
  absl::string_view text = webhook.raw_body;
  if (text.empty() && webhook.source == "bitbucket") text = "{}";
  spinnaker::JsonLimits limits;
  limits.max_bytes = kMaxBodyBytes;
  auto parsed = spinnaker::ParseJson(text, "webhook body", limits);
  if (!parsed.ok()) return parsed.status();
  Json body = std::move(*parsed);
  if (body.is_null()) body = Json::object();
  if (!body.is_object()) {
    return absl::InvalidArgumentError("webhook body must be a JSON object");
  }
  std::string source =
      webhook.source.empty() ? String(body, "source") : webhook.source;
  if (source.empty()) {
    return absl::InvalidArgumentError(
        "webhook source is missing (POST /webhooks/{type}/{source}, or a "
        "\"source\" in the body)");
  }
  const bool git = webhook.type == "git";
  // A git webhook's artifacts are derived from its payload, never taken from
  // the (not yet authenticated) body.
  if (git) body.erase("artifacts");

  Json headers = Json::object();
  std::optional<std::string> gitlab_token;
  std::string event_key;
  size_t header_count = 0;
  for (const auto& [name, value] : webhook.headers) {
    if (++header_count > kMaxHeaders) break;
    std::string lower = absl::AsciiStrToLower(name);
    if (SensitiveHeader(lower)) continue;
    if (lower == "x-event-key" && event_key.empty()) event_key = value;
    // GitLab's token is the shared secret itself: never stored (see
    // kGitlabTokenHmac). The derived header is ours only.
    if (lower == "x-gitlab-token") {
      if (!gitlab_token.has_value()) gitlab_token = value;
      continue;
    }
    if (lower == kGitlabTokenHmac) continue;
    Json& list = headers[lower];
    if (!list.is_array()) list = Json::array();
    list.push_back(value);
  }
  if (gitlab_token.has_value()) {
    // A signature over this body keyed by the token: CheckGitSignature
    // validates it as it does GitHub's, and it proves nothing for any other
    // body (unlike a digest of the token, which would work as a password).
    const std::string mac = Hmac(EVP_sha256(), *gitlab_token, webhook.raw_body);
    headers[kGitlabTokenHmac] = Json::array({absl::StrCat(
        "sha256=",
        Hex(reinterpret_cast<const unsigned char*>(mac.data()), mac.size()))});
  }

  WebhookEvent out;
  Json& event = out.event;
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count();
  event["details"] = {{"type", webhook.type},
                      {"source", source},
                      {"created", std::to_string(now_ms)},
                      {"requestHeaders", headers}};
  event["content"] = body;
  event["payload"] = body;
  event["rawContent"] = webhook.raw_body;
  if (!event_key.empty()) event["content"]["event_type"] = event_key;

  if (git) {
    absl::Status st;
    if (source == "github") {
      st = HandleGithub(body, headers, out);
    } else if (source == "gitlab") {
      st = HandleGitlab(body, out);
    } else if (source == "bitbucket") {
      st = HandleBitbucket(body, out);
    } else if (source == "stash") {
      st = HandleStash(body, out);
    } else if (source == "gitea") {
      st = HandleGitea(body, headers, out);
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "git source '", source,
          "' is not supported (github, gitlab, bitbucket, stash, gitea)"));
    }
    if (!st.ok()) return st;
  }

  Json& content = event["content"];
  const Json* artifacts = Member(content, "artifacts");
  const bool has_artifacts = artifacts != nullptr && !artifacts->is_null() &&
                             !(artifacts->is_array() && artifacts->empty());
  if (!has_artifacts) {
    Json extracted = Json::array();
    if (git && out.processed && source == "github") {
      extracted = GithubFileArtifacts(body);
    } else if (git && source == "gitlab") {
      extracted = GitlabFileArtifacts(body);
    }
    content["artifacts"] = std::move(extracted);
  }
  return out;
}

SignatureCheck CheckGitSignature(const Json& event, absl::string_view secret) {
  std::string source;
  if (const Json* details = ObjectMember(event, "details");
      details != nullptr) {
    source = absl::AsciiStrToLower(String(*details, "source"));
  }
  std::string raw = String(event, "rawContent");

  const EVP_MD* md = nullptr;
  absl::string_view hex;
  if (source == "gitlab") {
    const std::string* sig = HeaderValue(event, kGitlabTokenHmac);
    if (sig != nullptr) {
      md = EVP_sha256();
      hex = absl::StripAsciiWhitespace(*sig);
      if (!absl::ConsumePrefix(&hex, "sha256=")) hex = {};
    }
  } else if (source == "gitea") {
    const std::string* sig = HeaderValue(event, "x-gitea-signature");
    if (sig != nullptr) {
      md = EVP_sha256();
      hex = absl::StripAsciiWhitespace(*sig);
    }
  } else if (const std::string* s256 =
                 HeaderValue(event, "x-hub-signature-256");
             s256 != nullptr) {
    md = EVP_sha256();
    hex = absl::StripAsciiWhitespace(*s256);
    if (!absl::ConsumePrefix(&hex, "sha256=")) hex = {};
  } else if (const std::string* s1 = HeaderValue(event, "x-hub-signature");
             s1 != nullptr) {
    hex = absl::StripAsciiWhitespace(*s1);
    if (absl::ConsumePrefix(&hex, "sha1=")) {
      md = EVP_sha1();
    } else if (absl::ConsumePrefix(&hex, "sha256=")) {
      md = EVP_sha256();
    } else {
      md = EVP_sha1();  // malformed: never validates
      hex = {};
    }
  }
  if (md == nullptr) {
    return secret.empty() ? SignatureCheck::kNotNeeded
                          : SignatureCheck::kMissing;
  }
  if (secret.empty()) return SignatureCheck::kUnexpected;
  std::string given;
  if (hex.empty() || !DecodeHex(hex, &given)) return SignatureCheck::kInvalid;
  std::string expected = Hmac(md, secret, raw);
  if (expected.empty()) return SignatureCheck::kInvalid;
  return SameBytes(given, expected) ? SignatureCheck::kValid
                                    : SignatureCheck::kInvalid;
}

}  // namespace gennaker::echo
