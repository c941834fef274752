// The polling framework: both SeenStores (the Redis one against a real
// redis-server) and the scheduler with fake monitors.
#include "services/igor/polling.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <stdexcept>

#include "absl/time/clock.h"
#include "common/redis/redis.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_stores.h"

namespace gennaker::igor {
namespace {

using ::gennaker::testing::IsOk;
using ::gennaker::testing::IsOkAndHolds;
using ::gennaker::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Optional;
using namespace std::chrono_literals;

// Waits until `done` holds or `timeout` passes.
bool WaitFor(const std::function<bool()>& done,
             absl::Duration timeout = absl::Seconds(10)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

// What both stores must do alike.
void ExerciseStore(SeenStore& store) {
  EXPECT_THAT(store.HashGet("h", "f"), IsOkAndHolds(std::nullopt));
  EXPECT_THAT(store.HashGetAll("h"), IsOkAndHolds(::testing::IsEmpty()));
  ASSERT_THAT(store.HashSet("h", "f", "1"), IsOk());
  ASSERT_THAT(store.HashSet("h", "g", std::string("a\0b", 3)), IsOk());
  ASSERT_THAT(store.HashSet("h", "f", "2"), IsOk());
  EXPECT_THAT(store.HashGet("h", "f"),
              IsOkAndHolds(Optional(std::string("2"))));
  auto all = store.HashGetAll("h");
  ASSERT_THAT(all, IsOk());
  EXPECT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)["g"], std::string("a\0b", 3));

  EXPECT_THAT(store.Get("s"), IsOkAndHolds(std::nullopt));
  ASSERT_THAT(store.Set("s", "v", 0ms), IsOk());
  EXPECT_THAT(store.Get("s"), IsOkAndHolds(Optional(std::string("v"))));
  EXPECT_THAT(store.SetIfAbsent("s", "w", 1000ms), IsOkAndHolds(false));
  EXPECT_THAT(store.Get("s"), IsOkAndHolds(Optional(std::string("v"))));
  // A hash read of a plain key is an error, not a crash.
  EXPECT_THAT(store.HashGet("s", "f"), Not(IsOk()));

  // Expiry of SetIfAbsent and Set.
  EXPECT_THAT(store.SetIfAbsent("claim", "me", 150ms), IsOkAndHolds(true));
  EXPECT_THAT(store.SetIfAbsent("claim", "you", 150ms), IsOkAndHolds(false));
  ASSERT_THAT(store.Set("short", "x", 150ms), IsOk());
  EXPECT_TRUE(WaitFor([&] {
    auto a = store.Get("claim");
    auto b = store.Get("short");
    return a.ok() && !a->has_value() && b.ok() && !b->has_value();
  }));
  EXPECT_THAT(store.SetIfAbsent("claim", "you", 1000ms), IsOkAndHolds(true));
  EXPECT_THAT(store.Get("claim"), IsOkAndHolds(Optional(std::string("you"))));

  // Scan matches globs on keys as given (without any prefix).
  ASSERT_THAT(store.HashSet("dockerRegistry:v2:a", "r:t", "{}"), IsOk());
  ASSERT_THAT(store.HashSet("dockerRegistry:v2:b", "r:t", "{}"), IsOk());
  ASSERT_THAT(store.Set("dockerRegistryX", "1", 0ms), IsOk());
  auto keys = store.Scan("dockerRegistry:v2:*");
  ASSERT_THAT(keys, IsOk());
  std::sort(keys->begin(), keys->end());
  EXPECT_THAT(*keys, ElementsAre("dockerRegistry:v2:a", "dockerRegistry:v2:b"));
  EXPECT_THAT(store.Scan("nothing*"), IsOkAndHolds(::testing::IsEmpty()));

