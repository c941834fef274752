// Posts orca's execution and stage events (engine/events.h) to echo
// (EchoService.PostEvent), from which echo sends notifications and fires
// pipeline triggers.
//
// Publish() only queues: a background thread posts the events one at a time,
// in order, each with details {type, source: "orca", application} and the
// idempotency key ExecutionEvent::IdempotencyKey(), so a retried post is not
// a second event. While echo cannot be reached (UNAVAILABLE,
// DEADLINE_EXCEEDED and other transient codes) the thread retries the event
// at the head with exponential backoff; an event echo refuses for good
// (INVALID_ARGUMENT, ...) is dropped with an error log. The queue is bounded:
// over the bound the oldest queued event is dropped with an error log.
//
// Delivery is best effort: events live only in memory between the commit
// that produced them and their post, so events queued when orca stops or
// crashes are lost (accepted for now; Spinnaker's listeners are not durable
// either).
#ifndef GENNAKER_SERVICES_ORCA_ECHO_EVENTS_H_
#define GENNAKER_SERVICES_ORCA_ECHO_EVENTS_H_

#include <chrono>
#include <cstdint>
#include <memory>

#include "services/orca/engine/events.h"

namespace grpc {
class Channel;
}

namespace gennaker::orca {

struct EchoPublisherOptions {
  size_t max_queued = 10000;
  std::chrono::milliseconds deadline{10000};  // of one PostEvent
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{10000};
};

class EchoEventPublisher : public EventPublisher {
 public:
  virtual ~EchoEventPublisher() = default;
  // Waits until every queued event was posted or dropped, up to `timeout`;
  // true when the queue is empty (tests, orderly shutdown).
  virtual bool Flush(std::chrono::milliseconds timeout) = 0;
  // Events dropped so far (queue over its bound, or refused by echo).
  virtual int64_t Dropped() const = 0;
};

// Starts the posting thread; the destructor stops it (queued events are
// dropped).
std::unique_ptr<EchoEventPublisher> NewEchoEventPublisher(
    std::shared_ptr<grpc::Channel> channel, EchoPublisherOptions options = {});

}  // namespace gennaker::orca

#endif  // GENNAKER_SERVICES_ORCA_ECHO_EVENTS_H_
