#include "services/gate/gate_ui.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "re2/re2.h"

namespace gennaker::gate {
namespace {

namespace fs = std::filesystem;

// Cached bytes across the bundle (a Deck build is a few MB); files past it are
// served straight from disk.
constexpr int64_t kMaxCachedBytes = int64_t{256} << 20;

// The host a browser can reach a listener bound to `host` at.
std::string BrowserHost(const std::string& host) {
  return host.empty() || host == "0.0.0.0" ? "127.0.0.1" : host;
}

// The host of an http(s) URL ("[::1]" keeps its brackets); "" when none.
std::string UrlHost(absl::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == absl::string_view::npos) return "";
  absl::string_view rest = url.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (size_t at = rest.rfind('@'); at != absl::string_view::npos) {
    rest.remove_prefix(at + 1);
  }
  if (absl::StartsWith(rest, "[")) {
    size_t close = rest.find(']');
    return close == absl::string_view::npos
               ? ""
               : std::string(rest.substr(0, close + 1));
  }
  return std::string(rest.substr(0, rest.find(':')));
}

std::string HttpDate(const struct timespec& t) {
  return absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT",
                          absl::FromUnixSeconds(t.tv_sec), absl::UTCTimeZone());
}

struct CachedFile {
  int64_t size = 0;
  int64_t mtime_ns = 0;
  std::string etag;
  std::string last_modified;
  std::shared_ptr<const std::string> body;
};

// The files of one bundle directory, resolved under its real path.
class UiFiles {
 public:
  explicit UiFiles(std::string root) : root_(std::move(root)) {}

  http::Response Serve(const http::Request& r) const {
    const auto rest = r.params.find("**");
    std::string relative = rest == r.params.end() ? "" : rest->second;
    // Segments come percent-decoded: "%2F.." is a "/.." here, checked too.
    std::vector<std::string> segments =
        absl::StrSplit(relative, '/', absl::SkipEmpty());
    for (const std::string& s : segments) {
      if (s == "." || s == ".." || s.find('\0') != std::string::npos) {
        return http::Error(400, "invalid path", r.path);
      }
      // Dot files (.git, .env) are never part of a bundle.
      if (s[0] == '.') return NotFound(r);
    }
    if (segments.empty()) segments.push_back("index.html");
    std::string candidate = root_;
    for (const std::string& s : segments) absl::StrAppend(&candidate, "/", s);
    // Symlinks resolved: the file must still be inside the bundle.
    char* resolved_c = realpath(candidate.c_str(), nullptr);
    if (resolved_c == nullptr) return NotFound(r);
    const std::string resolved(resolved_c);
    free(resolved_c);
    if (!absl::StartsWith(resolved, root_ + "/")) return NotFound(r);

    absl::StatusOr<CachedFile> file = Load(resolved);
    if (!file.ok()) return NotFound(r);
    http::Response resp;
    resp.content_type = UiContentType(resolved);
    resp.headers.emplace_back("Cache-Control", "no-cache");
    resp.headers.emplace_back("ETag", file->etag);
    resp.headers.emplace_back("Last-Modified", file->last_modified);
    resp.headers.emplace_back("X-Content-Type-Options", "nosniff");
    if (EtagMatches(r.Header("if-none-match"), file->etag)) {
      resp.status = 304;
      return resp;
    }
    resp.shared_body = file->body;
    return resp;
  }

 private:
  static http::Response NotFound(const http::Request& r) {
    return http::Error(404, absl::StrCat("No such file: ", r.path), r.path);
  }

  // If-None-Match: "*" or a list of (possibly weak) tags.
  static bool EtagMatches(const std::string& header, const std::string& etag) {
    if (header.empty()) return false;
    for (absl::string_view tag : absl::StrSplit(header, ',')) {
      tag = absl::StripAsciiWhitespace(tag);
      absl::ConsumePrefix(&tag, "W/");
      if (tag == "*" || tag == etag) return true;
    }
    return false;
  }

