#include "services/fiat/resources.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc/channel.h"
#include "common/log/log.h"
#include "common/status/grpc_status.h"
#include "gennaker/clouddriver/v1/clouddriver.grpc.pb.h"
#include "gennaker/front50/v1/front50.grpc.pb.h"
#include "gennaker/igor/v1/igor.grpc.pb.h"

namespace gennaker::fiat {
namespace {

constexpr int kDefaultDeadlineMs = 10000;

template <typename Field>
std::set<std::string> RoleSet(const Field& roles) {
  return NormalizeRoles(std::vector<std::string>(roles.begin(), roles.end()));
}

int Deadline(const common::v1::EndpointConfig& e) {
  return e.deadline_ms() > 0 ? e.deadline_ms() : kDefaultDeadlineMs;
}

std::shared_ptr<grpc::Channel> Channel(const common::v1::EndpointConfig& e) {
  return MakeChannel(e.address(), e.max_message_bytes() > 0
                                      ? e.max_message_bytes()
                                      : kDefaultMaxMessageBytes);
}

absl::Status CallError(absl::string_view what, const grpc::Status& st) {
  absl::Status s = FromGrpcStatus(st);
  return absl::Status(s.code(), absl::StrCat(what, ": ", s.message()));
}

class GrpcResourceSource final : public ResourceSource {
 public:
  GrpcResourceSource(const common::v1::EndpointConfig& front50,
                     const common::v1::EndpointConfig& clouddriver,
                     const common::v1::EndpointConfig& igor)
      : front50_deadline_(Deadline(front50)),
        clouddriver_deadline_(Deadline(clouddriver)),
        igor_deadline_(Deadline(igor)) {
    if (!front50.address().empty()) {
      front50_ = front50::v1::Front50Service::NewStub(Channel(front50));
    }
    if (!clouddriver.address().empty()) {
      clouddriver_ =
          clouddriver::v1::ClouddriverService::NewStub(Channel(clouddriver));
    }
    if (!igor.address().empty()) {
      igor_ = igor::v1::IgorService::NewStub(Channel(igor));
    }
  }

  absl::StatusOr<std::vector<Resource>> Applications() override {
    if (front50_ == nullptr) return std::vector<Resource>{};
    std::map<std::string, Resource> apps;
    {
      auto ctx =
          MakeClientContext(std::chrono::milliseconds(front50_deadline_));
      front50::v1::ListApplicationsRequest req;
      front50::v1::ListApplicationsResponse resp;
      grpc::Status st = front50_->ListApplications(ctx.get(), req, &resp);
      if (!st.ok()) return CallError("front50 ListApplications", st);
      for (const auto& a : resp.applications()) {
        std::string name = absl::AsciiStrToLower(a.name());
        apps[name].name = name;
      }
    }
    auto ctx = MakeClientContext(std::chrono::milliseconds(front50_deadline_));
    front50::v1::ListApplicationPermissionsRequest req;
    front50::v1::ListApplicationPermissionsResponse resp;
    grpc::Status st =
        front50_->ListApplicationPermissions(ctx.get(), req, &resp);
    if (!st.ok()) return CallError("front50 ListApplicationPermissions", st);
    for (const auto& p : resp.permissions()) {
      std::string name = absl::AsciiStrToLower(p.application());
      if (name.empty()) continue;
      Resource& r = apps[name];
      r.name = name;
      r.permissions.read = RoleSet(p.read_roles());
      r.permissions.write = RoleSet(p.write_roles());
      r.permissions.execute = RoleSet(p.execute_roles());
    }
    std::vector<Resource> out;
    for (auto& [name, r] : apps) out.push_back(std::move(r));
    return out;
  }

  absl::StatusOr<std::vector<Resource>> Accounts() override {
    if (clouddriver_ == nullptr) return std::vector<Resource>{};
    auto ctx =
        MakeClientContext(std::chrono::milliseconds(clouddriver_deadline_));
    clouddriver::v1::ListAccountsRequest req;
    req.set_expand(true);
    clouddriver::v1::ListAccountsResponse resp;
    grpc::Status st = clouddriver_->ListAccounts(ctx.get(), req, &resp);
    if (!st.ok()) return CallError("clouddriver ListAccounts", st);
    std::vector<Resource> out;
    for (const auto& a : resp.accounts()) {
      Resource r;
      r.name = a.name();
      Permissions declared;
      declared.read = RoleSet(a.permissions().read());
      declared.write = RoleSet(a.permissions().write());
      declared.execute = RoleSet(a.permissions().execute());
      r.permissions = AccountPermissions(
          declared,
          std::vector<std::string>(a.required_group_membership().begin(),
                                   a.required_group_membership().end()));
      out.push_back(std::move(r));
    }
    return out;
  }

