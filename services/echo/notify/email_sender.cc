// The email channel of echo's notifications (email_sender.h): the message
// built by ComposeEmail and sent over SMTP with libcurl, plus the address and
// header helpers of notify_internal.h.
#include "services/echo/notify/email_sender.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/http/http.h"
#include "common/ids/ids.h"
#include "services/echo/notify/config_rules.h"
#include "services/echo/notify/notify.h"
#include "services/echo/notify/notify_internal.h"

namespace gennaker::echo {

namespace notify_internal {

std::vector<std::string> SplitAddresses(absl::string_view text) {
  std::vector<std::string> out;
  for (absl::string_view part :
       absl::StrSplit(text, absl::ByAnyChar(" ,;\t\r\n"), absl::SkipEmpty())) {
    out.emplace_back(part);
  }
  return out;
}

bool ValidEmailAddress(absl::string_view address) {
  return config_rules::ValidEmailAddress(address);
}

std::string SanitizeHeaderValue(absl::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (unsigned char c : value) {
    out += (c < 0x20 || c == 0x7f) ? ' ' : static_cast<char>(c);
  }
  return std::string(absl::StripAsciiWhitespace(out));
}

namespace {

bool IsAsciiPrintable(absl::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u < 0x7f;
  });
}

// Length of the UTF-8 sequence starting with `lead` (1 for stray bytes).
size_t Utf8Length(unsigned char lead) {
  if (lead >= 0xf0 && lead < 0xf8) return 4;
  if (lead >= 0xe0) return lead < 0xf0 ? 3 : 1;
  if (lead >= 0xc0) return 2;
  return 1;
}

// "a, b, c" folded after commas so that no line passes ~76 characters.
std::string FoldList(size_t name_length,
                     const std::vector<std::string>& items) {
  std::string out;
  size_t line = name_length;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) {
      out += ',';
      ++line;
      if (line + 1 + items[i].size() > 76) {
        out += "\r\n";
        line = 0;
      }
      out += ' ';
      ++line;
    }
    out += items[i];
    line += items[i].size();
  }
  return out;
}

}  // namespace

std::string EncodeHeaderText(absl::string_view value) {
  const std::string text = SanitizeHeaderValue(value);
  constexpr size_t kNameLength = 9;  // "Subject: "
  if (IsAsciiPrintable(text)) {
    // Fold at spaces: a folded line is unfolded by removing the CRLF.
    std::string out;
    size_t line = kNameLength;
    for (absl::string_view word : absl::StrSplit(text, ' ')) {
      if (!out.empty()) {
        if (line + 1 + word.size() > 76) {
          out += "\r\n";
          line = 0;
        }
        out += ' ';
        ++line;
      }
      absl::StrAppend(&out, word);
      line += word.size();
    }
    return out;
  }
  // RFC 2047 encoded words of at most 45 bytes each (60 base64 characters),
  // never splitting a character.
  std::vector<std::string> words;
  size_t i = 0;
  while (i < text.size()) {
    size_t end = i;
    while (end < text.size()) {
      const size_t n = Utf8Length(static_cast<unsigned char>(text[end]));
      if (end + n - i > 45) break;
      end += std::min(n, text.size() - end);
    }
    if (end == i) end = std::min(text.size(), i + 1);
    words.push_back(absl::StrCat(
        "=?UTF-8?B?", absl::Base64Escape(text.substr(i, end - i)), "?="));
    i = end;
  }
  return absl::StrJoin(words, "\r\n ");
}

