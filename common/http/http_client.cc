#include "common/http/http_client.h"

#include <curl/curl.h>

#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace gennaker::http {
namespace {

struct BodySink {
  std::string* body;
  int64_t limit;  // 0: none
  bool overflowed = false;
};

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<BodySink*>(user);
  if (sink->limit > 0 &&
      static_cast<int64_t>(sink->body->size() + size * n) > sink->limit) {
    sink->overflowed = true;
    return 0;  // curl aborts the transfer
  }
  sink->body->append(data, size * n);
  return size * n;
}

struct SocketGate {
  const ClientRequest* request;
  std::string refusal;
};

curl_socket_t OnOpenSocket(void* user, curlsocktype, curl_sockaddr* address) {
  auto* gate = static_cast<SocketGate*>(user);
  std::string refusal =
      gate->request->address_filter(&address->addr, address->addrlen);
  if (!refusal.empty()) {
    // The first reason stands: curl may try other addresses of the name.
    if (gate->refusal.empty()) gate->refusal = std::move(refusal);
    return CURL_SOCKET_BAD;
  }
  return socket(address->family, address->socktype, address->protocol);
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  absl::string_view line(data, size * n);
  auto colon = line.find(':');
  if (colon != absl::string_view::npos) {
    auto* headers = static_cast<std::map<std::string, std::string>*>(user);
    (*headers)[absl::AsciiStrToLower(line.substr(0, colon))] =
        std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
  }
  return size * n;
}

}  // namespace

absl::StatusOr<ClientResponse> Fetch(const ClientRequest& request) {
  static std::once_flag init;
  std::call_once(init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  // One handle per thread, reset between requests: curl keeps its
  // connection cache, so repeated calls to the same server reuse keep-alive
  // connections instead of a TCP handshake per call.
  struct Handle {
    CURL* curl = curl_easy_init();
    ~Handle() {
      if (curl != nullptr) curl_easy_cleanup(curl);
    }
  };
  thread_local Handle handle;
  CURL* curl = handle.curl;
  if (curl == nullptr) return absl::InternalError("curl_easy_init failed");
  curl_easy_reset(curl);
  ClientResponse response;
  curl_slist* headers = nullptr;
  for (const auto& [k, v] : request.headers) {
    headers = curl_slist_append(headers, absl::StrCat(k, ": ", v).c_str());
  }
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  // libcurl resends a request whose reused connection died before any reply
  // byte: fine for idempotent methods, a duplicate for POST/PATCH, which
  // therefore always get a connection of their own.
  if (request.isolated) {
    curl_easy_setopt(curl, CURLOPT_PROXY, "");
  }
  if (request.isolated || request.method == "POST" ||
      request.method == "PATCH") {
    curl_easy_setopt(curl, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(curl, CURLOPT_FORBID_REUSE, 1L);
  }
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  if (request.method == "HEAD") curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  if (!request.body.empty() || request.method == "POST" ||
      request.method == "PUT" || request.method == "PATCH") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  }
  curl_slist* resolve = nullptr;
  for (const std::string& entry : request.resolve) {
    resolve = curl_slist_append(resolve, entry.c_str());
  }
  if (resolve != nullptr) curl_easy_setopt(curl, CURLOPT_RESOLVE, resolve);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(request.timeout_ms));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
  BodySink sink{&response.body, request.max_response_bytes};
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  if (request.max_response_bytes > 0) {
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE,
                     static_cast<curl_off_t>(request.max_response_bytes));
  }
  if (!request.protocols.empty()) {
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, request.protocols.c_str());
  }
  SocketGate gate{&request, ""};
  if (request.address_filter) {
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, &OnOpenSocket);
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, &gate);
  }
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response.headers);
  CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_slist_free_all(resolve);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  if (rc != CURLE_OK && !gate.refusal.empty()) {
    return absl::PermissionDeniedError(absl::StrCat(
        request.method, " ", request.url, ": refused: ", gate.refusal));
  }
  if (sink.overflowed || rc == CURLE_FILESIZE_EXCEEDED) {
    return absl::FailedPreconditionError(absl::StrCat(
        request.method, " ", request.url, ": the answer is larger than ",
        request.max_response_bytes, " bytes"));
  }
  if (rc == CURLE_UNSUPPORTED_PROTOCOL) {
    return absl::PermissionDeniedError(absl::StrCat(
        request.method, " ", request.url, ": refused: scheme not allowed"));
  }
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    return absl::DeadlineExceededError(
        absl::StrCat(request.method, " ", request.url, ": timed out"));
  }
  if (rc != CURLE_OK) {
    return absl::UnavailableError(absl::StrCat(request.method, " ", request.url,
                                               ": ", curl_easy_strerror(rc)));
  }
  response.status = static_cast<int>(status);
  return response;
}

}  // namespace gennaker::http
