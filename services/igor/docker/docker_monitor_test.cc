// The Docker monitor against a real docker-registry (distribution v2.8), and
// against in-process fake registries for what the real one here does not do
// (bearer tokens, small catalog pages).
#include "services/igor/docker/docker_monitor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/http/http_server.h"
#include "common/http/outbound.h"
#include "common/redis/redis.h"
#include "common/testing/docker_registry.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_stores.h"
#include "services/igor/monitor_test_util.h"

namespace gennaker::igor {
namespace {

using ::gennaker::igor::monitor_testing::FailingMidwayStore;
using ::gennaker::igor::monitor_testing::RecordingSink;
using ::gennaker::testing::IsOk;
using ::gennaker::testing::StatusIs;
using ::gennaker::testing::TestDockerRegistry;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

std::unique_ptr<http::OutboundClient> LoopbackOutbound() {
  http::OutboundPolicy policy = http::DefaultOutboundPolicy();
  policy.allow_loopback = true;
  auto client = http::OutboundClient::Create(policy);
  EXPECT_THAT(client, IsOk());
  return std::move(client).value();
}

class DockerMonitorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto registry = testing::TestDockerRegistry::Start();
    ASSERT_THAT(registry, IsOk());
    registry_ = std::move(registry).value();
    outbound_ = LoopbackOutbound();
    store_ = NewInMemorySeenStore();
  }

  v1::DockerRegistryAccount Account(std::vector<std::string> repositories,
                                    bool track_digests = false) {
    v1::DockerRegistryAccount a;
    a.set_name("local");
    a.set_address(registry_->BaseUrl() + "/");
    for (const std::string& r : repositories) a.add_repositories(r);
    a.set_track_digests(track_digests);
    return a;
  }

  std::unique_ptr<Monitor> Make(const v1::DockerRegistryAccount& account) {
    return NewDockerMonitor(account, store_.get(), &sink_, outbound_.get());
  }

  std::string Push(const std::string& repository, const std::string& tag,
                   const std::string& content) {
    auto digest = registry_->PushImage(repository, tag, content);
    EXPECT_THAT(digest, IsOk());
    return digest.ok() ? *digest : "";
  }

  std::unique_ptr<TestDockerRegistry> registry_;
  std::unique_ptr<http::OutboundClient> outbound_;
  std::unique_ptr<SeenStore> store_;
  RecordingSink sink_;
};

TEST_F(DockerMonitorTest, NewTagSendsOneEventWithItsArtifact) {
  Push("team/app", "v1", "one");
  auto monitor = Make(Account({"team/app"}));
  EXPECT_EQ(monitor->name(), "docker:local");

  // First poll: remembers, no history replayed.
  ASSERT_THAT(monitor->Poll(), IsOk());
  EXPECT_THAT(sink_.events(), IsEmpty());
  auto seen = SeenDockerTags(store_.get(), "local", "");
  ASSERT_THAT(seen, IsOk());
  ASSERT_THAT(*seen, SizeIs(1));
  EXPECT_EQ((*seen)[0].repository(), "team/app");
  EXPECT_EQ((*seen)[0].tag(), "v1");
  EXPECT_EQ((*seen)[0].registry(), registry_->HostPort());

  const std::string digest = Push("team/app", "v2", "two");
  ASSERT_THAT(monitor->Poll(), IsOk());
  ASSERT_THAT(sink_.events(), SizeIs(1));
  const Json e = sink_.events()[0];
  EXPECT_EQ(e["details"]["type"], "docker");
  EXPECT_EQ(e["details"]["source"], "igor");
  const Json& c = e["content"];
  EXPECT_EQ(c["account"], "local");
  EXPECT_EQ(c["registry"], registry_->HostPort());
  EXPECT_EQ(c["repository"], "team/app");
  EXPECT_EQ(c["tag"], "v2");
  EXPECT_EQ(c["digest"], digest);
  ASSERT_TRUE(c["artifacts"].is_array());
  ASSERT_EQ(c["artifacts"].size(), 1u);
  const Json& a = c["artifacts"][0];
  const std::string image = registry_->HostPort() + "/team/app";
  EXPECT_EQ(a["type"], "docker/image");
  EXPECT_EQ(a["name"], image);
  EXPECT_EQ(a["version"], "v2");
  EXPECT_EQ(a["reference"], image + ":v2");
  EXPECT_THAT(sink_.keys(),
              ElementsAre(absl::StrCat("docker:local:team/app:v2:", digest)));

  // Nothing new: nothing sent.
  ASSERT_THAT(monitor->Poll(), IsOk());
  EXPECT_THAT(sink_.events(), SizeIs(1));

  // The layout other parts rely on.
  auto field = store_->HashGet("dockerRegistry:v2:local", "team/app:v2");
  ASSERT_THAT(field, IsOk());
  ASSERT_TRUE(field->has_value());
  EXPECT_THAT(**field, HasSubstr(digest));
}

