#include "services/gate/gate_backend.h"

namespace gennaker::gate {

Backends ConnectBackends(const v1::GateDependencies& services) {
  Backends b;
  b.front50.stub = front50::v1::Front50Service::NewStub(
      MakeChannel(services.front50().address()));
  b.front50.deadline =
      std::chrono::milliseconds(services.front50().deadline_ms());
  b.orca.stub =
      orca::v1::OrcaService::NewStub(MakeChannel(services.orca().address()));
  b.orca.deadline = std::chrono::milliseconds(services.orca().deadline_ms());
  b.clouddriver.stub = clouddriver::v1::ClouddriverService::NewStub(
      MakeChannel(services.clouddriver().address()));
  b.clouddriver.deadline =
      std::chrono::milliseconds(services.clouddriver().deadline_ms());
  return b;
}

}  // namespace gennaker::gate
