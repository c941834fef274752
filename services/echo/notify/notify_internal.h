// Helpers of echo's notification senders, exposed for unit tests only (the
// contract is notify.h).
#ifndef GENNAKER_SERVICES_ECHO_NOTIFY_NOTIFY_INTERNAL_H_
#define GENNAKER_SERVICES_ECHO_NOTIFY_NOTIFY_INTERNAL_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace gennaker::echo::notify_internal {

// Email addresses in `text`, split on spaces, commas and semicolons (as
// Spinnaker's EmailNotificationService), empty parts dropped.
std::vector<std::string> SplitAddresses(absl::string_view text);

// A bare addr-spec (local@domain): printable ASCII, no spaces, angle
// brackets, quotes, commas, semicolons or control characters, one '@' with
// text on both sides; at most 254 characters.
bool ValidEmailAddress(absl::string_view address);

// `value` with CR, LF and other control characters replaced by spaces and
// surrounding spaces trimmed: what goes into a header can never start a new
// header or the body.
std::string SanitizeHeaderValue(absl::string_view value);

// An unstructured header value (Subject) after sanitizing: ASCII text folded
// at spaces to keep lines short; anything else as RFC 2047 UTF-8 base64
// encoded words (split on character boundaries, each under 76 characters).
std::string EncodeHeaderText(absl::string_view value);

struct EmailParts {
  std::string from;
  std::vector<std::string> to;
  std::vector<std::string> cc;
  std::string subject;
  std::string html_body;
  absl::Time date;
  std::string message_id;  // without angle brackets
};

// The RFC 5322 message (CRLF line ends): Date, From, To, Cc, Subject,
// Message-ID, MIME-Version, Content-Type text/html; charset=UTF-8,
// Content-Transfer-Encoding base64, then the body in 76-character lines.
std::string ComposeEmail(const EmailParts& parts);

// Plain text as an HTML document: escaped, line breaks kept, http(s) URLs as
// links.
std::string TextToHtml(absl::string_view text);

// Everything but unreserved characters (RFC 3986) percent-encoded.
std::string PercentEncode(absl::string_view s);

// application/x-www-form-urlencoded body of `fields`.
std::string FormEncode(
    const std::vector<std::pair<std::string, std::string>>& fields);

// `url` without user info, query and fragment: safe to name in errors.
std::string RedactUrl(absl::string_view url);

// The status for an HTTP answer `status` (not 2xx) of a call about `what`
// (e.g. "slack channel #ops"): 429 RESOURCE_EXHAUSTED, 5xx/408 UNAVAILABLE,
// other 4xx FAILED_PRECONDITION, else UNKNOWN; `detail` (bounded) appended.
absl::Status HttpAnswerStatus(int status, absl::string_view what,
                              absl::string_view detail);

// The status for Slack's {"ok":false,"error":<error>}: ratelimited and
// Slack's server-side errors UNAVAILABLE (retryable), anything else
// FAILED_PRECONDITION.
absl::Status SlackErrorStatus(absl::string_view what, absl::string_view error);

// `text` cut to at most `max_bytes` without splitting a UTF-8 character.
std::string TruncateUtf8(absl::string_view text, size_t max_bytes);

}  // namespace gennaker::echo::notify_internal

#endif  // GENNAKER_SERVICES_ECHO_NOTIFY_NOTIFY_INTERNAL_H_
