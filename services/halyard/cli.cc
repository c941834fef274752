#include "services/halyard/cli.h"

#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <sstream>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/auth/password.h"
#include "common/config/config_loader.h"
#include "common/grpc/health_client.h"
#include "common/process/process.h"
#include "common/version.h"
#include "services/halyard/daemon.h"
#include "services/halyard/deployer.h"
#include "services/halyard/halconfig.h"
#include "services/halyard/kubernetes_deployer.h"
#include "services/halyard/kubernetes_manifests.h"
#include "services/halyard/secrets.h"
#include "services/halyard/self_health.h"

namespace gennaker::halyard {
namespace {

int Fail(const absl::Status& status, int code = 1) {
  std::cerr << "halyard: " << status.message() << "\n";
  return code;
}

void PrintLine(const std::string& line) {
  std::cout << line << std::endl;  // flushed: progress must show as it happens
}

// Loads the halconfig; `create` writes the default when the file is missing.
absl::StatusOr<v1::Halconfig> Load(const std::string& path, bool create) {
  auto config = LoadHalconfig(path);
  if (config.ok() || !absl::IsNotFound(config.status())) return config;
  if (!create) {
    return absl::NotFoundError(
        absl::StrCat(path,
                     " does not exist (run `halyard deploy apply` or `halyard "
                     "config init`)"));
  }
  v1::Halconfig fresh = DefaultHalconfig();
  absl::Status saved = SaveHalconfig(path, fresh);
  if (!saved.ok()) return saved;
  PrintLine(absl::StrCat("created default halconfig at ", path));
  return fresh;
}

const char* HealthName(v1::ServiceHealth h) {
  switch (h) {
    case v1::SERVICE_HEALTH_SERVING:
      return "SERVING";
    case v1::SERVICE_HEALTH_NOT_SERVING:
      return "NOT_SERVING";
    case v1::SERVICE_HEALTH_DOWN:
      return "DOWN";
    case v1::SERVICE_HEALTH_DISABLED:
      return "DISABLED";
    default:
      return "UNKNOWN";
  }
}

// Turns terminal echo off on stdin while alive (interactive hash-password).
class NoEcho {
 public:
  NoEcho() {
    if (tcgetattr(STDIN_FILENO, &saved_) != 0) return;
    termios quiet = saved_;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    active_ = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
  }
  ~NoEcho() {
    if (active_) tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_);
  }
  NoEcho(const NoEcho&) = delete;
  NoEcho& operator=(const NoEcho&) = delete;

