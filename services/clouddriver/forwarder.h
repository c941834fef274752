// Forwarding between clouddriver replicas: a call on accounts another replica
// serves (the holder of their leases, account_ownership.h) is run there, with
// the caller's identity and request id, within the caller's deadline (at most
// 30 s). A forwarded call carries x-gennaker-forwarded-by, and the receiver
// runs it or refuses it (UNAVAILABLE: the lease moved), never forwards it
// again. Thread-safe.
#ifndef GENNAKER_SERVICES_CLOUDDRIVER_FORWARDER_H_
#define GENNAKER_SERVICES_CLOUDDRIVER_FORWARDER_H_

#include <map>
#include <memory>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "gennaker/clouddriver/v1/clouddriver.grpc.pb.h"

namespace gennaker::clouddriver {

class AccountOwnership;

class Forwarder {
 public:
  // Null `ownership`: every call runs here.
  explicit Forwarder(AccountOwnership* ownership) : ownership_(ownership) {}

  // Where a call on `accounts` runs: "" here, else the address of the one
  // replica serving them all. Accounts this replica does not know are left
  // to the local checks (their error names them). FAILED_PRECONDITION when
  // different replicas serve them; UNAVAILABLE when no replica is known to,
  // or when the call was already forwarded (`caller`'s metadata) to a
  // replica that no longer serves them.
  absl::StatusOr<std::string> Route(const std::set<std::string>& accounts,
                                    const grpc::ServerContext* caller) const;

  // Runs `method` on the replica at `address` and passes its answer through
  // (a transport failure names that replica).
  template <typename Request, typename Response, typename Method>
  grpc::Status Forward(const grpc::ServerContext* caller,
                       const std::string& address,
                       const std::set<std::string>& accounts,
                       const Request& req, Response* resp, Method method) {
    std::shared_ptr<v1::ClouddriverService::Stub> stub = StubFor(address);
    std::unique_ptr<grpc::ClientContext> ctx = ContextFor(caller);
    Logged(accounts, address);
    return Explained(((*stub).*method)(ctx.get(), req, resp), accounts,
                     address);
  }

 private:
  std::shared_ptr<v1::ClouddriverService::Stub> StubFor(
      const std::string& address);
  std::unique_ptr<grpc::ClientContext> ContextFor(
      const grpc::ServerContext* caller) const;
  static void Logged(const std::set<std::string>& accounts,
                     const std::string& address);
  static grpc::Status Explained(grpc::Status s,
                                const std::set<std::string>& accounts,
                                const std::string& address);

  AccountOwnership* ownership_;
  absl::Mutex stubs_mu_;
  std::map<std::string, std::shared_ptr<v1::ClouddriverService::Stub>> stubs_
      ABSL_GUARDED_BY(stubs_mu_);
};

}  // namespace gennaker::clouddriver

#endif  // GENNAKER_SERVICES_CLOUDDRIVER_FORWARDER_H_
