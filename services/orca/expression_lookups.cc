#include "services/orca/expression_lookups.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/status/status_macros.h"

namespace gennaker::orca {

ExpressionLookups::ExpressionLookups(Front50* front50,
                                     const http::OutboundClient* outbound,
                                     int max_concurrent)
    : front50_(front50),
      outbound_(outbound),
      max_concurrent_(std::max(1, max_concurrent)) {}

absl::StatusOr<std::string> ExpressionLookups::PipelineId(
    const std::string& application, const std::string& name) {
  if (front50_ == nullptr) {
    return absl::UnavailableError("front50 is not configured");
  }
  GENNAKER_ASSIGN_OR_RETURN(Json config,
                            front50_->PipelineByName(application, name));
  return String(config, "id");
}

absl::StatusOr<std::string> ExpressionLookups::FetchUrl(
    const std::string& url) {
  if (outbound_ == nullptr) return absl::UnavailableError("no HTTP client");
  const int timeout_ms = outbound_->policy().timeout_ms;
  {
    absl::MutexLock lock(&mu_);
    auto free = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return in_flight_ < max_concurrent_;
    };
    if (!mu_.AwaitWithTimeout(absl::Condition(&free),
                              absl::Milliseconds(timeout_ms))) {
      return absl::DeadlineExceededError(absl::StrCat(
          "fetching ", url, ": all ", max_concurrent_,
          " slots for URL fetches stayed busy for ", timeout_ms, " ms"));
    }
    ++in_flight_;
  }
  http::ClientRequest req;
  req.url = url;
  req.timeout_ms = timeout_ms;
  absl::StatusOr<http::ClientResponse> resp = outbound_->Fetch(req);
  {
    absl::MutexLock lock(&mu_);
    --in_flight_;
  }
  if (!resp.ok()) return resp.status();
  if (resp->status >= 400) {
    return absl::FailedPreconditionError(
        absl::StrCat(url, " answered ", resp->status));
  }
  return std::move(resp->body);
}

}  // namespace gennaker::orca
