// One REST call from a test: JSON body when given, the failure of the
// transport reported as a test failure (an empty response is returned then).
#ifndef GENNAKER_TESTS_SUPPORT_REST_CALL_H_
#define GENNAKER_TESTS_SUPPORT_REST_CALL_H_

#include <string>

#include "common/http/http_client.h"
#include "gtest/gtest.h"

namespace gennaker::testing {

inline http::ClientResponse RestCall(const std::string& base,
                                     const std::string& method,
                                     const std::string& path,
                                     const std::string& body = "") {
  http::ClientRequest r;
  r.method = method;
  r.url = base + path;
  r.body = body;
  if (!body.empty()) r.headers = {{"Content-Type", "application/json"}};
  auto resp = http::Fetch(r);
  EXPECT_TRUE(resp.ok()) << resp.status();
  return resp.ok() ? *resp : http::ClientResponse{};
}

}  // namespace gennaker::testing

#endif  // GENNAKER_TESTS_SUPPORT_REST_CALL_H_
