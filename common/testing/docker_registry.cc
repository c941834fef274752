#include "common/testing/docker_registry.h"

#include <openssl/evp.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/http/http_client.h"
#include "common/process/process.h"
#include "common/status/status_macros.h"
#include "common/testing/test_stores.h"
#include "nlohmann/json.hpp"

namespace gennaker::testing {
namespace {

constexpr char kDefaultBinary[] = "/usr/bin/docker-registry";
constexpr absl::Duration kReadyTimeout = absl::Seconds(30);
// bcrypt (cost 5) of kPassword, made once with crypt(3); distribution's
// htpasswd accepts only bcrypt.
constexpr char kPasswordBcrypt[] =
    "$2b$05$bnkFdehyC1o26aX9iVtU9uZbCa6dyxPBneuFnT4DIXDNxBUrfGs9.";

std::string Binary() {
  const char* env = std::getenv("GENNAKER_DOCKER_REGISTRY");
  return env != nullptr && *env != '\0' ? env : kDefaultBinary;
}

std::string Sha256Digest(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return absl::StrCat("sha256:", absl::BytesToHexString(absl::string_view(
                                     reinterpret_cast<const char*>(md),
                                     static_cast<size_t>(len))));
}

absl::Status WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<TestDockerRegistry>> TestDockerRegistry::Start(
    const DockerRegistryOptions& options) {
  if (access(Binary().c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        Binary(),
        " is not installed (scripts/install-deps.sh installs Debian's "
        "docker-registry)"));
  }
  auto r = std::unique_ptr<TestDockerRegistry>(new TestDockerRegistry());
  r->options_ = options;
  r->dir_ = MakeTempDir("docker-registry");
  GENNAKER_RETURN_IF_ERROR(r->LaunchOnAFreePort());
  return r;
}

absl::Status TestDockerRegistry::LaunchOnAFreePort() {
  // A port taken between FreePort and the bind: try again on another.
  absl::Status last;
  for (int attempt = 0; attempt < 3; ++attempt) {
    GENNAKER_ASSIGN_OR_RETURN(port_, process::FreePort());
    last = Launch();
    if (last.ok()) return last;
    Stop();
  }
  return last;
}

absl::Status TestDockerRegistry::Launch() {
  std::string config = absl::StrCat(
      "version: 0.1\n"
      "log:\n"
      "  level: warn\n"
      "  accesslog:\n"
      "    disabled: true\n"
      "storage:\n"
      "  filesystem:\n"
      "    rootdirectory: ",
      dir_,
      "/data\n"
      "  delete:\n"
      "    enabled: true\n"
      "  cache:\n"
      "    blobdescriptor: inmemory\n"
      "http:\n"
      "  addr: 127.0.0.1:",
      port_,
      "\n"
      "  secret: gennaker-test-secret\n");
  if (options_.basic_auth) {
    GENNAKER_RETURN_IF_ERROR(
        WriteFile(absl::StrCat(dir_, "/htpasswd"),
                  absl::StrCat(kUser, ":", kPasswordBcrypt, "\n")));
    absl::StrAppend(&config,
                    "auth:\n"
                    "  htpasswd:\n"
                    "    realm: gennaker-test\n"
                    "    path: ",
                    dir_, "/htpasswd\n");
  }
  const std::string config_path = absl::StrCat(dir_, "/config.yml");
  GENNAKER_RETURN_IF_ERROR(WriteFile(config_path, config));

  process::SpawnOptions run;
  run.argv = {Binary(), "serve", config_path};
  run.log_file = absl::StrCat(dir_, "/registry.log");
  run.new_session = false;
  run.die_with_parent = true;
  GENNAKER_ASSIGN_OR_RETURN(pid_, process::Spawn(run));

  const absl::Time deadline = absl::Now() + kReadyTimeout;
  while (true) {
    if (!process::IsAlive(pid_)) {
      pid_ = 0;
      return absl::UnavailableError(
          absl::StrCat("docker-registry exited at start; see ", run.log_file));
    }
    http::ClientRequest ping;
    ping.url = absl::StrCat(BaseUrl(), "/v2/");
    ping.timeout_ms = 1000;
    absl::StatusOr<http::ClientResponse> got = http::Fetch(ping);
    // 401 is "up" for the basic-auth variant.
    if (got.ok() && (got->status == 200 || got->status == 401)) {
      return absl::OkStatus();
    }
    if (absl::Now() >= deadline) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::UnavailableError(absl::StrCat(
      "docker-registry did not answer on port ", port_, " within ",
      absl::FormatDuration(kReadyTimeout), "; see ", run.log_file));
}

TestDockerRegistry::~TestDockerRegistry() {
  Stop();
  RemoveTree(dir_);
}

void TestDockerRegistry::Stop() {
  if (pid_ != 0) (void)process::Terminate(pid_, absl::Seconds(5));
  pid_ = 0;
}

absl::Status TestDockerRegistry::Restart() {
  Stop();
  // Not the old port: another process may have taken it meanwhile (and
  // might even answer /v2/).
  return LaunchOnAFreePort();
}

std::string TestDockerRegistry::BaseUrl() const {
  return absl::StrCat("http://", HostPort());
}

std::string TestDockerRegistry::HostPort() const {
  return absl::StrCat("127.0.0.1:", port_);
}

namespace {

// Headers of every call the helper makes (credentials when required).
void AddAuth(const DockerRegistryOptions& options,
             http::ClientRequest* request) {
  if (!options.basic_auth) return;
  request->headers.emplace_back(
      "Authorization",
      absl::StrCat("Basic ", absl::Base64Escape(
                                 absl::StrCat(TestDockerRegistry::kUser, ":",
                                              TestDockerRegistry::kPassword))));
}

absl::Status Expect(const absl::StatusOr<http::ClientResponse>& got, int status,
                    absl::string_view what) {
  if (!got.ok()) return got.status();
  if (got->status != status) {
    return absl::InternalError(absl::StrCat(what, ": HTTP ", got->status, " ",
                                            got->body.substr(0, 300)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> TestDockerRegistry::PushBlob(
    const std::string& repository, const std::string& content) {
  const std::string digest = Sha256Digest(content);
  http::ClientRequest start;
  start.method = "POST";
  start.url = absl::StrCat(BaseUrl(), "/v2/", repository, "/blobs/uploads/");
  AddAuth(options_, &start);
  absl::StatusOr<http::ClientResponse> started = http::Fetch(start);
  GENNAKER_RETURN_IF_ERROR(Expect(started, 202, "start blob upload"));
  auto location = started->headers.find("location");
  if (location == started->headers.end()) {
    return absl::InternalError("blob upload answered without a Location");
  }
  std::string url = location->second;
  if (absl::StartsWith(url, "/")) url = absl::StrCat(BaseUrl(), url);
  http::ClientRequest put;
  put.method = "PUT";
  put.url = absl::StrCat(url, absl::StrContains(url, "?") ? "&" : "?",
                         "digest=", digest);
  put.headers = {{"Content-Type", "application/octet-stream"}};
  put.body = content;
  AddAuth(options_, &put);
  GENNAKER_RETURN_IF_ERROR(Expect(http::Fetch(put), 201, "finish blob upload"));
  return digest;
}

absl::StatusOr<std::string> TestDockerRegistry::PushImage(
    const std::string& repository, const std::string& tag,
    const std::string& unique_content) {
  const std::string layer = absl::StrCat("layer of ", unique_content);
  const std::string layer_diff_id = Sha256Digest(layer);
  nlohmann::json config = {
      {"architecture", "amd64"},
      {"os", "linux"},
      {"config", {{"Labels", {{"gennaker.test", unique_content}}}}},
      {"rootfs", {{"type", "layers"}, {"diff_ids", {layer_diff_id}}}}};
  const std::string config_text = config.dump();
  GENNAKER_ASSIGN_OR_RETURN(std::string config_digest,
                            PushBlob(repository, config_text));
  GENNAKER_ASSIGN_OR_RETURN(std::string layer_digest,
                            PushBlob(repository, layer));
  nlohmann::json manifest = {
      {"schemaVersion", 2},
      {"mediaType", "application/vnd.docker.distribution.manifest.v2+json"},
      {"config",
       {{"mediaType", "application/vnd.docker.container.image.v1+json"},
        {"size", config_text.size()},
        {"digest", config_digest}}},
      {"layers",
       {{{"mediaType", "application/vnd.docker.image.rootfs.diff.tar.gzip"},
         {"size", layer.size()},
         {"digest", layer_digest}}}}};
  const std::string manifest_text = manifest.dump();
  http::ClientRequest put;
  put.method = "PUT";
  put.url = absl::StrCat(BaseUrl(), "/v2/", repository, "/manifests/", tag);
  put.headers = {
      {"Content-Type", "application/vnd.docker.distribution.manifest.v2+json"}};
  put.body = manifest_text;
  AddAuth(options_, &put);
  absl::StatusOr<http::ClientResponse> got = http::Fetch(put);
  GENNAKER_RETURN_IF_ERROR(Expect(got, 201, "put manifest"));
  const std::string digest = Sha256Digest(manifest_text);
  auto header = got->headers.find("docker-content-digest");
  if (header != got->headers.end() && header->second != digest) {
    return absl::InternalError(absl::StrCat(
        "registry computed digest ", header->second, ", expected ", digest));
  }
  return digest;
}

}  // namespace gennaker::testing
