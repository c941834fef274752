#include "services/rosco/rosco_core.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/http/http_client.h"
#include "common/http/outbound.h"
#include "common/ids/ids.h"
#include "common/log/log.h"
#include "common/spinnaker/json.h"
#include "common/status/status_macros.h"
#include "services/rosco/bake_key.h"
#include "services/rosco/packer_output.h"

namespace gennaker::rosco {

namespace fs = std::filesystem;
using spinnaker::Json;

namespace {

constexpr int64_t kLockTtlMs = 5000;
constexpr char kRestartFailure[] =
    "rosco restarted during the bake; packer output lost";

int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

absl::Status Invalid(absl::string_view message) {
  return absl::InvalidArgumentError(message);
}

// A file name inside a directory rosco controls: no path, no "..".
absl::Status CheckFileName(absl::string_view field, const std::string& name) {
  if (name.find('/') != std::string::npos ||
      name.find('\\') != std::string::npos ||
      name.find("..") != std::string::npos || name.empty() || name[0] == '.') {
    return Invalid(absl::StrCat(field, " '", name,
                                "' must be a plain file name (no '/', no "
                                "'..')"));
  }
  return absl::OkStatus();
}

bool IsPackageToken(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) &&
        !absl::StrContains(".+~:_-", c)) {
      return false;
    }
  }
  return true;
}

bool IsVariableName(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' &&
        c != '-') {
      return false;
    }
  }
  return true;
}

std::string Lower(absl::string_view s) { return absl::AsciiStrToLower(s); }

std::string PackageTypeName(v1::PackageType t) {
  switch (t) {
    case v1::PACKAGE_TYPE_DEB:
      return "deb";
    case v1::PACKAGE_TYPE_RPM:
      return "rpm";
    case v1::PACKAGE_TYPE_NUPKG:
      return "nupkg";
    default:
      return "";
  }
}

std::string CompactTime(int64_t ms) {
  const time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[32];
  strftime(buf, sizeof(buf), "%Y%m%d%H%M%S", &tm);
  return buf;
}

// The newest version of `name` in the repository (sort -V order), or "".
std::string NewestVersion(const std::string& repo, const std::string& name) {
  std::string best;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(repo, ec)) {
    const std::string file = entry.path().filename().string();
    std::string version;
    if (absl::StartsWith(file, name + "_") && absl::EndsWith(file, ".deb")) {
      absl::string_view rest = absl::string_view(file).substr(name.size() + 1);
      rest = absl::StripSuffix(rest, ".deb");
      version = std::string(rest.substr(0, rest.rfind('_')));
    } else if (absl::StartsWith(file, name + "-") &&
               absl::EndsWith(file, ".tar.gz")) {
      absl::string_view rest = absl::string_view(file).substr(name.size() + 1);
      rest = absl::StripSuffix(rest, ".tar.gz");
      if (rest.empty() || !absl::ascii_isdigit(rest[0])) continue;
      version = std::string(rest);
    } else {
      continue;
    }
    if (!version.empty() &&
        (best.empty() || CompareVersions(version, best) > 0)) {
      best = version;
    }
  }
  return best;
}

bool HasVersion(const std::string& repo, const std::string& name,
                const std::string& version) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(repo, ec)) {
    const std::string file = entry.path().filename().string();
    if ((absl::StartsWith(file, name + "_" + version + "_") &&
         absl::EndsWith(file, ".deb")) ||
        file == name + "-" + version + ".tar.gz") {
      return true;
    }
  }
  return false;
}

// A package artifact's file name: its name, else the reference's last path
// segment.
std::string ArtifactFileName(const common::v1::Artifact& a) {
  std::string name = a.name();
  if (name.empty()) name = a.reference();
  name = std::string(name.substr(name.find_last_of('/') + 1));
  return std::string(name.substr(0, name.find_first_of("?#")));
}

// The packer variables rosco computes itself (for any provider): a request
// may add variables through extended_attributes, never replace these (they
// name the script packer runs, the directories it writes, the image).
const std::set<std::string>& ReservedVariables() {
  static const auto* const kReserved =
      new std::set<std::string>{"configDir",
                                "packages",
                                "package_type",
                                "repository",
                                "artifact_dir",
                                "image_store",
                                "image_name",
                                "command_b64",
                                "base_os",
                                "tags_b64",
                                "build_info_b64",
                                "appversion",
                                "build_host",
                                "build_info_url",
                                "upgrade",
                                "aws_region",
                                "aws_source_ami",
                                "aws_target_ami",
                                "aws_instance_type",
                                "aws_ena_support",
                                "aws_ssh_username",
                                "docker_source_image",
                                "docker_target_image",
                                "docker_target_repository"};
  return *kReserved;
}

// Packer renders -var values as templates ({{env `X`}}, {{vault ...}}):
// nothing a request supplies may carry a template into a variable.
absl::Status CheckNoTemplate(absl::string_view field, absl::string_view value) {
  if (absl::StrContains(value, "{{")) {
    return Invalid(absl::StrCat(
        field,
        " must not contain '{{' (packer would render it as a template)"));
  }
  return absl::OkStatus();
}

// The entry command of a local image: a JSON array of strings, or a
// shell-like command line (words split on blanks; '...' and "..." quote,
// a backslash escapes the next character outside single quotes).
absl::StatusOr<std::vector<std::string>> SplitCommand(const std::string& in) {
  std::vector<std::string> out;
  const absl::string_view trimmed = absl::StripAsciiWhitespace(in);
  if (absl::StartsWith(trimmed, "[")) {
    Json parsed = Json::parse(trimmed, nullptr, false);
    if (!parsed.is_array()) {
      return Invalid(
          "extended_attributes.command: starts with '[' but is not a JSON "
          "array");
    }
    for (const Json& w : parsed) {
      if (!w.is_string()) {
        return Invalid(
            "extended_attributes.command: the JSON array must hold strings");
      }
      out.push_back(w.get<std::string>());
    }
    return out;
  }
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (quote == '\'') {
      if (c == '\'') {
        quote = 0;
      } else {
        word += c;
      }
    } else if (quote == '"') {
      if (c == '"') {
        quote = 0;
      } else if (c == '\\' && i + 1 < in.size() &&
                 absl::StrContains("\"\\$`", in[i + 1])) {
        word += in[++i];
      } else {
        word += c;
      }
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) out.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == '\\') {
      if (i + 1 >= in.size()) {
        return Invalid(
            "extended_attributes.command: ends with an unescaped backslash");
      }
      word += in[++i];
      in_word = true;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (quote != 0) {
    return Invalid(absl::StrCat("extended_attributes.command: unbalanced ",
                                quote == '"' ? "double" : "single", " quote"));
  }
  if (in_word) out.push_back(std::move(word));
  return out;
}

// Extended attribute values as strings (JSON scalars unquoted).
absl::StatusOr<std::map<std::string, std::string>> ExtendedAttributes(
    const v1::BakeRequest& request) {
  std::map<std::string, std::string> out;
  if (request.extended_attributes().json().empty()) return out;
  GENNAKER_ASSIGN_OR_RETURN(
      Json attrs,
      spinnaker::ParseJsonObject(request.extended_attributes().json(),
                                 "extended_attributes"));
  for (auto it = attrs.begin(); it != attrs.end(); ++it) {
    if (!IsVariableName(it.key())) {
      return Invalid(absl::StrCat("extended_attributes key '", it.key(),
                                  "' is not a packer variable name "
                                  "([A-Za-z0-9_-])"));
    }
    if (ReservedVariables().contains(it.key())) {
      return Invalid(absl::StrCat(
          "extended_attributes key '", it.key(),
          "' is a packer variable rosco sets itself; it cannot be overridden"));
    }
    if (it->is_null()) continue;
    out[it.key()] =
        it->is_string() ? it->get<std::string>() : spinnaker::Dump(*it);
  }
  return out;
}

