#include "common/ids/ids.h"

#include <algorithm>
#include <mutex>
#include <random>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace gennaker {

namespace {

constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

uint64_t RandomU64() {
  thread_local std::mt19937_64 rng = [] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device()};
    return std::mt19937_64(seed);
  }();
  return rng();
}

// 48-bit milliseconds, then the 80-bit random part (hi: top 16 bits).
std::string EncodeUlid(uint64_t unix_ms, uint16_t hi, uint64_t lo) {
  std::string out(26, '0');
  uint64_t t = unix_ms & ((uint64_t{1} << 48) - 1);
  for (int i = 9; i >= 0; --i) {
    out[i] = kCrockford[t & 31];
    t >>= 5;
  }
  for (int i = 25; i >= 10; --i) {
    out[i] = kCrockford[lo & 31];
    lo = (lo >> 5) | (uint64_t{hi} << 59);
    hi = static_cast<uint16_t>(hi >> 5);
  }
  return out;
}

}  // namespace

std::string UlidAt(int64_t unix_ms) {
  uint64_t random = RandomU64();
  return EncodeUlid(static_cast<uint64_t>(std::max<int64_t>(unix_ms, 0)),
                    static_cast<uint16_t>(RandomU64()), random);
}

std::string NewUlid() {
  static std::mutex mu;
  static uint64_t last_ms = 0;
  static uint16_t last_hi = 0;
  static uint64_t last_lo = 0;
  const int64_t now = absl::ToUnixMillis(absl::Now());
  std::lock_guard<std::mutex> lock(mu);
  if (now > 0 && static_cast<uint64_t>(now) > last_ms) {
    last_ms = static_cast<uint64_t>(now);
    last_hi = static_cast<uint16_t>(RandomU64());
    last_lo = RandomU64();
  } else if (++last_lo == 0 && ++last_hi == 0) {
    // Same millisecond (or the clock went back): the next value. On the
    // (practically impossible) overflow of 80 bits, borrow the next ms.
    ++last_ms;
  }
  return EncodeUlid(last_ms, last_hi, last_lo);
}

std::string NewUuid() {
  uint64_t a = RandomU64();
  uint64_t b = RandomU64();
  a = (a & ~uint64_t{0xf000}) | uint64_t{0x4000};        // version 4
  b = (b & ~(uint64_t{3} << 62)) | (uint64_t{2} << 62);  // RFC 4122 variant
  return absl::StrFormat("%08x-%04x-%04x-%04x-%012x", a >> 32,
                         (a >> 16) & 0xffff, a & 0xffff, b >> 48,
                         b & 0xffffffffffffull);
}

}  // namespace gennaker
