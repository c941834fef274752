#include "common/grpc/interceptors.h"

#include <chrono>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/log/call_context.h"
#include "common/log/log.h"
#include "common/metrics/metrics.h"

namespace gennaker {
namespace {

using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::InterceptorBatchMethods;

const char* CodeName(grpc::StatusCode code) {
  static const char* kNames[] = {"OK",
                                 "CANCELLED",
                                 "UNKNOWN",
                                 "INVALID_ARGUMENT",
                                 "DEADLINE_EXCEEDED",
                                 "NOT_FOUND",
                                 "ALREADY_EXISTS",
                                 "PERMISSION_DENIED",
                                 "RESOURCE_EXHAUSTED",
                                 "FAILED_PRECONDITION",
                                 "ABORTED",
                                 "OUT_OF_RANGE",
                                 "UNIMPLEMENTED",
                                 "INTERNAL",
                                 "UNAVAILABLE",
                                 "DATA_LOSS",
                                 "UNAUTHENTICATED"};
  int i = static_cast<int>(code);
  return i >= 0 && i <= 16 ? kNames[i] : "UNKNOWN";
}

// Sets the thread's call context directly: the sync server runs the interceptor
// hooks and the handler on the same thread, and the context is cleared when the
// status is sent.
class ScopedSlot {
 public:
  void Install(CallContext ctx) { scope_.emplace(std::move(ctx)); }
  void Clear() { scope_.reset(); }

 private:
  std::optional<ScopedCallContext> scope_;
};

class ServerInterceptor : public grpc::experimental::Interceptor {
 public:
  ServerInterceptor(grpc::experimental::ServerRpcInfo* info, Metrics* metrics,
                    const std::string* area)
      : method_(info->method()),
        metrics_(metrics),
        area_(area),
        start_(std::chrono::steady_clock::now()) {}

  void Intercept(InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      CallContext ctx;
      for (const auto& [key, value] : *methods->GetRecvInitialMetadata()) {
        absl::string_view k(key.data(), key.size());
        std::string v(value.data(), value.size());
        if (k == kRequestIdHeader) ctx.request_id = v;
        if (k == kUserHeader) ctx.user = v;
        if (k == kAccountsHeader) ctx.accounts = v;
      }
      if (ctx.request_id.empty()) ctx.request_id = NewRequestId();
      slot_.Install(std::move(ctx));
    }
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS)) {
      grpc::Status status = methods->GetSendStatus();
      if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED &&
          status.error_message().empty()) {
        status = grpc::Status(
            grpc::StatusCode::UNIMPLEMENTED,
            absl::StrCat(method_, " is not implemented yet (", *area_, ")"));
        methods->ModifySendStatus(status);
      }
      double seconds = std::chrono::duration<double>(
                           std::chrono::steady_clock::now() - start_)
                           .count();
      if (metrics_ != nullptr) {
        metrics_->RecordRequest("grpc", method_, CodeName(status.error_code()),
                                seconds);
      }
      SPDLOG_DEBUG("grpc {} -> {} in {:.3f} ms", method_,
                   CodeName(status.error_code()), seconds * 1000);
      slot_.Clear();
    }
    methods->Proceed();
  }

 private:
  std::string method_;
  Metrics* metrics_;
  const std::string* area_;
  std::chrono::steady_clock::time_point start_;
  ScopedSlot slot_;
};

class ClientInterceptor : public grpc::experimental::Interceptor {
 public:
  void Intercept(InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      auto* md = methods->GetSendInitialMetadata();
      const CallContext& ctx = CurrentCallContext();
      auto add = [md](const char* key, const std::string& value) {
        if (!value.empty() && md->find(key) == md->end())
          md->emplace(key, value);
      };
      add(kRequestIdHeader, ctx.request_id);
      add(kUserHeader, ctx.user);
      add(kAccountsHeader, ctx.accounts);
    }
    methods->Proceed();
  }
};

}  // namespace

CallContextServerInterceptorFactory::CallContextServerInterceptorFactory(
    Metrics* metrics, std::string unimplemented_area)
    : metrics_(metrics), unimplemented_area_(std::move(unimplemented_area)) {}

grpc::experimental::Interceptor*
CallContextServerInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new ServerInterceptor(info, metrics_, &unimplemented_area_);
}

grpc::experimental::Interceptor*
CallContextClientInterceptorFactory::CreateClientInterceptor(
    grpc::experimental::ClientRpcInfo*) {
  return new ClientInterceptor();
}

}  // namespace gennaker