 private:
  termios saved_{};
  bool active_ = false;
};

// One line of stdin without its line end; false at end of input.
bool ReadPasswordLine(std::istream& in, std::string* line) {
  if (!std::getline(in, *line)) return false;
  if (!line->empty() && line->back() == '\r') line->pop_back();
  return true;
}

// `halyard hash-password`: from a terminal, asks twice without echo; from a
// pipe, reads one line.
int HashPasswordCommand(int cost) {
  absl::StatusOr<std::string> hash;
  if (isatty(STDIN_FILENO)) {
    std::string first, second;
    bool read = false;
    {
      NoEcho no_echo;
      std::cerr << "Password: " << std::flush;
      read = ReadPasswordLine(std::cin, &first);
      std::cerr << "\nAgain: " << std::flush;
      read = read && ReadPasswordLine(std::cin, &second);
      std::cerr << "\n";
    }
    if (!read) return Fail(absl::InvalidArgumentError("no password given"), 2);
    if (first != second) {
      return Fail(absl::InvalidArgumentError("the passwords differ"), 2);
    }
    std::istringstream line(first);
    hash = HashPasswordFrom(line, cost);
  } else {
    hash = HashPasswordFrom(std::cin, cost);
  }
  if (!hash.ok()) {
    return Fail(hash.status(), absl::IsInvalidArgument(hash.status()) ? 2 : 1);
  }
  PrintLine(*hash);
  return 0;
}

// The deploy subcommands a Kubernetes deployment (or, for diff / rollback /
// render, only it) has.
struct KubernetesCommand {
  bool apply = false;
  bool diff = false;
  bool rollback = false;
  bool render = false;
  bool status = false;
  std::string output;  // render: file instead of stdout
  bool pod_addresses = false;
};

// The rendered objects of `config`, with the store passwords halyard keeps
// (generated at the first use, as for a local deployment).
absl::StatusOr<std::vector<KubernetesObject>> RenderForKubernetes(
    const v1::Halconfig& config, bool pod_addresses) {
  KubernetesRenderOptions options;
  options.pod_addresses = pod_addresses;
  auto secrets = EnsureStoreSecrets(ExpandHome(config.state_dir()));
  if (!secrets.ok()) return secrets.status();
  options.postgres_password = secrets->postgres_password;
  options.redis_password = secrets->redis_password;
  auto salt = KubernetesHashSalt(ExpandHome(config.state_dir()));
  if (!salt.ok()) return salt.status();
  options.hash_salt = *std::move(salt);
  return RenderKubernetesManifests(config, options);
}

int KubernetesDeployCommand(const v1::Halconfig& config,
                            const std::string& config_path,
                            const KubernetesCommand& command) {
  const v1::HalDeploymentEnvironment env =
      EffectiveDeploymentEnvironment(config);
  KubernetesTarget target;
  target.kubeconfig = ExpandHome(env.kubeconfig());
  target.context = env.context();
  if (env.rollout_timeout_seconds() > 0) {
    target.rollout_timeout = absl::Seconds(env.rollout_timeout_seconds());
  }
  KubernetesDeployer deployer(target, ExpandHome(config.state_dir()),
                              PrintLine);
  if (command.rollback) {
    absl::Status s = deployer.Rollback();
    if (!s.ok()) return Fail(s);
    PrintLine(absl::StrCat("deployment '", config.name(),
                           "' rolled back in namespace ", env.namespace_()));
    return 0;
  }
  // Every other command starts from what the config renders; a config that
  // does not render changes nothing.
  auto objects = RenderForKubernetes(config, command.pod_addresses);
  if (!objects.ok()) {
    if (absl::IsInvalidArgument(objects.status())) {
      return Fail(
          absl::InvalidArgumentError(absl::StrCat(config_path,
                                                  " is invalid, nothing was "
                                                  "changed: ",
                                                  objects.status().message())),
          2);
    }
    return Fail(objects.status());
  }
  if (command.render) {
    const std::string text = JoinManifests(*objects);
    if (command.output.empty()) {
      std::cout << text << std::flush;
      return 0;
    }
    // The Secrets hold the store passwords: owner only (an existing file is
    // made so too).
    if (absl::Status written = process::WritePrivateFile(command.output, text);
        !written.ok()) {
      return Fail(written);
    }
    PrintLine(absl::StrCat("wrote ", objects->size(), " objects to ",
                           command.output));
    return 0;
  }
  if (command.diff) {
    auto diff = deployer.Diff(*objects);
    if (!diff.ok()) return Fail(diff.status());
    std::cout << *diff << std::flush;
    return 0;
  }
  if (command.status) {
    auto status = deployer.Status(*objects);
    if (!status.ok()) return Fail(status.status());
    bool all_ready = true;
    printf("%-12s %-10s %-8s %s\n", "DEPLOYMENT", "READY", "UPDATED", "STATE");
    for (const DeploymentRollout& d : *status) {
      printf("%-12s %-10s %-8s %s\n", d.name.c_str(),
             absl::StrCat(d.ready, "/", d.replicas).c_str(),
             std::to_string(d.updated).c_str(),
             !d.found        ? "MISSING"
             : d.RolledOut() ? "ROLLED_OUT"
                             : "PROGRESSING");
      all_ready &= d.RolledOut();
    }
    fflush(stdout);
    return all_ready ? 0 : 1;
  }
  absl::Status s = deployer.Apply(config.version(), *objects);
  if (!s.ok()) return Fail(s);
  PrintLine(absl::StrCat("deployment '", config.name(), "' is rolled out in ",
                         "namespace ", env.namespace_()));
  return 0;
}

}  // namespace

absl::StatusOr<std::string> HashPasswordFrom(std::istream& in, int cost) {
  std::string password;
  if (!ReadPasswordLine(in, &password)) {
    return absl::InvalidArgumentError(
        "no password on stdin (e.g. `printf '%s\\n' \"$PASSWORD\" | halyard "
        "hash-password`)");
  }
  return auth::HashPassword(password, cost);
}

