// A real Docker registry for tests: Debian's docker-registry (distribution
// v2.8, /usr/bin/docker-registry or $GENNAKER_DOCKER_REGISTRY) serving the
// Registry HTTP API v2 on a free loopback port, storing blobs in a throwaway
// directory. PushImage uploads a tiny schema-2 image (a config blob and one
// layer blob, then the manifest) the way `docker push` does, so tags and
// digests are the registry's own. Optionally the registry requires HTTP basic
// auth (htpasswd) with the fixed credentials below. Destroying it stops the
// server, waits for it and removes the directory; the server also dies with
// the test process.
#ifndef GENNAKER_COMMON_TESTING_DOCKER_REGISTRY_H_
#define GENNAKER_COMMON_TESTING_DOCKER_REGISTRY_H_

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace gennaker::testing {

struct DockerRegistryOptions {
  // Require basic auth with TestDockerRegistry::kUser / kPassword.
  bool basic_auth = false;
};

class TestDockerRegistry {
 public:
  static constexpr char kUser[] = "gennaker";
  static constexpr char kPassword[] = "registry-test-pass";

  // Started and answering GET /v2/. FAILED_PRECONDITION when the binary is
  // missing; UNAVAILABLE when it does not come up.
  static absl::StatusOr<std::unique_ptr<TestDockerRegistry>> Start(
      const DockerRegistryOptions& options = {});
  ~TestDockerRegistry();

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  // "http://127.0.0.1:<port>".
  std::string BaseUrl() const;
  // "127.0.0.1:<port>": the registry part of image references.
  std::string HostPort() const;

  // Pushes an image `repository`:`tag` whose config and layer embed
  // `unique_content` (a different content gives a different digest) and
  // returns the manifest's digest ("sha256:<hex>").
  absl::StatusOr<std::string> PushImage(const std::string& repository,
                                        const std::string& tag,
                                        const std::string& unique_content);

  // Stops the server (idempotent); the data stays until destruction.
  void Stop();
  // Starts it again with the same data (after Stop) on a NEW free port
  // (the old one may have been taken meanwhile): port(), BaseUrl() and
  // HostPort() change.
  absl::Status Restart();

 private:
  TestDockerRegistry() = default;
  absl::Status Launch();
  // Launch on a fresh free port, a few tries.
  absl::Status LaunchOnAFreePort();
  // Uploads one blob (monolithic) and returns its digest.
  absl::StatusOr<std::string> PushBlob(const std::string& repository,
                                       const std::string& content);

  DockerRegistryOptions options_;
  pid_t pid_ = 0;
  int port_ = 0;
  std::string dir_;
};

}  // namespace gennaker::testing

#endif  // GENNAKER_COMMON_TESTING_DOCKER_REGISTRY_H_
