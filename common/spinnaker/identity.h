// Who a call is made for, as Spinnaker names it. When authentication is off
// (or a caller sends no user), every service acts for "anonymous": the one
// place that name is written.
#ifndef GENNAKER_COMMON_SPINNAKER_IDENTITY_H_
#define GENNAKER_COMMON_SPINNAKER_IDENTITY_H_

#include <string>

#include "absl/strings/string_view.h"

namespace gennaker::spinnaker {

inline constexpr char kAnonymousUser[] = "anonymous";

// `user`, or kAnonymousUser when it is empty.
inline std::string UserOrAnonymous(absl::string_view user) {
  return user.empty() ? std::string(kAnonymousUser) : std::string(user);
}

}  // namespace gennaker::spinnaker

#endif  // GENNAKER_COMMON_SPINNAKER_IDENTITY_H_
