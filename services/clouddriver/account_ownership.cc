#include "services/clouddriver/account_ownership.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/ids/ids.h"
#include "common/log/log.h"

namespace gennaker::clouddriver {

absl::StatusOr<std::string> LoadOrCreateHolderId(const std::string& dir) {
  const std::string path = dir + "/lease-holder-id";
  {
    std::ifstream in(path);
    if (in) {
      std::stringstream text;
      text << in.rdbuf();
      std::string id(absl::StripAsciiWhitespace(text.str()));
      if (!id.empty() && id.find_first_of(" \t\n") == std::string::npos) {
        return id;
      }
    }
  }
  const std::string id = NewUlid();
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << id << "\n";
    if (!out.flush()) {
      return absl::InternalError(absl::StrCat("cannot write ", tmp));
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot write ", path));
  }
  return id;
}

AccountOwnership::AccountOwnership(
    LeaseStore* store, std::map<std::string, std::string> holder_ids,
    Options options)
    : store_(store), options_(std::move(options)) {
  for (auto& [account, id] : holder_ids) accounts_[account].id = id;
}

AccountOwnership::~AccountOwnership() { Stop(); }

int64_t AccountOwnership::Now() const {
  if (options_.now_ms) return options_.now_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void AccountOwnership::SetGainedListener(
    std::function<void(const std::string&)> listener) {
  absl::MutexLock l(&mu_);
  gained_ = std::move(listener);
}

void AccountOwnership::ClaimAll() {
  absl::MutexLock serial(&claim_mu_);
  std::vector<std::pair<std::string, std::string>> ids;
  {
    absl::MutexLock l(&mu_);
    for (const auto& [account, state] : accounts_) {
      ids.emplace_back(account, state.id);
    }
  }
  std::vector<std::string> gained;
  std::function<void(const std::string&)> listener;
  for (const auto& [account, id] : ids) {
    // The lease runs from before the claim: never counted longer than Redis
    // keeps it.
    const int64_t start = Now();
    absl::StatusOr<LeaseHolder> holder = store_->Claim(
        account, LeaseHolder{id, options_.address}, options_.ttl_ms);
    absl::MutexLock l(&mu_);
    State& state = accounts_[account];
    const bool served_before =
        state.holder.id == id && state.valid_until_ms > start;
    if (!holder.ok()) {
      // Known holders stay known until their lease would lapse.
      SPDLOG_WARN("event=account_lease_claim_failed account={} error={}",
                  account, holder.status());
      continue;
    }
    const bool moved = holder->id != state.holder.id ||
                       holder->address != state.holder.address;
    state.holder = *holder;
    state.valid_until_ms = start + options_.ttl_ms - options_.ttl_ms / 10;
    if (holder->id == id) {
      if (!served_before) {
        SPDLOG_INFO("event=account_served account={} holder={} address={}",
                    account, id, options_.address);
        gained.push_back(account);
      }
    } else if (moved || served_before) {
      SPDLOG_INFO(
          "event=account_served_elsewhere account={} holder={} "
          "address={}",
          account, holder->id, holder->address);
    }
    listener = gained_;
  }
  if (listener) {
    for (const std::string& account : gained) listener(account);
  }
}

void AccountOwnership::Start() {
  thread_ = std::thread([this] {
    const int64_t period = std::max<int64_t>(100, options_.ttl_ms / 3);
    while (true) {
      {
        absl::MutexLock l(&mu_);
        auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return stop_;
        };
        if (mu_.AwaitWithTimeout(absl::Condition(&stopping),
                                 absl::Milliseconds(period))) {
          return;
        }
      }
      ClaimAll();
    }
  });
}

void AccountOwnership::Stop() {
  {
    absl::MutexLock l(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
  absl::MutexLock serial(&claim_mu_);
  absl::MutexLock l(&mu_);
  for (auto& [account, state] : accounts_) state.valid_until_ms = 0;
}

bool AccountOwnership::Serves(const std::string& account) const {
  absl::MutexLock l(&mu_);
  auto it = accounts_.find(account);
  return it != accounts_.end() && it->second.holder.id == it->second.id &&
         it->second.valid_until_ms > Now();
}

absl::StatusOr<std::string> AccountOwnership::Route(
    const std::string& account) const {
  absl::MutexLock l(&mu_);
  auto it = accounts_.find(account);
  if (it == accounts_.end()) {
    return absl::NotFoundError(absl::StrCat("unknown account '", account, "'"));
  }
  const State& state = it->second;
  if (state.holder.id.empty() || state.valid_until_ms <= Now()) {
    return absl::UnavailableError(
        absl::StrCat("no clouddriver replica is known to serve account '",
                     account, "' right now; retry shortly"));
  }
  if (state.holder.id == state.id) return std::string();
  return state.holder.address;
}

}  // namespace gennaker::clouddriver