  // The regular file at `path`, from the cache while its size and mtime are
  // unchanged, else read anew.
  absl::StatusOr<CachedFile> Load(const std::string& path) const {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      Forget(path);  // gone with a rebuild: its bytes leave the budget
      return absl::NotFoundError(path);
    }
    const int64_t mtime_ns =
        int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = cache_.find(path);
      if (it != cache_.end() && it->second.size == st.st_size &&
          it->second.mtime_ns == mtime_ns) {
        return it->second;
      }
    }
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      Forget(path);
      return absl::NotFoundError(path);
    }
    // The stamp of what is read, not of what was stat'ed before.
    struct stat fst {};
    auto body = std::make_shared<std::string>();
    bool ok = fstat(fd, &fst) == 0 && S_ISREG(fst.st_mode);
    if (ok) {
      body->resize(static_cast<size_t>(fst.st_size));
      size_t done = 0;
      while (done < body->size()) {
        ssize_t n = read(fd, body->data() + done, body->size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        done += static_cast<size_t>(n);
      }
      body->resize(done);
    }
    close(fd);
    if (!ok) {
      Forget(path);
      return absl::NotFoundError(path);
    }
    CachedFile file;
    file.size = fst.st_size;
    file.mtime_ns =
        int64_t{fst.st_mtim.tv_sec} * 1000000000 + fst.st_mtim.tv_nsec;
    file.etag = absl::StrFormat("\"%x-%x\"", file.size, file.mtime_ns);
    file.last_modified = HttpDate(fst.st_mtim);
    file.body = std::move(body);
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(path);
    if (it != cache_.end()) {
      cached_bytes_ -= it->second.size;
      cache_.erase(it);
    }
    if (cached_bytes_ + file.size <= kMaxCachedBytes) {
      cached_bytes_ += file.size;
      cache_[path] = file;
    }
    return file;
  }

  void Forget(const std::string& path) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(path);
    if (it == cache_.end()) return;
    cached_bytes_ -= it->second.size;
    cache_.erase(it);
  }

  const std::string root_;  // real path, no trailing '/'
  mutable std::mutex mu_;
  mutable std::map<std::string, CachedFile> cache_;
  mutable int64_t cached_bytes_ = 0;
};

}  // namespace

absl::Status ValidateUiConfig(const v1::GateConfig& config) {
  const v1::GateUiConfig& ui = config.ui();
  if (ui.port() < 0 || ui.port() > 65535) {
    return absl::InvalidArgumentError("ui.port: must be in 0..65535 (0: off)");
  }
  if (!ui.gate_url().empty()) {
    static const LazyRE2 kUrl = {R"(https?://[^/?#@\s]+(/[^?#\s]*)?)"};
    if (!RE2::FullMatch(ui.gate_url(), *kUrl)) {
      return absl::InvalidArgumentError(
          "ui.gateUrl: must be an http:// or https:// URL with no user name, "
          "query or fragment");
    }
  }
  if (ui.port() == 0) return absl::OkStatus();
  if (ui.port() == config.http_port() ||
      ui.port() == config.server().grpc_port() ||
      ui.port() == config.server().admin_port()) {
    return absl::InvalidArgumentError(
        "ui.port: must differ from httpPort, server.grpcPort and "
        "server.adminPort");
  }
  if (ui.dir().empty()) {
    return absl::InvalidArgumentError(
        "ui.dir: is required when ui.port is set (the Deck bundle built by "
        "scripts/build-ui.sh)");
  }
  std::error_code ec;
  if (!fs::is_directory(ui.dir(), ec)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ui.dir: ", ui.dir(),
        " is not a directory (build the UI with scripts/build-ui.sh)"));
  }
  if (!fs::is_regular_file(fs::path(ui.dir()) / "index.html", ec)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ui.dir: ", ui.dir(),
        " has no index.html (build the UI with scripts/build-ui.sh)"));
  }
  return absl::OkStatus();
}

std::string UiGateUrl(const v1::GateConfig& config) {
  if (!config.ui().gate_url().empty()) {
    return std::string(absl::StripSuffix(config.ui().gate_url(), "/"));
  }
  return absl::StrCat("http://", BrowserHost(config.server().host()), ":",
                      config.http_port());
}