  absl::StatusOr<std::vector<Resource>> BuildServices() override {
    if (igor_ == nullptr) return std::vector<Resource>{};
    auto ctx = MakeClientContext(std::chrono::milliseconds(igor_deadline_));
    igor::v1::ListMastersRequest req;
    req.set_unfiltered(true);
    igor::v1::ListMastersResponse resp;
    grpc::Status st = igor_->ListMasters(ctx.get(), req, &resp);
    if (!st.ok()) return CallError("igor ListMasters", st);
    std::vector<Resource> out;
    for (const auto& m : resp.masters()) {
      Resource r;
      r.name = m.name();
      r.permissions.read = RoleSet(m.read_roles());
      r.permissions.write = RoleSet(m.write_roles());
      out.push_back(std::move(r));
    }
    return out;
  }

  absl::StatusOr<std::vector<ServiceAccount>> ServiceAccounts() override {
    if (front50_ == nullptr) return std::vector<ServiceAccount>{};
    auto ctx = MakeClientContext(std::chrono::milliseconds(front50_deadline_));
    front50::v1::ListServiceAccountsRequest req;
    front50::v1::ListServiceAccountsResponse resp;
    grpc::Status st = front50_->ListServiceAccounts(ctx.get(), req, &resp);
    if (!st.ok()) return CallError("front50 ListServiceAccounts", st);
    std::vector<ServiceAccount> out;
    for (const auto& s : resp.service_accounts()) {
      ServiceAccount a;
      a.name = absl::AsciiStrToLower(s.name());
      if (a.name.empty()) continue;
      for (const std::string& r : RoleSet(s.member_of())) {
        a.member_of.push_back(r);
      }
      out.push_back(std::move(a));
    }
    return out;
  }