TEST_F(DockerMonitorTest, TrackedDigestChangeSendsAnEvent) {
  const std::string first = Push("app", "latest", "build 1");
  auto monitor = Make(Account({"app"}, /*track_digests=*/true));
  ASSERT_THAT(monitor->Poll(), IsOk());
  EXPECT_THAT(sink_.events(), IsEmpty());
  auto seen = SeenDockerTags(store_.get(), "local", "app");
  ASSERT_THAT(seen, IsOk());
  ASSERT_THAT(*seen, SizeIs(1));
  EXPECT_EQ((*seen)[0].digest(), first);

  // Same tag, new content.
  const std::string second = Push("app", "latest", "build 2");
  ASSERT_NE(first, second);
  ASSERT_THAT(monitor->Poll(), IsOk());
  ASSERT_THAT(sink_.events(), SizeIs(1));
  EXPECT_EQ(sink_.events()[0]["content"]["tag"], "latest");
  EXPECT_EQ(sink_.events()[0]["content"]["digest"], second);
  EXPECT_EQ(sink_.keys()[0], absl::StrCat("docker:local:app:latest:", second));
  ASSERT_THAT(monitor->Poll(), IsOk());
  EXPECT_THAT(sink_.events(), SizeIs(1));
  seen = SeenDockerTags(store_.get(), "local", "app");
  ASSERT_THAT(seen, IsOk());
  EXPECT_EQ((*seen)[0].digest(), second);
}

TEST_F(DockerMonitorTest, WithoutTrackDigestsARepushIsNotAnEvent) {
  Push("app", "latest", "build 1");
  auto monitor = Make(Account({"app"}));
  ASSERT_THAT(monitor->Poll(), IsOk());
  Push("app", "latest", "build 2");
  ASSERT_THAT(monitor->Poll(), IsOk());
  EXPECT_THAT(sink_.events(), IsEmpty());
}

TEST_F(DockerMonitorTest, CatalogModeFindsNewRepositoriesToo) {
  Push("a/x", "1", "ax1");
  Push("b", "1", "b1");
  auto monitor = Make(Account({}));
  ASSERT_THAT(monitor->Poll(), IsOk());
  EXPECT_THAT(sink_.events(), IsEmpty());

  Push("a/x", "2", "ax2");
  Push("c", "1.0.0", "c1");
  ASSERT_THAT(monitor->Poll(), IsOk());
  auto events = sink_.events();
  ASSERT_THAT(events, SizeIs(2));
  std::set<std::string> got;
  for (const Json& e : events) {
    got.insert(absl::StrCat(e["content"]["repository"].get<std::string>(), ":",
                            e["content"]["tag"].get<std::string>()));
  }
  EXPECT_THAT(got, ElementsAre("a/x:2", "c:1.0.0"));
  auto seen = SeenDockerTags(store_.get(), "local", "");
  ASSERT_THAT(seen, IsOk());
  EXPECT_THAT(*seen, SizeIs(4));
}

TEST_F(DockerMonitorTest, AnEmptyRegistryStillCountsAsPolled) {
  auto monitor = Make(Account({}));
  ASSERT_THAT(monitor->Poll(), IsOk());
  Push("first", "v1", "f1");
  ASSERT_THAT(monitor->Poll(), IsOk());
  ASSERT_THAT(sink_.events(), SizeIs(1));
  EXPECT_EQ(sink_.events()[0]["content"]["repository"], "first");
}

