#include "services/echo/store/in_memory_echo_store.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace gennaker::echo {

absl::StatusOr<InsertResult> InMemoryEchoStore::InsertEventLocked(
    const EventRow& row) {
  if (!row.idempotency_key.empty()) {
    auto it = event_keys_.find(row.idempotency_key);
    if (it != event_keys_.end()) return InsertResult{it->second, true};
  }
  if (events_.count(row.id) > 0) {
    return absl::AlreadyExistsError(
        absl::StrCat("event '", row.id, "' already exists"));
  }
  events_[row.id] = row;
  if (!row.idempotency_key.empty()) event_keys_[row.idempotency_key] = row.id;
  return InsertResult{row.id, false};
}

absl::StatusOr<InsertResult> InMemoryEchoStore::InsertEvent(
    const EventRow& row) {
  absl::MutexLock l(&mu_);
  return InsertEventLocked(row);
}

absl::StatusOr<EventRow> InMemoryEchoStore::GetEvent(absl::string_view id) {
  absl::MutexLock l(&mu_);
  auto it = events_.find(std::string(id));
  if (it == events_.end()) {
    return absl::NotFoundError(absl::StrCat("event '", id, "' not found"));
  }
  return it->second;
}

absl::StatusOr<std::vector<EventRow>> InMemoryEchoStore::ListEvents(
    const EventQuery& query) {
  absl::MutexLock l(&mu_);
  std::vector<EventRow> out;
  for (const auto& [id, e] : events_) {
    if (!query.type.empty() && e.type != query.type) continue;
    if (!query.source.empty() && e.source != query.source) continue;
    if (!query.application.empty() && e.application != query.application) {
      continue;
    }
    if (e.accepted_ms < query.since_ms) continue;
    out.push_back(e);
  }
  std::sort(out.begin(), out.end(), [](const EventRow& a, const EventRow& b) {
    return a.accepted_ms != b.accepted_ms ? a.accepted_ms > b.accepted_ms
                                          : a.id > b.id;
  });
  const size_t offset =
      std::min<size_t>(out.size(), std::max<int64_t>(0, query.offset));
  out.erase(out.begin(), out.begin() + offset);
  if (query.limit > 0 && out.size() > static_cast<size_t>(query.limit)) {
    out.resize(query.limit);
  }
  return out;
}

absl::StatusOr<std::vector<EventRow>> InMemoryEchoStore::ClaimEvents(
    const std::string& owner, int64_t now_ms, int64_t claim_ms, int limit) {
  absl::MutexLock l(&mu_);
  std::vector<EventRow*> due;
  for (auto& [id, e] : events_) {
    if (e.state != EventState::kAccepted || e.next_attempt_ms > now_ms) {
      continue;
    }
    auto c = event_claims_.find(id);
    if (c != event_claims_.end() && c->second.expires_ms > now_ms) continue;
    due.push_back(&e);
  }
  std::sort(due.begin(), due.end(), [](const EventRow* a, const EventRow* b) {
    return a->accepted_ms != b->accepted_ms ? a->accepted_ms < b->accepted_ms
                                            : a->id < b->id;
  });
  std::vector<EventRow> out;
  for (EventRow* e : due) {
    if (static_cast<int>(out.size()) >= limit) break;
    event_claims_[e->id] = Claim{owner, now_ms + claim_ms};
    ++e->attempts;
    e->updated_ms = now_ms;
    out.push_back(*e);
  }
  return out;
}

absl::StatusOr<bool> InMemoryEchoStore::FinishEvent(
    const std::string& id, const std::string& owner, EventState state,
    const std::string& executions, const std::string& error, int64_t now_ms) {
  absl::MutexLock l(&mu_);
  auto c = event_claims_.find(id);
  auto e = events_.find(id);
  if (c == event_claims_.end() || c->second.owner != owner ||
      e == events_.end() || e->second.state != EventState::kAccepted) {
    return false;
  }
  e->second.state = state;
  e->second.executions = executions;
  e->second.error = error;
  e->second.updated_ms = now_ms;
  event_claims_.erase(c);
  return true;
}

absl::StatusOr<bool> InMemoryEchoStore::RetryEvent(const std::string& id,
                                                   const std::string& owner,
                                                   int64_t next_attempt_ms,
                                                   const std::string& error,
                                                   int64_t now_ms) {
  absl::MutexLock l(&mu_);
  auto c = event_claims_.find(id);
  auto e = events_.find(id);
  if (c == event_claims_.end() || c->second.owner != owner ||
      e == events_.end() || e->second.state != EventState::kAccepted) {
    return false;
  }
  e->second.next_attempt_ms = next_attempt_ms;
  e->second.error = error;
  e->second.updated_ms = now_ms;
  event_claims_.erase(c);
  return true;
}

