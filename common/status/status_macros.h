// Status propagation macros for absl::Status / absl::StatusOr (our abseil has
// none).
//
//   GENNAKER_RETURN_IF_ERROR(DoThing());
//   GENNAKER_ASSIGN_OR_RETURN(auto value, ComputeValue());
#ifndef GENNAKER_COMMON_STATUS_STATUS_MACROS_H_
#define GENNAKER_COMMON_STATUS_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define GENNAKER_RETURN_IF_ERROR(expr)                   \
  do {                                                   \
    ::absl::Status gennaker_status_ = (expr);            \
    if (!gennaker_status_.ok()) return gennaker_status_; \
  } while (0)

#define GENNAKER_STATUS_CONCAT_INNER_(a, b) a##b
#define GENNAKER_STATUS_CONCAT_(a, b) GENNAKER_STATUS_CONCAT_INNER_(a, b)

#define GENNAKER_ASSIGN_OR_RETURN(lhs, rexpr) \
  GENNAKER_ASSIGN_OR_RETURN_IMPL_(            \
      GENNAKER_STATUS_CONCAT_(gennaker_statusor_, __LINE__), lhs, rexpr)

#define GENNAKER_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                    \
  if (!statusor.ok()) return statusor.status();               \
  lhs = std::move(statusor).value()

#endif  // GENNAKER_COMMON_STATUS_STATUS_MACROS_H_