std::string ComposeEmail(const EmailParts& parts) {
  std::string m;
  absl::StrAppend(&m, "Date: ",
                  absl::FormatTime("%a, %d %b %Y %H:%M:%S +0000", parts.date,
                                   absl::UTCTimeZone()),
                  "\r\n");
  absl::StrAppend(&m, "From: ", SanitizeHeaderValue(parts.from), "\r\n");
  std::vector<std::string> to;
  for (const std::string& a : parts.to) to.push_back(SanitizeHeaderValue(a));
  absl::StrAppend(&m, "To: ", FoldList(4, to), "\r\n");
  if (!parts.cc.empty()) {
    std::vector<std::string> cc;
    for (const std::string& a : parts.cc) cc.push_back(SanitizeHeaderValue(a));
    absl::StrAppend(&m, "Cc: ", FoldList(4, cc), "\r\n");
  }
  absl::StrAppend(&m, "Subject: ", EncodeHeaderText(parts.subject), "\r\n");
  absl::StrAppend(&m, "Message-ID: <", SanitizeHeaderValue(parts.message_id),
                  ">\r\n");
  absl::StrAppend(&m, "MIME-Version: 1.0\r\n",
                  "Content-Type: text/html; charset=UTF-8\r\n",
                  "Content-Transfer-Encoding: base64\r\n", "\r\n");
  // Base64 keeps every line short and free of a lone "." or a bare CR/LF,
  // whatever the body holds.
  const std::string encoded = absl::Base64Escape(parts.html_body);
  for (size_t i = 0; i < encoded.size(); i += 76) {
    absl::StrAppend(&m, encoded.substr(i, 76), "\r\n");
  }
  return m;
}

std::string TextToHtml(absl::string_view text) {
  std::string out = "<html><body>\n";
  size_t i = 0;
  while (i < text.size()) {
    absl::string_view rest = text.substr(i);
    if (absl::StartsWith(rest, "http://") ||
        absl::StartsWith(rest, "https://")) {
      size_t end = 0;
      while (end < rest.size() &&
             !absl::ascii_isspace(static_cast<unsigned char>(rest[end])) &&
             rest[end] != '<' && rest[end] != '>' && rest[end] != '"') {
        ++end;
      }
      const std::string url =
          http::HtmlEscape(std::string_view(rest.data(), end));
      absl::StrAppend(&out, "<a href=\"", url, "\">", url, "</a>");
      i += end;
      continue;
    }
    const char c = text[i];
    if (c == '\n') {
      out += "<br/>\n";
    } else if (c != '\r') {
      out += http::HtmlEscape(std::string_view(&text[i], 1));
    }
    ++i;
  }
  out += "\n</body></html>\n";
  return out;
}

}  // namespace notify_internal

namespace {

using notify_internal::TruncateUtf8;

constexpr int kTimeoutMs = 10000;  // the other senders' (senders.cc)
constexpr size_t kMaxRecipients = 100;

// Feeds the message to libcurl's upload.
struct UploadSource {
  const std::string* data;
  size_t offset = 0;
};

size_t ReadUpload(char* buffer, size_t size, size_t n, void* user) {
  auto* src = static_cast<UploadSource*>(user);
  const size_t room = size * n;
  const size_t left = src->data->size() - src->offset;
  const size_t count = std::min(room, left);
  std::memcpy(buffer, src->data->data() + src->offset, count);
  src->offset += count;
  return count;
}

class EmailSender : public NotificationSender {
 public:
  explicit EmailSender(const v1::EmailConfig& config)
      : from_(config.from()),
        host_(config.smtp_host()),
        port_(config.smtp_port() > 0 ? config.smtp_port() : 25),
        username_(config.username()),
        password_(config.password()),
        starttls_(config.starttls()) {}

  std::string type() const override { return "email"; }

