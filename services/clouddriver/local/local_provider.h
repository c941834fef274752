// The `local` cloud provider's state and operations for one account (region
// "localhost"): server groups as supervised processes, load balancers as
// HTTP proxies on their listener ports, security groups as ingress rules
// enforced at those listeners. Operations are synchronous and thread-safe;
// clouddriver's task layer runs them asynchronously. Reads return Spinnaker's
// JSON shapes (server group, instance, load balancer, security group).
//
// Deploy description (Spinnaker's fields plus the local artifact):
//   {application, stack, freeFormDetails, capacity{min,max,desired},
//    command:[argv...] ("{{port}}" = the instance's port), env{K:V},
//    healthCheck{path, intervalMs, timeoutMs, healthyThreshold,
//    unhealthyThreshold}, loadBalancers:[names], securityGroups:[names]}
#ifndef GENNAKER_SERVICES_CLOUDDRIVER_LOCAL_LOCAL_PROVIDER_H_
#define GENNAKER_SERVICES_CLOUDDRIVER_LOCAL_LOCAL_PROVIDER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "nlohmann/json.hpp"
#include "services/clouddriver/local/instance_supervisor.h"
#include "services/clouddriver/local/load_balancer.h"

namespace gennaker::clouddriver::local {

using Json = nlohmann::ordered_json;

inline constexpr char kRegion[] = "localhost";

class LocalProvider {
 public:
  // `state_dir` receives the instances' log files.
  LocalProvider(std::string account, std::string state_dir);
  ~LocalProvider();  // stops every instance and listener

  const std::string& account() const { return account_; }

  // Deploys a new server group of the cluster app[-stack[-detail]] with the
  // next sequence; returns its name. INVALID_ARGUMENT for a bad description
  // or an unknown load balancer / security group.
  absl::StatusOr<std::string> CreateServerGroup(const Json& description);
  absl::Status Resize(const std::string& server_group, int min, int max,
                      int desired);
  // Disabled groups leave their load balancers (instances keep running).
  absl::Status SetEnabled(const std::string& server_group, bool enabled);
  absl::Status Destroy(const std::string& server_group);
  absl::Status TerminateInstance(const std::string& server_group,
                                 const std::string& instance_id);
  // {name, listeners:[{port}] (0 or absent: a free port), securityGroups}.
  absl::Status UpsertLoadBalancer(const Json& description);
  absl::Status DeleteLoadBalancer(const std::string& name);
  // {name, inboundRules:[{range:{ip, cidr}, portRanges:[{startPort,
  // endPort}]}]}: CIDR "ip/cidr" (cidr like "/8") allowed on those ports.
  absl::Status UpsertSecurityGroup(const Json& description);
  absl::Status DeleteSecurityGroup(const std::string& name);

  // Reads. NOT_FOUND for unknown names.
  std::vector<Json> ServerGroups(const std::string& application);
  absl::StatusOr<Json> ServerGroup(const std::string& name);
  std::vector<Json> LoadBalancers(const std::string& application);
  absl::StatusOr<int> LoadBalancerPort(const std::string& name);
  std::vector<Json> SecurityGroups();

 private:
  struct Group {
    std::string name;
    Json description;
    int min = 0, max = 0;
    bool enabled = true;
    int64_t created_ms = 0;
    std::unique_ptr<InstanceSupervisor> supervisor;
  };
  struct Balancer {
    Json description;
    std::unique_ptr<LoadBalancer> lb;
  };
  std::vector<Target> TargetsOf(const std::string& balancer);
  // Re-applies the security groups of one load balancer's listener.
  absl::Status ApplyFirewall(const std::string& balancer)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Json ServerGroupJson(const Group& g) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string account_;
  const std::string state_dir_;
  absl::Mutex mu_;
  std::map<std::string, Group> groups_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Balancer> balancers_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Json> security_groups_ ABSL_GUARDED_BY(mu_);
};

}  // namespace gennaker::clouddriver::local

#endif  // GENNAKER_SERVICES_CLOUDDRIVER_LOCAL_LOCAL_PROVIDER_H_
