#include "common/http/http.h"

#include <chrono>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/status/grpc_status.h"
#include "nlohmann/json.hpp"

namespace gennaker::http {

std::string Request::Query(const std::string& name,
                           const std::string& fallback) const {
  auto it = query.find(name);
  return it == query.end() ? fallback : it->second;
}

std::string Request::Header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

absl::StatusOr<bool> QueryBool(const Request& r, const std::string& name,
                               bool fallback) {
  std::string v =
      absl::AsciiStrToLower(absl::StripAsciiWhitespace(r.Query(name)));
  if (v.empty()) return fallback;
  if (v == "true" || v == "on" || v == "yes" || v == "1") return true;
  if (v == "false" || v == "off" || v == "no" || v == "0") return false;
  return absl::InvalidArgumentError(
      absl::StrCat("query parameter '", name, "' must be true or false"));
}

absl::StatusOr<int> QueryPositiveInt(const Request& r, const std::string& name,
                                     int fallback) {
  absl::string_view v = absl::StripAsciiWhitespace(r.Query(name));
  if (v.empty()) return fallback;
  int n;
  if (!absl::SimpleAtoi(v, &n) || n < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "query parameter '", name, "' must be a positive integer"));
  }
  return n;
}

std::vector<std::string> Request::QueryList(const std::string& name) const {
  std::vector<std::string> out;
  auto [begin, end] = query.equal_range(name);
  for (auto it = begin; it != end; ++it) {
    for (absl::string_view v : absl::StrSplit(it->second, ',')) {
      v = absl::StripAsciiWhitespace(v);
      if (!v.empty()) out.emplace_back(v);
    }
  }
  return out;
}

Response Json(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Response SharedJson(int status, std::shared_ptr<const std::string> body) {
  Response r;
  r.status = status;
  r.shared_body = std::move(body);
  return r;
}

absl::string_view ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 415:
      return "Unsupported Media Type";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Error";
  }
}

Response Error(int status, absl::string_view message, absl::string_view path) {
  nlohmann::json body = {
      {"timestamp", absl::ToUnixMillis(absl::Now())},
      {"status", status},
      {"error", std::string(ReasonPhrase(status))},
      {"message", std::string(message)},
      {"path", std::string(path)},
  };
  // Replace, not throw on, invalid UTF-8: the path comes from the client.
  return Json(status, body.dump(-1, ' ', false,
                                nlohmann::json::error_handler_t::replace));
}

Response ErrorFromStatus(const absl::Status& status, absl::string_view path) {
  return Error(HttpStatusFromCode(status.code()), status.message(), path);
}

std::string PercentDecode(absl::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && hex(in[i + 1]) >= 0 &&
        hex(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2])));
      i += 2;
    } else if (plus_is_space && in[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

std::string PercentEncode(absl::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : in) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

void Router::Add(absl::string_view method, absl::string_view pattern,
                 Handler handler) {
  Route r;
  r.method = std::string(method);
  r.pattern = std::string(pattern);
  r.segments = absl::StrSplit(pattern, '/', absl::SkipEmpty());
  r.handler = std::move(handler);
  routes_.push_back(std::move(r));
}

namespace {

// True when `s` is well-formed UTF-8 (no overlongs, surrogates or code points
// past U+10FFFF).
bool ValidUtf8(absl::string_view s) {
  static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = s[i];
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c >> 5) == 0x6) {
      n = 1, cp = c & 0x1f;
    } else if ((c >> 4) == 0xe) {
      n = 2, cp = c & 0x0f;
    } else if ((c >> 3) == 0x1e) {
      n = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (s.size() - i <= n) return false;
    for (size_t k = 1; k <= n; ++k) {
      const unsigned char cc = s[i + k];
      if ((cc >> 6) != 0x2) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += n + 1;
  }
  return true;
}

}  // namespace

const Router::Route* Router::Match(Request& request, bool* path_known) const {
  std::vector<absl::string_view> parts =
      absl::StrSplit(request.path, '/', absl::SkipEmpty());
  *path_known = false;
  for (const Route& route : routes_) {
    std::map<std::string, std::string> params;
    bool ok = true;
    size_t i = 0;
    for (; i < route.segments.size() && ok; ++i) {
      const std::string& seg = route.segments[i];
      if (seg == "**") {
        std::string rest;
        for (size_t j = i; j < parts.size(); ++j) {
          if (!rest.empty()) rest += "/";
          rest += PercentDecode(parts[j]);
        }
        params["**"] = rest;
        i = parts.size();
        break;
      }
      if (i >= parts.size()) {
        ok = false;
      } else if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}') {
        params[seg.substr(1, seg.size() - 2)] = PercentDecode(parts[i]);
      } else if (seg != parts[i]) {
        ok = false;
      }
    }
    if (!ok || i != parts.size()) continue;
    *path_known = true;
    if (route.method == request.method ||
        (request.method == "HEAD" && route.method == "GET")) {
      request.params = std::move(params);
      return &route;
    }
  }
  return nullptr;
}

Response Router::Dispatch(Request& request,
                          std::string* matched_pattern) const {
  const std::string decoded = PercentDecode(request.path);
  if (!ValidUtf8(decoded)) {
    if (matched_pattern != nullptr) *matched_pattern = "invalid";
    return Error(400, "the request path is not valid UTF-8", "");
  }
  // A NUL would end the name at the first C-string boundary downstream
  // (/applications/a%00b would answer for "a").
  if (decoded.find('\0') != std::string::npos) {
    if (matched_pattern != nullptr) *matched_pattern = "invalid";
    return Error(400, "the request path must not contain NUL bytes", "");
  }
  bool path_known = false;
  const Route* route = Match(request, &path_known);
  if (matched_pattern != nullptr)
    *matched_pattern = route ? route->pattern : "unmatched";
  if (route == nullptr) {
    return path_known
               ? Error(405,
                       "Request method '" + request.method + "' not supported",
                       request.path)
               : Error(404,
                       "No handler found for " + request.method + " " +
                           request.path,
                       request.path);
  }
  return route->handler(request);
}

}  // namespace gennaker::http
