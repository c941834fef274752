#include "services/clouddriver/store/redis_lease_store.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/redis/redis.h"
#include "common/status/status_macros.h"

namespace gennaker::clouddriver {

namespace {

constexpr char kPrefix[] = "gennaker:cdlease:";

// KEYS[1] the lease; ARGV: id, address, ttl ms. Returns the holder's value.
constexpr char kClaim[] =
    "local cur = redis.call('GET', KEYS[1]) "
    "if cur and string.match(cur, '^(%S+)') ~= ARGV[1] then return cur end "
    "local v = ARGV[1] .. ' ' .. ARGV[2] "
    "redis.call('SET', KEYS[1], v, 'PX', ARGV[3]) return v";

}  // namespace

absl::StatusOr<LeaseHolder> RedisLeaseStore::Claim(const std::string& account,
                                                   const LeaseHolder& self,
                                                   int64_t ttl_ms) {
  if (self.id.empty() || self.id.find_first_of(" \t\n") != std::string::npos) {
    return absl::InvalidArgumentError("a lease holder id has no whitespace");
  }
  GENNAKER_ASSIGN_OR_RETURN(
      redis::Reply r,
      redis_->Command({"EVAL", kClaim, "1", absl::StrCat(kPrefix, account),
                       self.id, self.address,
                       absl::StrCat(std::max<int64_t>(1, ttl_ms))}));
  if (r.type != redis::Reply::Type::kString) {
    return absl::InternalError("unexpected reply to a lease claim");
  }
  LeaseHolder holder;
  const size_t space = r.str.find(' ');
  holder.id = r.str.substr(0, space);
  if (space != std::string::npos) holder.address = r.str.substr(space + 1);
  return holder;
}

}  // namespace gennaker::clouddriver
