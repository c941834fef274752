// Execution events: what the engine reports after it committed a change of
// an execution's or a stage's state, for echo (notifications, pipeline
// triggers) through an EventPublisher (echo_events.h has the real one).
//
// Types and content are Spinnaker's (EchoNotifyingExecutionListener and
// EchoNotifyingStageListener):
//   orca:{pipeline|orchestration}:starting  the execution started RUNNING
//   orca:{pipeline|orchestration}:complete  it ended SUCCEEDED (or STOPPED /
//                                           SKIPPED, which Spinnaker counts
//                                           as successful)
//   orca:{pipeline|orchestration}:failed    it ended TERMINAL, CANCELED or
//                                           FAILED_CONTINUE (canceled ones
//                                           carry execution.canceled true)
//     content {execution, executionId}
//   orca:stage:starting                     a stage started RUNNING
//   orca:stage:complete / failed / skipped  a stage ended SUCCEEDED / any
//                                           other end status / SKIPPED
//     content {standalone, canceled, context, startTime, endTime, execution,
//              executionId, stageId, isSynthetic, name}
// content.execution is the execution as the REST API renders it
// (PublicView), as committed by the transaction that produced the event: it
// may already show later steps of the same transaction. Synthetic stages are
// reported with isSynthetic true (echo skips them for notifications).
#ifndef GENNAKER_SERVICES_ORCA_ENGINE_EVENTS_H_
#define GENNAKER_SERVICES_ORCA_ENGINE_EVENTS_H_

#include <memory>
#include <string>
#include <vector>

#include "services/orca/engine/model.h"

namespace gennaker::orca {

struct ExecutionEvent {
  std::string type;  // e.g. "orca:pipeline:complete"
  std::string execution_id;
  std::string stage_id;  // empty for execution events
  std::string application;
  int64_t created_ms = 0;  // when the change happened (epoch ms)
  // Distinguishes a run of the execution or stage from earlier ones (its
  // restarts): part of the event's idempotency key.
  int64_t run = 0;
  // The content without "execution" (added from `execution` when sent).
  Json content = Json::object();
  // The committed execution (PublicView), shared by the events of one
  // commit.
  std::shared_ptr<const Json> execution;

  // The whole content: `content` plus "execution".
  Json Content() const;
  // "<executionId>:<type>:<stageId or ''>", with ":<run>" when run > 0.
  std::string IdempotencyKey() const;
};

// Receives the events of each committed transaction, in the order the
// handlers produced them. Called on the engine's worker threads right after
// a commit: it must not block. Events of one execution committed by two
// workers one right after the other may, rarely, be handed over in the
// opposite order.
class EventPublisher {
 public:
  virtual ~EventPublisher() = default;
  virtual void Publish(std::vector<ExecutionEvent> events) = 0;
};

}  // namespace gennaker::orca

#endif  // GENNAKER_SERVICES_ORCA_ENGINE_EVENTS_H_
