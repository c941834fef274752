// The request id and caller identity of the call a thread is working on.
//
// A server interceptor installs the inbound call's context for the duration of
// the handler (ScopedCallContext); a client interceptor copies it into every
// outgoing call's metadata, so `x-request-id` and `x-spinnaker-user` cross
// every hop without handlers passing them along. Threads that start work of
// their own (workers, pollers) install a context explicitly. The context is per
// thread: it is not shared and needs no locking.
#ifndef GENNAKER_COMMON_LOG_CALL_CONTEXT_H_
#define GENNAKER_COMMON_LOG_CALL_CONTEXT_H_

#include <string>

namespace gennaker {

inline constexpr char kRequestIdHeader[] = "x-request-id";
inline constexpr char kUserHeader[] = "x-spinnaker-user";
inline constexpr char kAccountsHeader[] = "x-spinnaker-accounts";

// What travels with a call.
struct CallContext {
  std::string request_id;  // empty when none
  std::string user;        // empty when anonymous / unknown
  std::string accounts;    // comma separated, as Spinnaker forwards them
};

// The context of the current thread (empty fields when none is installed).
const CallContext& CurrentCallContext();

// A fresh random request id (32 hex characters).
std::string NewRequestId();

// Installs `context` on this thread until destroyed, then restores the previous
// one.
class ScopedCallContext {
 public:
  explicit ScopedCallContext(CallContext context);
  ~ScopedCallContext();
  ScopedCallContext(const ScopedCallContext&) = delete;
  ScopedCallContext& operator=(const ScopedCallContext&) = delete;

 private:
  CallContext previous_;
};

}  // namespace gennaker

#endif  // GENNAKER_COMMON_LOG_CALL_CONTEXT_H_
