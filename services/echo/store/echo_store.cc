#include "services/echo/store/echo_store.h"

namespace gennaker::echo {

const char* EventStateName(EventState state) {
  switch (state) {
    case EventState::kAccepted:
      return "ACCEPTED";
    case EventState::kDelivered:
      return "DELIVERED";
    case EventState::kFailed:
      return "FAILED";
    case EventState::kIgnored:
      return "IGNORED";
  }
  return "ACCEPTED";
}

std::optional<EventState> EventStateFromName(absl::string_view name) {
  for (EventState s : {EventState::kAccepted, EventState::kDelivered,
                       EventState::kFailed, EventState::kIgnored}) {
    if (name == EventStateName(s)) return s;
  }
  return std::nullopt;
}

const char* NotificationStateName(NotificationState state) {
  switch (state) {
    case NotificationState::kPending:
      return "PENDING";
    case NotificationState::kSent:
      return "SENT";
    case NotificationState::kFailed:
      return "FAILED";
  }
  return "PENDING";
}

std::optional<NotificationState> NotificationStateFromName(
    absl::string_view name) {
  for (NotificationState s :
       {NotificationState::kPending, NotificationState::kSent,
        NotificationState::kFailed}) {
    if (name == NotificationStateName(s)) return s;
  }
  return std::nullopt;
}

}  // namespace gennaker::echo