TEST_F(DockerMonitorTest, RegistryDownFailsThePollAndRecovers) {
  Push("app", "v1", "1");
  auto monitor = Make(Account({"app"}));
  ASSERT_THAT(monitor->Poll(), IsOk());
  Push("app", "v2", "2");
  auto before = store_->HashGetAll("dockerRegistry:v2:local");
  ASSERT_THAT(before, IsOk());

  registry_->Stop();
  EXPECT_THAT(monitor->Poll(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(sink_.events(), IsEmpty());
  auto during = store_->HashGetAll("dockerRegistry:v2:local");
  ASSERT_THAT(during, IsOk());
  EXPECT_EQ(*during, *before);

  // Back on a new port (the old one may be taken meanwhile): the same
  // account, moved, polls from what the store remembers.
  ASSERT_THAT(registry_->Restart(), IsOk());
  monitor = Make(Account({"app"}));
  ASSERT_THAT(monitor->Poll(), IsOk());
  ASSERT_THAT(sink_.events(), SizeIs(1));
  EXPECT_EQ(sink_.events()[0]["content"]["tag"], "v2");
}

TEST_F(DockerMonitorTest, AnEventThatCannotBeSentIsSentNextPoll) {
  Push("app", "v1", "1");
  auto monitor = Make(Account({"app"}));
  ASSERT_THAT(monitor->Poll(), IsOk());
  Push("app", "v2", "2");
  sink_.set_fail(true);
  EXPECT_THAT(monitor->Poll(), StatusIs(absl::StatusCode::kUnavailable));
  sink_.set_fail(false);
  ASSERT_THAT(monitor->Poll(), IsOk());
  ASSERT_THAT(sink_.events(), SizeIs(1));
  EXPECT_EQ(sink_.events()[0]["content"]["tag"], "v2");
}

TEST_F(DockerMonitorTest, AMissingConfiguredRepositoryIsReportedNotFatal) {
  Push("app", "v1", "1");
  auto monitor = Make(Account({"app", "does-not-exist"}));
  EXPECT_THAT(monitor->Poll(), StatusIs(absl::StatusCode::kNotFound));
  Push("app", "v2", "2");
  EXPECT_THAT(monitor->Poll(), StatusIs(absl::StatusCode::kNotFound));
  // The readable repository is polled all the same.
  ASSERT_THAT(sink_.events(), SizeIs(1));
  EXPECT_EQ(sink_.events()[0]["content"]["tag"], "v2");
}

TEST_F(DockerMonitorTest, TheOutboundPolicyApplies) {
  auto strict = http::OutboundClient::Create(http::DefaultOutboundPolicy());
  ASSERT_THAT(strict, IsOk());
  auto monitor =
      NewDockerMonitor(Account({"app"}), store_.get(), &sink_, strict->get());
  EXPECT_THAT(monitor->Poll(), StatusIs(absl::StatusCode::kPermissionDenied));
  // Nothing remembered: once allowed, the first poll is still the first.
  EXPECT_THAT(*SeenDockerTags(store_.get(), "local", ""), IsEmpty());
  Push("app", "v1", "1");
  auto allowed = Make(Account({"app"}));
  ASSERT_THAT(allowed->Poll(), IsOk());
  EXPECT_THAT(sink_.events(), IsEmpty());
}

TEST_F(DockerMonitorTest, RunsUnderTheSchedulerWithRedis) {
  auto redis_server = testing::TestRedis::Start();
  ASSERT_THAT(redis_server, IsOk());
  redis::Options o;
  o.port = (*redis_server)->port();
  auto client = redis::Client::Connect(o);
  ASSERT_THAT(client, IsOk());
  auto store = NewRedisSeenStore(client->get(), "igor");
  Push("app", "v1", "1");
  std::vector<std::unique_ptr<Monitor>> monitors;
  monitors.push_back(
      NewDockerMonitor(Account({"app"}), store.get(), &sink_, outbound_.get()));
  PollScheduler scheduler(std::move(monitors), store.get(),
                          {std::chrono::hours(1), 1});
  ASSERT_THAT(scheduler.PollNow("docker:local"), IsOk());
  Push("app", "v2", "2");
  ASSERT_THAT(scheduler.PollNow("docker:local"), IsOk());
  ASSERT_THAT(sink_.events(), SizeIs(1));
  EXPECT_EQ(scheduler.LastResults()["docker:local"], "ok");
  auto raw =
      (*client)->Command({"HGET", "igor:dockerRegistry:v2:local", "app:v2"});
  ASSERT_THAT(raw, IsOk());
  EXPECT_THAT(raw->str, HasSubstr("seenAtMs"));
}

TEST(SeenDockerTagsTest, NewestFirstFilteredByRepository) {
  auto store = NewInMemorySeenStore();
  auto put = [&](const std::string& account, const std::string& field,
                 int64_t at) {
    ASSERT_THAT(store->HashSet("dockerRegistry:v2:" + account, field,
                               absl::StrCat(R"({"digest":"sha256:)", at,
                                            R"(","seenAtMs":)", at,
                                            R"(,"registry":"r.example"})")),
                IsOk());
  };
  put("a", "app:1", 100);
  put("a", "app:3", 300);
  put("a", "app:2", 200);
  put("a", "other:9", 250);
  put("b", "app:7", 700);
  auto seen = SeenDockerTags(store.get(), "a", "app");
  ASSERT_THAT(seen, IsOk());
  std::vector<std::string> tags;
  for (const v1::DockerTag& t : *seen) tags.push_back(t.tag());
  EXPECT_THAT(tags, ElementsAre("3", "2", "1"));
  EXPECT_EQ((*seen)[0].digest(), "sha256:300");
  EXPECT_EQ((*seen)[0].seen_at_ms(), 300);
  EXPECT_EQ((*seen)[0].registry(), "r.example");
  EXPECT_EQ((*seen)[0].account(), "a");

  // Every account when none is named.
  auto all = SeenDockerTags(store.get(), "", "");
  ASSERT_THAT(all, IsOk());
  ASSERT_THAT(*all, SizeIs(5));
  EXPECT_EQ((*all)[0].account(), "b");
  EXPECT_EQ((*all)[1].tag(), "3");
  EXPECT_THAT(*SeenDockerTags(store.get(), "nobody", ""), IsEmpty());
}