  ASSERT_THAT(store.Delete("h"), IsOk());
  EXPECT_THAT(store.HashGetAll("h"), IsOkAndHolds(::testing::IsEmpty()));
  EXPECT_THAT(store.Delete("never-there"), IsOk());
}

TEST(InMemorySeenStoreTest, BehavesLikeRedis) {
  auto store = NewInMemorySeenStore();
  ExerciseStore(*store);
}

TEST(RedisSeenStoreTest, BehavesAsSpecifiedAgainstRealRedis) {
  auto server = testing::TestRedis::Start();
  ASSERT_THAT(server, IsOk());
  redis::Options o;
  o.port = (*server)->port();
  auto client = redis::Client::Connect(o);
  ASSERT_THAT(client, IsOk());
  // A prefix with glob characters: Scan must match it literally.
  auto store = NewRedisSeenStore(client->get(), "igor[1]");
  ExerciseStore(*store);

  // Keys live under "<prefix>:" in Redis.
  auto raw = (*client)->Command({"HGET", "igor[1]:dockerRegistry:v2:a", "r:t"});
  ASSERT_THAT(raw, IsOk());
  EXPECT_EQ(raw->str, "{}");
  // Keys of another prefix are not seen.
  ASSERT_THAT(
      (*client)->Command({"HSET", "igor1:dockerRegistry:v2:z", "f", "v"}),
      IsOk());
  auto keys = store->Scan("dockerRegistry:v2:*");
  ASSERT_THAT(keys, IsOk());
  EXPECT_EQ(keys->size(), 2u);
  // Many keys: SCAN pages are followed to the end.
  for (int i = 0; i < 1200; ++i) {
    ASSERT_THAT(store->Set("many:" + std::to_string(i), "1", 0ms), IsOk());
  }
  auto many = store->Scan("many:*");
  ASSERT_THAT(many, IsOk());
  EXPECT_EQ(many->size(), 1200u);

  // Redis down: errors, not crashes.
  (*server)->Stop();
  EXPECT_THAT(store->HashGet("h", "f"), Not(IsOk()));
  EXPECT_THAT(store->SetIfAbsent("c", "v", 100ms), Not(IsOk()));
}

// ---------------------------------------------------------------------------
// Scheduler

class FakeMonitor : public Monitor {
 public:
  explicit FakeMonitor(std::string name) : name_(std::move(name)) {}
  std::string name() const override { return name_; }
  absl::Status Poll() override {
    const int n = ++polls;
    if (n <= fail_first.load()) {
      return absl::UnavailableError("the server is down");
    }
    return absl::OkStatus();
  }

  std::atomic<int> polls{0};
  std::atomic<int> fail_first{0};

 private:
  std::string name_;
};

// Keeps pointers to monitors handed to a scheduler.
struct Fakes {
  std::vector<std::unique_ptr<Monitor>> owned;
  std::vector<FakeMonitor*> raw;
  FakeMonitor* Add(const std::string& name) {
    auto m = std::make_unique<FakeMonitor>(name);
    raw.push_back(m.get());
    owned.push_back(std::move(m));
    return raw.back();
  }
};

TEST(PollSchedulerTest, PollsEveryMonitorEachInterval) {
  auto store = NewInMemorySeenStore();
  Fakes f;
  FakeMonitor* a = f.Add("a");
  FakeMonitor* b = f.Add("b");
  FakeMonitor* c = f.Add("c");
  PollScheduler s(std::move(f.owned), store.get(), {100ms, 2});
  s.Start();
  // First poll at once, then about every 100 ms (claims lapse in between).
  EXPECT_TRUE(
      WaitFor([&] { return a->polls >= 3 && b->polls >= 3 && c->polls >= 3; }));
  s.Stop();
  const int after_stop = a->polls;
  absl::SleepFor(absl::Milliseconds(250));
  EXPECT_EQ(a->polls, after_stop);
  EXPECT_THAT(
      s.LastResults(),
      ElementsAre(std::pair<const std::string, std::string>("a", "ok"),
                  std::pair<const std::string, std::string>("b", "ok"),
                  std::pair<const std::string, std::string>("c", "ok")));
}

TEST(PollSchedulerTest, StopIsPromptWithALongInterval) {
  auto store = NewInMemorySeenStore();
  Fakes f;
  FakeMonitor* a = f.Add("a");
  PollScheduler s(std::move(f.owned), store.get(), {std::chrono::hours(1), 1});
  s.Start();
  ASSERT_TRUE(WaitFor([&] { return a->polls == 1; }));
  const absl::Time start = absl::Now();
  s.Stop();
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(500));
  EXPECT_EQ(a->polls, 1);
}

TEST(PollSchedulerTest, FailuresBackOffAndDoNotBlockOthers) {
  auto store = NewInMemorySeenStore();
  Fakes f;
  FakeMonitor* bad = f.Add("bad");
  FakeMonitor* good = f.Add("good");
  bad->fail_first = 3;
  // Interval 1.6 s: retries after 200, 400, 800 ms, far sooner than the
  // interval.
  PollScheduler s(std::move(f.owned), store.get(), {1600ms, 1});
  const absl::Time start = absl::Now();
  s.Start();
  ASSERT_TRUE(WaitFor([&] { return bad->polls >= 1 && good->polls >= 1; }));
  EXPECT_TRUE(WaitFor([&] {
    auto r = s.LastResults();
    return r.count("bad") && r["bad"] != "ok";
  }));
  EXPECT_THAT(s.LastResults()["bad"], HasSubstr("the server is down"));
  ASSERT_TRUE(WaitFor([&] { return bad->polls >= 4; }));
  const absl::Duration took = absl::Now() - start;
  // Three backoffs (200 + 400 + 800 ms), well before two intervals.
  EXPECT_GE(took, absl::Milliseconds(1350));
  EXPECT_LT(took, absl::Milliseconds(3000));
  EXPECT_TRUE(WaitFor([&] { return s.LastResults()["bad"] == "ok"; }));
  EXPECT_EQ(good->polls, 1);
  s.Stop();
}

