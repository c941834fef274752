// Redis access on hiredis: a pool of connections with connect/command timeouts
// and reconnection. A connection found broken (the server restarted, a timeout)
// is replaced; a command that fails because a pooled connection was found
// closed is retried once on a fresh one (the old server never saw it); a
// command that timed out is not resent. Thread-safe.
#ifndef GENNAKER_COMMON_REDIS_REDIS_H_
#define GENNAKER_COMMON_REDIS_REDIS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

struct redisContext;

namespace gennaker::redis {

struct Options {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string password;
  int db = 0;
  int pool_size = 4;
  int timeout_ms = 2000;
};

// Parses redis://[:password@]host:port[/db].
absl::StatusOr<Options> ParseUrl(const std::string& url);

// A reply. Error replies are returned as a non-OK status instead.
struct Reply {
  enum class Type { kNil, kString, kInteger, kArray, kStatus };
  Type type = Type::kNil;
  std::string str;
  int64_t integer = 0;
  std::vector<Reply> elements;
};

class Client {
 public:
  // Opens one connection now (fail fast), the rest on demand.
  static absl::StatusOr<std::unique_ptr<Client>> Connect(
      const Options& options);
  ~Client();

  // Runs one command, e.g. Command({"SET", "k", "v"}).
  absl::StatusOr<Reply> Command(const std::vector<std::string>& argv);

 private:
  explicit Client(Options options) : options_(std::move(options)) {}
  absl::StatusOr<redisContext*> Open();
  absl::StatusOr<redisContext*> Take(bool* from_pool);
  void Give(redisContext* ctx);

  const Options options_;
  absl::Mutex mu_;
  std::vector<redisContext*> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace gennaker::redis

#endif  // GENNAKER_COMMON_REDIS_REDIS_H_