TEST(DockerMonitorConfigTest, UnusableAddressesAreInvalidArguments) {
  auto outbound = LoopbackOutbound();
  auto store = NewInMemorySeenStore();
  RecordingSink sink;
  for (const char* address :
       {"ftp://registry.example", "http://u:p@host", "https://", ""}) {
    v1::DockerRegistryAccount account;
    account.set_name("bad");
    account.set_address(address);
    EXPECT_THAT(
        NewDockerMonitor(account, store.get(), &sink, outbound.get())->Poll(),
        StatusIs(absl::StatusCode::kInvalidArgument))
        << address;
  }
}

TEST(DockerMonitorAuthTest, BasicAuthAgainstARealRegistry) {
  testing::DockerRegistryOptions options;
  options.basic_auth = true;
  auto registry = testing::TestDockerRegistry::Start(options);
  ASSERT_THAT(registry, IsOk());
  ASSERT_THAT((*registry)->PushImage("app", "v1", "1"), IsOk());
  auto outbound = LoopbackOutbound();
  auto store = NewInMemorySeenStore();
  RecordingSink sink;
  v1::DockerRegistryAccount account;
  account.set_name("private");
  account.set_address((*registry)->BaseUrl());
  account.set_track_digests(true);

  // Without credentials: refused, nothing remembered.
  auto anonymous =
      NewDockerMonitor(account, store.get(), &sink, outbound.get());
  EXPECT_THAT(anonymous->Poll(), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(*SeenDockerTags(store.get(), "private", ""), IsEmpty());

  account.set_username(TestDockerRegistry::kUser);
  account.set_password(TestDockerRegistry::kPassword);
  auto monitor = NewDockerMonitor(account, store.get(), &sink, outbound.get());
  ASSERT_THAT(monitor->Poll(), IsOk());
  auto digest = (*registry)->PushImage("app", "v2", "2");
  ASSERT_THAT(digest, IsOk());
  ASSERT_THAT(monitor->Poll(), IsOk());
  ASSERT_THAT(sink.events(), SizeIs(1));
  EXPECT_EQ(sink.events()[0]["content"]["digest"], *digest);
}

// A well-formed digest naming `repository`:`tag` ("sha256:" and 64 hex).
std::string FakeDigest(const std::string& repository, const std::string& tag) {
  std::string bytes = absl::StrCat(repository, "/", tag);
  bytes.resize(32, '\0');
  return absl::StrCat("sha256:", absl::BytesToHexString(bytes));
}

// A registry behind a token server (as Docker Hub, GHCR, Harbor): every
// call needs "Bearer <token>", tokens come from /token with basic
// credentials; the catalog pages by two.
class FakeTokenRegistry {
 public:
  FakeTokenRegistry() {
    http::Router router;
    router.Add("GET", "/token", [this](const http::Request& r) {
      ++token_calls;
      const std::string want =
          absl::StrCat("Basic ", absl::Base64Escape("robot:s3cret"));
      if (r.Header("authorization") != want) {
        return http::Json(401, R"({"details":"bad credentials"})");
      }
      if (r.Query("service") != "fake-registry") {
        return http::Json(400, R"({"details":"service"})");
      }
      const std::string scope = r.Query("scope");
      {
        absl::MutexLock lock(&mu);
        scopes.push_back(scope);
      }
      return http::Json(
          200, absl::StrCat(R"({"token":"tok-)", scope, R"(","expires_in":)",
                            ExpiresIn(), "}"));
    });
    auto guarded = [this](const std::string& scope, http::Handler next) {
      return [this, scope, next](const http::Request& r) {
        if (r.Header("authorization") != "Bearer tok-" + scope) {
          http::Response denied = http::Json(401, R"({"errors":[]})");
          denied.headers.emplace_back(
              "WWW-Authenticate",
              absl::StrCat(R"(Bearer realm=")", Realm(),
                           R"(",service="fake-registry",scope=")", scope,
                           "\""));
          return denied;
        }
        return next(r);
      };
    };
    router.Add("GET", "/v2/_catalog",
               guarded("registry:catalog:*", [this](const http::Request& r) {
                 // Pages of two, whatever n says.
                 const std::string last = r.Query("last");
                 std::vector<std::string> all = {"r1", "r2", "r3", "r4", "r5"};
                 Json names = Json::array();
                 size_t i = 0;
                 while (i < all.size() && !last.empty() && all[i] <= last) ++i;
                 for (size_t n = 0; i < all.size() && n < 2; ++i, ++n) {
                   names.push_back(all[i]);
                 }
                 http::Response out =
                     http::Json(200, Json{{"repositories", names}}.dump());
                 if (i < all.size()) {
                   out.headers.emplace_back(
                       "Link", absl::StrCat("</v2/_catalog?last=",
                                            names.back().get<std::string>(),
                                            "&n=2>; rel=\"next\""));
                 }
                 return out;
               }));
    for (const char* repo : {"r1", "r2", "r3", "r4", "r5"}) {
      const std::string scope = absl::StrCat("repository:", repo, ":pull");
      router.Add(
          "GET", absl::StrCat("/v2/", repo, "/tags/list"),
          guarded(scope, [this, repo](const http::Request&) {
            Json tags = Json::array({"1"});
            if (extra_tag.load()) tags.push_back("2");
            return http::Json(200, Json{{"name", repo}, {"tags", tags}}.dump());
          }));
      router.Add("HEAD", absl::StrCat("/v2/", repo, "/manifests/{tag}"),
                 guarded(scope, [this, repo](const http::Request& r) {
                   http::Response out = http::Json(200, "");
                   std::string digest = DigestOverride();
                   if (digest.empty())
                     digest = FakeDigest(repo, r.params.at("tag"));
                   out.headers.emplace_back("Docker-Content-Digest", digest);
                   return out;
                 }));
    }
    auto server = http::Server::Start({}, std::move(router));
    EXPECT_THAT(server, IsOk());
    server_ = std::move(server).value();
  }

  int port() const { return server_->port(); }

  // The WWW-Authenticate realm (default: this server's /token).
  void SetRealm(const std::string& realm) {
    absl::MutexLock lock(&mu);
    realm_ = realm;
  }
  std::string Realm() {
    absl::MutexLock lock(&mu);
    if (!realm_.empty()) return realm_;
    return absl::StrCat("http://127.0.0.1:", port(), "/token");
  }
  // The JSON of the token answers' expires_in.
  void SetExpiresIn(const std::string& json) {
    absl::MutexLock lock(&mu);
    expires_in_ = json;
  }
  std::string ExpiresIn() {
    absl::MutexLock lock(&mu);
    return expires_in_;
  }
  // Docker-Content-Digest of every manifest (default: FakeDigest).
  void SetDigestOverride(const std::string& digest) {
    absl::MutexLock lock(&mu);
    digest_ = digest;
  }
  std::string DigestOverride() {
    absl::MutexLock lock(&mu);
    return digest_;
  }

  std::atomic<int> token_calls{0};
  std::atomic<bool> extra_tag{false};
  absl::Mutex mu;
  std::vector<std::string> scopes;

 private:
  std::string realm_ ABSL_GUARDED_BY(mu);
  std::string expires_in_ ABSL_GUARDED_BY(mu) = "300";
  std::string digest_ ABSL_GUARDED_BY(mu);
  std::unique_ptr<http::Server> server_;
};

