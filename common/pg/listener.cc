#include "common/pg/listener.h"

#include <libpq-fe.h>
#include <poll.h>

#include <chrono>

#include "common/log/log.h"
#include "common/log/logging.h"

namespace gennaker::pg {

Listener::Listener(std::string dsn, std::string channel, Callback on_notify,
                   std::function<void()> on_reconnect)
    : dsn_(std::move(dsn)),
      channel_(std::move(channel)),
      on_notify_(std::move(on_notify)),
      on_reconnect_(std::move(on_reconnect)),
      thread_([this] { Run(); }) {}

Listener::~Listener() {
  stop_ = true;
  thread_.join();
}

void Listener::Run() {
  int backoff_ms = 100;
  while (!stop_) {
    // Keepalives so that a silently dead connection is noticed in about a
    // minute.
    std::string dsn = dsn_ +
                      " connect_timeout=5 keepalives=1 keepalives_idle=30"
                      " keepalives_interval=10 keepalives_count=3";
    PGconn* conn = PQconnectdb(dsn.c_str());
    std::string listen = "LISTEN \"" + channel_ + "\"";
    PGresult* r = PQstatus(conn) == CONNECTION_OK ? PQexec(conn, listen.c_str())
                                                  : nullptr;
    bool ok = r != nullptr && PQresultStatus(r) == PGRES_COMMAND_OK;
    if (r) PQclear(r);
    if (!ok) {
      SPDLOG_WARN("LISTEN {}: {}; retrying in {} ms", channel_,
                  RedactSecrets(PQerrorMessage(conn)), backoff_ms);
      PQfinish(conn);
      for (int waited = 0; waited < backoff_ms && !stop_; waited += 50) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      backoff_ms = std::min(backoff_ms * 2, 5000);
      continue;
    }
    backoff_ms = 100;
    listening_ = true;
    // Whatever was sent before we listened is unknown to us (a first attempt
    // may have failed too): callers refresh what they cache.
    if (on_reconnect_) on_reconnect_();
    while (!stop_) {
      pollfd pfd{PQsocket(conn), POLLIN, 0};
      int n = poll(&pfd, 1, 200);  // wakes regularly to notice stop_
      if (n < 0) continue;
      if (n > 0 && !PQconsumeInput(conn)) break;  // connection lost
      while (PGnotify* note = PQnotifies(conn)) {
        std::string payload = note->extra ? note->extra : "";
        PQfreemem(note);
        on_notify_(payload);
      }
      if (PQstatus(conn) != CONNECTION_OK) break;
    }
    listening_ = false;
    PQfinish(conn);
    if (!stop_)
      SPDLOG_WARN("LISTEN {}: connection lost, reconnecting", channel_);
  }
}

}  // namespace gennaker::pg
