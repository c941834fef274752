#include "services/clouddriver/forwarder.h"

#include <chrono>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/grpc/channel.h"
#include "common/log/log.h"
#include "services/clouddriver/account_ownership.h"

namespace gennaker::clouddriver {

namespace {

constexpr char kForwardedHeader[] = "x-gennaker-forwarded-by";
constexpr auto kForwardDeadline = std::chrono::seconds(30);

}  // namespace

absl::StatusOr<std::string> Forwarder::Route(
    const std::set<std::string>& accounts,
    const grpc::ServerContext* caller) const {
  if (ownership_ == nullptr) return std::string();
  std::map<std::string, std::vector<std::string>> by_place;
  for (const std::string& account : accounts) {
    absl::StatusOr<std::string> place = ownership_->Route(account);
    if (absl::IsNotFound(place.status())) continue;
    if (!place.ok()) return place.status();
    by_place[*place].push_back(account);
  }
  if (by_place.empty()) return std::string();
  if (by_place.size() > 1) {
    std::vector<std::string> parts;
    for (const auto& [place, names] : by_place) {
      parts.push_back(absl::StrCat(absl::StrJoin(names, ", "), " at ",
                                   place.empty() ? "this replica" : place));
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "the accounts are served by different clouddriver replicas (",
        absl::StrJoin(parts, "; "), "): submit their operations apart"));
  }
  const std::string& place = by_place.begin()->first;
  const bool forwarded = caller != nullptr &&
                         caller->client_metadata().count(kForwardedHeader) > 0;
  if (!place.empty() && forwarded) {
    // The lease moved while the call was on its way: the caller retries.
    return absl::UnavailableError(
        absl::StrCat("account '", by_place.begin()->second.front(),
                     "' is now served by the clouddriver replica at ", place));
  }
  return place;
}

std::shared_ptr<v1::ClouddriverService::Stub> Forwarder::StubFor(
    const std::string& address) {
  absl::MutexLock l(&stubs_mu_);
  std::shared_ptr<v1::ClouddriverService::Stub>& stub = stubs_[address];
  if (stub == nullptr) {
    stub = v1::ClouddriverService::NewStub(MakeChannel(address));
  }
  return stub;
}

std::unique_ptr<grpc::ClientContext> Forwarder::ContextFor(
    const grpc::ServerContext* caller) const {
  // Within the caller's deadline.
  auto deadline = std::chrono::system_clock::now() + kForwardDeadline;
  if (caller != nullptr && caller->deadline() < deadline) {
    deadline = caller->deadline();
  }
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(deadline);
  ctx->AddMetadata(kForwardedHeader, ownership_->address());
  return ctx;
}

void Forwarder::Logged(const std::set<std::string>& accounts,
                       const std::string& address) {
  SPDLOG_INFO("event=call_forwarded accounts={} to={}",
              absl::StrJoin(accounts, ","), address);
}

grpc::Status Forwarder::Explained(grpc::Status s,
                                  const std::set<std::string>& accounts,
                                  const std::string& address) {
  if (s.error_code() != grpc::StatusCode::UNAVAILABLE &&
      s.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
    return s;
  }
  return grpc::Status(
      s.error_code(),
      absl::StrCat("forwarded to the clouddriver replica serving ",
                   absl::StrJoin(accounts, ", "), " (", address,
                   "): ", s.error_message()));
}

}  // namespace gennaker::clouddriver