std::string B64(const std::string& s) { return absl::Base64Escape(s); }

// A bake's packer output in the logs: the head, then the tail.
constexpr size_t kLogHeadBytes = 512 << 10;
constexpr size_t kLogTailBytes = 512 << 10;

// Package artifacts fetched over HTTP are held in memory up to this size.
constexpr int64_t kMaxArtifactBytes = int64_t{256} << 20;

bool IsFileArtifact(const common::v1::Artifact& a) {
  return a.type() == "file" || absl::StartsWith(a.reference(), "file://");
}

// A file artifact's real path, which must lie inside the package repository
// (symlinks and ".." resolved): a request cannot make rosco read any file.
absl::StatusOr<std::string> RepositoryFile(const std::string& repository,
                                           const std::string& reference) {
  const std::string path(absl::StripPrefix(reference, "file://"));
  if (repository.empty()) {
    return Invalid(absl::StrCat(
        "package_artifacts: file artifact '", path,
        "' refused: rosco has no package_repository_dir to read files from"));
  }
  std::error_code ec;
  const fs::path root = fs::canonical(repository, ec);
  if (ec) {
    return absl::FailedPreconditionError(absl::StrCat(
        "package_repository_dir ", repository, ": ", ec.message()));
  }
  const fs::path real = fs::canonical(path, ec);
  if (ec || !fs::is_regular_file(real, ec)) {
    return Invalid(absl::StrCat("package_artifacts: file artifact '", path,
                                "' is not a readable file"));
  }
  const std::string r = real.string();
  if (!absl::StartsWith(r, root.string() + "/")) {
    return Invalid(absl::StrCat("package_artifacts: file artifact '", path,
                                "' is outside the package repository ",
                                repository));
  }
  return r;
}

}  // namespace

std::vector<v1::ProviderBakeConfig> BuiltInProviders() {
  std::vector<v1::ProviderBakeConfig> out;
  {
    v1::ProviderBakeConfig local;
    local.set_cloud_provider_type(v1::CLOUD_PROVIDER_TYPE_LOCAL);
    local.set_template_file("local.json");
    v1::BaseImage* b = local.add_base_images();
    b->set_id("local");
    b->set_short_description("Local (no base image)");
    b->set_detailed_description(
        "Packages unpacked into a read-only, content-addressed image in the "
        "image store; deployed by clouddriver's local accounts");
    b->set_display_name("Local (no base image)");
    b->set_package_type(v1::PACKAGE_TYPE_DEB);
    b->set_template_file("local.json");
    b->set_os_type("linux");
    out.push_back(std::move(local));
  }
  {
    v1::ProviderBakeConfig docker;
    docker.set_cloud_provider_type(v1::CLOUD_PROVIDER_TYPE_DOCKER);
    docker.set_template_file("docker.json");
    (*docker.mutable_variables())["docker_target_repository"] =
        "localhost:5000";
    for (const auto& [id, image, name] :
         std::vector<std::tuple<std::string, std::string, std::string>>{
             {"jammy", "ubuntu:22.04", "Ubuntu 22.04 (jammy)"},
             {"bookworm", "debian:bookworm", "Debian 12 (bookworm)"}}) {
      v1::BaseImage* b = docker.add_base_images();
      b->set_id(id);
      b->set_short_description(name);
      b->set_detailed_description(absl::StrCat(name, " (", image, ")"));
      b->set_display_name(name);
      b->set_package_type(v1::PACKAGE_TYPE_DEB);
      b->set_template_file("docker.json");
      b->set_os_type("linux");
      b->mutable_details()->set_json(
          spinnaker::Dump(Json{{"baseImage", image}}));
    }
    out.push_back(std::move(docker));
  }
  {
    v1::ProviderBakeConfig aws;
    aws.set_cloud_provider_type(v1::CLOUD_PROVIDER_TYPE_AWS);
    aws.set_template_file("aws-ebs.json");
    aws.set_default_vm_type("hvm");
    (*aws.mutable_variables())["aws_ssh_username"] = "ubuntu";
    v1::BaseImage* b = aws.add_base_images();
    b->set_id("jammy");
    b->set_short_description("v22.04");
    b->set_detailed_description("Ubuntu Jammy Jellyfish v22.04");
    b->set_display_name("Ubuntu 22.04 (jammy)");
    b->set_package_type(v1::PACKAGE_TYPE_DEB);
    b->set_template_file("aws-ebs.json");
    b->set_os_type("linux");
    // Example source AMIs: a real installation configures its own.
    b->mutable_details()->set_json(spinnaker::Dump(
        Json{{"virtualizationSettings",
              Json::array({Json{{"region", "us-east-1"},
                                {"virtualizationType", "hvm"},
                                {"instanceType", "t3.small"},
                                {"sourceAmi", "ami-0557a15b87f6559cf"},
                                {"sshUserName", "ubuntu"}},
                           Json{{"region", "us-west-2"},
                                {"virtualizationType", "hvm"},
                                {"instanceType", "t3.small"},
                                {"sourceAmi", "ami-03f65b8614a860c29"},
                                {"sshUserName", "ubuntu"}}})}}));
    out.push_back(std::move(aws));
  }
  return out;
}

std::string DefaultInstanceName(int grpc_port) {
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') {
    return absl::StrCat("rosco:", grpc_port);
  }
  return absl::StrCat(host, ":", grpc_port);
}

CoreOptions OptionsFromConfig(const v1::RoscoConfig& config) {
  CoreOptions o;
  o.packer_config_dir = config.packer_config_dir();
  if (!config.packer_binary().empty()) o.packer_binary = config.packer_binary();
  o.work_dir = config.work_dir();
  o.image_store_dir = config.image_store_dir();
  o.package_repository_dir = config.package_repository_dir();
  if (config.max_concurrent_bakes() > 0) {
    o.max_concurrent_bakes = config.max_concurrent_bakes();
  }
  if (config.bake_timeout_seconds() > 0) {
    o.bake_timeout_seconds = config.bake_timeout_seconds();
  }
  o.instance_name = config.instance_name().empty()
                        ? DefaultInstanceName(config.server().grpc_port())
                        : config.instance_name();
  o.providers.assign(config.providers().begin(), config.providers().end());
  if (config.default_cloud_provider() != v1::CLOUD_PROVIDER_TYPE_UNSPECIFIED) {
    o.default_cloud_provider = config.default_cloud_provider();
  }
  o.templates_needing_root.insert(config.templates_needing_root().begin(),
                                  config.templates_needing_root().end());
  return o;
}

RoscoCore::RoscoCore(CoreOptions options, BakeStore* store,
                     PackerRunner* runner)
    : options_(std::move(options)), store_(store), runner_(runner) {
  if (options_.providers.empty()) options_.providers = BuiltInProviders();
  if (!options_.now_ms) options_.now_ms = SystemNowMs;
  if (options_.work_dir.empty()) {
    const char* tmp = getenv("TMPDIR");
    options_.work_dir =
        absl::StrCat(tmp != nullptr && *tmp ? tmp : "/tmp", "/rosco-work");
  }
  options_.max_concurrent_bakes = std::max(1, options_.max_concurrent_bakes);
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  owner_ = absl::StrCat(host, ":", getpid(), ":", NewUuid());
}

RoscoCore::~RoscoCore() { Stop(); }

