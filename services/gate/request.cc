#include "services/gate/request.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/log/call_context.h"

namespace gennaker::gate {

absl::StatusOr<spinnaker::Json> ParseJsonObjectBody(absl::string_view text,
                                                    absl::string_view what,
                                                    bool empty_is_object) {
  if (absl::StripAsciiWhitespace(text).empty()) {
    if (empty_is_object) return spinnaker::Json::object();
    return absl::InvalidArgumentError(absl::StrCat(what, " is required"));
  }
  // Gate's wording of the depth limit, which its clients see.
  if (!spinnaker::WithinNesting(text)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "JSON nested deeper than ", spinnaker::kMaxJsonDepth, " levels"));
  }
  return spinnaker::ParseJsonObject(text, what);
}

bool IsJsonContentType(absl::string_view content_type) {
  absl::string_view media = content_type.substr(0, content_type.find(';'));
  std::string type = absl::AsciiStrToLower(absl::StripAsciiWhitespace(media));
  if (type == "application/json") return true;
  const size_t slash = type.find('/');
  return slash != std::string::npos && slash > 0 &&
         absl::EndsWith(type.substr(slash + 1), "+json");
}

bool SameOrigin(const http::Request& r, const std::string& origin) {
  const size_t scheme_end = origin.find("://");
  if (scheme_end == std::string::npos) return false;
  const std::string host = absl::AsciiStrToLower(origin.substr(scheme_end + 3));
  for (const char* header : {"host", "x-forwarded-host"}) {
    // A proxy may list several hosts; the first is the client's.
    std::string value = r.Header(header);
    value = value.substr(0, value.find(','));
    if (!value.empty() &&
        absl::AsciiStrToLower(absl::StripAsciiWhitespace(value)) == host) {
      return true;
    }
  }
  return false;
}

absl::Status CheckWrite(
    const http::Request& r,
    const std::function<bool(const std::string&)>& origin_allowed) {
  if (r.method != "POST" && r.method != "PUT" && r.method != "PATCH" &&
      r.method != "DELETE") {
    return absl::OkStatus();
  }
  const std::string origin = r.Header("origin");
  if (!origin.empty() && !SameOrigin(r, origin) && !origin_allowed(origin)) {
    return absl::PermissionDeniedError("origin not allowed");
  }
  // An empty body carries nothing to misread (HTTP clients label even that
  // with a form type).
  if (r.body.empty()) return absl::OkStatus();
  const std::string type = r.Header("content-type");
  if (!IsJsonContentType(type)) {
    return absl::FailedPreconditionError(
        absl::StrCat("Content-Type '", type.empty() ? "(none)" : type,
                     "' not supported: send the body as application/json"));
  }
  return absl::OkStatus();
}

std::string ForwardableRequestId(const std::string& id) {
  bool ok = !id.empty() && id.size() <= kMaxRequestIdLength;
  for (char c : id) {
    ok = ok && (absl::ascii_isalnum(c) || c == '.' || c == '_' || c == ':' ||
                c == '-');
  }
  return ok ? id : NewRequestId();
}

std::string ForwardableValue(const std::string& value) {
  if (value.size() > kMaxForwardedValueLength) return "";
  for (char c : value) {
    if (c < 0x20 || c > 0x7e) return "";
  }
  return value;
}

}  // namespace gennaker::gate