TEST(DockerMonitorAuthTest, BearerTokensAndCatalogPages) {
  FakeTokenRegistry fake;
  auto outbound = LoopbackOutbound();
  auto store = NewInMemorySeenStore();
  RecordingSink sink;
  v1::DockerRegistryAccount account;
  account.set_name("hub");
  account.set_address(absl::StrCat("http://127.0.0.1:", fake.port()));
  account.set_username("robot");
  account.set_password("s3cret");
  auto monitor = NewDockerMonitor(account, store.get(), &sink, outbound.get());
  ASSERT_THAT(monitor->Poll(), IsOk());
  // Every page of the catalog was read.
  auto seen = SeenDockerTags(store.get(), "hub", "");
  ASSERT_THAT(seen, IsOk());
  EXPECT_THAT(*seen, SizeIs(5));
  const int tokens_after_first = fake.token_calls;
  // One token per scope (catalog + five repositories), reused across pages.
  EXPECT_EQ(tokens_after_first, 6);

  fake.extra_tag = true;
  ASSERT_THAT(monitor->Poll(), IsOk());
  ASSERT_THAT(sink.events(), SizeIs(5));
  EXPECT_EQ(sink.events()[0]["content"]["tag"], "2");
  EXPECT_EQ(sink.events()[0]["content"]["digest"], FakeDigest("r1", "2"));
  // Cached tokens served the second poll.
  EXPECT_EQ(fake.token_calls, tokens_after_first);

  // Wrong credentials: the token server refuses; the poll says so.
  account.set_password("wrong");
  auto denied = NewDockerMonitor(account, store.get(), &sink, outbound.get());
  EXPECT_THAT(denied->Poll(), StatusIs(absl::StatusCode::kUnauthenticated));
}