const v1::ProviderBakeConfig* RoscoCore::Provider(
    v1::CloudProviderType type) const {
  for (const v1::ProviderBakeConfig& p : options_.providers) {
    if (p.cloud_provider_type() == type) return &p;
  }
  return nullptr;
}

absl::StatusOr<BakeRecipe> RoscoCore::Prepare(
    v1::CreateBakeRequest* request, const std::string& image_name,
    const std::string& work_dir) const {
  v1::BakeRequest* br = request->mutable_bake_request();
  BakeRecipe recipe;
  if (br->cloud_provider_type() == v1::CLOUD_PROVIDER_TYPE_UNSPECIFIED) {
    br->set_cloud_provider_type(options_.default_cloud_provider);
  }
  const v1::CloudProviderType provider = br->cloud_provider_type();
  const v1::ProviderBakeConfig* prov = Provider(provider);
  if (prov == nullptr) {
    std::vector<std::string> names;
    for (const auto& p : options_.providers) {
      names.push_back(ProviderName(p.cloud_provider_type()));
    }
    return Invalid(absl::StrCat("cloud_provider_type '", ProviderName(provider),
                                "' is not configured in rosco (configured: ",
                                absl::StrJoin(names, ", "), ")"));
  }
  const bool local = provider == v1::CLOUD_PROVIDER_TYPE_LOCAL;
  const bool aws = provider == v1::CLOUD_PROVIDER_TYPE_AWS;
  const bool docker = provider == v1::CLOUD_PROVIDER_TYPE_DOCKER;
  recipe.provider = provider;

  if (request->region().empty()) {
    if (aws) return Invalid("region is required for aws bakes");
    request->set_region(local ? "localhost" : "global");
  }
  if (request->region().find_first_of(" /:\t\n") != std::string::npos) {
    return Invalid(
        absl::StrCat("region '", request->region(), "' is not valid"));
  }
  recipe.region = request->region();

  const std::string label = Lower(br->base_label());
  if (!label.empty() && label != "release" && label != "candidate" &&
      label != "previous" && label != "unstable" && label != "foundation") {
    return Invalid(absl::StrCat(
        "base_label '", br->base_label(),
        "' must be one of release, candidate, previous, unstable, foundation"));
  }
  const std::string vm = Lower(br->vm_type());
  if (!vm.empty() && vm != "pv" && vm != "hvm") {
    return Invalid(
        absl::StrCat("vm_type '", br->vm_type(), "' must be pv or hvm"));
  }
  if (aws && br->vm_type().empty()) {
    br->set_vm_type(prov->default_vm_type().empty() ? "hvm"
                                                    : prov->default_vm_type());
  }
  const std::string store_type = Lower(br->store_type());
  if (!store_type.empty() && store_type != "ebs" && store_type != "s3" &&
      store_type != "docker") {
    return Invalid(absl::StrCat("store_type '", br->store_type(),
                                "' must be ebs, s3 or docker"));
  }

  // Base image.
  if (br->base_os().empty() && br->base_ami().empty() &&
      prov->base_images_size() > 0) {
    br->set_base_os(prov->base_images(0).id());
  }
  const v1::BaseImage* base = nullptr;
  for (const v1::BaseImage& b : prov->base_images()) {
    if (b.id() == br->base_os()) base = &b;
  }
  if (base == nullptr && !br->base_os().empty() && br->base_ami().empty()) {
    std::vector<std::string> ids;
    for (const v1::BaseImage& b : prov->base_images()) ids.push_back(b.id());
    return Invalid(absl::StrCat(
        "base_os '", br->base_os(), "' is not a base image of provider ",
        ProviderName(provider), " (known: ", absl::StrJoin(ids, ", "), ")"));
  }
  if (!br->base_os().empty() && !IsSafeName(br->base_os())) {
    return Invalid(absl::StrCat("base_os '", br->base_os(),
                                "' may only use [A-Za-z0-9._-]"));
  }
  recipe.base_os = br->base_os();
  Json details = Json::object();
  if (base != nullptr && !base->details().json().empty()) {
    absl::StatusOr<Json> d = spinnaker::ParseJsonObject(base->details().json(),
                                                        "base image details");
    if (d.ok()) details = *std::move(d);
  }

  // Template and var file.
  std::string tmpl = br->template_file_name();
  if (tmpl.empty() && base != nullptr) tmpl = base->template_file();
  if (tmpl.empty()) tmpl = prov->template_file();
  if (tmpl.empty()) {
    return Invalid(absl::StrCat("provider ", ProviderName(provider),
                                " has no packer template configured"));
  }
  GENNAKER_RETURN_IF_ERROR(CheckFileName("template_file_name", tmpl));
  const fs::path dir(options_.packer_config_dir);
  std::error_code ec;
  if (!fs::is_regular_file(dir / tmpl, ec)) {
    return Invalid(absl::StrCat("template_file_name '", tmpl,
                                "' is not a packer template in ",
                                options_.packer_config_dir));
  }
  recipe.template_file = tmpl;
  if (!br->var_file_name().empty()) {
    GENNAKER_RETURN_IF_ERROR(
        CheckFileName("var_file_name", br->var_file_name()));
    if (!fs::is_regular_file(dir / br->var_file_name(), ec)) {
      return Invalid(absl::StrCat("var_file_name '", br->var_file_name(),
                                  "' is not a file in ",
                                  options_.packer_config_dir));
    }
  }

  // Names that end up in file names and JSON.
  for (const auto& [field, value] :
       std::vector<std::pair<std::string, std::string>>{
           {"ami_name", br->ami_name()},
           {"ami_suffix", br->ami_suffix()},
           {"organization", br->organization()}}) {
    if (!value.empty() && !IsSafeName(value)) {
      return Invalid(
          absl::StrCat(field, " '", value, "' may only use [A-Za-z0-9._-]"));
    }
  }

  // Packages.
  std::vector<PackageRef> packages = ParsePackages(br->package_names());
  for (const PackageRef& p : packages) {
    if (!IsPackageToken(p.name) ||
        (!p.version.empty() && !IsPackageToken(p.version)) ||
        absl::StrContains(p.name, ":")) {
      return Invalid(
          absl::StrCat("package '", p.entry, "' is not a valid package name"));
    }
  }
  for (const common::v1::Artifact& a : br->package_artifacts()) {
    const std::string file = ArtifactFileName(a);
    if (a.type() != "embedded/base64" && a.type() != "http/file" &&
        a.type() != "file") {
      return Invalid(absl::StrCat("package_artifacts: type '", a.type(),
                                  "' is not supported (embedded/base64, "
                                  "http/file, file)"));
    }
    if (a.reference().empty()) {
      return Invalid("package_artifacts: reference is required");
    }
    if (!IsSafeName(file) || (local && !absl::EndsWith(file, ".deb") &&
                              !absl::EndsWith(file, ".tar.gz"))) {
      return Invalid(absl::StrCat(
          "package_artifacts: name '", file,
          "' must be a plain .deb or .tar.gz file name ([A-Za-z0-9._-])"));
    }
    if (IsFileArtifact(a)) {
      GENNAKER_RETURN_IF_ERROR(
          RepositoryFile(options_.package_repository_dir, a.reference())
              .status());
    } else if (a.type() == "http/file" &&
               !absl::StartsWith(a.reference(), "http://") &&
               !absl::StartsWith(a.reference(), "https://")) {
      return Invalid(absl::StrCat("package_artifacts: '", file,
                                  "' reference must be an http(s) URL"));
    }
    std::string unused;
    if (a.type() == "embedded/base64" &&
        !absl::Base64Unescape(a.reference(), &unused)) {
      return Invalid(absl::StrCat("package_artifacts: '", file,
                                  "' reference is not base64"));
    }
  }
  if (packages.empty() && br->package_artifacts_size() == 0) {
    return Invalid(absl::StrCat(
        "package is required for ", ProviderName(provider),
        " bakes (a space-separated package list) unless package_artifacts are "
        "given"));
  }
  std::vector<std::string> resolved;
  if (local) {
    if (options_.image_store_dir.empty()) {
      return absl::FailedPreconditionError(
          "rosco has no image_store_dir configured: local bakes need one");
    }
    for (PackageRef& p : packages) {
      if (options_.package_repository_dir.empty()) {
        return absl::FailedPreconditionError(
            "rosco has no package_repository_dir configured: local bakes of "
            "named packages need one");
      }
      if (p.version.empty()) {
        p.version = NewestVersion(options_.package_repository_dir, p.name);
        if (p.version.empty()) {
          return Invalid(absl::StrCat("package '", p.name,
                                      "' is not in the package repository ",
                                      options_.package_repository_dir));
        }
      } else if (!HasVersion(options_.package_repository_dir, p.name,
                             p.version)) {
        return Invalid(absl::StrCat("package '", p.name, "' version '",
                                    p.version,
                                    "' is not in the package repository ",
                                    options_.package_repository_dir));
      }
      resolved.push_back(absl::StrCat(p.name, "=", p.version));
    }
    // The key and a resumed run see the versions chosen now: a newer
    // package in the repository is a new bake, not a reuse of the old image.
    if (!resolved.empty()) br->set_package_names(absl::StrJoin(resolved, " "));
  } else {
    for (const PackageRef& p : packages) resolved.push_back(p.entry);
  }
  PackageRef first;
  if (!packages.empty()) {
    first = packages.front();
  } else {
    std::string file = ArtifactFileName(br->package_artifacts(0));
    file = std::string(absl::StripSuffix(
        absl::StripSuffix(absl::StripSuffix(file, ".deb"), ".tar.gz"), ".rpm"));
    std::vector<PackageRef> refs = ParsePackages(file);
    if (!refs.empty()) first = refs.front();
  }

  GENNAKER_ASSIGN_OR_RETURN(auto attrs, ExtendedAttributes(*br));
  // What the request puts into packer variables verbatim (the local entry
  // command goes base64-encoded, so it may hold "{{port}}").
  for (const auto& [field, value] :
       std::vector<std::pair<std::string, std::string>>{
           {"region", request->region()},
           {"build_host", br->build_host()},
           {"build_info_url", br->build_info_url()},
           {"build_number", br->build_number()},
           {"job", br->job()},
           {"commit_hash", br->commit_hash()},
           {"base_ami", br->base_ami()},
           {"instance_type", br->instance_type()}}) {
    GENNAKER_RETURN_IF_ERROR(CheckNoTemplate(field, value));
  }
  for (const auto& [k, v] : attrs) {
    if (local && k == "command") continue;
    GENNAKER_RETURN_IF_ERROR(
        CheckNoTemplate(absl::StrCat("extended_attributes.", k), v));
  }
  const int64_t now = Now();
  recipe.image_name =
      image_name.empty() ? ImageName(*br, provider, first, now) : image_name;
  if (recipe.image_name.empty() || (local && !IsSafeName(recipe.image_name))) {
    return Invalid(absl::StrCat("cannot name the image ('", recipe.image_name,
                                "'): set ami_name or a package"));
  }

  // Variables: common, provider config, provider rules, then the request's
  // extended attributes (they win, as in Spinnaker).
  std::map<std::string, std::string> vars;
  std::string package_type = PackageTypeName(br->package_type());
  if (package_type.empty() && base != nullptr) {
    package_type = PackageTypeName(base->package_type());
  }
  vars["packages"] = absl::StrJoin(resolved, " ");
  vars["package_type"] = package_type;
  vars["configDir"] = options_.packer_config_dir;
  const std::string appversion = AppVersion(first, *br);
  vars["appversion"] = appversion;
  vars["build_host"] = br->build_host();
  vars["build_info_url"] = br->build_info_url();
  if (br->upgrade()) vars["upgrade"] = "true";
  if (details.contains("repository") && details["repository"].is_string()) {
    vars["repository"] = details["repository"].get<std::string>();
  }
  for (const auto& [k, v] : prov->variables()) vars[k] = v;

  if (local) {
    vars["repository"] = options_.package_repository_dir;
    vars["image_store"] = options_.image_store_dir;
    vars["image_name"] = recipe.image_name;
    vars["base_os"] = br->base_os();
    if (br->package_artifacts_size() > 0 && !work_dir.empty()) {
      vars["artifact_dir"] = (fs::path(work_dir) / "artifacts").string();
    }
    Json command = Json::array();
    if (auto it = attrs.find("command"); it != attrs.end()) {
      GENNAKER_ASSIGN_OR_RETURN(std::vector<std::string> words,
                                SplitCommand(it->second));
      for (std::string& w : words) command.push_back(std::move(w));
      attrs.erase(it);  // not a packer variable: it is the image's command
    }
    vars["command_b64"] = B64(spinnaker::Dump(command));
    Json tags = Json::object();
    for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
             {"appversion", appversion},
             {"build_host", br->build_host()},
             {"build_info_url", br->build_info_url()},
             {"build_number", br->build_number()},
             {"job", br->job()},
             {"commit_hash", br->commit_hash()},
             {"version", first.version},
             {"package", first.name}}) {
      if (!v.empty()) tags[k] = v;
    }
    vars["tags_b64"] = B64(spinnaker::Dump(tags));
    vars["build_info_b64"] = B64(spinnaker::Dump(tags));
  } else if (docker) {
    std::string source = br->base_ami();
    if (source.empty()) source = spinnaker::String(details, "baseImage");
    if (source.empty()) source = br->base_os();
    recipe.base_ami = source;
    vars["docker_source_image"] = source;
    vars["docker_target_image"] = recipe.image_name;
    std::string tag;
    if (auto it = attrs.find("docker_target_image_tag"); it != attrs.end()) {
      tag = it->second;
    }
    if (tag.empty()) tag = br->commit_hash();
    if (tag.empty()) tag = CompactTime(now);
    vars["docker_target_image_tag"] = tag;
    if (!br->organization().empty() &&
        vars["docker_target_repository"].empty()) {
      vars["docker_target_repository"] = br->organization();
    }
  } else if (aws) {
    std::string source = br->base_ami();
    std::string instance_type = br->instance_type();
    for (const Json& vs : spinnaker::Array(details, "virtualizationSettings")) {
      if (spinnaker::String(vs, "region") != request->region() ||
          Lower(spinnaker::String(vs, "virtualizationType")) !=
              Lower(br->vm_type())) {
        continue;
      }
      if (source.empty()) source = spinnaker::String(vs, "sourceAmi");
      if (instance_type.empty()) {
        instance_type = spinnaker::String(vs, "instanceType");
      }
      if (const std::string user = spinnaker::String(vs, "sshUserName");
          !user.empty()) {
        vars["aws_ssh_username"] = user;
      }
    }
    if (source.empty()) {
      return Invalid(absl::StrCat("no base AMI for aws base_os '",
                                  br->base_os(), "' in region ",
                                  request->region(), " with vm_type ",
                                  br->vm_type(), "; set base_ami"));
    }
    recipe.base_ami = source;
    vars["aws_region"] = request->region();
    vars["aws_source_ami"] = source;
    vars["aws_target_ami"] = recipe.image_name;
    if (!instance_type.empty()) vars["aws_instance_type"] = instance_type;
    if (br->enhanced_networking()) vars["aws_ena_support"] = "true";
  }
  for (const auto& [k, v] : attrs) {
    if ((k == "copy_to" || k == "share_with") && !v.empty()) {
      int n = 0;
      for (absl::string_view part :
           absl::StrSplit(v, ',', absl::SkipWhitespace())) {
        vars[absl::StrCat(k, "_", ++n)] =
            std::string(absl::StripAsciiWhitespace(part));
      }
      continue;
    }
    vars[k] = v;
  }

  if (options_.templates_needing_root.contains(tmpl)) {
    recipe.argv.push_back("sudo");
  }
  recipe.argv.push_back(options_.packer_binary);
  recipe.argv.push_back("build");
  recipe.argv.push_back("-color=false");
  recipe.argv.push_back("-machine-readable");
  for (const auto& [k, v] : vars) {
    if (v.empty()) continue;  // Spinnaker drops empty values
    recipe.variables.emplace_back(k, v);
    recipe.argv.push_back("-var");
    recipe.argv.push_back(absl::StrCat(k, "=", v));
  }
  if (!br->var_file_name().empty()) {
    recipe.argv.push_back(
        absl::StrCat("-var-file=", (dir / br->var_file_name()).string()));
  }
  recipe.argv.push_back((dir / tmpl).string());
  return recipe;
}

