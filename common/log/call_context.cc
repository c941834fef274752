#include "common/log/call_context.h"

#include <random>
#include <utility>

namespace gennaker {
namespace {

CallContext& ThreadContext() {
  thread_local CallContext context;
  return context;
}

}  // namespace

const CallContext& CurrentCallContext() { return ThreadContext(); }

std::string NewRequestId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(32, '0');
  uint64_t a = rng(), b = rng();
  for (int i = 0; i < 16; ++i) {
    id[i] = kHex[(a >> (i * 4)) & 0xf];
    id[16 + i] = kHex[(b >> (i * 4)) & 0xf];
  }
  return id;
}

ScopedCallContext::ScopedCallContext(CallContext context)
    : previous_(std::exchange(ThreadContext(), std::move(context))) {}

ScopedCallContext::~ScopedCallContext() {
  ThreadContext() = std::move(previous_);
}

}  // namespace gennaker
