// clouddriver's read model over the cache, in Spinnaker's JSON shapes:
// accounts, applications, clusters, server groups (and dynamic targets),
// load balancers, security groups, instances and search. Every read comes
// from the cache (never from a provider), so reads stay fast and available
// while operations run.
#ifndef GENNAKER_SERVICES_CLOUDDRIVER_READS_H_
#define GENNAKER_SERVICES_CLOUDDRIVER_READS_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/spinnaker/targets.h"
#include "services/clouddriver/store/cache.h"

namespace gennaker::clouddriver {

struct AccountInfo {
  std::string name;
  std::string cloud_provider;  // "local"
  std::string environment;
  std::vector<std::string> regions;
  std::vector<std::string> read_roles;
  std::vector<std::string> write_roles;
};

// Spinnaker's /credentials entry of an account.
Json AccountJson(const AccountInfo& account);

struct SearchQuery {
  std::string query;
  std::vector<std::string> types;  // empty: all
  std::string platform;            // empty: all
  std::map<std::string, std::string> filters;
  int page_size = 10000;
  int page = 1;
};

class Reads {
 public:
  Reads(Cache* cache, std::vector<AccountInfo> accounts);

  const std::vector<AccountInfo>& accounts() const { return accounts_; }
  const AccountInfo* FindAccount(const std::string& name) const;

  // Application names -> {account -> cluster names}.
  absl::StatusOr<
      std::map<std::string, std::map<std::string, std::vector<std::string>>>>
  Applications();
  // Server groups of `app` (all accounts when `account` is empty).
  absl::StatusOr<std::vector<Json>> ServerGroups(const std::string& app,
                                                 const std::string& account);
  // Cluster JSON {name, accountName, type, moniker, serverGroups,
  // loadBalancers}; NOT_FOUND when it has no server group.
  absl::StatusOr<Json> Cluster(const std::string& app,
                               const std::string& account,
                               const std::string& cluster);
  absl::StatusOr<Json> ServerGroup(const std::string& account,
                                   const std::string& region,
                                   const std::string& name);
  absl::StatusOr<Json> TargetServerGroup(
      const std::string& app, const std::string& account,
      const std::string& cluster, const std::string& region,
      spinnaker::Target target, bool only_enabled, bool validate_oldest);
  // Load balancers filtered by each non-empty argument.
  absl::StatusOr<std::vector<Json>> LoadBalancers(const std::string& app,
                                                  const std::string& account,
                                                  const std::string& region,
                                                  const std::string& name);
  absl::StatusOr<std::vector<Json>> SecurityGroups(const std::string& account,
                                                   const std::string& region,
                                                   const std::string& app);
  absl::StatusOr<Json> Instance(const std::string& account,
                                const std::string& region,
                                const std::string& id);
  // Flat result maps of every match, sorted; `total` receives the count
  // before paging.
  absl::StatusOr<std::vector<Json>> Search(const SearchQuery& query,
                                           int64_t* total);

 private:
  std::vector<const AccountInfo*> Scope(const std::string& account) const;
  // Items of `kind` of `app` in `account` (each "" = all), filtered by
  // `region` and `name` when non-empty.
  absl::StatusOr<std::vector<Json>> Items(const char* kind,
                                          const std::string& app,
                                          const std::string& account,
                                          const std::string& region,
                                          const std::string& name);

  Cache* cache_;
  std::vector<AccountInfo> accounts_;
};

}  // namespace gennaker::clouddriver

#endif  // GENNAKER_SERVICES_CLOUDDRIVER_READS_H_