absl::Status RoscoCore::Start() {
  GENNAKER_ASSIGN_OR_RETURN(std::vector<std::string> ids,
                            store_->ListIncomplete(options_.instance_name));
  std::vector<BakeRecord> pending;
  for (const std::string& id : ids) {
    GENNAKER_ASSIGN_OR_RETURN(std::optional<BakeRecord> rec,
                              store_->GetRecord(id));
    if (!rec || rec->status.state() != v1::BAKE_STATE_RUNNING) {
      GENNAKER_RETURN_IF_ERROR(
          store_->RemoveIncomplete(options_.instance_name, id));
      continue;
    }
    pending.push_back(*std::move(rec));
  }
  std::sort(pending.begin(), pending.end(),
            [](const BakeRecord& a, const BakeRecord& b) {
              return a.status.created_at_ms() < b.status.created_at_ms();
            });
  for (BakeRecord& rec : pending) {
    const std::string& id = rec.status.id();
    const int killed = KillLeftoverPacker(id);
    v1::CreateBakeRequest copy = rec.request;
    absl::StatusOr<BakeRecipe> recipe = Prepare(&copy, rec.image_name, "");
    if (rec.attempts >= kMaxAttempts) {
      Finish(id, v1::BAKE_RESULT_FAILURE,
             absl::StrCat(kRestartFailure, " (interrupted ", rec.attempts,
                          " times; not retried again)"),
             "", 0);
    } else if (!recipe.ok()) {
      Finish(id, v1::BAKE_RESULT_FAILURE,
             absl::StrCat(kRestartFailure, ", and it cannot run again: ",
                          recipe.status().message()),
             "", 0);
    }
    if (rec.attempts >= kMaxAttempts || !recipe.ok()) {
      // Ended here: the interrupted run's work directory goes too.
      std::error_code ignored;
      fs::remove_all(fs::path(options_.work_dir) / id, ignored);
    } else {
      (void)store_->AppendLogs(
          id, rec.attempts > 0
                  ? "==> rosco restarted during the bake; the interrupted "
                    "packer run's output is lost; running the bake again\n"
                  : "==> rosco restarted; the queued bake is resumed\n");
      SPDLOG_INFO(
          "event=rosco_bake_resumed status_id={} bake_key=\"{}\" attempts={} "
          "leftover_processes_killed={}",
          id, rec.status.bake_key(), rec.attempts, killed);
      Enqueue(id);
    }
  }
  stopping_ = false;
  started_ = true;
  for (int i = 0; i < options_.max_concurrent_bakes; ++i) {
    workers_.emplace_back([this] { Worker(); });
  }
  SPDLOG_INFO(
      "event=rosco_started instance={} workers={} resumed={} packer_dir={}",
      options_.instance_name, options_.max_concurrent_bakes, pending.size(),
      options_.packer_config_dir);
  return absl::OkStatus();
}

