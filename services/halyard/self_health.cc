#include "services/halyard/self_health.h"

#include <unistd.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/config/config_loader.h"
#include "common/service/defaults.h"
#include "common/status/status_macros.h"
#include "google/protobuf/message.h"
#include "services/halyard/render.h"

namespace gennaker::halyard {
namespace {

absl::StatusOr<std::vector<std::string>> ReadNulSeparated(
    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::vector<std::string> parts =
      absl::StrSplit(buffer.str(), '\0', absl::SkipEmpty());
  return parts;
}

}  // namespace

absl::StatusOr<ProcessView> ReadProcessView(int pid) {
  const std::string dir = absl::StrCat("/proc/", pid);
  ProcessView view;
  GENNAKER_ASSIGN_OR_RETURN(view.argv, ReadNulSeparated(dir + "/cmdline"));
  GENNAKER_ASSIGN_OR_RETURN(std::vector<std::string> env,
                            ReadNulSeparated(dir + "/environ"));
  char cwd[4096];
  const ssize_t n = readlink((dir + "/cwd").c_str(), cwd, sizeof(cwd) - 1);
  if (n > 0) view.cwd.assign(cwd, static_cast<size_t>(n));
  for (const std::string& entry : env) {
    std::pair<std::string, std::string> kv =
        absl::StrSplit(entry, absl::MaxSplits('=', 1));
    view.env.push_back(std::move(kv));
  }
  return view;
}

absl::StatusOr<std::string> ServiceHealthAddress(const ProcessView& process) {
  if (process.argv.empty()) {
    return absl::InvalidArgumentError("the process has no command line");
  }
  std::string program = process.argv[0];
  if (size_t slash = program.rfind('/'); slash != std::string::npos) {
    program = program.substr(slash + 1);
  }
  std::unique_ptr<google::protobuf::Message> config = NewServiceConfig(program);
  // halyard's own process is a service only as the daemon.
  // Its first word that is no option (nor an option's value) is `serve`.
  bool daemon = false;
  for (size_t i = 1; i < process.argv.size(); ++i) {
    const std::string& arg = process.argv[i];
    if (arg == "--config" || arg == "--daemon-config") {
      ++i;
    } else if (!absl::StartsWith(arg, "-")) {
      daemon = arg == "serve";
      break;
    }
  }
  if (config == nullptr || (program == "halyard" && !daemon)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", process.argv[0], "' is not a Gennaker service (run `halyard ",
        "health HOST:PORT` to name one)"));
  }
  // The daemon names its own config with --daemon-config when options come
  // before `serve`; after `serve`, --config is the daemon's (see cli.cc).
  std::string path;
  for (size_t i = 1; i < process.argv.size(); ++i) {
    const std::string& arg = process.argv[i];
    for (absl::string_view flag : {"--config", "--daemon-config"}) {
      if (flag == "--daemon-config" && program != "halyard") continue;
      if (arg == flag && i + 1 < process.argv.size()) {
        path = process.argv[i + 1];
      } else if (absl::StartsWith(arg, absl::StrCat(flag, "="))) {
        path = arg.substr(flag.size() + 1);
      }
    }
  }
  // A relative path is the service's, not the health check's.
  if (!path.empty() && path[0] != '/' && !process.cwd.empty()) {
    path = absl::StrCat(process.cwd, "/", path);
  }
  ApplyServiceDefaults(program, config.get());
  if (!path.empty()) {
    GENNAKER_RETURN_IF_ERROR(config::MergeYamlFile(path, config.get()));
  }
  GENNAKER_RETURN_IF_ERROR(
      config::ApplyEnvOverrides(process.env, config.get()));
  GENNAKER_ASSIGN_OR_RETURN(std::string port,
                            config::GetField(*config, "server.grpcPort"));
  return absl::StrCat("127.0.0.1:", port);
}

}  // namespace gennaker::halyard
