// nginx for the load drivers, the yardstick gate and the load balancer are
// compared against. Starts /usr/sbin/nginx in the foreground in a throwaway
// directory on a random free loopback port and waits until it answers:
// either serving fixed files with the content type application/json (master
// + 2 workers, to match gate's 2 HTTP loops) or, with StartProxy, as a
// keep-alive reverse proxy to one local port. Destroying it stops nginx
// (SIGTERM, then SIGQUIT, then SIGKILL to its process group), waits for it,
// and removes the directory. When nginx is not installed, starting fails with
// "nginx not found: run scripts/install-deps.sh --bench".
#ifndef GENNAKER_BENCH_NGINX_H_
#define GENNAKER_BENCH_NGINX_H_

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/http/http_client.h"
#include "common/process/process.h"
#include "common/testing/test_stores.h"

namespace gennaker::bench {

inline constexpr char kNginxBinary[] = "/usr/sbin/nginx";

class Nginx {
 public:
  // Serves each (URL path -> body) of `files`, e.g.
  // {"/applications/bench/pipelineConfigs", bytes}.
  static absl::StatusOr<std::unique_ptr<Nginx>> Start(
      const std::map<std::string, std::string>& files) {
    absl::StatusOr<std::unique_ptr<Nginx>> made = Prepare();
    if (!made.ok()) return made.status();
    std::unique_ptr<Nginx> n = std::move(*made);
    for (const auto& [path, body] : files) {
      std::filesystem::path file = n->dir_ + "/www" + path;
      std::error_code ec;
      std::filesystem::create_directories(file.parent_path(), ec);
      std::ofstream out(file, std::ios::binary);
      out << body;
      if (!out) return absl::InternalError("cannot write " + file.string());
    }
    for (const auto& entry :
         std::filesystem::recursive_directory_iterator(n->dir_ + "/www")) {
      chmod(entry.path().c_str(), entry.is_directory() ? 0755 : 0644);
    }
    chmod((n->dir_ + "/www").c_str(), 0755);
    // 2 workers: gate serves HTTP on 2 loops (server.httpThreads defaults to
    // 2), so both get the same share of the 2 cores.
    const std::string root = absl::StrCat("    root ", n->dir_, "/www;\n");
    return Launch(std::move(n), root, /*workers=*/2,
                  files.empty() ? "/" : files.begin()->first,
                  /*own_session=*/false);
  }

  // nginx as an HTTP/1.1 reverse proxy to 127.0.0.1:`upstream` (kept-alive
  // upstream connections, X-Forwarded-For) with `workers` workers, in a
  // session (scheduler group) of its own: the yardstick for the load
  // balancer. Ready once a GET / through it answers 200.
  static absl::StatusOr<std::unique_ptr<Nginx>> StartProxy(int upstream,
                                                           int workers) {
    absl::StatusOr<std::unique_ptr<Nginx>> made = Prepare();
    if (!made.ok()) return made.status();
    std::unique_ptr<Nginx> n = std::move(*made);
    const std::string upstream_block =
        absl::StrCat("  upstream backend { server 127.0.0.1:", upstream,
                     "; keepalive 512; }\n");
    return Launch(std::move(n),
                  "    location / {\n      proxy_pass http://backend;\n"
                  "      proxy_http_version 1.1;\n"
                  "      proxy_set_header Connection \"\";\n"
                  "      proxy_set_header X-Forwarded-For $remote_addr;\n"
                  "    }\n",
                  workers, "/", /*own_session=*/true, upstream_block);
  }