void RoscoCore::Stop() {
  {
    absl::MutexLock l(&mu_);
    stopping_ = true;
  }
  for (std::thread& t : workers_) {
    if (t.joinable()) t.join();
  }
  workers_.clear();
}

void RoscoCore::Enqueue(const std::string& status_id) {
  size_t running = 0;
  size_t queued = 0;
  {
    absl::MutexLock l(&mu_);
    queue_.push_back(status_id);
    running = running_.size();
    queued = queue_.size();
  }
  if (running + queued > static_cast<size_t>(options_.max_concurrent_bakes)) {
    (void)store_->AppendLogs(
        status_id,
        absl::StrCat("==> rosco: queued: waiting for a packer slot (", running,
                     " of ", options_.max_concurrent_bakes, " running, ",
                     queued, " waiting)\n"));
  }
}

void RoscoCore::Worker() {
  while (true) {
    std::string id;
    {
      absl::MutexLock l(&mu_);
      mu_.Await(absl::Condition(
          +[](RoscoCore* c) {
            return c->stopping_.load() || !c->queue_.empty();
          },
          this));
      if (stopping_) return;
      id = queue_.front();
      queue_.pop_front();
      running_[id] = std::make_shared<Running>();
    }
    RunBake(id);
    absl::MutexLock l(&mu_);
    running_.erase(id);
  }
}

absl::Status RoscoCore::FetchArtifacts(const v1::BakeRequest& request,
                                       const std::string& dir) const {
  if (request.package_artifacts_size() == 0) return absl::OkStatus();
  const fs::path out = fs::path(dir) / "artifacts";
  std::error_code ec;
  fs::create_directories(out, ec);
  for (const common::v1::Artifact& a : request.package_artifacts()) {
    const std::string file = ArtifactFileName(a);
    std::string content;
    if (a.type() == "embedded/base64") {
      absl::Base64Unescape(a.reference(), &content);
    } else if (IsFileArtifact(a)) {
      GENNAKER_ASSIGN_OR_RETURN(
          const std::string path,
          RepositoryFile(options_.package_repository_dir, a.reference()));
      std::ifstream in(path, std::ios::binary);
      if (!in) {
        return absl::FailedPreconditionError(
            absl::StrCat("package artifact '", file, "': cannot read ", path));
      }
      content.assign(std::istreambuf_iterator<char>(in),
                     std::istreambuf_iterator<char>());
    } else {
      // A URL from the request: the suite's outbound policy (no loopback,
      // link-local or suite ports) and a cap on what is held in memory.
      http::OutboundPolicy policy = http::DefaultOutboundPolicy();
      policy.max_response_bytes = kMaxArtifactBytes;
      policy.timeout_ms = 120000;
      GENNAKER_ASSIGN_OR_RETURN(std::unique_ptr<http::OutboundClient> client,
                                http::OutboundClient::Create(policy));
      http::ClientRequest req;
      req.url = a.reference();
      req.timeout_ms = policy.timeout_ms;
      absl::StatusOr<http::ClientResponse> fetched = client->Fetch(req);
      if (!fetched.ok()) {
        return absl::Status(fetched.status().code(),
                            absl::StrCat("package artifact '", file,
                                         "': ", fetched.status().message()));
      }
      http::ClientResponse resp = *std::move(fetched);
      if (resp.status != 200) {
        return absl::FailedPreconditionError(
            absl::StrCat("package artifact '", file, "': GET ", a.reference(),
                         " answered ", resp.status));
      }
      content = std::move(resp.body);
    }
    std::ofstream f(out / file, std::ios::binary | std::ios::trunc);
    f << content;
    if (!f.good()) {
      return absl::InternalError(absl::StrCat("cannot write package artifact ",
                                              (out / file).string()));
    }
  }
  return absl::OkStatus();
}

