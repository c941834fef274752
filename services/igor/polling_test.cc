// The polling framework: both SeenStores (the Redis one against a real
// redis-server) and the scheduler with fake monitors.
#include "services/igor/polling.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <stdexcept>
#include <thread>

#include "absl/synchronization/mutex.h"
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

  // Compare-and-delete: only the holder's value is deleted.
  ASSERT_THAT(store.Set("lock", "mine", 0ms), IsOk());
  EXPECT_THAT(store.DeleteIfEquals("lock", "theirs"), IsOkAndHolds(false));
  EXPECT_THAT(store.Get("lock"), IsOkAndHolds(Optional(std::string("mine"))));
  EXPECT_THAT(store.DeleteIfEquals("lock", "mine"), IsOkAndHolds(true));
  EXPECT_THAT(store.Get("lock"), IsOkAndHolds(std::nullopt));
  EXPECT_THAT(store.DeleteIfEquals("lock", "mine"), IsOkAndHolds(false));

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
    {
      absl::MutexLock lock(&mu);
      times.push_back(absl::Now());
    }
    const int n = ++polls;
    if (n <= fail_first.load()) {
      return absl::UnavailableError("the server is down");
    }
    return absl::OkStatus();
  }

  std::vector<absl::Time> Times() {
    absl::MutexLock lock(&mu);
    return times;
  }

  std::atomic<int> polls{0};
  std::atomic<int> fail_first{0};

 private:
  absl::Mutex mu;
  std::vector<absl::Time> times ABSL_GUARDED_BY(mu);
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
  // Not an hour (a generous bound: the machine may be busy).
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(a->polls, 1);
}

