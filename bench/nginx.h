// nginx for the load drivers: the yardstick gate is compared against. Starts
// /usr/sbin/nginx in the foreground (master + 2 workers, to match gate's 2
// HTTP threads) in a throwaway directory, serving fixed files with the
// content type application/json on a random free loopback port, and waits
// until it answers. Destroying it stops nginx (SIGTERM, then SIGQUIT, then
// SIGKILL to its process group), waits for it, and removes the directory.
// When nginx is not installed, Start fails with "nginx not found: run
// scripts/install-deps.sh --bench".
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
    if (access(kNginxBinary, X_OK) != 0) {
      return absl::FailedPreconditionError(
          "nginx not found: run scripts/install-deps.sh --bench");
    }
    std::unique_ptr<Nginx> n(new Nginx());
    n->dir_ = testing::MakeTempDir("bench-nginx");
    // The workers run as nobody when started by root: they must read the
    // files (mkdtemp made the directory 0700).
    chmod(n->dir_.c_str(), 0755);
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
    auto port = process::FreePort();
    if (!port.ok()) return port.status();
    n->port_ = *port;
    const std::string& d = n->dir_;
    const std::string conf = d + "/nginx.conf";
    // worker_processes 2: gate serves HTTP on 2 threads (server.httpThreads
    // defaults to 2), so both get the same share of the 2 cores.
    std::ofstream(conf) << absl::StrCat(
        "daemon off;\nmaster_process on;\nworker_processes 2;\n",
        "worker_rlimit_nofile 30000;\n", "pid ", d, "/nginx.pid;\n",
        "error_log ", d, "/error.log warn;\n",
        "events { worker_connections 20000; }\n", "http {\n",
        "  access_log off;\n  sendfile on;\n  tcp_nopush on;\n",
        "  keepalive_requests 1000000;\n  keepalive_timeout 75s;\n",
        "  types { }\n  default_type application/json;\n",
        "  client_body_temp_path ", d, "/body;\n", "  proxy_temp_path ", d,
        "/proxy;\n", "  fastcgi_temp_path ", d, "/fastcgi;\n",
        "  uwsgi_temp_path ", d, "/uwsgi;\n", "  scgi_temp_path ", d,
        "/scgi;\n", "  server {\n    listen 127.0.0.1:", n->port_, ";\n",
        "    root ", d, "/www;\n  }\n}\n");
    process::SpawnOptions o;
    o.argv = {kNginxBinary, "-p", d + "/", "-c", conf, "-e", d + "/error.log"};
    o.log_file = d + "/nginx.out";
    o.die_with_parent = true;
    auto pid = process::Spawn(o);
    if (!pid.ok()) return pid.status();
    n->pid_ = *pid;
    // Any file answers once the workers are up.
    const std::string url =
        n->Url(files.empty() ? std::string("/") : files.begin()->first);
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
  Nginx() = default;
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = 0;
};

}  // namespace gennaker::bench

#endif  // GENNAKER_BENCH_NGINX_H_
