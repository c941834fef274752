#include "services/clouddriver/operations.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/fiat/authorizer.h"
#include "common/ids/ids.h"
#include "common/log/log.h"
#include "common/spinnaker/json.h"
#include "common/spinnaker/status.h"
#include "common/status/status_macros.h"

namespace gennaker::clouddriver {

namespace {

using spinnaker::Array;
using spinnaker::Int;
using spinnaker::String;
using spinnaker::task_state::kCompleted;
using spinnaker::task_state::kFailed;
using spinnaker::task_state::kFailedRetryable;
using spinnaker::task_state::kStarted;

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

void AddHistory(Json& task, const std::string& phase,
                const std::string& status) {
  task["history"].push_back(
      {{"phase", phase}, {"status", status}, {"timestamp", NowMs()}});
}

// The phase name of an operation: "createServerGroup" -> "CREATE_SERVER_GROUP".
std::string PhaseOf(const std::string& op) {
  std::string out;
  for (char c : op) {
    if (absl::ascii_isupper(static_cast<unsigned char>(c)) && !out.empty()) {
      out += '_';
    }
    out += absl::ascii_toupper(static_cast<unsigned char>(c));
  }
  return out;
}

bool Retryable(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kResourceExhausted:
      return true;
    default:
      return false;
  }
}

// Every account a stored task names: each operation's account and its
// description's credentials / account.
std::set<std::string> TaskAccounts(const Json& task) {
  std::set<std::string> accounts;
  if (!task.contains("operations") || !task["operations"].is_array()) {
    return accounts;
  }
  for (const Json& op : task["operations"]) {
    if (!op.is_object()) continue;
    if (std::string a = String(op, "account"); !a.empty()) accounts.insert(a);
    if (!op.contains("description") || !op["description"].is_object()) {
      continue;
    }
    for (const char* k : {"credentials", "account"}) {
      if (std::string a = String(op["description"], k); !a.empty()) {
        accounts.insert(std::move(a));
      }
    }
  }
  return accounts;
}

}  // namespace

Operations::Operations(TaskStore* store, std::vector<Provider*> providers,
                       CachingAgent* agent, Options options)
    : store_(store), agent_(agent), options_(std::move(options)) {
  for (Provider* p : providers) providers_[p->account()] = p;
}

Operations::~Operations() { Stop(); }

void Operations::Start() {
  if (absl::Status s = store_->Renew(options_.owner, options_.owner_ttl_ms);
      !s.ok()) {
    SPDLOG_WARN("event=task_owner_renew_failed error={}", s);
  }
  for (int i = 0; i < std::max(1, options_.threads); ++i) {
    threads_.emplace_back([this] { Work(); });
  }
  // Renewal has a thread of its own: a slow sweep must not let the lease of
  // this live replica lapse.
  threads_.emplace_back([this] { Renew(); });
  threads_.emplace_back([this] { Maintain(); });
}