std::string UiSettingsJs(const v1::GateConfig& config) {
  // Insertion order kept: the file reads as documented.
  nlohmann::ordered_json settings = {
      {"gateUrl", UiGateUrl(config)},
      {"authEnabled", config.security().enabled()},
      {"fiatEnabled", config.authorization().enabled()},
      {"canaryEnabled", config.ui().canary_enabled()},
      {"deploymentName", config.ui().deployment_name().empty()
                             ? std::string(kDefaultUiDeploymentName)
                             : config.ui().deployment_name()}};
  // ASCII only: nothing in the values can end the script or the string.
  return absl::StrCat("window.gennakerSettings = ",
                      settings.dump(-1, ' ', /*ensure_ascii=*/true), ";");
}

std::string UiContentType(absl::string_view path) {
  static const auto* kTypes = new std::map<std::string, std::string>{
      {"html", "text/html; charset=utf-8"},
      {"js", "application/javascript; charset=utf-8"},
      {"mjs", "application/javascript; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},
      {"json", "application/json"},
      {"map", "application/json"},
      {"svg", "image/svg+xml"},
      {"png", "image/png"},
      {"gif", "image/gif"},
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"webp", "image/webp"},
      {"ico", "image/x-icon"},
      {"woff", "font/woff"},
      {"woff2", "font/woff2"},
      {"ttf", "font/ttf"},
      {"otf", "font/otf"},
      {"eot", "application/vnd.ms-fontobject"},
      {"txt", "text/plain; charset=utf-8"},
  };
  const size_t slash = path.rfind('/');
  const absl::string_view name =
      slash == absl::string_view::npos ? path : path.substr(slash + 1);
  const size_t dot = name.rfind('.');
  if (dot == absl::string_view::npos) return "application/octet-stream";
  auto it = kTypes->find(absl::AsciiStrToLower(name.substr(dot + 1)));
  return it == kTypes->end() ? "application/octet-stream" : it->second;
}

std::string CorsOriginsWithUi(const v1::GateConfig& config) {
  const std::string& configured = config.cors_allowed_origins();
  const int port = config.ui().port();
  if (port <= 0) return configured;
  std::set<std::string> hosts;
  if (std::string h = UrlHost(UiGateUrl(config)); !h.empty()) hosts.insert(h);
  if (!config.server().host().empty() && config.server().host() != "0.0.0.0") {
    hosts.insert(config.server().host());
  }
  std::string out = absl::StrCat("(?:", configured, ")");
  for (const std::string& host : hosts) {
    // The browser leaves the default port out of an origin.
    const std::string origin =
        absl::StrCat("http://", absl::AsciiStrToLower(host),
                     port == 80 ? std::string() : absl::StrCat(":", port));
    absl::StrAppend(&out, "|(?:", RE2::QuoteMeta(origin), ")");
  }
  return out;
}

absl::StatusOr<http::Router> MakeUiRouter(const v1::GateConfig& config,
                                          int* file_count) {
  char* real = realpath(config.ui().dir().c_str(), nullptr);
  if (real == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("ui.dir: cannot resolve ", config.ui().dir()));
  }
  std::string root(real);
  free(real);
  if (file_count != nullptr) {
    *file_count = 0;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file(ec)) ++*file_count;
    }
  }
  auto files = std::make_shared<const UiFiles>(root);
  auto settings = std::make_shared<const std::string>(UiSettingsJs(config));

  http::Router router;
  // First match wins: the generated and health routes before the files.
  router.Add("GET", "/health", [](const http::Request&) {
    return http::Json(200, R"({"status":"UP"})");
  });
  router.Add("GET", "/settings.js", [settings](const http::Request&) {
    http::Response resp;
    resp.content_type = "application/javascript; charset=utf-8";
    resp.shared_body = settings;
    resp.headers.emplace_back("Cache-Control", "no-cache");
    resp.headers.emplace_back("X-Content-Type-Options", "nosniff");
    return resp;
  });
  router.Add("GET", "/**",
             [files](const http::Request& r) { return files->Serve(r); });
  // A static site takes no writes; say which methods it does take.
  for (const char* method : {"POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
    router.Add(method, "/**", [](const http::Request& r) {
      http::Response resp = http::Error(
          405, absl::StrCat("Request method '", r.method, "' not supported"),
          r.path);
      resp.headers.emplace_back("Allow", "GET, HEAD");
      return resp;
    });
  }
  return router;
}

}  // namespace gennaker::gate