  ~Nginx() {
    if (pid_ > 0) {
      // SIGTERM: fast shutdown; SIGQUIT: graceful; then Terminate SIGKILLs
      // the whole process group (master and workers).
      for (int sig : {SIGTERM, SIGQUIT}) {
        if (!process::IsAlive(pid_)) break;
        kill(pid_, sig);
        for (int i = 0; i < 30 && process::IsAlive(pid_); ++i) {
          absl::SleepFor(absl::Milliseconds(100));
        }
      }
      (void)process::Terminate(pid_, absl::Seconds(2));
    }
    if (!dir_.empty()) testing::RemoveTree(dir_);
  }

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& dir() const { return dir_; }
  std::string Url(const std::string& path) const {
    return absl::StrCat("http://127.0.0.1:", port_, path);
  }

 private:
  // A new instance with its directory, or FAILED_PRECONDITION without nginx.
  static absl::StatusOr<std::unique_ptr<Nginx>> Prepare() {
    if (access(kNginxBinary, X_OK) != 0) {
      return absl::FailedPreconditionError(
          "nginx not found: run scripts/install-deps.sh --bench");
    }
    std::unique_ptr<Nginx> n(new Nginx());
    n->dir_ = testing::MakeTempDir("bench-nginx");
    // The workers run as nobody when started by root: they must read the
    // files (mkdtemp made the directory 0700).
    chmod(n->dir_.c_str(), 0755);
    return n;
  }

  // Writes the configuration (`server_body` inside the one server block,
  // `http_extra` before it), starts nginx and waits until `probe_path`
  // answers 200.
  static absl::StatusOr<std::unique_ptr<Nginx>> Launch(
      std::unique_ptr<Nginx> n, const std::string& server_body, int workers,
      const std::string& probe_path, bool own_session,
      const std::string& http_extra = "") {
    auto port = process::FreePort();
    if (!port.ok()) return port.status();
    n->port_ = *port;
    const std::string& d = n->dir_;
    const std::string conf = d + "/nginx.conf";
    std::ofstream(conf) << absl::StrCat(
        "daemon off;\nmaster_process on;\nworker_processes ", workers, ";\n",
        "worker_rlimit_nofile 30000;\n", "pid ", d, "/nginx.pid;\n",
        "error_log ", d, "/error.log warn;\n",
        "events { worker_connections 20000; }\n", "http {\n",
        "  access_log off;\n  sendfile on;\n  tcp_nopush on;\n",
        "  keepalive_requests 1000000;\n  keepalive_timeout 75s;\n",
        "  types { }\n  default_type application/json;\n",
        "  client_body_temp_path ", d, "/body;\n", "  proxy_temp_path ", d,
        "/proxy;\n", "  fastcgi_temp_path ", d, "/fastcgi;\n",
        "  uwsgi_temp_path ", d, "/uwsgi;\n", "  scgi_temp_path ", d,
        "/scgi;\n", http_extra, "  server {\n    listen 127.0.0.1:", n->port_,
        ";\n", server_body, "  }\n}\n");
    process::SpawnOptions o;
    o.argv = {kNginxBinary, "-p", d + "/", "-c", conf, "-e", d + "/error.log"};
    o.log_file = d + "/nginx.out";
    o.die_with_parent = true;
    o.new_session = own_session;
    auto pid = process::Spawn(o);
    if (!pid.ok()) return pid.status();
    n->pid_ = *pid;
    // The probe answers once the workers are up.
    const std::string url = n->Url(probe_path);
    for (int i = 0; i < 100; ++i) {
      http::ClientRequest r;
      r.url = url;
      r.timeout_ms = 500;
      auto resp = http::Fetch(r);
      if (resp.ok() && resp->status == 200) return n;
      if (!process::IsAlive(n->pid_)) break;
      absl::SleepFor(absl::Milliseconds(50));
    }
    std::ifstream log(d + "/error.log");
    std::string text((std::istreambuf_iterator<char>(log)),
                     std::istreambuf_iterator<char>());
    return absl::UnavailableError(absl::StrCat(
        "nginx did not answer on port ", n->port_, "; its error log:\n", text));
  }

  Nginx() = default;
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = 0;
};

}  // namespace gennaker::bench

#endif  // GENNAKER_BENCH_NGINX_H_