void Operations::Stop() {
  {
    absl::MutexLock l(&mu_);
    stop_ = true;
  }
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

std::string Operations::State(const Json& task) {
  return String(task, "state", kStarted);
}

Json Operations::Render(const Json& task) {
  const std::string state = State(task);
  Json history = Json::array();
  for (const Json& h : Array(task, "history")) {
    history.push_back(
        {{"phase", String(h, "phase")}, {"status", String(h, "status")}});
  }
  Json current = history.empty()
                     ? Json{{"phase", "ORCHESTRATION"}, {"status", "Queued"}}
                     : history.back();
  const bool done = state != kStarted;
  Json out = {{"id", String(task, "id")},
              {"requestId", String(task, "requestId")},
              {"ownerId", String(task, "ownerId")},
              {"startTimeMs", Int(task, "startTimeMs")},
              {"status",
               {{"phase", current["phase"]},
                {"status", current["status"]},
                {"complete", done},
                {"completed", done},
                {"failed", state == kFailed || state == kFailedRetryable},
                {"retryable", state == kFailedRetryable}}},
              {"history", history},
              {"resultObjects", Array(task, "resultObjects")},
              {"sagaIds", Json::array()}};
  return out;
}

absl::StatusOr<Submission> Operations::Submit(
    std::vector<SubmittedOperation> ops, const std::string& key,
    const std::string& application, const std::string& user) {
  if (ops.empty()) {
    return absl::InvalidArgumentError(
        "a submission needs at least one operation");
  }
  Json stored_ops = Json::array();
  std::set<std::string> accounts;  // every account named, to authorize
  for (SubmittedOperation& op : ops) {
    if (op.name.empty()) {
      return absl::InvalidArgumentError("every operation needs a name");
    }
    if (op.description.is_null()) op.description = Json::object();
    if (!op.description.is_object()) {
      return absl::InvalidArgumentError(
          absl::StrCat(op.name, ": the description must be an object"));
    }
    if (op.account.empty()) {
      // A description's field of another type is no account (never an
      // exception).
      op.account =
          spinnaker::FirstString(op.description, {"credentials", "account"});
    }
    auto it = providers_.find(op.account);
    if (it == providers_.end()) {
      return absl::InvalidArgumentError(
          op.account.empty()
              ? absl::StrCat(op.name, ": no account given (credentials)")
              : absl::StrCat(op.name, ": unknown account '", op.account, "'"));
    }
    if (!it->second->Supports(op.name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("the ", it->second->cloud_provider(),
                       " provider has no operation '", op.name, "'"));
    }
    accounts.insert(op.account);
    for (const char* k : {"credentials", "account"}) {
      if (std::string named = String(op.description, k); !named.empty()) {
        accounts.insert(std::move(named));
      }
    }
    stored_ops.push_back({{"name", op.name},
                          {"account", op.account},
                          {"description", op.description}});
  }
  GENNAKER_RETURN_IF_ERROR(CheckAccounts(accounts, user));
  // A retried submission whose task exists gets that task, whatever a
  // validation would say now (the image it names may be gone since).
  auto deduplicated = [&](const std::string& id) -> absl::StatusOr<Submission> {
    Submission out;
    out.task_id = id;
    out.deduplicated = true;
    GENNAKER_ASSIGN_OR_RETURN(std::optional<Json> existing, store_->Get(id));
    if (existing.has_value() && State(*existing) == kFailedRetryable) {
      // The key may name someone else's task: resuming it is a resume.
      GENNAKER_RETURN_IF_ERROR(CheckAccounts(TaskAccounts(*existing), user));
      GENNAKER_RETURN_IF_ERROR(
          Requeue(*existing, "Resubmitted with the same request id").status());
    }
    return out;
  };
  if (!key.empty()) {
    GENNAKER_ASSIGN_OR_RETURN(std::optional<std::string> known,
                              store_->TaskIdForKey(key));
    if (known.has_value()) return deduplicated(*known);
  }
  // After authorization: the refusal may say what an account holds. Only new
  // submissions are validated.
  for (const SubmittedOperation& op : ops) {
    absl::Status valid =
        providers_.at(op.account)->Validate(op.name, op.description);
    if (!valid.ok()) {
      SPDLOG_INFO("event=operation_invalid operation={} account={} error={}",
                  op.name, op.account, valid);
      return absl::Status(valid.code(),
                          absl::StrCat(op.name, ": ", valid.message()));
    }
  }
  Json task = {{"id", NewUlid()},           {"requestId", key},
               {"ownerId", options_.owner}, {"application", application},
               {"startTimeMs", NowMs()},    {"state", kStarted},
               {"history", Json::array()},  {"resultObjects", Json::array()},
               {"operations", stored_ops},  {"nextOperation", 0}};
  AddHistory(task, "ORCHESTRATION", "Initializing Orchestration Task");
  GENNAKER_ASSIGN_OR_RETURN(std::string id, store_->Create(task, key));
  // A concurrent submission with the same key won the race.
  if (id != task["id"].get<std::string>()) return deduplicated(id);
  Submission out;
  out.task_id = id;
  SPDLOG_INFO("event=task_submitted task={} operations={} application={}", id,
              stored_ops.size(), application);
  Enqueue(id);
  return out;
}

absl::StatusOr<Json> Operations::Get(const std::string& id) {
  GENNAKER_ASSIGN_OR_RETURN(std::optional<Json> task, store_->Get(id));
  if (!task.has_value()) {
    return absl::NotFoundError(absl::StrCat("no task ", id));
  }
  return *task;
}

absl::StatusOr<Json> Operations::Resume(const std::string& id,
                                        const std::string& user) {
  GENNAKER_ASSIGN_OR_RETURN(Json task, Get(id));
  GENNAKER_RETURN_IF_ERROR(CheckAccounts(TaskAccounts(task), user));
  if (State(task) != kFailedRetryable) {
    return absl::FailedPreconditionError(absl::StrCat(
        "task ", id, " is ", State(task), "; only FAILED_RETRYABLE resumes"));
  }
  return Requeue(std::move(task), "Resumed");
}

absl::Status Operations::CheckAccounts(const std::set<std::string>& accounts,
                                       const std::string& user) const {
  if (options_.authorizer == nullptr) return absl::OkStatus();
  for (const std::string& account : accounts) {
    absl::Status allowed =
        options_.authorizer->Check(user, fiat::v1::RESOURCE_TYPE_ACCOUNT,
                                   account, fiat::v1::AUTHORIZATION_WRITE);
    if (!allowed.ok()) {
      SPDLOG_WARN("event=operation_refused account={} user={} code={}", account,
                  user.empty() ? "anonymous" : user,
                  absl::StatusCodeToString(allowed.code()));
      return allowed;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Json> Operations::Requeue(Json task, const std::string& why) {
  GENNAKER_ASSIGN_OR_RETURN(Json fresh, Get(String(task, "id")));
  if (State(fresh) != kFailedRetryable) return fresh;
  fresh["state"] = kStarted;
  fresh["ownerId"] = options_.owner;
  AddHistory(fresh, "ORCHESTRATION", why);
  // Only one replica (or request) wins the FAILED_RETRYABLE -> STARTED step.
  GENNAKER_ASSIGN_OR_RETURN(bool won,
                            store_->Save(fresh, true, "", kFailedRetryable));
  if (!won) return Get(String(fresh, "id"));
  Enqueue(String(fresh, "id"));
  return fresh;
}

void Operations::Enqueue(const std::string& id) {
  absl::MutexLock l(&mu_);
  if (!active_.insert(id).second) {
    // Already queued or running. A run may be past its last save (a resume
    // right after it failed): run it once more when it is done, else the
    // resumed task would wait for the orphan sweep.
    rerun_.insert(id);
    return;
  }
  queue_.push_back(id);
}

void Operations::Work() {
  while (true) {
    std::string id;
    {
      absl::MutexLock l(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stop_ || !queue_.empty();
      };
      mu_.Await(absl::Condition(&ready));
      if (stop_) return;
      id = queue_.front();
      queue_.pop_front();
    }
    Run(id);
    absl::MutexLock l(&mu_);
    if (rerun_.erase(id) > 0) {
      queue_.push_back(id);  // still active
    } else {
      active_.erase(id);
    }
  }
}

void Operations::Run(const std::string& id) {
  absl::StatusOr<Json> loaded = Get(id);
  if (!loaded.ok()) {
    // The store is unreachable: the sweep finds this STARTED task of ours
    // again once it is not active any more.
    SPDLOG_ERROR("event=task_load_failed task={} error={}", id,
                 loaded.status());
    return;
  }
  Json task = std::move(*loaded);
  if (State(task) != kStarted || String(task, "ownerId") != options_.owner) {
    return;  // finished, or taken over by another replica
  }
  task["runs"] = Int(task, "runs") + 1;
  const bool resumed = task["runs"].get<int>() > 1;
  bool lost = false;
  // Saves only while this replica still owns the task; retried when the
  // store fails, since a lost final save would leave the task STARTED.
  auto save = [this, &task, &id, &lost](bool running) {
    if (lost) return;
    for (int attempt = 0; attempt < 5; ++attempt) {
      absl::StatusOr<bool> saved =
          store_->Save(task, running, options_.owner, kStarted);
      if (saved.ok()) {
        if (!*saved) {
          SPDLOG_WARN("event=task_taken_over task={}", id);
          lost = true;
        }
        return;
      }
      SPDLOG_ERROR("event=task_save_failed task={} attempt={} error={}", id,
                   attempt + 1, saved.status());
      absl::SleepFor(absl::Milliseconds(200 << attempt));
    }
  };
  const Json ops = Array(task, "operations");
  // Providers de-duplicate by this key (a resumed createServerGroup finds its
  // group); without a client key the task id keeps tasks apart.
  const std::string key_base =
      String(task, "requestId").empty() ? id : String(task, "requestId");
  for (size_t i = static_cast<size_t>(Int(task, "nextOperation"));
       i < ops.size(); ++i) {
    const Json& op = ops[i];
    const std::string name = String(op, "name");
    const std::string account = String(op, "account");
    const std::string phase = PhaseOf(name);
    AddHistory(task, "ORCHESTRATION", absl::StrCat("Processing op: ", name));
    save(true);
    if (lost) return;
    auto provider = providers_.find(account);
    absl::StatusOr<Json> result =
        provider == providers_.end()
            ? absl::StatusOr<Json>(absl::FailedPreconditionError(
                  absl::StrCat("account ", account, " is gone")))
            : provider->second->Operate(
                  name, spinnaker::Object(op, "description"),
                  absl::StrCat(key_base, "#", i), [&](const std::string& line) {
                    AddHistory(task, phase, line);
                    save(true);
                  });
    if (provider != providers_.end()) {
      if (absl::Status s = agent_->RefreshNow(account); !s.ok()) {
        SPDLOG_WARN("event=cache_refresh_failed account={} error={}", account,
                    s);
      }
    }
    // A resumed run repeats the operation that was in flight: a removal
    // that had already happened is done, not failed.
    if (!result.ok() && resumed && absl::IsNotFound(result.status()) &&
        (name == "destroyServerGroup" || name == "deleteLoadBalancer" ||
         name == "deleteSecurityGroup" || name == "terminateInstances")) {
      AddHistory(task, phase,
                 absl::StrCat("Already done before the restart: ",
                              result.status().message()));
      result = Json::object();
    }
    if (!result.ok()) {
      const bool retry = Retryable(result.status());
      task["state"] = retry ? kFailedRetryable : kFailed;
      task["nextOperation"] = i;
      task["resultObjects"].push_back(
          {{"type", "EXCEPTION"},
           {"operation", name},
           {"cause", absl::StatusCodeToString(result.status().code())},
           {"message", std::string(result.status().message())}});
      AddHistory(task, phase,
                 absl::StrCat("Failed: ", result.status().message()));
      AddHistory(task, "ORCHESTRATION", "Orchestration failed.");
      save(false);
      SPDLOG_WARN("event=task_failed task={} operation={} error={}", id, name,
                  result.status());
      return;
    }
    if (result->is_object() && !result->empty()) {
      task["resultObjects"].push_back(*result);
    }
    task["nextOperation"] = i + 1;
  }
  task["state"] = kCompleted;
  AddHistory(task, "ORCHESTRATION", "Orchestration completed.");
  save(false);
  SPDLOG_INFO("event=task_completed task={}", id);
}

absl::StatusOr<int> Operations::SweepOrphans() {
  GENNAKER_ASSIGN_OR_RETURN(std::vector<std::string> running,
                            store_->Running());
  int swept = 0;
  for (const std::string& id : running) {
    GENNAKER_ASSIGN_OR_RETURN(std::optional<Json> task, store_->Get(id));
    if (!task.has_value() || State(*task) != kStarted) {
      GENNAKER_RETURN_IF_ERROR(store_->Forget(id));  // gone or finished
      continue;
    }
    const std::string owner = String(*task, "ownerId");
    if (owner == options_.owner) {
      Enqueue(id);  // ours but dropped (a store error): run it again
      continue;
    }
    GENNAKER_ASSIGN_OR_RETURN(bool alive, store_->OwnerAlive(owner));
    if (alive) continue;
    (*task)["state"] = kFailedRetryable;
    (*task)["resultObjects"].push_back(
        {{"type", "EXCEPTION"},
         {"cause", "ABORTED"},
         {"message", absl::StrCat("clouddriver ", owner,
                                  " stopped while running this task; submit "
                                  "again with the same request id to "
                                  "resume")}});
    AddHistory(*task, "ORCHESTRATION",
               absl::StrCat("Orphaned: owner ", owner, " stopped"));
    // Only if it is still that owner's and still STARTED.
    GENNAKER_ASSIGN_OR_RETURN(bool marked,
                              store_->Save(*task, false, owner, kStarted));
    if (!marked) continue;
    SPDLOG_WARN("event=task_orphaned task={} owner={}", id, owner);
    ++swept;
  }
  return swept;
}

void Operations::Renew() {
  const int64_t period = std::max<int64_t>(100, options_.owner_ttl_ms / 3);
  while (!WaitStop(period)) {
    if (absl::Status s = store_->Renew(options_.owner, options_.owner_ttl_ms);
        !s.ok()) {
      SPDLOG_WARN("event=task_owner_renew_failed error={}", s);
    }
  }
}

bool Operations::WaitStop(int64_t ms) {
  absl::MutexLock l(&mu_);
  auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
  return mu_.AwaitWithTimeout(absl::Condition(&stopping),
                              absl::Milliseconds(ms));
}

void Operations::Maintain() {
  const int64_t period = std::max<int64_t>(100, options_.owner_ttl_ms / 3);
  while (!WaitStop(period)) {
    if (absl::StatusOr<int> n = SweepOrphans(); !n.ok()) {
      SPDLOG_WARN("event=task_sweep_failed error={}", n.status());
    }
  }
}

}  // namespace gennaker::clouddriver