void RoscoCore::RunBake(const std::string& id) {
  absl::StatusOr<std::optional<BakeRecord>> loaded = store_->GetRecord(id);
  if (!loaded.ok() || !*loaded) {
    SPDLOG_WARN("event=rosco_bake_unreadable status_id={} error=\"{}\"", id,
                loaded.status().message());
    return;
  }
  BakeRecord rec = **std::move(loaded);
  if (rec.status.state() != v1::BAKE_STATE_RUNNING) {
    (void)store_->RemoveIncomplete(options_.instance_name, id);
    return;
  }
  std::shared_ptr<Running> running;
  {
    absl::MutexLock l(&mu_);
    running = running_[id];
  }
  const std::string work = (fs::path(options_.work_dir) / id).string();
  std::error_code ec;
  fs::remove_all(work, ec);
  fs::create_directories(work, ec);
  // The work directory goes with every end of the bake; a bake left for the
  // next start keeps it (that run starts from an empty one anyway).
  struct WorkDir {
    std::string path;
    bool keep = false;
    ~WorkDir() {
      if (keep) return;
      std::error_code ignored;
      fs::remove_all(path, ignored);
    }
  } work_dir{work};
  if (ec) {
    Finish(id, v1::BAKE_RESULT_FAILURE,
           absl::StrCat("cannot create the work directory ", work, ": ",
                        ec.message()),
           "", 0);
    return;
  }
  absl::StatusOr<BakeRecipe> recipe =
      Prepare(&rec.request, rec.image_name, work);
  if (!recipe.ok()) {
    Finish(id, v1::BAKE_RESULT_FAILURE,
           absl::StrCat("the bake cannot run: ", recipe.status().message()), "",
           0);
    return;
  }
  if (absl::Status s = FetchArtifacts(rec.request.bake_request(), work);
      !s.ok()) {
    Finish(id, v1::BAKE_RESULT_FAILURE, std::string(s.message()), "", 0);
    return;
  }
  ++rec.attempts;
  (void)store_->PutAttempts(id, rec.attempts);
  (void)store_->AppendLogs(
      id, absl::StrCat("==> rosco: packer build ", recipe->template_file,
                       " for ", ProviderName(recipe->provider), " in ",
                       recipe->region, " (attempt ", rec.attempts, ")\n"));

  PackerInvocation inv;
  inv.argv = recipe->argv;
  inv.env = {{kBakeEnvName, id},
             {"CHECKPOINT_DISABLE", "1"},
             {"PACKER_NO_COLOR", "1"},
             {"TMPDIR", work}};
  inv.cwd = work;
  inv.timeout = absl::Seconds(options_.bake_timeout_seconds);

  PackerOutput output;
  std::string pending;
  std::string first_error;  // usually the cause; later ones summarize
  auto last_flush = std::chrono::steady_clock::now();
  auto last_check = last_flush;
  bool canceled_elsewhere = false;
  // The store keeps the first kLogHeadBytes of packer's output and, past
  // that, its last kLogTailBytes (written when packer ends): a chatty or
  // looping build cannot grow a bake's logs without bound.
  size_t logged = 0;
  std::string tail;
  int64_t omitted = 0;
  auto flush = [&] {
    if (!pending.empty()) {
      if (logged + pending.size() <= kLogHeadBytes) {
        (void)store_->AppendLogs(id, pending);
        logged += pending.size();
      } else {
        tail += pending;
        if (tail.size() > kLogTailBytes) {
          omitted += static_cast<int64_t>(tail.size() - kLogTailBytes);
          tail.erase(0, tail.size() - kLogTailBytes);
        }
      }
      pending.clear();
    }
    last_flush = std::chrono::steady_clock::now();
  };
  const PackerExit exit = runner_->Run(
      inv,
      [&](pid_t pid) {
        SPDLOG_INFO("event=rosco_packer_started status_id={} pid={} attempt={}",
                    id, pid, rec.attempts);
      },
      [&](absl::string_view line) {
        MachineLine m;
        if (ParseMachineLine(line, &m) && m.type == "ui" &&
            m.data.size() >= 2 && m.data[0] == "error") {
          if (first_error.empty()) {
            first_error = std::string(absl::StripAsciiWhitespace(m.data[1]));
          }
        }
        pending += output.Feed(line);
        if (pending.size() > 65536 ||
            std::chrono::steady_clock::now() - last_flush >
                std::chrono::milliseconds(500)) {
          flush();
        }
      },
      [&] {
        if (running->cancel.load() || stopping_.load()) return true;
        const auto now = std::chrono::steady_clock::now();
        if (now - last_flush > std::chrono::milliseconds(500)) flush();
        // A cancel through another rosco only reaches the store.
        if (now - last_check > std::chrono::seconds(2)) {
          last_check = now;
          absl::StatusOr<std::optional<BakeRecord>> r = store_->GetRecord(id);
          if (r.ok() && *r && (*r)->status.state() != v1::BAKE_STATE_RUNNING) {
            canceled_elsewhere = true;
            return true;
          }
        }
        return false;
      });
  flush();
  if (!tail.empty()) {
    if (omitted > 0) {
      // From the first whole line on.
      const size_t nl = tail.find('\n');
      if (nl != std::string::npos && nl + 1 < tail.size()) {
        omitted += static_cast<int64_t>(nl + 1);
        tail.erase(0, nl + 1);
      }
      (void)store_->AppendLogs(
          id, absl::StrCat("==> rosco: ", omitted,
                           " bytes of packer output omitted\n"));
    }
    (void)store_->AppendLogs(id, tail);
  }

  if (exit.stopped && stopping_.load() && !running->cancel.load() &&
      !canceled_elsewhere) {
    work_dir.keep = true;
    (void)store_->AppendLogs(
        id, "==> rosco: stopping; the bake runs again when rosco starts\n");
    SPDLOG_INFO("event=rosco_bake_interrupted status_id={} packer_ms={}", id,
                exit.elapsed_ms);
    return;
  }
  if (exit.stopped) {
    // CancelBake already recorded CANCELED; the set entry goes now.
    (void)store_->RemoveIncomplete(options_.instance_name, id);
    SPDLOG_INFO(
        "event=rosco_bake_finished status_id={} bake_key=\"{}\" "
        "result=CANCELED packer_ms={} total_ms={}",
        id, rec.status.bake_key(), exit.elapsed_ms,
        Now() - rec.status.created_at_ms());
    return;
  }
  if (exit.timed_out) {
    Finish(id, v1::BAKE_RESULT_FAILURE,
           absl::StrCat("packer ran longer than bake_timeout_seconds (",
                        options_.bake_timeout_seconds, " s) and was killed"),
           "", exit.elapsed_ms);
    return;
  }
  if (!exit.error.empty()) {
    Finish(id, v1::BAKE_RESULT_FAILURE,
           absl::StrCat("could not run packer: ", exit.error), "",
           exit.elapsed_ms);
    return;
  }
  if (exit.exit_code != 0) {
    Finish(id, v1::BAKE_RESULT_FAILURE,
           absl::StrCat("packer exited with status ", exit.exit_code,
                        first_error.empty() ? "" : ": ", first_error),
           "", exit.elapsed_ms);
    return;
  }
  const PackerImage image = ExtractImage(recipe->provider, recipe->region,
                                         output.text(), output.artifact_ids());
  const bool local = recipe->provider == v1::CLOUD_PROVIDER_TYPE_LOCAL;
  const bool aws = recipe->provider == v1::CLOUD_PROVIDER_TYPE_AWS;
  if ((local && (!absl::StartsWith(image.image_id, "sha256:") ||
                 image.image_name.empty())) ||
      (aws && image.image_id.empty()) ||
      (!local && !aws && image.image_name.empty() && image.image_id.empty())) {
    Finish(id, v1::BAKE_RESULT_FAILURE,
           "packer succeeded but its output names no image (see the logs)", "",
           exit.elapsed_ms);
    return;
  }
  const v1::BakeRequest& br = rec.request.bake_request();
  v1::Bake bake;
  // As Spinnaker's rosco: the bake id is the status id (resource_id).
  bake.set_id(id);
  bake.set_ami(aws ? image.image_id : "");
  bake.set_image_name(image.image_name.empty() ? recipe->image_name
                                               : image.image_name);
  bake.set_base_ami(recipe->base_ami);
  bake.set_cloud_provider_type(recipe->provider);
  Json metadata = Json::object();
  if (!br.build_info_url().empty()) {
    metadata["build_info_url"] = br.build_info_url();
  }
  if (!br.build_number().empty()) metadata["build_number"] = br.build_number();
  auto artifact = [&](const std::string& location,
                      const std::string& reference) {
    common::v1::Artifact a;
    a.set_type(absl::StrCat(ProviderName(recipe->provider), "/image"));
    a.set_name(bake.image_name());
    a.set_location(location);
    a.set_reference(reference);
    a.mutable_metadata()->set_json(spinnaker::Dump(metadata));
    return a;
  };
  const std::string reference =
      !image.image_id.empty() &&
              !(recipe->provider == v1::CLOUD_PROVIDER_TYPE_DOCKER)
          ? image.image_id
          : bake.image_name();
  *bake.mutable_artifact() = artifact(recipe->region, reference);
  if (aws && !image.regions.empty()) {
    for (const auto& [r, ami] : image.regions) {
      bake.add_regions(r);
      *bake.add_artifacts() = artifact(r, ami);
    }
  } else {
    bake.add_regions(recipe->region);
    *bake.add_artifacts() = bake.artifact();
  }
  std::vector<std::string> image_ids;
  for (const std::string& i : {image.image_id, bake.image_name()}) {
    if (!i.empty()) image_ids.push_back(i);
  }
  if (absl::Status s = store_->PutBake(id, bake, image_ids); !s.ok()) {
    Finish(id, v1::BAKE_RESULT_FAILURE,
           absl::StrCat("cannot store the bake: ", s.message()), "",
           exit.elapsed_ms);
    return;
  }
  Finish(id, v1::BAKE_RESULT_SUCCESS, "", bake.id(), exit.elapsed_ms);
}