v1::DockerRegistryAccount FakeAccount(const FakeTokenRegistry& fake) {
  v1::DockerRegistryAccount account;
  account.set_name("hub");
  account.set_address(absl::StrCat("http://127.0.0.1:", fake.port()));
  account.set_username("robot");
  account.set_password("s3cret");
  return account;
}

TEST(DockerMonitorAuthTest, NoCredentialsToAPlainHttpRealmElsewhere) {
  FakeTokenRegistry fake;
  // The "token server" the registry names: another origin, plain http.
  FakeTokenRegistry elsewhere;
  fake.SetRealm(absl::StrCat("http://127.0.0.1:", elsewhere.port(), "/token"));
  auto outbound = LoopbackOutbound();
  auto store = NewInMemorySeenStore();
  RecordingSink sink;
  auto monitor =
      NewDockerMonitor(FakeAccount(fake), store.get(), &sink, outbound.get());
  EXPECT_THAT(monitor->Poll(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                        HasSubstr("realm")));
  // Not asked at all (the account's Basic credentials never left).
  EXPECT_EQ(elsewhere.token_calls, 0);
  EXPECT_EQ(fake.token_calls, 0);
  EXPECT_THAT(*SeenDockerTags(store.get(), "hub", ""), IsEmpty());

  // Neither is a realm that is not http(s).
  fake.SetRealm("file:///etc/passwd");
  EXPECT_THAT(monitor->Poll(), StatusIs(absl::StatusCode::kFailedPrecondition));

  // The registry's own origin may be plain http (as the other tests).
  fake.SetRealm(absl::StrCat("http://127.0.0.1:", fake.port(), "/token"));
  EXPECT_THAT(monitor->Poll(), IsOk());
  EXPECT_GT(fake.token_calls, 0);
}

