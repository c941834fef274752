#include "services/rosco/rosco_server.h"

#include <unistd.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/log/log.h"
#include "common/service/stores.h"
#include "common/status/status_macros.h"
#include "services/rosco/bake_key.h"
#include "services/rosco/bake_store.h"
#include "services/rosco/packer_runner.h"
#include "services/rosco/rosco_core.h"
#include "services/rosco/rosco_grpc.h"

namespace gennaker::rosco {
namespace {

namespace fs = std::filesystem;

class RoscoInstance : public ServiceInstance {
 public:
  ~RoscoInstance() override { Stop(); }

  std::vector<grpc::Service*> GrpcServices() override {
    return {service_.get()};
  }

  void Stop() override {
    if (core_) core_->Stop();
  }

  absl::Status CheckDependencies() override { return PingRedis(*redis_); }

  std::unique_ptr<redis::Client> redis_;
  std::unique_ptr<BakeStore> store_;
  std::unique_ptr<PackerRunner> runner_;
  std::unique_ptr<RoscoCore> core_;
  std::unique_ptr<v1::RoscoService::Service> service_;
};

// `name` with a '/' must be an executable file; without, one in PATH.
bool FindExecutable(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    return access(name.c_str(), X_OK) == 0 && !fs::is_directory(name);
  }
  const char* path = getenv("PATH");
  for (absl::string_view dir :
       absl::StrSplit(path != nullptr ? path : "/usr/bin:/bin", ':')) {
    const std::string candidate =
        absl::StrCat(dir.empty() ? "." : dir, "/", name);
    if (access(candidate.c_str(), X_OK) == 0 && !fs::is_directory(candidate)) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::string DefaultPackerConfigDir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return "share/rosco/packer";
  return (exe.parent_path().parent_path() / "share" / "rosco" / "packer")
      .lexically_normal()
      .string();
}

void ApplyRoscoDefaults(v1::RoscoConfig* config) {
  config->set_packer_config_dir(DefaultPackerConfigDir());
  config->set_packer_binary("packer");
  config->set_max_concurrent_bakes(kDefaultMaxConcurrentBakes);
  config->set_bake_timeout_seconds(kDefaultBakeTimeoutSeconds);
  config->set_default_cloud_provider(v1::CLOUD_PROVIDER_TYPE_LOCAL);
}

absl::Status ValidateConfig(const v1::RoscoConfig& config) {
  std::error_code ec;
  if (!fs::is_directory(config.packer_config_dir(), ec)) {
    return absl::InvalidArgumentError(absl::StrCat("packerConfigDir: '",
                                                   config.packer_config_dir(),
                                                   "' is not a directory"));
  }
  std::set<int> seen;
  for (int i = 0; i < config.providers_size(); ++i) {
    const v1::ProviderBakeConfig& p = config.providers(i);
    const std::string where = absl::StrCat("providers[", i, "]");
    if (p.cloud_provider_type() == v1::CLOUD_PROVIDER_TYPE_UNSPECIFIED) {
      return absl::InvalidArgumentError(where +
                                        ".cloudProviderType: is required");
    }
    if (!seen.insert(p.cloud_provider_type()).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ".cloudProviderType: '", ProviderName(p.cloud_provider_type()),
          "' is configured twice"));
    }
    for (const std::string& t : {p.template_file()}) {
      if (t.find('/') != std::string::npos ||
          t.find("..") != std::string::npos) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ".templateFile: '", t, "' must be a plain file name"));
      }
    }
    if (p.template_file().empty()) {
      for (const v1::BaseImage& b : p.base_images()) {
        if (b.template_file().empty()) {
          return absl::InvalidArgumentError(
              absl::StrCat(where, ": templateFile is required (base image '",
                           b.id(), "' names none)"));
        }
      }
    }
  }
  // The templates rosco will hand to packer exist (a wrong packerConfigDir
  // fails here, not at the first bake).
  const std::vector<v1::ProviderBakeConfig> providers =
      config.providers_size() > 0
          ? std::vector<v1::ProviderBakeConfig>(config.providers().begin(),
                                                config.providers().end())
          : BuiltInProviders();
  for (const v1::ProviderBakeConfig& p : providers) {
    std::vector<std::string> templates = {p.template_file()};
    for (const v1::BaseImage& b : p.base_images()) {
      templates.push_back(b.template_file());
    }
    for (const std::string& t : templates) {
      if (!t.empty() &&
          !fs::is_regular_file(fs::path(config.packer_config_dir()) / t, ec)) {
        return absl::InvalidArgumentError(
            absl::StrCat("packerConfigDir: '", config.packer_config_dir(),
                         "' has no packer template '", t, "' (provider ",
                         ProviderName(p.cloud_provider_type()), ")"));
      }
    }
  }
  if (!FindExecutable(
          config.packer_binary().empty() ? "packer" : config.packer_binary())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "packerBinary: '", config.packer_binary(),
        "' is not an executable file (nor found in PATH); install packer "
        "(Debian: apt-get install packer) or set packerBinary"));
  }
  if (config.default_cloud_provider() != v1::CLOUD_PROVIDER_TYPE_UNSPECIFIED &&
      config.providers_size() > 0 &&
      !seen.contains(config.default_cloud_provider())) {
    return absl::InvalidArgumentError(
        absl::StrCat("defaultCloudProvider: '",
                     ProviderName(config.default_cloud_provider()),
                     "' is not one of the configured providers"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ServiceInstance>> BuildRosco(
    const v1::RoscoConfig& config, Metrics*) {
  GENNAKER_RETURN_IF_ERROR(ValidateConfig(config));
  auto in = std::make_unique<RoscoInstance>();
  GENNAKER_ASSIGN_OR_RETURN(in->redis_, ConnectRedis(config.redis()));
  in->store_ = NewRedisBakeStore(in->redis_.get());
  in->runner_ = NewProcessPackerRunner();
  CoreOptions options = OptionsFromConfig(config);
  in->core_ = std::make_unique<RoscoCore>(std::move(options), in->store_.get(),
                                          in->runner_.get());
  // Before serving: the previous run's bakes are resumed or failed.
  GENNAKER_RETURN_IF_ERROR(in->core_->Start());
  in->service_ = NewRoscoGrpcService(in->core_.get());
  SPDLOG_INFO(
      "event=rosco_built packer_dir={} packer={} image_store={} "
      "package_repository={} max_concurrent_bakes={} bake_timeout_seconds={} "
      "instance={}",
      in->core_->options().packer_config_dir,
      in->core_->options().packer_binary, in->core_->options().image_store_dir,
      in->core_->options().package_repository_dir,
      in->core_->options().max_concurrent_bakes,
      in->core_->options().bake_timeout_seconds,
      in->core_->options().instance_name);
  return std::unique_ptr<ServiceInstance>(std::move(in));
}

}  // namespace gennaker::rosco
