// The channels that send rendered notifications (notify.h): Slack, Twilio SMS
// and webhooks (email over SMTP is email_sender.cc), BuildSenders, and the
// URL, status and text helpers of notify_internal.h.
#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "common/http/http_client.h"
#include "common/http/outbound.h"
#include "common/log/log.h"
#include "common/spinnaker/json.h"
#include "services/echo/notify/config_rules.h"
#include "services/echo/notify/email_sender.h"
#include "services/echo/notify/notify.h"
#include "services/echo/notify/notify_internal.h"

namespace gennaker::echo {

namespace notify_internal {

std::string PercentEncode(absl::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string FormEncode(
    const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    if (!out.empty()) out += '&';
    absl::StrAppend(&out, PercentEncode(k), "=", PercentEncode(v));
  }
  return out;
}

std::string RedactUrl(absl::string_view url) {
  const size_t scheme_end = url.find("://");
  std::string scheme;
  absl::string_view rest = url;
  if (scheme_end != absl::string_view::npos) {
    scheme = std::string(url.substr(0, scheme_end + 3));
    rest = url.substr(scheme_end + 3);
  }
  const size_t cut = rest.find_first_of("?#");
  if (cut != absl::string_view::npos) rest = rest.substr(0, cut);
  const size_t slash = rest.find('/');
  absl::string_view authority = rest.substr(0, slash);
  absl::string_view path =
      slash == absl::string_view::npos ? "" : rest.substr(slash);
  const size_t at = authority.rfind('@');
  if (at != absl::string_view::npos) authority = authority.substr(at + 1);
  return SanitizeHeaderValue(absl::StrCat(scheme, authority, path));
}

absl::Status HttpAnswerStatus(int status, absl::string_view what,
                              absl::string_view detail) {
  std::string message = absl::StrCat(what, ": HTTP ", status);
  const std::string d = TruncateUtf8(SanitizeHeaderValue(detail), 200);
  if (!d.empty()) absl::StrAppend(&message, ": ", d);
  if (status == 429) return absl::ResourceExhaustedError(message);
  if (status >= 500 || status == 408) return absl::UnavailableError(message);
  if (status >= 400) return absl::FailedPreconditionError(message);
  return absl::UnknownError(message);
}

absl::Status SlackErrorStatus(absl::string_view what, absl::string_view error) {
  const std::string e = TruncateUtf8(SanitizeHeaderValue(error), 100);
  const std::string message = absl::StrCat(what, ": Slack answered ok:false (",
                                           e.empty() ? "?" : e, ")");
  static constexpr absl::string_view kTransient[] = {
      "ratelimited",    "rate_limited", "service_unavailable",
      "internal_error", "fatal_error",  "request_timeout"};
  for (absl::string_view t : kTransient) {
    if (e == t) return absl::UnavailableError(message);
  }
  return absl::FailedPreconditionError(message);
}

std::string TruncateUtf8(absl::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  size_t end = max_bytes;
  // Back up over continuation bytes to the start of the cut character.
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xc0) == 0x80) {
    --end;
  }
  return std::string(text.substr(0, end));
}

}  // namespace notify_internal

namespace {

using notify_internal::HttpAnswerStatus;
using notify_internal::RedactUrl;
using notify_internal::TruncateUtf8;

constexpr int kTimeoutMs = 10000;
constexpr int64_t kMaxAnswerBytes = 1 << 20;
constexpr size_t kMaxSmsChars = 1600;  // Twilio's limit for one message

bool IsHttpUrl(absl::string_view url) {
  return absl::StartsWith(url, "http://") || absl::StartsWith(url, "https://");
}

// A transport failure of a call to `url` restated for `what`: the code kept,
// the URL (which may hold a token) replaced by `shown_url`.
absl::Status Restate(const absl::Status& status, const std::string& url,
                     absl::string_view what, absl::string_view shown_url) {
  std::string reason(status.message());
  if (!url.empty()) {
    reason = absl::StrReplaceAll(reason, {{url, std::string(shown_url)}});
  }
  return absl::Status(status.code(), absl::StrCat(what, ": ", reason));
}

std::string Color(const std::string& status) {
  if (status == "failed") return "#B82525";
  if (status == "starting") return "#2275B8";
  if (status == "complete") return "#769D3E";
  return "#CCCCCC";
}

bool ValidChannelAddress(absl::string_view a) {
  return !a.empty() && a.size() <= 256 &&
         std::none_of(a.begin(), a.end(), [](char c) {
           return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
         });
}

class SlackSender : public NotificationSender {
 public:
  explicit SlackSender(const v1::SlackConfig& config)
      : token_(config.token()),
        base_url_(absl::StripSuffix(
            config.base_url().empty() ? "https://slack.com" : config.base_url(),
            "/")),
        webhook_base_url_(absl::StripSuffix(config.webhook_base_url().empty()
                                                ? "https://hooks.slack.com"
                                                : config.webhook_base_url(),
                                            "/")),
        bot_name_(config.bot_name()),
        webhook_mode_(config.force_use_incoming_webhook() ||
                      std::count(config.token().begin(), config.token().end(),
                                 '/') >= 2) {}

