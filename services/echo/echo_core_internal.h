// Internal to echo_lib (not a public contract): declarations shared by the
// files that implement EchoCore (echo_core.cc: intake, listing, lifecycle;
// echo_delivery.cc: event delivery and the notification outbox;
// echo_schedule.cc: pipeline cache and cron).
#ifndef GENNAKER_SERVICES_ECHO_ECHO_CORE_INTERNAL_H_
#define GENNAKER_SERVICES_ECHO_ECHO_CORE_INTERNAL_H_

#include <cstddef>
#include <string>

#include "absl/strings/str_format.h"

namespace gennaker::echo::internal {

// The zero-padded index that suffixes the ids of rows one request creates
// (events of a notification group, notifications of an event), so that they
// sort in order.
inline std::string Pad(size_t i) { return absl::StrFormat("%04d", i); }

}  // namespace gennaker::echo::internal

#endif  // GENNAKER_SERVICES_ECHO_ECHO_CORE_INTERNAL_H_
