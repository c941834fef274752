// What orca's expressions ask of the outside world: #pipelineId (front50) and
// #fromUrl / #jsonFromUrl / #propertiesFromUrl (an HTTP GET of a URL the
// pipeline's author chose).
//
// URLs go through the suite's outbound policy (common/http/outbound.h): a
// refused URL fails the expression with the policy's message. Fetches run on
// the engine's worker threads, so they are bounded twice: each call by the
// policy's deadline, and the calls in flight at once by `max_concurrent`. A
// fetch that cannot get a slot within the deadline fails the expression
// (DEADLINE_EXCEEDED) instead of waiting: one slow URL can hold at most
// `max_concurrent` workers for at most one deadline each.
#ifndef GENNAKER_SERVICES_ORCA_EXPRESSION_LOOKUPS_H_
#define GENNAKER_SERVICES_ORCA_EXPRESSION_LOOKUPS_H_

#include <string>

#include "absl/synchronization/mutex.h"
#include "common/http/outbound.h"
#include "services/orca/engine/engine.h"
#include "services/orca/front50_client.h"

namespace gennaker::orca {

class ExpressionLookups : public ExpressionServices {
 public:
  // `front50` and `outbound` must outlive this; max_concurrent >= 1.
  ExpressionLookups(Front50* front50, const http::OutboundClient* outbound,
                    int max_concurrent);

  absl::StatusOr<std::string> PipelineId(const std::string& application,
                                         const std::string& name) override;
  // The body of a GET of `url` (FAILED_PRECONDITION for an answer >= 400).
  absl::StatusOr<std::string> FetchUrl(const std::string& url) override;

 private:
  Front50* front50_;
  const http::OutboundClient* outbound_;
  const int max_concurrent_;
  absl::Mutex mu_;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace gennaker::orca

#endif  // GENNAKER_SERVICES_ORCA_EXPRESSION_LOOKUPS_H_