  absl::Status Send(const NotificationMessage& m) override {
    std::vector<std::string> to = notify_internal::SplitAddresses(m.address);
    std::vector<std::string> cc;
    for (const std::string& c : m.cc) {
      for (std::string& a : notify_internal::SplitAddresses(c)) {
        cc.push_back(std::move(a));
      }
    }
    const std::string what = absl::StrCat(
        "email to ", TruncateUtf8(notify_internal::SanitizeHeaderValue(
                                      absl::StrJoin(to, ", ")),
                                  300));
    if (to.empty()) {
      return absl::InvalidArgumentError("email: no recipient address");
    }
    if (to.size() + cc.size() > kMaxRecipients) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": more than ", kMaxRecipients, " recipients"));
    }
    for (const std::vector<std::string>* list : {&to, &cc}) {
      for (const std::string& a : *list) {
        if (!notify_internal::ValidEmailAddress(a)) {
          return absl::InvalidArgumentError(absl::StrCat(
              what, ": '",
              TruncateUtf8(notify_internal::SanitizeHeaderValue(a), 100),
              "' is not a valid email address"));
        }
      }
    }
    notify_internal::EmailParts parts;
    parts.from = from_;
    parts.to = to;
    parts.cc = cc;
    parts.subject = m.subject;
    parts.html_body = notify_internal::TextToHtml(m.body);
    parts.date = absl::Now();
    const size_t at = from_.find('@');
    parts.message_id = absl::StrCat(
        NewUuid(), "@",
        at == std::string::npos ? "gennaker.local" : from_.substr(at + 1));
    const std::string message = notify_internal::ComposeEmail(parts);

    CURL* curl = curl_easy_init();
    if (curl == nullptr) {
      return absl::InternalError(absl::StrCat(what, ": curl_easy_init failed"));
    }
    const std::string host =
        absl::StrContains(host_, ':') ? absl::StrCat("[", host_, "]") : host_;
    const std::string url = absl::StrCat("smtp://", host, ":", port_);
    const std::string mail_from = absl::StrCat("<", from_, ">");
    curl_slist* rcpt = nullptr;
    for (const std::vector<std::string>* list : {&to, &cc}) {
      for (const std::string& a : *list) {
        rcpt = curl_slist_append(rcpt, absl::StrCat("<", a, ">").c_str());
      }
    }
    UploadSource source{&message};
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp");
    curl_easy_setopt(curl, CURLOPT_PROXY, "");
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, mail_from.c_str());
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, &ReadUpload);
    curl_easy_setopt(curl, CURLOPT_READDATA, &source);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE,
                     static_cast<curl_off_t>(message.size()));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(kTimeoutMs));
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    if (starttls_) curl_easy_setopt(curl, CURLOPT_USE_SSL, CURLUSESSL_ALL);
    if (!username_.empty()) {
      curl_easy_setopt(curl, CURLOPT_USERNAME, username_.c_str());
      curl_easy_setopt(curl, CURLOPT_PASSWORD, password_.c_str());
    }
    const CURLcode rc = curl_easy_perform(curl);
    long reply = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply);
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(curl);
    if (rc == CURLE_OK) return absl::OkStatus();

    const std::string reason = absl::StrCat(
        what, " via smtp ", host, ":", port_, ": ", curl_easy_strerror(rc),
        reply > 0 ? absl::StrCat(" (SMTP reply ", reply, ")") : "");
    switch (rc) {
      case CURLE_OPERATION_TIMEDOUT:
        return absl::DeadlineExceededError(reason);
      case CURLE_LOGIN_DENIED:
      case CURLE_USE_SSL_FAILED:
      case CURLE_SSL_CONNECT_ERROR:
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CACERT_BADFILE:
      case CURLE_UNSUPPORTED_PROTOCOL:
      case CURLE_URL_MALFORMAT:
        return absl::FailedPreconditionError(reason);
      default:
        break;
    }
    // The server's reply decides: 4xx is transient, 5xx permanent.
    if (reply >= 500) return absl::FailedPreconditionError(reason);
    if (reply >= 400) return absl::UnavailableError(reason);
    return absl::UnavailableError(reason);
  }

 private:
  const std::string from_;
  const std::string host_;
  const int port_;
  const std::string username_;
  const std::string password_;
  const bool starttls_;
};

}  // namespace

namespace notify_internal {

std::unique_ptr<NotificationSender> NewEmailSender(
    const v1::EmailConfig& config) {
  return std::make_unique<EmailSender>(config);
}

}  // namespace notify_internal

}  // namespace gennaker::echo
