// LISTEN on a PostgreSQL channel from a background thread with its own
// connection, calling back for every NOTIFY payload. After every successful
// LISTEN (the first one included) it calls `on_reconnect`: notifications sent
// while not listening are lost, so callers refresh what they cache. Lost
// connections are retried with backoff.
#ifndef GENNAKER_COMMON_PG_LISTENER_H_
#define GENNAKER_COMMON_PG_LISTENER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace gennaker::pg {

class Listener {
 public:
  using Callback = std::function<void(const std::string& payload)>;
  // Starts listening at once; the first connection is made by the thread.
  Listener(std::string dsn, std::string channel, Callback on_notify,
           std::function<void()> on_reconnect);
  ~Listener();  // stops the thread
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // True while connected and listening.
  bool listening() const { return listening_; }

 private:
  void Run();
  const std::string dsn_, channel_;
  Callback on_notify_;
  std::function<void()> on_reconnect_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> listening_{false};
  std::thread thread_;
};

}  // namespace gennaker::pg

#endif  // GENNAKER_COMMON_PG_LISTENER_H_