TEST(PollSchedulerTest, ClaimsMakeReplicasPollOnce) {
  auto store = NewInMemorySeenStore();
  Fakes f1, f2;
  FakeMonitor* one = f1.Add("docker:hub");
  FakeMonitor* two = f2.Add("docker:hub");
  PollScheduler r1(std::move(f1.owned), store.get(), {std::chrono::hours(1)});
  PollScheduler r2(std::move(f2.owned), store.get(), {std::chrono::hours(1)});

  EXPECT_THAT(r1.PollNow("docker:hub"), IsOk());
  EXPECT_EQ(one->polls, 1);
  // The other replica finds the claim held: no poll.
  EXPECT_THAT(r2.PollNow("docker:hub"), IsOk());
  EXPECT_EQ(two->polls, 0);
  EXPECT_THAT(store->Get("poll:docker:hub"), IsOkAndHolds(Not(std::nullopt)));
  // The holder may poll again.
  EXPECT_THAT(r1.PollNow("docker:hub"), IsOk());
  EXPECT_EQ(one->polls, 2);

  // A failed poll releases the claim: the retry may run anywhere.
  one->fail_first = 3;
  EXPECT_THAT(r1.PollNow("docker:hub"),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(store->Get("poll:docker:hub"), IsOkAndHolds(std::nullopt));
  EXPECT_THAT(r2.PollNow("docker:hub"), IsOk());
  EXPECT_EQ(two->polls, 1);

  EXPECT_THAT(r1.PollNow("nope"), StatusIs(absl::StatusCode::kNotFound));
}

TEST(PollSchedulerTest, ReplicasStartedTogetherShareTheWork) {
  auto store = NewInMemorySeenStore();
  Fakes f1, f2;
  FakeMonitor* one = f1.Add("m");
  FakeMonitor* two = f2.Add("m");
  PollScheduler r1(std::move(f1.owned), store.get(), {400ms});
  PollScheduler r2(std::move(f2.owned), store.get(), {400ms});
  r1.Start();
  r2.Start();
  absl::SleepFor(absl::Milliseconds(1000));
  r1.Stop();
  r2.Stop();
  // About one poll per interval in all (t=0, ~400, ~800 ms), not two.
  const int total = one->polls + two->polls;
  EXPECT_GE(total, 2);
  EXPECT_LE(total, 4);
}

// A store whose claims fail (Redis down).
class BrokenStore : public SeenStore {
 public:
  absl::StatusOr<std::optional<std::string>> HashGet(
      const std::string&, const std::string&) override {
    return Down();
  }
  absl::Status HashSet(const std::string&, const std::string&,
                       const std::string&) override {
    return Down();
  }
  absl::StatusOr<std::map<std::string, std::string>> HashGetAll(
      const std::string&) override {
    return Down();
  }
  absl::Status Delete(const std::string&) override { return Down(); }
  absl::StatusOr<std::vector<std::string>> Scan(const std::string&) override {
    return Down();
  }
  absl::StatusOr<bool> SetIfAbsent(const std::string&, const std::string&,
                                   std::chrono::milliseconds) override {
    return Down();
  }
  absl::StatusOr<std::optional<std::string>> Get(const std::string&) override {
    return Down();
  }
  absl::Status Set(const std::string&, const std::string&,
                   std::chrono::milliseconds) override {
    return Down();
  }

 private:
  static absl::Status Down() { return absl::UnavailableError("redis down"); }
};

class ThrowingMonitor : public Monitor {
 public:
  std::string name() const override { return "thrower"; }
  absl::Status Poll() override {
    throw std::runtime_error("type_error: cannot use operator[]");
  }
};

TEST(PollSchedulerTest, AMonitorThatThrowsIsAFailedPoll) {
  auto store = NewInMemorySeenStore();
  Fakes f;
  f.owned.push_back(std::make_unique<ThrowingMonitor>());
  FakeMonitor* other = f.Add("other");
  PollScheduler s(std::move(f.owned), store.get(), {std::chrono::hours(1), 1});
  EXPECT_THAT(s.PollNow("thrower"),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("operator[]")));
  s.Start();
  // The thread survives the throw and polls the other monitor.
  EXPECT_TRUE(WaitFor([&] { return other->polls == 1; }));
  s.Stop();
}

TEST(PollSchedulerTest, AClaimThatCannotBeTakenIsAFailedPoll) {
  BrokenStore store;
  Fakes f;
  FakeMonitor* a = f.Add("a");
  PollScheduler s(std::move(f.owned), &store, {std::chrono::hours(1)});
  EXPECT_THAT(s.PollNow("a"), StatusIs(absl::StatusCode::kUnavailable,
                                       HasSubstr("redis down")));
  EXPECT_EQ(a->polls, 0);
  EXPECT_THAT(s.LastResults()["a"], HasSubstr("cannot claim"));
}

}  // namespace
}  // namespace gennaker::igor