absl::StatusOr<int64_t> InMemoryEchoStore::DeleteFinishedBefore(
    int64_t before_ms) {
  absl::MutexLock l(&mu_);
  int64_t n = 0;
  for (auto it = events_.begin(); it != events_.end();) {
    if (it->second.state != EventState::kAccepted &&
        it->second.accepted_ms < before_ms) {
      if (!it->second.idempotency_key.empty()) {
        event_keys_.erase(it->second.idempotency_key);
      }
      it = events_.erase(it);
      ++n;
    } else {
      ++it;
    }
  }
  for (auto it = slots_.begin(); it != slots_.end();) {
    it = std::get<2>(*it) < before_ms ? slots_.erase(it) : std::next(it);
  }
  for (auto it = notifications_.begin(); it != notifications_.end();) {
    if (it->second.state != NotificationState::kPending &&
        it->second.created_ms < before_ms) {
      if (!it->second.idempotency_key.empty()) {
        notification_keys_.erase(it->second.idempotency_key);
      }
      it = notifications_.erase(it);
    } else {
      ++it;
    }
  }
  return n;
}

absl::StatusOr<bool> InMemoryEchoStore::ClaimCronSlot(const CronSlot& slot,
                                                      const std::string& owner,
                                                      const EventRow& event) {
  (void)owner;
  absl::MutexLock l(&mu_);
  auto key = std::make_tuple(slot.trigger_id, slot.pipeline_id, slot.slot_ms);
  if (slots_.count(key) > 0) return false;
  absl::StatusOr<InsertResult> r = InsertEventLocked(event);
  if (!r.ok()) return r.status();
  slots_.insert(key);
  // The fire's key was stored before: that event is the fire.
  return !r->duplicate;
}

absl::StatusOr<InsertResult> InMemoryEchoStore::InsertNotifications(
    const std::vector<NotificationRow>& rows) {
  absl::MutexLock l(&mu_);
  if (rows.empty()) return InsertResult{};
  if (!rows[0].idempotency_key.empty()) {
    auto it = notification_keys_.find(rows[0].idempotency_key);
    if (it != notification_keys_.end()) {
      return InsertResult{notifications_[it->second].group_id, true};
    }
  }
  for (const NotificationRow& r : rows) {
    if (notifications_.count(r.id) > 0) continue;
    notifications_[r.id] = r;
    if (!r.idempotency_key.empty())
      notification_keys_[r.idempotency_key] = r.id;
  }
  return InsertResult{rows[0].group_id, false};
}

absl::StatusOr<std::vector<NotificationRow>>
InMemoryEchoStore::ClaimNotifications(const std::string& owner, int64_t now_ms,
                                      int64_t claim_ms, int limit) {
  absl::MutexLock l(&mu_);
  std::vector<NotificationRow> out;
  for (auto& [id, n] : notifications_) {
    if (static_cast<int>(out.size()) >= limit) break;
    if (n.state != NotificationState::kPending || n.next_attempt_ms > now_ms) {
      continue;
    }
    auto c = notification_claims_.find(id);
    if (c != notification_claims_.end() && c->second.expires_ms > now_ms) {
      continue;
    }
    notification_claims_[id] = Claim{owner, now_ms + claim_ms};
    ++n.attempts;
    n.updated_ms = now_ms;
    out.push_back(n);
  }
  return out;
}

absl::StatusOr<bool> InMemoryEchoStore::FinishNotification(
    const std::string& id, const std::string& owner, NotificationState state,
    const std::string& error, int64_t now_ms) {
  absl::MutexLock l(&mu_);
  auto c = notification_claims_.find(id);
  auto n = notifications_.find(id);
  if (c == notification_claims_.end() || c->second.owner != owner ||
      n == notifications_.end() ||
      n->second.state != NotificationState::kPending) {
    return false;
  }
  n->second.state = state;
  n->second.error = error;
  n->second.updated_ms = now_ms;
  notification_claims_.erase(c);
  return true;
}

absl::StatusOr<bool> InMemoryEchoStore::RetryNotification(
    const std::string& id, const std::string& owner, int64_t next_attempt_ms,
    const std::string& error, int64_t now_ms) {
  absl::MutexLock l(&mu_);
  auto c = notification_claims_.find(id);
  auto n = notifications_.find(id);
  if (c == notification_claims_.end() || c->second.owner != owner ||
      n == notifications_.end() ||
      n->second.state != NotificationState::kPending) {
    return false;
  }
  n->second.next_attempt_ms = next_attempt_ms;
  n->second.error = error;
  n->second.updated_ms = now_ms;
  notification_claims_.erase(c);
  return true;
}

absl::StatusOr<std::vector<NotificationRow>>
InMemoryEchoStore::ListNotifications(const std::string& group_id) {
  absl::MutexLock l(&mu_);
  std::vector<NotificationRow> out;
  for (const auto& [id, n] : notifications_) {
    if (n.group_id == group_id) out.push_back(n);
  }
  return out;
}

}  // namespace gennaker::echo