TEST(DockerMonitorAuthTest, ExpiresInIsBounded) {
  // Huge, absurd and non-numeric lifetimes: tokens are still cached (no
  // clock overflow), for a bounded time.
  for (const char* expires_in :
       {"9000000000000000000", "18446744073709551615", "1e300", "-5", "0",
        "\"soon\"", "null", "[1]"}) {
    FakeTokenRegistry fake;
    fake.SetExpiresIn(expires_in);
    auto outbound = LoopbackOutbound();
    auto store = NewInMemorySeenStore();
    RecordingSink sink;
    auto monitor =
        NewDockerMonitor(FakeAccount(fake), store.get(), &sink, outbound.get());
    ASSERT_THAT(monitor->Poll(), IsOk()) << expires_in;
    EXPECT_EQ(fake.token_calls, 6) << expires_in;
    fake.extra_tag = true;
    ASSERT_THAT(monitor->Poll(), IsOk()) << expires_in;
    EXPECT_THAT(sink.events(), SizeIs(5)) << expires_in;
    EXPECT_EQ(fake.token_calls, 6) << expires_in;
  }
}

TEST(DockerMonitorAuthTest, AnInvalidDigestIsUnknown) {
  FakeTokenRegistry fake;
  auto outbound = LoopbackOutbound();
  auto store = NewInMemorySeenStore();
  RecordingSink sink;
  v1::DockerRegistryAccount account = FakeAccount(fake);
  account.add_repositories("r1");
  account.set_track_digests(true);
  auto monitor = NewDockerMonitor(account, store.get(), &sink, outbound.get());
  ASSERT_THAT(monitor->Poll(), IsOk());
  auto seen = SeenDockerTags(store.get(), "hub", "r1");
  ASSERT_THAT(seen, IsOk());
  ASSERT_THAT(*seen, SizeIs(1));
  EXPECT_EQ((*seen)[0].digest(), FakeDigest("r1", "1"));

  // Garbage in the header: a known tag's digest is not "changed" to it...
  for (const std::string& bad :
       {std::string("sha256:abc"), std::string("sha256:../../etc"),
        absl::StrCat("SHA256:", std::string(64, 'a')),
        absl::StrCat("sha256:", std::string(300, 'a')),
        absl::StrCat("sha--256:", std::string(64, 'a')),
        absl::StrCat(":", std::string(64, 'a')), std::string(64, 'a')}) {
    fake.SetDigestOverride(bad);
    ASSERT_THAT(monitor->Poll(), IsOk()) << bad;
    EXPECT_THAT(sink.events(), IsEmpty()) << bad;
  }
  seen = SeenDockerTags(store.get(), "hub", "r1");
  ASSERT_THAT(seen, IsOk());
  EXPECT_EQ((*seen)[0].digest(), FakeDigest("r1", "1"));

  // ... and a new tag's event carries no digest rather than it.
  fake.extra_tag = true;
  ASSERT_THAT(monitor->Poll(), IsOk());
  ASSERT_THAT(sink.events(), SizeIs(1));
  EXPECT_EQ(sink.events()[0]["content"]["tag"], "2");
  EXPECT_EQ(sink.events()[0]["content"]["digest"], "");

  // Other algorithms of the grammar are digests.
  const std::string other =
      absl::StrCat("sha512+b64.x_y-z:", std::string(128, 'F'));
  fake.SetDigestOverride(other);
  ASSERT_THAT(monitor->Poll(), IsOk());
  ASSERT_THAT(sink.events(), SizeIs(2));
  EXPECT_EQ(sink.events()[1]["content"]["digest"], other);
}

TEST(DockerMonitorAuthTest, AnInterruptedFirstPollDoesNotReplayHistory) {
  FakeTokenRegistry fake;
  auto outbound = LoopbackOutbound();
  FailingMidwayStore store;
  RecordingSink sink;
  auto monitor =
      NewDockerMonitor(FakeAccount(fake), &store, &sink, outbound.get());
  // Redis goes away after two of the five tags are remembered.
  store.allow = 2;
  EXPECT_THAT(monitor->Poll(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(*SeenDockerTags(&store, "hub", ""), SizeIs(2));
  store.allow = 1 << 30;
  // Still the first poll: the other three are history, not news.
  ASSERT_THAT(monitor->Poll(), IsOk());
  EXPECT_THAT(sink.events(), IsEmpty());
  EXPECT_THAT(*SeenDockerTags(&store, "hub", ""), SizeIs(5));
  fake.extra_tag = true;
  ASSERT_THAT(monitor->Poll(), IsOk());
  EXPECT_THAT(sink.events(), SizeIs(5));
}

}  // namespace
}  // namespace gennaker::igor