 private:
  const int front50_deadline_, clouddriver_deadline_, igor_deadline_;
  std::unique_ptr<front50::v1::Front50Service::Stub> front50_;
  std::unique_ptr<clouddriver::v1::ClouddriverService::Stub> clouddriver_;
  std::unique_ptr<igor::v1::IgorService::Stub> igor_;
};

}  // namespace

std::unique_ptr<ResourceSource> NewGrpcResourceSource(
    const common::v1::EndpointConfig& front50,
    const common::v1::EndpointConfig& clouddriver,
    const common::v1::EndpointConfig& igor) {
  return std::make_unique<GrpcResourceSource>(front50, clouddriver, igor);
}

void FakeResourceSource::Set(Snapshot snapshot) {
  absl::MutexLock l(&mu_);
  snapshot_ = std::move(snapshot);
}

void FakeResourceSource::AddApplication(Resource app) {
  absl::MutexLock l(&mu_);
  snapshot_.applications.push_back(std::move(app));
}

void FakeResourceSource::SetServiceAccounts(
    std::vector<ServiceAccount> accounts) {
  absl::MutexLock l(&mu_);
  snapshot_.service_accounts = std::move(accounts);
}

void FakeResourceSource::Fail(bool fail) {
  absl::MutexLock l(&mu_);
  fail_ = fail;
}

void FakeResourceSource::FailApplications(bool fail) {
  absl::MutexLock l(&mu_);
  fail_applications_ = fail;
}

int FakeResourceSource::loads() const {
  absl::MutexLock l(&mu_);
  return loads_;
}

absl::StatusOr<std::vector<Resource>> FakeResourceSource::Applications() {
  absl::MutexLock l(&mu_);
  ++loads_;
  if (fail_ || fail_applications_) {
    return absl::UnavailableError("front50 is down");
  }
  return snapshot_.applications;
}

absl::StatusOr<std::vector<Resource>> FakeResourceSource::Accounts() {
  absl::MutexLock l(&mu_);
  if (fail_) return absl::UnavailableError("clouddriver is down");
  return snapshot_.accounts;
}

absl::StatusOr<std::vector<Resource>> FakeResourceSource::BuildServices() {
  absl::MutexLock l(&mu_);
  if (fail_) return absl::UnavailableError("igor is down");
  return snapshot_.build_services;
}

absl::StatusOr<std::vector<ServiceAccount>>
FakeResourceSource::ServiceAccounts() {
  absl::MutexLock l(&mu_);
  if (fail_) return absl::UnavailableError("front50 is down");
  return snapshot_.service_accounts;
}

ResourceCache::ResourceCache(ResourceSource* source,
                             std::function<int64_t()> now_ms)
    : source_(source),
      now_ms_(std::move(now_ms)),
      snapshot_(std::make_shared<const Snapshot>()) {}

absl::Status ResourceCache::Refresh() {
  absl::MutexLock serialize(&refresh_mu_);
  return Load(/*applications_only=*/false);
}

absl::Status ResourceCache::Load(bool applications_only) {
  Snapshot next = *Get();
  absl::Status first = absl::OkStatus();
  auto keep = [&first](const char* part, const absl::Status& s) {
    SPDLOG_WARN("event=fiat_resource_refresh_failed part={} error=\"{}\"", part,
                s.message());
    if (first.ok()) first = s;
  };
  if (auto apps = source_->Applications(); apps.ok()) {
    next.applications = *std::move(apps);
    loaded_parts_ |= 1;
  } else {
    keep("applications", apps.status());
  }
  if (applications_only) {
    next.complete = loaded_parts_ == 15;
    Publish(std::move(next));
    return first;
  }
  if (auto accounts = source_->Accounts(); accounts.ok()) {
    next.accounts = *std::move(accounts);
    loaded_parts_ |= 2;
  } else {
    keep("accounts", accounts.status());
  }
  if (auto builds = source_->BuildServices(); builds.ok()) {
    next.build_services = *std::move(builds);
    loaded_parts_ |= 4;
  } else {
    keep("build_services", builds.status());
  }
  if (auto sas = source_->ServiceAccounts(); sas.ok()) {
    next.service_accounts = *std::move(sas);
    loaded_parts_ |= 8;
  } else {
    keep("service_accounts", sas.status());
  }
  next.complete = loaded_parts_ == 15;
  Publish(std::move(next));
  return first;
}

absl::Status ResourceCache::RefreshOnDemand(int64_t min_interval_ms) {
  {
    absl::MutexLock l(&mu_);
    const int64_t now = now_ms_();
    if (now - last_on_demand_ms_ < min_interval_ms) return absl::OkStatus();
    last_on_demand_ms_ = now;
  }
  // A full refresh may hold the lock for several slow calls: wait a little,
  // then skip (that refresh reloads the applications anyway).
  const absl::Time deadline = absl::Now() + kOnDemandWait;
  while (!refresh_mu_.TryLock()) {
    if (absl::Now() >= deadline) {
      SPDLOG_INFO("event=fiat_on_demand_refresh_skipped reason=busy");
      return absl::OkStatus();
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  absl::Status loaded = Load(/*applications_only=*/true);
  refresh_mu_.Unlock();
  return loaded;
}

std::shared_ptr<const Snapshot> ResourceCache::Get() const {
  absl::MutexLock l(&mu_);
  return snapshot_;
}

void ResourceCache::UpsertServiceAccount(ServiceAccount account) {
  absl::MutexLock serialize(&refresh_mu_);
  Snapshot next = *Get();
  bool found = false;
  for (ServiceAccount& s : next.service_accounts) {
    if (s.name == account.name) {
      s = account;
      found = true;
    }
  }
  if (!found) next.service_accounts.push_back(std::move(account));
  Publish(std::move(next));
}

void ResourceCache::Publish(Snapshot next) {
  absl::MutexLock l(&mu_);
  if (next.SameContent(*snapshot_) && next.complete == snapshot_->complete) {
    return;
  }
  // Strictly later than any set resolved against the previous snapshot.
  next.changed_at_ms = std::max(now_ms_(), snapshot_->changed_at_ms + 1);
  SPDLOG_INFO(
      "event=fiat_resources_changed applications={} accounts={} "
      "build_services={} service_accounts={}",
      next.applications.size(), next.accounts.size(),
      next.build_services.size(), next.service_accounts.size());
  snapshot_ = std::make_shared<const Snapshot>(std::move(next));
}

}  // namespace gennaker::fiat