TEST(PollSchedulerTest, FailuresBackOffAndDoNotBlockOthers) {
  auto store = NewInMemorySeenStore();
  Fakes f;
  FakeMonitor* bad = f.Add("bad");
  FakeMonitor* good = f.Add("good");
  bad->fail_first = 3;
  // Interval 2.4 s: retries after 300, 600, 1200 ms. Checked on the times
  // the polls ran, so a busy machine only makes gaps longer, and each gap
  // has at least 1.2 s of slack below the interval.
  constexpr auto kInterval = 2400ms;
  PollScheduler s(std::move(f.owned), store.get(), {kInterval, 1});
  s.Start();
  ASSERT_TRUE(WaitFor([&] { return bad->polls >= 1 && good->polls >= 1; }));
  EXPECT_TRUE(WaitFor([&] {
    auto r = s.LastResults();
    return r.count("bad") && r["bad"] != "ok";
  }));
  EXPECT_THAT(s.LastResults()["bad"], HasSubstr("the server is down"));
  ASSERT_TRUE(WaitFor([&] { return s.LastResults()["bad"] == "ok"; }));
  s.Stop();
  const std::vector<absl::Time> times = bad->Times();
  ASSERT_GE(times.size(), 4u);
  const absl::Duration backoffs[] = {absl::Milliseconds(300),
                                     absl::Milliseconds(600),
                                     absl::Milliseconds(1200)};
  for (int i = 0; i < 3; ++i) {
    const absl::Duration gap = times[i + 1] - times[i];
    EXPECT_GE(gap, backoffs[i]) << "retry " << i + 1;
    // A backoff, not the interval.
    EXPECT_LT(gap, absl::FromChrono(kInterval)) << "retry " << i + 1;
  }
  // The good monitor, on the same thread, was polled at the start and then
  // only every interval: the failures neither blocked nor sped it up.
  const std::vector<absl::Time> good_times = good->Times();
  ASSERT_GE(good_times.size(), 1u);
  EXPECT_LT(good_times[0] - times[0], absl::FromChrono(kInterval));
  for (size_t i = 1; i < good_times.size(); ++i) {
    EXPECT_GE(good_times[i] - good_times[i - 1], absl::FromChrono(kInterval));
  }
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

// An in-memory store that counts claim attempts and can, once armed, let
// "another replica" take a claim right after a Get has read it.
class InstrumentedStore : public SeenStore {
 public:
  absl::StatusOr<std::optional<std::string>> HashGet(
      const std::string& k, const std::string& f) override {
    return inner_->HashGet(k, f);
  }
  absl::Status HashSet(const std::string& k, const std::string& f,
                       const std::string& v) override {
    return inner_->HashSet(k, f, v);
  }
  absl::StatusOr<std::map<std::string, std::string>> HashGetAll(
      const std::string& k) override {
    return inner_->HashGetAll(k);
  }
  absl::Status Delete(const std::string& k) override {
    return inner_->Delete(k);
  }
  absl::StatusOr<std::vector<std::string>> Scan(const std::string& p) override {
    return inner_->Scan(p);
  }
  absl::StatusOr<bool> SetIfAbsent(const std::string& k, const std::string& v,
                                   std::chrono::milliseconds ttl) override {
    ++claim_attempts;
    return inner_->SetIfAbsent(k, v, ttl);
  }
  absl::StatusOr<std::optional<std::string>> Get(
      const std::string& k) override {
    auto out = inner_->Get(k);
    if (take_over_after_get.exchange(false)) {
      // Our claim lapsed and another replica took it between the read and
      // whatever the caller does next.
      (void)inner_->Set(k, "other-replica", 0ms);
    }
    return out;
  }
  absl::Status Set(const std::string& k, const std::string& v,
                   std::chrono::milliseconds ttl) override {
    return inner_->Set(k, v, ttl);
  }
  absl::StatusOr<bool> DeleteIfEquals(const std::string& k,
                                      const std::string& v) override {
    return inner_->DeleteIfEquals(k, v);
  }

  std::atomic<int> claim_attempts{0};
  std::atomic<bool> take_over_after_get{false};

 private:
  std::unique_ptr<SeenStore> inner_ = NewInMemorySeenStore();
};

TEST(PollSchedulerTest, ReplicasStartedTogetherShareTheWork) {
  InstrumentedStore store;
  Fakes f1, f2;
  FakeMonitor* one = f1.Add("m");
  FakeMonitor* two = f2.Add("m");
  // A long interval: each replica tries exactly once, at start.
  PollScheduler r1(std::move(f1.owned), &store, {std::chrono::hours(1)});
  PollScheduler r2(std::move(f2.owned), &store, {std::chrono::hours(1)});
  r1.Start();
  r2.Start();
  // Both have tried to claim and one has polled.
  ASSERT_TRUE(WaitFor([&] {
    return store.claim_attempts >= 2 && one->polls + two->polls >= 1;
  }));
  // A broken claim would let the other poll at once; give it the chance.
  absl::SleepFor(absl::Milliseconds(100));
  r1.Stop();
  r2.Stop();
  EXPECT_EQ(one->polls + two->polls, 1);
}

// A failing poll that finds its claim taken by another replica meanwhile
// must not delete the other's claim (the release is compare-and-delete,
// not a Get then a Delete).
class ArmingMonitor : public Monitor {
 public:
  explicit ArmingMonitor(InstrumentedStore* store) : store_(store) {}
  std::string name() const override { return "m"; }
  absl::Status Poll() override {
    store_->take_over_after_get = true;
    return absl::UnavailableError("down");
  }

 private:
  InstrumentedStore* store_;
};

TEST(PollSchedulerTest, ReleasingAFailedPollsClaimKeepsAnotherHolders) {
  InstrumentedStore store;
  std::vector<std::unique_ptr<Monitor>> monitors;
  monitors.push_back(std::make_unique<ArmingMonitor>(&store));
  PollScheduler s(std::move(monitors), &store, {std::chrono::hours(1)});
  EXPECT_THAT(s.PollNow("m"), StatusIs(absl::StatusCode::kUnavailable));
  // Simulate the takeover now if the release never read the claim.
  if (store.take_over_after_get.exchange(false)) {
    ASSERT_THAT(store.Set("poll:m", "other-replica", 0ms), IsOk());
  }
  EXPECT_THAT(store.Get("poll:m"),
              IsOkAndHolds(Optional(std::string("other-replica"))));
}

TEST(PollSchedulerTest, StartAndStopFromManyThreadsAtOnce) {
  for (int round = 0; round < 50; ++round) {
    auto store = NewInMemorySeenStore();
    Fakes f;
    for (int i = 0; i < 4; ++i) f.Add("m" + std::to_string(i));
    PollScheduler s(std::move(f.owned), store.get(),
                    {std::chrono::hours(1), 4});
    std::vector<std::thread> callers;
    for (int t = 0; t < 4; ++t) {
      callers.emplace_back([&s, t] {
        if (t % 2 == 0) {
          s.Start();
        } else {
          s.Stop();
        }
        s.Start();
        s.Stop();
      });
    }
    for (std::thread& t : callers) t.join();
    // Stopped for good: Start is a no-op now.
    s.Start();
    s.Stop();
  }
  // Stop before Start (and twice) is fine too.
  auto store = NewInMemorySeenStore();
  Fakes f;
  FakeMonitor* a = f.Add("a");
  PollScheduler s(std::move(f.owned), store.get(), {std::chrono::hours(1)});
  s.Stop();
  s.Stop();
  s.Start();
  s.Stop();
  EXPECT_EQ(a->polls, 0);
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