void RoscoCore::Finish(const std::string& id, v1::BakeResult result,
                       const std::string& failure, const std::string& bake_id,
                       int64_t packer_ms) {
  absl::MutexLock l(&state_mu_);
  absl::StatusOr<std::optional<BakeRecord>> loaded = store_->GetRecord(id);
  if (!loaded.ok() || !*loaded) return;
  v1::BakeStatus status = (*loaded)->status;
  if (status.state() == v1::BAKE_STATE_RUNNING) {
    status.set_state(v1::BAKE_STATE_COMPLETED);
    status.set_result(result);
    status.set_failure_message(failure);
    status.set_resource_id(bake_id);
    status.set_updated_at_ms(Now());
    if (absl::Status s = store_->PutStatus(status); !s.ok()) {
      // Left in the incomplete set: the next start ends it.
      SPDLOG_WARN("event=rosco_status_write_failed status_id={} error=\"{}\"",
                  id, s.message());
      return;
    }
    (void)store_->AppendLogs(
        id, result == v1::BAKE_RESULT_SUCCESS
                ? "==> rosco: bake succeeded\n"
                : absl::StrCat("==> rosco: bake failed: ", failure, "\n"));
  }
  (void)store_->RemoveIncomplete(options_.instance_name, id);
  const int64_t total = status.updated_at_ms() - status.created_at_ms();
  SPDLOG_INFO(
      "event=rosco_bake_finished status_id={} bake_key=\"{}\" result={} "
      "packer_ms={} total_ms={} overhead_ms={} failure=\"{}\"",
      id, status.bake_key(),
      status.state() == v1::BAKE_STATE_CANCELED
          ? "CANCELED"
          : (result == v1::BAKE_RESULT_SUCCESS ? "SUCCESS" : "FAILURE"),
      packer_ms, total, total - packer_ms, failure);
}

absl::StatusOr<v1::CreateBakeResponse> RoscoCore::Answer(
    const std::string& status_id, bool reused) {
  GENNAKER_ASSIGN_OR_RETURN(v1::BakeStatus status, GetBakeStatus(status_id));
  v1::CreateBakeResponse resp;
  *resp.mutable_status() = std::move(status);
  resp.set_reused(reused);
  return resp;
}

absl::StatusOr<v1::CreateBakeResponse> RoscoCore::CreateBake(
    const v1::CreateBakeRequest& in, const std::string& user) {
  absl::MutexLock create(&create_mu_);
  if (!in.idempotency_key().empty()) {
    GENNAKER_ASSIGN_OR_RETURN(std::string first,
                              store_->GetIdempotency(in.idempotency_key()));
    if (!first.empty()) {
      std::vector<std::string> parts = absl::StrSplit(first, ' ');
      return Answer(parts[0], parts.size() > 1 && parts[1] == "1");
    }
  }
  v1::CreateBakeRequest request = in;
  request.clear_idempotency_key();
  v1::BakeRequest* br = request.mutable_bake_request();
  if (br->user().empty()) br->set_user(user);
  if (br->request_id().empty()) br->set_request_id(NewUuid());
  GENNAKER_ASSIGN_OR_RETURN(BakeRecipe recipe, Prepare(&request, "", ""));
  const std::string key =
      BakeKey(*br, br->cloud_provider_type(), request.region(), br->vm_type());

  // One creator per key across rosco replicas (Spinnaker's lock:<key>).
  bool locked = false;
  for (int i = 0; i < 10 && !locked; ++i) {
    GENNAKER_ASSIGN_OR_RETURN(locked, store_->TryLock(key, owner_, kLockTtlMs));
    if (!locked) absl::SleepFor(absl::Milliseconds(500));
  }
  if (!locked) {
    return absl::UnavailableError(absl::StrCat(
        "another rosco is creating the bake '", key, "'; try again"));
  }
  absl::StatusOr<v1::CreateBakeResponse> answer =
      [&]() -> absl::StatusOr<v1::CreateBakeResponse> {
    GENNAKER_ASSIGN_OR_RETURN(std::string existing,
                              store_->StatusIdForKey(key));
    if (!existing.empty()) {
      GENNAKER_ASSIGN_OR_RETURN(std::optional<BakeRecord> rec,
                                store_->GetRecord(existing));
      if (rec) {
        const v1::BakeStatus& s = rec->status;
        if (request.rebake()) {
          GENNAKER_RETURN_IF_ERROR(
              CancelLocked(existing, "canceled by a rebake of the same key")
                  .status());
          GENNAKER_RETURN_IF_ERROR(store_->DeleteKey(key));
        } else if (s.state() == v1::BAKE_STATE_RUNNING ||
                   (s.state() == v1::BAKE_STATE_COMPLETED &&
                    s.result() == v1::BAKE_RESULT_SUCCESS)) {
          SPDLOG_INFO("event=rosco_bake_reused status_id={} bake_key=\"{}\"",
                      existing, key);
          return Answer(existing, true);
        }
      }
    }
    BakeRecord rec;
    rec.status.set_id(NewUuid());
    rec.status.set_state(v1::BAKE_STATE_RUNNING);
    rec.status.set_region(request.region());
    rec.status.set_bake_key(key);
    rec.status.set_created_at_ms(Now());
    rec.status.set_updated_at_ms(rec.status.created_at_ms());
    rec.request = request;
    rec.image_name = recipe.image_name;
    const std::string& id = rec.status.id();
    // Stored and in the incomplete set before anything runs: a crash from
    // here on leaves a bake the next start resumes.
    GENNAKER_RETURN_IF_ERROR(store_->PutRecord(rec));
    GENNAKER_RETURN_IF_ERROR(store_->AddIncomplete(options_.instance_name, id));
    GENNAKER_RETURN_IF_ERROR(store_->SetKey(key, id));
    (void)store_->AppendLogs(
        id, absl::StrCat("==> rosco: bake ", id, " of '", key, "' image ",
                         recipe.image_name, request.rebake() ? " (rebake)" : "",
                         "\n"));
    SPDLOG_INFO(
        "event=rosco_bake_created status_id={} bake_key=\"{}\" image_name={} "
        "rebake={} user={}",
        id, key, recipe.image_name, request.rebake(), br->user());
    Enqueue(id);  // before Start(), it waits for the workers
    v1::CreateBakeResponse resp;
    *resp.mutable_status() = rec.status;
    resp.set_reused(false);
    return resp;
  }();
  (void)store_->Unlock(key, owner_);
  if (answer.ok() && !in.idempotency_key().empty()) {
    GENNAKER_RETURN_IF_ERROR(store_->PutIdempotency(
        in.idempotency_key(), absl::StrCat(answer->status().id(), " ",
                                           answer->reused() ? "1" : "0")));
  }
  return answer;
}

