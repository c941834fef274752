// gate's execution REST API (Spinnaker Gate compatible): triggering pipelines,
// reading, listing and steering executions, and ad-hoc tasks (orchestrations).
// Every route calls orca; orca renders executions in Spinnaker's JSON shape,
// which gate passes through unchanged except for the task view.
#ifndef GENNAKER_SERVICES_GATE_GATE_EXECUTIONS_H_
#define GENNAKER_SERVICES_GATE_GATE_EXECUTIONS_H_

#include <grpcpp/support/status.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/http/http.h"
#include "gennaker/orca/v1/orca.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "services/gate/gate_backend.h"

namespace gennaker::gate {

// Registers the execution and task routes; handlers call `backends->orca`
// and act as CurrentCallContext().user ("anonymous" when empty).
void AddExecutionRoutes(std::shared_ptr<const Backends> backends,
                        const AddRoute& add);

// GET /pipelines/{id}/evaluateExpression?expression= and
// /pipelines/{id}/{stageId}/evaluateExpression (Deck's expression preview):
// orca evaluates the expression against the execution (the stage's context
// when {stageId} is given) and the answer is Spinnaker's {result, detail?}:
// result is the value (the expression itself when it failed), detail maps an
// expression to its failures [{description, exceptionType, level,
// timestamp}]. Needs READ on the execution's application (403); 404 for an
// unknown execution, 400 without an expression. Not registered by
// AddExecutionRoutes: gate_rest.cc adds it.
http::Response EvaluateExpression(const Backends& backends,
                                  const http::Request& request);

// Spinnaker's task view of an ORCHESTRATION execution: id,
// name (the description), application, status, variables (every stage's
// context merged in stage order; an empty value, i.e. null, "", [] or {}, never
// replaces a non-empty one), steps (every stage's tasks, flattened),
// buildTime, startTime and endTime (left out when absent or null) and the
// whole execution.
nlohmann::ordered_json ToTaskView(const nlohmann::ordered_json& execution);

// A trigger ready for orca: `text` parsed (empty means {}), which must be a
// JSON object; `user` filled in when it has none or only Deck's placeholder
// "[anonymous]" (so an execution Deck starts names the caller once, as
// trigger.user and authentication.user), and `type` "manual" when it has
// none. INVALID_ARGUMENT otherwise.
absl::StatusOr<nlohmann::ordered_json> PrepareTrigger(absl::string_view text,
                                                      const std::string& user);

// Starts the stored pipeline `name_or_id` of request.application(): first by
// name and, when orca answers NOT_FOUND, by config id (Spinnaker accepts
// either). `request` carries everything but the source. On a double miss the
// status of the by-name attempt is returned.
grpc::Status StartStoredPipeline(orca::v1::OrcaService::StubInterface& orca,
                                 std::chrono::milliseconds deadline,
                                 const std::string& name_or_id,
                                 orca::v1::StartPipelineRequest request,
                                 orca::v1::StartPipelineResponse* response);

// The status named `name` ("RUNNING", case-insensitive, surrounding spaces
// ignored); INVALID_ARGUMENT for an unknown name.
absl::StatusOr<orca::v1::ExecutionStatus> ParseExecutionStatus(
    absl::string_view name);

}  // namespace gennaker::gate

#endif  // GENNAKER_SERVICES_GATE_GATE_EXECUTIONS_H_