  std::string type() const override { return "slack"; }

  absl::Status Send(const NotificationMessage& m) override {
    const std::string channel(absl::StripAsciiWhitespace(m.address));
    const std::string what = absl::StrCat(
        "slack channel ", notify_internal::SanitizeHeaderValue(channel));
    if (!ValidChannelAddress(channel)) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": not a valid channel"));
    }
    spinnaker::Json attachment = {
        {"title", m.subject},
        {"text", m.body},
        {"color", Color(m.status)},
        {"fallback", m.subject.empty() ? m.body : m.subject},
        {"mrkdwn_in", spinnaker::Json::array({"text"})}};
    const spinnaker::Json attachments = spinnaker::Json::array({attachment});
    http::ClientRequest request;
    request.method = "POST";
    request.timeout_ms = kTimeoutMs;
    request.max_response_bytes = kMaxAnswerBytes;
    request.protocols = "http,https";
    std::string shown_url;
    if (webhook_mode_) {
      request.url = absl::StrCat(webhook_base_url_, "/services/", token_);
      shown_url = absl::StrCat(webhook_base_url_, "/services/<token>");
      spinnaker::Json body = {{"attachments", attachments},
                              {"channel", channel}};
      if (!bot_name_.empty()) body["username"] = bot_name_;
      request.headers = {{"Content-Type", "application/json"}};
      request.body = spinnaker::Dump(body);
    } else {
      request.url = absl::StrCat(base_url_, "/api/chat.postMessage");
      shown_url = request.url;
      request.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                         {"Authorization", absl::StrCat("Bearer ", token_)}};
      request.body = notify_internal::FormEncode(
          {{"token", token_},
           {"channel", channel},
           {"attachments", spinnaker::Dump(attachments)},
           {"as_user", "true"},
           {"link_names", "1"}});
    }
    absl::StatusOr<http::ClientResponse> r = http::Fetch(request);
    if (!r.ok()) return Restate(r.status(), request.url, what, shown_url);
    if (r->status < 200 || r->status >= 300) {
      return HttpAnswerStatus(r->status, what, Scrub(r->body));
    }
    if (webhook_mode_) return absl::OkStatus();  // answers "ok"
    absl::StatusOr<spinnaker::Json> answer =
        spinnaker::ParseJsonObject(r->body, "Slack's answer");
    if (!answer.ok()) {
      return absl::UnavailableError(
          absl::StrCat(what, ": Slack's answer is not JSON"));
    }
    if (!spinnaker::Bool(*answer, "ok", false)) {
      return notify_internal::SlackErrorStatus(
          what, spinnaker::String(*answer, "error"));
    }
    return absl::OkStatus();
  }

 private:
  // Slack never echoes the token, but a proxy in between might.
  std::string Scrub(const std::string& text) const {
    if (token_.empty()) return text;
    return absl::StrReplaceAll(text, {{token_, "<token>"}});
  }

  const std::string token_;
  const std::string base_url_;
  const std::string webhook_base_url_;
  const std::string bot_name_;
  const bool webhook_mode_;
};

class TwilioSender : public NotificationSender {
 public:
  explicit TwilioSender(const v1::TwilioConfig& config)
      : account_(config.account()),
        token_(config.token()),
        from_(config.from()),
        base_url_(absl::StripSuffix(config.base_url().empty()
                                        ? "https://api.twilio.com"
                                        : config.base_url(),
                                    "/")) {}

  std::string type() const override { return "sms"; }

  absl::Status Send(const NotificationMessage& m) override {
    const std::string to(absl::StripAsciiWhitespace(m.address));
    const std::string what =
        absl::StrCat("sms to ", notify_internal::SanitizeHeaderValue(to));
    if (!ValidChannelAddress(to) || to.size() > 64) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": not a valid phone number"));
    }
    http::ClientRequest request;
    request.method = "POST";
    request.url = absl::StrCat(base_url_, "/2010-04-01/Accounts/",
                               notify_internal::PercentEncode(account_),
                               "/Messages.json");
    request.timeout_ms = kTimeoutMs;
    request.max_response_bytes = kMaxAnswerBytes;
    request.protocols = "http,https";
    request.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                       {"Authorization",
                        absl::StrCat("Basic ", absl::Base64Escape(absl::StrCat(
                                                   account_, ":", token_)))}};
    request.body = notify_internal::FormEncode(
        {{"From", from_},
         {"To", to},
         {"Body", TruncateUtf8(m.body, kMaxSmsChars)}});
    absl::StatusOr<http::ClientResponse> r = http::Fetch(request);
    if (!r.ok()) return Restate(r.status(), request.url, what, request.url);
    if (r->status >= 200 && r->status < 300) return absl::OkStatus();
    // Twilio's error body: {code, message, more_info, status}.
    std::string detail;
    absl::StatusOr<spinnaker::Json> answer =
        spinnaker::ParseJsonObject(r->body, "Twilio's answer");
    if (answer.ok()) {
      detail = absl::StrCat("Twilio error ", spinnaker::Int(*answer, "code"),
                            ": ", spinnaker::String(*answer, "message"));
    }
    if (!token_.empty()) {
      detail = absl::StrReplaceAll(detail, {{token_, "<token>"}});
    }
    return HttpAnswerStatus(r->status, what, detail);
  }

 private:
  const std::string account_;
  const std::string token_;
  const std::string from_;
  const std::string base_url_;
};

