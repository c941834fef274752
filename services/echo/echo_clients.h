// Echo's gRPC clients of the services it calls, behind the core's
// interfaces: orca (StartPipeline, run as the trigger's user through the
// call context), front50 (every enabled pipeline, paged; application
// notification sets; the change stream) and igor (buildInfo and property
// files of build triggers).
#ifndef GENNAKER_SERVICES_ECHO_ECHO_CLIENTS_H_
#define GENNAKER_SERVICES_ECHO_ECHO_CLIENTS_H_

#include <grpcpp/client_context.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "gennaker/front50/v1/front50.grpc.pb.h"
#include "gennaker/igor/v1/igor.grpc.pb.h"
#include "gennaker/orca/v1/orca.grpc.pb.h"
#include "services/echo/echo_core.h"

namespace gennaker::echo {

class GrpcOrcaClient : public OrcaClient {
 public:
  GrpcOrcaClient(std::shared_ptr<orca::v1::OrcaService::StubInterface> stub,
                 std::chrono::milliseconds deadline)
      : stub_(std::move(stub)), deadline_(deadline) {}
  absl::StatusOr<StartedExecution> StartPipeline(
      const PipelineStart& start) override;

 private:
  std::shared_ptr<orca::v1::OrcaService::StubInterface> stub_;
  std::chrono::milliseconds deadline_;
};

class GrpcFront50Client : public Front50Client {
 public:
  GrpcFront50Client(
      std::shared_ptr<front50::v1::Front50Service::StubInterface> stub,
      std::chrono::milliseconds deadline, int max_page_bytes)
      : stub_(std::move(stub)),
        deadline_(deadline),
        max_page_bytes_(max_page_bytes) {}
  absl::StatusOr<std::vector<Json>> ListPipelines() override;
  absl::StatusOr<Json> ApplicationNotifications(
      const std::string& application) override;

 private:
  std::shared_ptr<front50::v1::Front50Service::StubInterface> stub_;
  std::chrono::milliseconds deadline_;
  int max_page_bytes_;
};

class GrpcIgorSource : public BuildInfoSource {
 public:
  GrpcIgorSource(std::shared_ptr<igor::v1::IgorService::StubInterface> stub,
                 std::chrono::milliseconds deadline)
      : stub_(std::move(stub)), deadline_(deadline) {}
  absl::StatusOr<Json> BuildInfo(const std::string& master,
                                 const std::string& job,
                                 int64_t number) override;
  absl::StatusOr<Json> Properties(const std::string& master,
                                  const std::string& job, int64_t number,
                                  const std::string& file) override;

 private:
  std::shared_ptr<igor::v1::IgorService::StubInterface> stub_;
  std::chrono::milliseconds deadline_;
};

// Follows front50's WatchChanges stream from a thread and calls `on_change`
// for every pipeline change, and after the stream is lost (changes made while
// disconnected are not replayed, so the caller reloads). Reconnects with
// backoff (0.5 s doubling to 30 s).
class Front50Watcher {
 public:
  Front50Watcher(
      std::shared_ptr<front50::v1::Front50Service::StubInterface> stub,
      std::function<void()> on_change);
  ~Front50Watcher();  // stops the thread
  Front50Watcher(const Front50Watcher&) = delete;
  Front50Watcher& operator=(const Front50Watcher&) = delete;

 private:
  void Run();
  std::shared_ptr<front50::v1::Front50Service::StubInterface> stub_;
  std::function<void()> on_change_;
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::thread thread_;
};

}  // namespace gennaker::echo

#endif  // GENNAKER_SERVICES_ECHO_ECHO_CLIENTS_H_
