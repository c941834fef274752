#include "common/http/http_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>

#include <chrono>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/log/call_context.h"
#include "common/log/log.h"
#include "common/metrics/metrics.h"

namespace gennaker::http {

struct Server::Connection {
  Request request;
  bool too_large = false;
};

namespace {

// Keep the URL percent-encoded: the router decodes each segment, so "%2F"
// inside a name does not split the path.
size_t KeepEscaped(void*, struct MHD_Connection*, char* s) { return strlen(s); }

MHD_Result CollectHeader(void* cls, enum MHD_ValueKind, const char* key,
                         const char* value) {
  auto* headers = static_cast<std::map<std::string, std::string>*>(cls);
  (*headers)[absl::AsciiStrToLower(key)] = value ? value : "";
  return MHD_YES;
}

MHD_Result CollectArg(void* cls, enum MHD_ValueKind, const char* key,
                      const char* value) {
  auto* query = static_cast<std::multimap<std::string, std::string>*>(cls);
  query->emplace(PercentDecode(key, true),
                 value ? PercentDecode(value, true) : "");
  return MHD_YES;
}

// Hands the body to libmicrohttpd without copying it: the response owns a
// reference (shared body) or the moved string, released by the free callback.
struct BodyHolder {
  std::shared_ptr<const std::string> shared;
  std::string owned;
};

void FreeBody(void* cls) { delete static_cast<BodyHolder*>(cls); }

MHD_Result Respond(MHD_Connection* connection, Response r, bool head) {
  auto* holder = new BodyHolder{std::move(r.shared_body), std::move(r.body)};
  const std::string& body = holder->shared ? *holder->shared : holder->owned;
  MHD_Response* resp = MHD_create_response_from_buffer_with_free_callback_cls(
      head ? 0 : body.size(), const_cast<char*>(body.data()), &FreeBody,
      holder);
  if (resp == nullptr) {
    delete holder;
    return MHD_NO;
  }
  if (!body.empty() || r.status != 204) {
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            r.content_type.c_str());
  }
  for (const auto& [k, v] : r.headers)
    MHD_add_response_header(resp, k.c_str(), v.c_str());
  MHD_Result ret = MHD_queue_response(connection, r.status, resp);
  MHD_destroy_response(resp);
  return ret;
}

MHD_Result OnRequest(void* cls, MHD_Connection* connection, const char* url,
                     const char* method, const char*, const char* upload_data,
                     size_t* upload_data_size, void** con_cls) {
  auto* server = static_cast<Server*>(cls);
  auto* conn = static_cast<Server::Connection*>(*con_cls);
  if (conn == nullptr) {
    conn = new Server::Connection();
    conn->request.method = method;
    conn->request.path = url;
    const MHD_ConnectionInfo* info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (info != nullptr && info->client_addr != nullptr) {
      char ip[INET6_ADDRSTRLEN] = {0};
      const sockaddr* sa = info->client_addr;
      if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr,
                  ip, sizeof(ip));
      } else if (sa->sa_family == AF_INET6) {
        inet_ntop(AF_INET6,
                  &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, ip,
                  sizeof(ip));
      }
      conn->request.remote_address = ip;
    }
    MHD_get_connection_values(connection, MHD_HEADER_KIND, &CollectHeader,
                              &conn->request.headers);
    MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, &CollectArg,
                              &conn->request.query);
    *con_cls = conn;
    return MHD_YES;
  }
  if (*upload_data_size > 0) {
    if (!conn->too_large) {
      if (static_cast<int64_t>(conn->request.body.size() + *upload_data_size) >
          server->options().max_body_bytes) {
        conn->too_large = true;
        conn->request.body.clear();
        conn->request.body.shrink_to_fit();
      } else {
        conn->request.body.append(upload_data, *upload_data_size);
      }
    }
    *upload_data_size = 0;
    return MHD_YES;
  }
  Response response;
  try {
    if (conn->too_large) {
      response = Error(413,
                       absl::StrCat("Request body exceeds the limit of ",
                                    server->options().max_body_bytes, " bytes"),
                       conn->request.path);
    } else {
      response = server->Handle(conn->request);
    }
  } catch (...) {
    // Nothing may escape into libmicrohttpd's C code.
    response = Json(500, R"({"status":500,"error":"Internal Server Error"})");
  }
  return Respond(connection, std::move(response),
                 conn->request.method == "HEAD");
}

void OnCompleted(void*, MHD_Connection*, void** con_cls,
                 enum MHD_RequestTerminationCode) {
  delete static_cast<Server::Connection*>(*con_cls);
  *con_cls = nullptr;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Server>> Server::Start(
    const ServerOptions& options, Router router) {
  std::unique_ptr<Server> self(new Server(options, std::move(router)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(options.port));
  if (inet_pton(AF_INET, options.host.c_str(), &addr.sin_addr) != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "HTTP host must be an IPv4 address, got '", options.host, "'"));
  }
  const unsigned int flags = MHD_USE_EPOLL_INTERNAL_THREAD;
  self->daemon_ = MHD_start_daemon(
      flags, static_cast<uint16_t>(options.port), nullptr, nullptr, &OnRequest,
      self.get(), MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_THREAD_POOL_SIZE,
      static_cast<unsigned int>(options.threads), MHD_OPTION_UNESCAPE_CALLBACK,
      &KeepEscaped, nullptr, MHD_OPTION_NOTIFY_COMPLETED, &OnCompleted, nullptr,
      MHD_OPTION_CONNECTION_TIMEOUT,
      static_cast<unsigned int>(options.connection_timeout_seconds),
      MHD_OPTION_END);
  if (self->daemon_ == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot listen for HTTP on ",
                                               options.host, ":", options.port,
                                               " (port in use?)"));
  }
  const MHD_DaemonInfo* info =
      MHD_get_daemon_info(self->daemon_, MHD_DAEMON_INFO_BIND_PORT);
  self->port_ = info != nullptr ? info->port : options.port;
  return self;
}

Server::~Server() { Stop(); }

void Server::Stop() {
  if (daemon_ != nullptr) {
    MHD_stop_daemon(daemon_);
    daemon_ = nullptr;
  }
}

Response Server::Handle(Request& request) const {
  auto start = std::chrono::steady_clock::now();
  CallContext ctx;
  ctx.request_id = request.Header("x-request-id");
  if (ctx.request_id.empty()) ctx.request_id = NewRequestId();
  ScopedCallContext scope(std::move(ctx));
  std::string pattern;
  Response response;
  try {
    response = router_.Dispatch(request, &pattern);
  } catch (const std::exception& e) {
    SPDLOG_ERROR("http {} {} failed: {}", request.method, request.path,
                 e.what());
    response = Error(500, "internal error", request.path);
  }
  if (options_.metrics != nullptr) {
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    options_.metrics->RecordRequest("http",
                                    absl::StrCat(request.method, " ", pattern),
                                    absl::StrCat(response.status), seconds);
  }
  return response;
}

}  // namespace gennaker::http