class WebhookSender : public NotificationSender {
 public:
  explicit WebhookSender(const http::OutboundClient* outbound)
      : outbound_(outbound) {}

  std::string type() const override { return "webhook"; }

  absl::Status Send(const NotificationMessage& m) override {
    const std::string url(absl::StripAsciiWhitespace(m.address));
    const std::string shown = RedactUrl(url);
    const std::string what = absl::StrCat("webhook ", shown);
    if (!IsHttpUrl(url) || url.size() > 4096) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": the address must be an http(s) URL"));
    }
    http::ClientRequest request;
    request.method = "POST";
    request.url = url;
    request.timeout_ms = kTimeoutMs;
    request.max_response_bytes = kMaxAnswerBytes;
    request.headers = {{"Content-Type", "application/json"}};
    request.body = spinnaker::Dump(m.payload);
    absl::StatusOr<http::ClientResponse> r = outbound_->Fetch(request);
    if (!r.ok()) return Restate(r.status(), url, what, shown);
    if (r->status >= 200 && r->status < 300) return absl::OkStatus();
    return HttpAnswerStatus(r->status, what, "");
  }

 private:
  const http::OutboundClient* outbound_;
};

absl::Status CheckBaseUrl(const std::string& url, absl::string_view field) {
  if (url.empty() || IsHttpUrl(url)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(field, " must be an http:// or https:// URL"));
}

}  // namespace

absl::StatusOr<std::vector<std::unique_ptr<NotificationSender>>> BuildSenders(
    const v1::NotificationsConfig& config,
    const http::OutboundClient* outbound) {
  std::vector<std::unique_ptr<NotificationSender>> out;
  if (config.slack().enabled()) {
    const v1::SlackConfig& s = config.slack();
    if (s.token().empty()) {
      return absl::InvalidArgumentError(
          "notifications.slack.token is required when Slack is enabled");
    }
    if (!config_rules::ValidSlackToken(s.token())) {
      return absl::InvalidArgumentError(
          "notifications.slack.token holds characters a token cannot have");
    }
    absl::Status st =
        CheckBaseUrl(s.base_url(), "notifications.slack.base_url");
    if (!st.ok()) return st;
    st = CheckBaseUrl(s.webhook_base_url(),
                      "notifications.slack.webhook_base_url");
    if (!st.ok()) return st;
    out.push_back(std::make_unique<SlackSender>(s));
  }
  if (config.email().enabled()) {
    // libcurl's global state, set up once before any thread sends.
    static const bool curl_ready =
        curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
    if (!curl_ready) return absl::InternalError("curl_global_init failed");
    const v1::EmailConfig& e = config.email();
    if (e.smtp_host().empty()) {
      return absl::InvalidArgumentError(
          "notifications.email.smtp_host is required when email is enabled");
    }
    if (!config_rules::ValidSmtpHost(e.smtp_host())) {
      return absl::InvalidArgumentError(
          "notifications.email.smtp_host must be a host name or address");
    }
    if (!notify_internal::ValidEmailAddress(e.from())) {
      return absl::InvalidArgumentError(
          "notifications.email.from must be an email address "
          "(required when email is enabled)");
    }
    if (e.smtp_port() < 0 || e.smtp_port() > 65535) {
      return absl::InvalidArgumentError(
          "notifications.email.smtp_port must be 1..65535");
    }
    if (!config_rules::SmtpCredentialsProtected(e.username(), e.starttls())) {
      return absl::InvalidArgumentError(
          "notifications.email: a username needs starttls (credentials would "
          "travel in clear)");
    }
    out.push_back(notify_internal::NewEmailSender(e));
  }
  if (config.twilio().enabled()) {
    const v1::TwilioConfig& t = config.twilio();
    if (t.account().empty() || t.token().empty() || t.from().empty()) {
      return absl::InvalidArgumentError(
          "notifications.twilio needs account, token and from when SMS is "
          "enabled");
    }
    absl::Status st =
        CheckBaseUrl(t.base_url(), "notifications.twilio.base_url");
    if (!st.ok()) return st;
    out.push_back(std::make_unique<TwilioSender>(t));
  }
  if (config.webhook_enabled()) {
    if (outbound == nullptr) {
      return absl::InvalidArgumentError(
          "webhook notifications need an outbound client");
    }
    out.push_back(std::make_unique<WebhookSender>(outbound));
  }
  return out;
}

bool IsRetryable(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kAborted:
      return true;
    default:
      return false;
  }
}

}  // namespace gennaker::echo
