// Test helpers shared by the engine's and the stages' unit tests: a manual
// clock and a loop that drives an Engine on a MemoryStore until nothing is
// due, jumping the clock to each next delivery.
#ifndef GENNAKER_SERVICES_ORCA_ENGINE_ENGINE_TEST_UTIL_H_
#define GENNAKER_SERVICES_ORCA_ENGINE_ENGINE_TEST_UTIL_H_

#include <algorithm>
#include <cstdint>

#include "gtest/gtest.h"
#include "services/orca/engine/engine.h"
#include "services/orca/engine/memory_store.h"

namespace gennaker::orca::testing {

class ManualClock : public Clock {
 public:
  int64_t NowMs() const override { return now_; }
  int64_t now_ = 1'700'000'000'000;
};

// Handles everything due, then moves `clock` to the next delivery, at most
// `horizon_ms` ahead; fails the test when it does not settle within
// `max_rounds` clock moves.
inline void RunUntilSettled(Engine* engine, MemoryStore* store,
                            ManualClock* clock, int64_t horizon_ms,
                            int max_rounds) {
  const int64_t end = clock->NowMs() + horizon_ms;
  for (int round = 0; round < max_rounds; ++round) {
    while (true) {
      auto r = engine->ProcessOne();
      ASSERT_TRUE(r.ok()) << r.status();
      if (!*r) break;
    }
    auto next = store->NextDelivery();
    ASSERT_TRUE(next.ok());
    if (!next->has_value() || **next > end) return;
    clock->now_ = std::max(clock->now_, **next);
  }
  FAIL() << "did not settle";
}

// The stored execution (failing the test when it cannot be read).
inline Json GetExecution(MemoryStore* store, const std::string& id) {
  auto e = store->Get(id);
  EXPECT_TRUE(e.ok()) << e.status();
  return e.ok() ? *e : Json::object();
}

}  // namespace gennaker::orca::testing

#endif  // GENNAKER_SERVICES_ORCA_ENGINE_ENGINE_TEST_UTIL_H_