absl::StatusOr<bool> RoscoCore::CancelLocked(const std::string& status_id,
                                             const std::string& why) {
  absl::MutexLock l(&state_mu_);
  GENNAKER_ASSIGN_OR_RETURN(std::optional<BakeRecord> rec,
                            store_->GetRecord(status_id));
  if (!rec) {
    return absl::NotFoundError(
        absl::StrCat("bake status '", status_id, "' not found"));
  }
  if (rec->status.state() != v1::BAKE_STATE_RUNNING) return false;
  v1::BakeStatus status = rec->status;
  status.set_state(v1::BAKE_STATE_CANCELED);
  status.set_updated_at_ms(Now());
  GENNAKER_RETURN_IF_ERROR(store_->PutStatus(status));
  (void)store_->AppendLogs(status_id,
                           absl::StrCat("==> rosco: bake ", why, "\n"));
  bool here = false;
  {
    absl::MutexLock q(&mu_);
    if (auto it = running_.find(status_id); it != running_.end()) {
      it->second->cancel = true;
      here = true;
    }
  }
  // A queued (or foreign) bake has no worker to end it.
  if (!here) {
    (void)store_->RemoveIncomplete(options_.instance_name, status_id);
  }
  SPDLOG_INFO("event=rosco_bake_canceled status_id={} reason=\"{}\"", status_id,
              why);
  return true;
}

absl::StatusOr<v1::CancelBakeResponse> RoscoCore::CancelBake(
    const std::string& status_id) {
  if (status_id.empty()) return Invalid("status_id is required");
  absl::MutexLock create(&create_mu_);
  GENNAKER_ASSIGN_OR_RETURN(bool canceled,
                            CancelLocked(status_id, "canceled by a user"));
  v1::CancelBakeResponse resp;
  resp.set_canceled(canceled);
  GENNAKER_ASSIGN_OR_RETURN(*resp.mutable_status(), GetBakeStatus(status_id));
  return resp;
}

absl::StatusOr<v1::BakeStatus> RoscoCore::GetBakeStatus(
    const std::string& status_id) {
  if (status_id.empty()) return Invalid("status_id is required");
  GENNAKER_ASSIGN_OR_RETURN(std::optional<BakeRecord> rec,
                            store_->GetRecord(status_id));
  if (!rec) {
    return absl::NotFoundError(
        absl::StrCat("bake status '", status_id, "' not found"));
  }
  return rec->status;
}

absl::StatusOr<v1::Bake> RoscoCore::GetBake(const std::string& bake_id) {
  if (bake_id.empty()) return Invalid("bake_id is required");
  GENNAKER_ASSIGN_OR_RETURN(std::string status_id,
                            store_->StatusIdForBake(bake_id));
  std::optional<BakeRecord> rec;
  if (!status_id.empty()) {
    GENNAKER_ASSIGN_OR_RETURN(rec, store_->GetRecord(status_id));
  }
  if (!rec || !rec->bake) {
    return absl::NotFoundError(absl::StrCat("bake '", bake_id, "' not found"));
  }
  return *rec->bake;
}

absl::StatusOr<v1::GetBakeLogsResponse> RoscoCore::GetBakeLogs(
    const v1::GetBakeLogsRequest& request) {
  std::string status_id;
  if (request.target_case() == v1::GetBakeLogsRequest::kStatusId) {
    status_id = request.status_id();
  } else if (request.target_case() == v1::GetBakeLogsRequest::kImageId) {
    if (request.image_id().empty()) return Invalid("image_id is empty");
    GENNAKER_ASSIGN_OR_RETURN(status_id,
                              store_->StatusIdForImage(request.image_id()));
    if (status_id.empty()) {
      return absl::NotFoundError(
          absl::StrCat("no bake produced image '", request.image_id(), "'"));
    }
  } else {
    return Invalid("status_id or image_id is required");
  }
  GENNAKER_ASSIGN_OR_RETURN(v1::BakeStatus status, GetBakeStatus(status_id));
  v1::GetBakeLogsResponse resp;
  resp.set_status_id(status_id);
  GENNAKER_ASSIGN_OR_RETURN(*resp.mutable_logs_content(),
                            store_->GetLogs(status_id));
  resp.set_complete(status.state() != v1::BAKE_STATE_RUNNING);
  return resp;
}

v1::ListBakeOptionsResponse RoscoCore::ListBakeOptions() const {
  v1::ListBakeOptionsResponse resp;
  for (const v1::ProviderBakeConfig& p : options_.providers) {
    v1::BakeOptions* o = resp.add_options();
    o->set_cloud_provider_type(p.cloud_provider_type());
    *o->mutable_base_images() = p.base_images();
  }
  return resp;
}

absl::StatusOr<v1::BakeOptions> RoscoCore::GetBakeOptions(
    v1::CloudProviderType provider) const {
  if (provider == v1::CLOUD_PROVIDER_TYPE_UNSPECIFIED) {
    return Invalid("cloud_provider_type is required");
  }
  const v1::ProviderBakeConfig* p = Provider(provider);
  if (p == nullptr) {
    return absl::NotFoundError(absl::StrCat(
        "no bake options for cloud provider '", ProviderName(provider), "'"));
  }
  v1::BakeOptions o;
  o.set_cloud_provider_type(provider);
  *o.mutable_base_images() = p->base_images();
  return o;
}

absl::StatusOr<v1::BaseImage> RoscoCore::GetBaseImage(
    v1::CloudProviderType provider, const std::string& id) const {
  GENNAKER_ASSIGN_OR_RETURN(v1::BakeOptions o, GetBakeOptions(provider));
  if (id.empty()) return Invalid("base_image_id is required");
  for (const v1::BaseImage& b : o.base_images()) {
    if (b.id() == id) return b;
  }
  return absl::NotFoundError(absl::StrCat("base image '", id,
                                          "' not found for cloud provider '",
                                          ProviderName(provider), "'"));
}

}  // namespace gennaker::rosco