int RunCli(int argc, char** argv) {
  CLI::App app{"halyard: configure and run a Gennaker deployment", "halyard"};
  app.require_subcommand(1);
  std::string config_path = DefaultHalconfigPath();
  app.add_option("--config", config_path, "halconfig file")
      ->capture_default_str();

  // config
  auto* config_cmd =
      app.add_subcommand("config", "read and edit the halconfig");
  config_cmd->require_subcommand(1);
  auto* init_cmd = config_cmd->add_subcommand(
      "init", "write the default halconfig if missing");
  auto* show_cmd =
      config_cmd->add_subcommand("show", "print the whole halconfig as YAML");
  std::string key, value;
  auto* get_cmd =
      config_cmd->add_subcommand("get", "print one key, e.g. services.orca");
  get_cmd->add_option("key", key, "dotted key")->required();
  auto* set_cmd = config_cmd->add_subcommand(
      "set",
      "set one key, e.g. `set services.orca.grpcPort 9083`; validated before "
      "saving");
  set_cmd->add_option("key", key, "dotted key")->required();
  set_cmd->add_option("value", value, "new value (lists comma separated)")
      ->required();
  auto* validate_cmd =
      config_cmd->add_subcommand("validate", "check the halconfig");
  std::string dsn, redis_url;
  auto* storage_cmd = config_cmd->add_subcommand(
      "storage",
      "point the suite at existing PostgreSQL/Redis, or back to local managed");
  storage_cmd->add_option("--postgres-dsn", dsn,
                          "libpq DSN of an existing PostgreSQL");
  storage_cmd->add_option("--redis-url", redis_url,
                          "redis://host:port of an existing Redis");
  bool managed = false;
  storage_cmd->add_flag("--local-managed", managed,
                        "let halyard run PostgreSQL and Redis");

  // config bakery edit: rosco's settings (Spinnaker's `hal config provider
  // <p> bakery edit`); base images are listed under bakery.providers.
  auto* bakery_cmd = config_cmd->add_subcommand(
      "bakery", "rosco's settings: packer templates, image store, limits");
  bakery_cmd->require_subcommand(1);
  auto* bakery_edit_cmd = bakery_cmd->add_subcommand(
      "edit", "change the bakery's settings; validated before saving");
  std::string packer_config_dir, packer_binary, image_store_dir,
      package_repository_dir, work_dir, default_provider;
  int max_concurrent_bakes = 0, bake_timeout_seconds = 0;
  auto* packer_dir_opt =
      bakery_edit_cmd->add_option("--packer-config-dir", packer_config_dir,
                                  "directory of packer templates and scripts");
  auto* packer_bin_opt = bakery_edit_cmd->add_option(
      "--packer-binary", packer_binary, "packer executable");
  auto* store_opt = bakery_edit_cmd->add_option(
      "--image-store-dir", image_store_dir,
      "local image store (shared with clouddriver's local accounts)");
  auto* repo_opt = bakery_edit_cmd->add_option("--package-repository-dir",
                                               package_repository_dir,
                                               "packages local bakes install");
  auto* work_opt = bakery_edit_cmd->add_option("--work-dir", work_dir,
                                               "per-bake work directories");
  auto* max_opt = bakery_edit_cmd->add_option(
      "--max-concurrent-bakes", max_concurrent_bakes, "bakes at once, 1..64");
  auto* timeout_opt =
      bakery_edit_cmd->add_option("--timeout-seconds", bake_timeout_seconds,
                                  "packer run time limit per bake, seconds");
  auto* provider_opt = bakery_edit_cmd->add_option(
      "--default-cloud-provider", default_provider,
      "provider of bakes that name none (local, docker, aws, ...)");

  // deploy
  auto* deploy_cmd = app.add_subcommand(
      "deploy", "run the suite on this machine or on Kubernetes");
  deploy_cmd->require_subcommand(1);
  auto* apply_cmd =
      deploy_cmd->add_subcommand("apply",
                                 "start or update the deployment (creates a "
                                 "default halconfig if missing)");
  std::string service_names;
  apply_cmd->add_option("--service-names", service_names,
                        "comma-separated services to (re)start; default all");
  auto* restart_cmd = deploy_cmd->add_subcommand(
      "restart",
      "restart services even when their config is unchanged; `deck` restarts "
      "gate, which serves the UI");
  std::vector<std::string> restart_names;
  restart_cmd
      ->add_option("services", restart_names,
                   "service names (gate, orca, ..., or deck)")
      ->required();
  auto* status_cmd = deploy_cmd->add_subcommand(
      "status", "each service: pid, ports, health; and deck, the UI");
  auto* clean_cmd = deploy_cmd->add_subcommand(
      "clean", "stop everything the deployment runs");
  // Kubernetes only (deploymentEnvironment.type KUBERNETES).
  auto* diff_cmd = deploy_cmd->add_subcommand(
      "diff",
      "Kubernetes: what `deploy apply` would change against the last applied "
      "revision");
  auto* rollback_cmd = deploy_cmd->add_subcommand(
      "rollback",
      "Kubernetes: apply the revision before the current one again");
  auto* render_cmd = deploy_cmd->add_subcommand(
      "render",
      "Kubernetes: print the manifests `deploy apply` would apply, touching "
      "no cluster");
  KubernetesCommand kube;
  render_cmd->add_option("--output", kube.output,
                         "write them to this file instead of stdout");
  render_cmd->add_flag("--pod-addresses", kube.pod_addresses,
                       "address dependencies by pod name (podman kube play, "
                       "which has no Services)");
  bool delete_data = false;
  clean_cmd->add_flag("--delete-data", delete_data,
                      "also delete PostgreSQL/Redis data");

  // serve / health / version
  auto* serve_cmd =
      app.add_subcommand("serve", "run the halyard daemon (gRPC, port 8064)");
  std::string daemon_config;
  serve_cmd->add_option("--daemon-config", daemon_config, "daemon config YAML");
  serve_cmd->allow_extras();
  auto* health_cmd = app.add_subcommand(
      "health",
      "exit 0 when host:port reports SERVING; without an address, the "
      "service PID 1 runs (a container's health check)");
  std::string address;
  health_cmd->add_option("address", address, "host:port of a gRPC service");
  auto* version_cmd = app.add_subcommand("version", "print the version");
  auto* hash_cmd = app.add_subcommand(
      "hash-password",
      "read a password on stdin, print its bcrypt hash (for the "
      "passwordHash of a user in security.authn.usersFile)");
  int cost = auth::kDefaultBcryptCost;
  hash_cmd->add_option("--cost", cost, "bcrypt work factor, 4..31")
      ->capture_default_str();

  // `serve --config FILE` is the daemon's own config (as every service takes
  // it).
  if (argc >= 2 && std::string(argv[1]) == "serve") {
    std::vector<char*> args = {argv[0]};
    for (int i = 2; i < argc; ++i) args.push_back(argv[i]);
    return ServiceMain<v1::HalyardConfig>(
        static_cast<int>(args.size()), args.data(), "halyard",
        kUnimplementedArea, ValidateDaemonConfig, BuildDaemon);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  config_path = ExpandHome(config_path);

  if (*version_cmd) {
    PrintLine(absl::StrCat("halyard ", kVersion));
    return 0;
  }
  if (*serve_cmd) {
    // Options came before `serve`: run the daemon with --daemon-config.
    std::vector<std::string> args = {"halyard"};
    if (!daemon_config.empty()) args = {"halyard", "--config", daemon_config};
    std::vector<char*> argv2;
    for (auto& a : args) argv2.push_back(a.data());
    return ServiceMain<v1::HalyardConfig>(
        static_cast<int>(argv2.size()), argv2.data(), "halyard",
        kUnimplementedArea, ValidateDaemonConfig, BuildDaemon);
  }
  if (*hash_cmd) return HashPasswordCommand(cost);
  if (*health_cmd) {
    if (address.empty()) {
      auto process = ReadProcessView(1);
      auto self = process.ok() ? ServiceHealthAddress(*process)
                               : absl::StatusOr<std::string>(process.status());
      if (!self.ok()) return Fail(self.status(), 2);
      address = *self;
    }
    auto serving = CheckServing(address, std::chrono::seconds(2));
    if (!serving.ok()) return Fail(serving.status());
    PrintLine(*serving ? "SERVING" : "NOT_SERVING");
    return *serving ? 0 : 1;
  }
  if (*config_cmd) {
    auto config = Load(config_path, init_cmd->parsed());
    if (!config.ok()) return Fail(config.status(), 2);
    if (*init_cmd) {
      PrintLine(absl::StrCat("halconfig at ", config_path));
      return 0;
    }
    // Store passwords are never printed (the file is there to read them).
    if (*show_cmd) {
      std::cout << config::ToYaml(RedactedHalconfig(*config));
      return 0;
    }
    if (*get_cmd) {
      auto text = config::GetField(RedactedHalconfig(*config), key);
      if (!text.ok()) return Fail(text.status(), 2);
      PrintLine(*text);
      return 0;
    }
    if (*validate_cmd) {
      auto problems = Validate(*config);
      for (const auto& p : problems) {
        std::cerr << "  " << p.key() << ": " << p.message() << "\n";
      }
      if (!problems.empty()) {
        std::cerr << "halyard: " << config_path << " has " << problems.size()
                  << " problem(s)\n";
        return 2;
      }
      PrintLine(absl::StrCat(config_path, ": valid"));
      return 0;
    }
    v1::Halconfig edited = *config;
    if (*set_cmd) {
      absl::Status s = config::SetField(&edited, key, value);
      if (!s.ok()) return Fail(s, 2);
    }
    if (*bakery_edit_cmd) {
      const std::pair<CLI::Option*, std::pair<const char*, std::string>>
          edits[] = {
              {packer_dir_opt, {"bakery.packerConfigDir", packer_config_dir}},
              {packer_bin_opt, {"bakery.packerBinary", packer_binary}},
              {store_opt, {"bakery.imageStoreDir", image_store_dir}},
              {repo_opt,
               {"bakery.packageRepositoryDir", package_repository_dir}},
              {work_opt, {"bakery.workDir", work_dir}},
              {max_opt,
               {"bakery.maxConcurrentBakes",
                std::to_string(max_concurrent_bakes)}},
              {timeout_opt,
               {"bakery.bakeTimeoutSeconds",
                std::to_string(bake_timeout_seconds)}},
              {provider_opt, {"bakery.defaultCloudProvider", default_provider}},
          };
      int changed = 0;
      for (const auto& [option, edit] : edits) {
        if (option->count() == 0) continue;
        absl::Status s = config::SetField(&edited, edit.first, edit.second);
        if (!s.ok()) return Fail(s, 2);
        ++changed;
      }
      if (changed == 0) {
        return Fail(absl::InvalidArgumentError(
                        "nothing to change: name at least one setting (see "
                        "`halyard config bakery edit --help`)"),
                    2);
      }
    }
    if (*storage_cmd) {
      if (managed) {
        edited.mutable_storage()->set_mode(v1::STORAGE_MODE_LOCAL_MANAGED);
      } else {
        edited.mutable_storage()->set_mode(v1::STORAGE_MODE_EXTERNAL);
        if (!dsn.empty())
          edited.mutable_storage()->mutable_postgres()->set_dsn(dsn);
        if (!redis_url.empty())
          edited.mutable_storage()->mutable_redis()->set_url(redis_url);
      }
    }
    absl::Status saved = SaveHalconfig(config_path, edited);
    if (!saved.ok()) {
      return Fail(absl::InvalidArgumentError(
                      absl::StrCat("not saved: ", saved.message())),
                  2);
    }
    PrintLine(absl::StrCat("saved ", config_path,
                           " (run `halyard deploy apply` to apply it)"));
    return 0;
  }
  if (*deploy_cmd) {
    auto config = Load(config_path, apply_cmd->parsed());
    if (!config.ok()) return Fail(config.status(), 2);
    if (absl::Status v = ValidateStatus(*config); !v.ok()) {
      return Fail(
          absl::InvalidArgumentError(absl::StrCat(
              config_path, " is invalid, nothing was changed: ", v.message())),
          2);
    }
    if (KubernetesDeployment(*config)) {
      if (*restart_cmd || *clean_cmd) {
        return Fail(absl::InvalidArgumentError(absl::StrCat(
                        "`deploy ", *restart_cmd ? "restart" : "clean",
                        "` is for a LOCAL deploymentEnvironment; on "
                        "Kubernetes use `deploy apply` / `deploy rollback` "
                        "(or kubectl)")),
                    2);
      }
      if (!service_names.empty()) {
        return Fail(absl::InvalidArgumentError(
                        "--service-names is for a LOCAL deploymentEnvironment: "
                        "on Kubernetes `deploy apply` applies every object "
                        "(unchanged ones are left as they are)"),
                    2);
      }
      kube.apply = apply_cmd->parsed();
      kube.diff = diff_cmd->parsed();
      kube.rollback = rollback_cmd->parsed();
      kube.render = render_cmd->parsed();
      kube.status = status_cmd->parsed();
      return KubernetesDeployCommand(*config, config_path, kube);
    }
    if (*diff_cmd || *rollback_cmd || *render_cmd) {
      return Fail(absl::InvalidArgumentError(absl::StrCat(
                      "`deploy ",
                      *diff_cmd       ? "diff"
                      : *rollback_cmd ? "rollback"
                                      : "render",
                      "` needs a Kubernetes deploymentEnvironment (`halyard "
                      "config set deploymentEnvironment.type KUBERNETES`)")),
                  2);
    }
    if (*apply_cmd || *restart_cmd) {
      // The UI must be built before anything starts.
      if (absl::Status ui = CheckUiBundle(*config); !ui.ok()) {
        return Fail(
            absl::InvalidArgumentError(absl::StrCat(config_path,
                                                    " is invalid, nothing was "
                                                    "changed: ",
                                                    ui.message())),
            2);
      }
    }
    LocalDeployer deployer(config_path, PrintLine);
    if (*apply_cmd || *restart_cmd) {
      absl::StatusOr<v1::ApplyDeploymentResponse> result;
      if (*apply_cmd) {
        std::vector<std::string> only =
            absl::StrSplit(service_names, ',', absl::SkipWhitespace());
        result = deployer.Apply(*config, only);
      } else {
        result = deployer.Restart(*config, restart_names);
        if (absl::IsInvalidArgument(result.status())) {
          return Fail(result.status(), 2);
        }
      }
      if (!result.ok()) return Fail(result.status());
      PrintLine(absl::StrCat(
          "deployment '", config->name(), "' is up: ", result->restarted_size(),
          " started, ", result->unchanged_size(), " unchanged"));
      PrintLine(absl::StrCat("gate: ", GateUrl(*config)));
      if (UiEnabled(*config)) PrintLine(absl::StrCat("deck: ", UiUrl(*config)));
      return 0;
    }
    if (*status_cmd) {
      auto status = deployer.Status(*config);
      if (!status.ok()) return Fail(status.status());
      bool all_serving = true;
      printf("%-12s %-8s %-22s %-6s %-6s %s\n", "SERVICE", "PID", "GRPC",
             "ADMIN", "HTTP", "HEALTH");
      for (const auto& s : status->services()) {
        printf("%-12s %-8d %-22s %-6d %-6s %s\n", s.name().c_str(), s.pid(),
               s.grpc_address().c_str(), s.admin_port(),
               s.http_port() ? std::to_string(s.http_port()).c_str() : "-",
               HealthName(s.health()));
        all_serving &= s.health() == v1::SERVICE_HEALTH_SERVING ||
                       s.health() == v1::SERVICE_HEALTH_DISABLED;
      }
      // Deck is gate's UI listener: its address is its URL, its health what
      // GET /health on it says.
      const v1::ServiceStatus& deck = status->deck();
      const bool deck_up = deck.health() == v1::SERVICE_HEALTH_SERVING;
      printf("%-12s %-8d %-22s %-6s %-6s %s\n", "deck", deck.pid(),
             status->ui_url().empty() ? "-" : status->ui_url().c_str(), "-",
             deck.http_port() ? std::to_string(deck.http_port()).c_str() : "-",
             deck.health() == v1::SERVICE_HEALTH_DISABLED ? "DISABLED"
             : deck_up                                    ? "UP"
                                                          : "DOWN");
      all_serving &= deck_up || deck.health() == v1::SERVICE_HEALTH_DISABLED;
      printf("gate: %s\n", status->gate_url().c_str());
      if (!status->ui_url().empty()) {
        printf("deck: %s\n", status->ui_url().c_str());
      }
      return all_serving ? 0 : 1;
    }
    if (*clean_cmd) {
      absl::Status s = deployer.Clean(*config, delete_data);
      if (!s.ok()) return Fail(s);
      PrintLine(absl::StrCat("deployment '", config->name(), "' stopped"));
      return 0;
    }
  }
  return 0;
}

}  // namespace gennaker::halyard
