// Execution events: the engine's events of pipeline runs (order, types,
// content, published only after their commit), and the echo publisher
// against an in-process EchoService (order, content, idempotency keys,
// retries while echo is down, the queue bound).
#include "services/orca/echo_events.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/grpc/channel.h"
#include "gennaker/echo/v1/echo.grpc.pb.h"
#include "gtest/gtest.h"
#include "services/orca/engine/engine_test_util.h"
#include "services/orca/launcher.h"
#include "services/orca/stages/builtin_stages.h"

namespace gennaker::orca {
namespace {

namespace ev1 = ::gennaker::echo::v1;
using std::chrono::milliseconds;

// --- An in-process echo ------------------------------------------------------

struct Received {
  std::string type;
  std::string source;
  std::string application;
  std::string key;
  int64_t created_ms = 0;
  Json details;
  Json content;
};

class FakeEcho : public ev1::EchoService::Service {
 public:
  grpc::Status PostEvent(grpc::ServerContext*, const ev1::PostEventRequest* req,
                         ev1::PostEventResponse* resp) override {
    absl::MutexLock l(&mu_);
    for (size_t i = 0; i < events_.size(); ++i) {
      if (events_[i].key == req->idempotency_key()) {
        resp->set_event_id(absl::StrCat("e", i));
        resp->set_duplicate(true);
        return grpc::Status::OK;
      }
    }
    Received r;
    r.type = req->event().type();
    r.source = req->event().source();
    r.application = req->event().application();
    r.key = req->idempotency_key();
    r.created_ms = req->event().created_at_ms();
    r.details = Json::parse(req->event().details().json());
    r.content = Json::parse(req->event().content().json());
    resp->set_event_id(absl::StrCat("e", events_.size()));
    events_.push_back(std::move(r));
    return grpc::Status::OK;
  }

  std::vector<Received> Events() {
    absl::MutexLock l(&mu_);
    return events_;
  }

 private:
  absl::Mutex mu_;
  std::vector<Received> events_;
};

// Serves a FakeEcho on loopback; `port` 0 picks a free one.
class EchoServer {
 public:
  explicit EchoServer(int port = 0) {
    grpc::ServerBuilder b;
    b.AddListeningPort(absl::StrCat("127.0.0.1:", port),
                       grpc::InsecureServerCredentials(), &port_);
    b.RegisterService(&echo_);
    server_ = b.BuildAndStart();
  }
  ~EchoServer() { server_->Shutdown(); }
  std::string Address() const { return absl::StrCat("127.0.0.1:", port_); }
  int port() const { return port_; }
  FakeEcho& echo() { return echo_; }

 private:
  FakeEcho echo_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

ExecutionEvent Event(const std::string& type, const std::string& stage_id,
                     int n) {
  ExecutionEvent e;
  e.type = type;
  e.execution_id = "01EXEC";
  e.stage_id = stage_id;
  e.application = "demo";
  e.created_ms = 1'700'000'000'000 + n;
  e.content = {{"executionId", "01EXEC"}, {"n", n}};
  e.execution = std::make_shared<const Json>(
      Json{{"id", "01EXEC"},
           {"application", "demo"},
           {"notifications", Json::array({{{"type", "email"}}})}});
  return e;
}

EchoPublisherOptions FastRetries() {
  EchoPublisherOptions o;
  o.initial_backoff = milliseconds(20);
  o.max_backoff = milliseconds(200);
  o.deadline = milliseconds(2000);
  return o;
}

TEST(EchoPublisherTest, PostsEventsInOrderWithDetailsContentAndKeys) {
  EchoServer server;
  auto publisher =
      NewEchoEventPublisher(MakeChannel(server.Address()), FastRetries());
  publisher->Publish({Event("orca:pipeline:starting", "", 1),
                      Event("orca:stage:starting", "s1", 2)});
  publisher->Publish({Event("orca:stage:complete", "s1", 3),
                      Event("orca:pipeline:complete", "", 4)});
  ASSERT_TRUE(publisher->Flush(milliseconds(10000)));
  std::vector<Received> got = server.echo().Events();
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].type, "orca:pipeline:starting");
  EXPECT_EQ(got[1].type, "orca:stage:starting");
  EXPECT_EQ(got[2].type, "orca:stage:complete");
  EXPECT_EQ(got[3].type, "orca:pipeline:complete");
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(got[i].source, "orca");
    EXPECT_EQ(got[i].application, "demo");
    EXPECT_EQ(got[i].details, (Json{{"source", "orca"},
                                    {"type", got[i].type},
                                    {"application", "demo"}}));
    EXPECT_EQ(Int(got[i].content, "n"), i + 1);
    EXPECT_EQ(got[i].created_ms, 1'700'000'000'000 + i + 1);
    EXPECT_EQ(String(got[i].content["execution"], "id"), "01EXEC");
    EXPECT_EQ(got[i].content["execution"]["notifications"].size(), 1u);
  }
  EXPECT_EQ(got[0].key, "01EXEC:orca:pipeline:starting:");
  EXPECT_EQ(got[1].key, "01EXEC:orca:stage:starting:s1");
  EXPECT_EQ(publisher->Dropped(), 0);
}

TEST(EchoPublisherTest, RetriesWhileEchoIsDownAndDeliversOnceItIsUp) {
  int port = 0;
  {
    EchoServer probe;  // finds a free port, then frees it
    port = probe.port();
  }
  auto publisher = NewEchoEventPublisher(
      MakeChannel(absl::StrCat("127.0.0.1:", port)), FastRetries());
  publisher->Publish({Event("orca:pipeline:starting", "", 1),
                      Event("orca:pipeline:failed", "", 2)});
  // Nothing listens: the events stay queued.
  EXPECT_FALSE(publisher->Flush(milliseconds(500)));
  EchoServer server(port);
  ASSERT_EQ(server.port(), port);
  ASSERT_TRUE(publisher->Flush(milliseconds(15000)));
  std::vector<Received> got = server.echo().Events();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].type, "orca:pipeline:starting");
  EXPECT_EQ(got[1].type, "orca:pipeline:failed");
  EXPECT_EQ(publisher->Dropped(), 0);
}

TEST(EchoPublisherTest, DropsTheOldestEventsOverTheBound) {
  int port = 0;
  {
    EchoServer probe;
    port = probe.port();
  }
  EchoPublisherOptions o = FastRetries();
  o.max_queued = 2;
  auto publisher =
      NewEchoEventPublisher(MakeChannel(absl::StrCat("127.0.0.1:", port)), o);
  std::vector<ExecutionEvent> events;
  for (int i = 1; i <= 5; ++i) {
    events.push_back(Event("orca:stage:starting", absl::StrCat("s", i), i));
  }
  publisher->Publish(std::move(events));
  EXPECT_EQ(publisher->Dropped(), 3);
  EchoServer server(port);
  ASSERT_TRUE(publisher->Flush(milliseconds(15000)));
  std::vector<Received> got = server.echo().Events();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(Int(got[0].content, "n"), 4);
  EXPECT_EQ(Int(got[1].content, "n"), 5);
}

// --- The engine's events -----------------------------------------------------

// Records each event with the committed state it was published after.
class RecordingPublisher : public EventPublisher {
 public:
  explicit RecordingPublisher(MemoryStore* store) : store_(store) {}
  void Publish(std::vector<ExecutionEvent> events) override {
    for (ExecutionEvent& e : events) {
      absl::StatusOr<Json> stored = store_->Get(e.execution_id);
      Seen s;
      s.stored_status = stored.ok() ? String(*stored, "status") : "";
      if (stored.ok() && !e.stage_id.empty()) {
        if (const Json* st = FindStage(*stored, e.stage_id)) {
          s.stored_stage_status = String(*st, "status");
        }
      }
      s.event = std::move(e);
      seen.push_back(std::move(s));
    }
  }
  struct Seen {
    ExecutionEvent event;
    std::string stored_status;
    std::string stored_stage_status;
  };
  std::vector<Seen> seen;

 private:
  MemoryStore* store_;
};

class EngineEventsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StageDeps deps;
    RegisterBuiltinStages(&registry_, deps);
  }
  void Build(EventPublisher* publisher) {
    EngineOptions o;
    o.events = publisher;
    engine_ =
        std::make_unique<Engine>(&store_, &registry_, &clock_, nullptr, o);
  }
  std::string Start(const Json& stages) {
    LaunchOptions o;
    o.now_ms = clock_.NowMs();
    Json pipeline = {
        {"application", "demo"},
        {"name", "events"},
        {"id", "cfg-1"},
        {"stages", stages},
        {"notifications",
         Json::array({{{"type", "email"},
                       {"address", "team@example.com"},
                       {"level", "pipeline"},
                       {"when", {"pipeline.complete", "pipeline.failed"}}}})}};
    auto exec = BuildPipelineExecution(pipeline, Json::object(), o);
    EXPECT_TRUE(exec.ok()) << exec.status();
    auto id = store_.Create(*exec, "", {StartMessage(*exec)});
    EXPECT_TRUE(id.ok()) << id.status();
    return *id;
  }
  void Run() {
    testing::RunUntilSettled(engine_.get(), &store_, &clock_, 60 * 60 * 1000,
                             1000);
  }
  static Json Wait(const std::string& ref, const std::string& name,
                   Json requisites = Json::array()) {
    return {{"refId", ref},
            {"type", "wait"},
            {"name", name},
            {"waitTime", 5},
            {"requisiteStageRefIds", std::move(requisites)}};
  }

  testing::ManualClock clock_;
  MemoryStore store_{&clock_};
  Registry registry_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(EngineEventsTest, APipelineRunReportsItsStepsInOrderAfterEachCommit) {
  RecordingPublisher rec(&store_);
  Build(&rec);
  std::string id =
      Start(Json::array({Wait("1", "First"), Wait("2", "Second", {"1"})}));
  Run();
  ASSERT_EQ(String(testing::GetExecution(&store_, id), "status"), "SUCCEEDED");
  std::vector<std::string> types;
  for (const auto& s : rec.seen) types.push_back(s.event.type);
  EXPECT_EQ(types, (std::vector<std::string>{
                       "orca:pipeline:starting", "orca:stage:starting",
                       "orca:stage:complete", "orca:stage:starting",
                       "orca:stage:complete", "orca:pipeline:complete"}));
  // Each was handed over once its change was committed.
  EXPECT_EQ(rec.seen[0].stored_status, "RUNNING");
  EXPECT_EQ(rec.seen[1].stored_stage_status, "RUNNING");
  EXPECT_EQ(rec.seen[2].stored_stage_status, "SUCCEEDED");
  EXPECT_EQ(rec.seen[5].stored_status, "SUCCEEDED");

  const ExecutionEvent& done = rec.seen[5].event;
  EXPECT_EQ(done.application, "demo");
  EXPECT_EQ(done.created_ms, clock_.NowMs());
  EXPECT_EQ(done.IdempotencyKey(), id + ":orca:pipeline:complete:");
  Json content = done.Content();
  EXPECT_EQ(String(content, "executionId"), id);
  const Json& exec = content["execution"];
  EXPECT_EQ(String(exec, "status"), "SUCCEEDED");
  EXPECT_EQ(String(exec, "name"), "events");
  EXPECT_EQ(String(exec, "pipelineConfigId"), "cfg-1");
  EXPECT_EQ(String(exec["notifications"][0], "address"), "team@example.com");
  EXPECT_TRUE(exec.contains("trigger"));
  EXPECT_EQ(exec["stages"].size(), 2u);
  EXPECT_FALSE(exec.contains(kPrivateKey));

  const ExecutionEvent& first = rec.seen[2].event;
  Json stage = first.Content();
  EXPECT_EQ(String(stage, "stageId"), first.stage_id);
  EXPECT_EQ(String(stage, "executionId"), id);
  EXPECT_EQ(String(stage, "name"), "First");
  EXPECT_FALSE(Bool(stage, "isSynthetic"));
  EXPECT_FALSE(Bool(stage, "canceled"));
  EXPECT_FALSE(Bool(stage, "standalone"));
  EXPECT_EQ(Int(stage["context"], "waitTime"), 5);
  EXPECT_GT(Int(stage, "endTime"), 0);
  EXPECT_EQ(first.IdempotencyKey(),
            id + ":orca:stage:complete:" + first.stage_id);
}

TEST_F(EngineEventsTest, FailedAndCanceledRunsReportFailed) {
  RecordingPublisher rec(&store_);
  Build(&rec);
  std::string failed = Start(Json::array(
      {{{"refId", "1"}, {"type", "noSuchStage"}, {"name", "Broken"}}}));
  Run();
  ASSERT_GE(rec.seen.size(), 3u);
  EXPECT_EQ(rec.seen.back().event.type, "orca:pipeline:failed");
  EXPECT_EQ(rec.seen.back().stored_status, "TERMINAL");
  EXPECT_EQ(rec.seen[rec.seen.size() - 2].event.type, "orca:stage:failed");

  rec.seen.clear();
  Json long_wait = Wait("1", "Long");
  long_wait["waitTime"] = 3600;
  std::string canceled = Start(Json::array({long_wait}));
  testing::RunUntilSettled(engine_.get(), &store_, &clock_, 1000, 10);
  ASSERT_TRUE(engine_->Cancel(canceled, "alice", "no").ok());
  Run();
  ASSERT_FALSE(rec.seen.empty());
  const ExecutionEvent& last = rec.seen.back().event;
  EXPECT_EQ(last.type, "orca:pipeline:failed");
  EXPECT_EQ(last.execution_id, canceled);
  EXPECT_TRUE(Bool(last.Content()["execution"], "canceled"));
  EXPECT_EQ(String(last.Content()["execution"], "status"), "CANCELED");
  EXPECT_EQ(rec.seen[rec.seen.size() - 2].event.type, "orca:stage:failed");
  EXPECT_TRUE(Bool(rec.seen[rec.seen.size() - 2].event.Content(), "canceled"));
  (void)failed;
}

// Throws on its first run: the handling is rolled back and retried.
class FlakyTask : public Task {
 public:
  absl::StatusOr<TaskResult> Execute(const TaskInput&) override {
    if (runs_++ == 0) throw std::runtime_error("flaky");
    return TaskResult();
  }

 private:
  int runs_ = 0;
};

TEST_F(EngineEventsTest, ARolledBackChangeReportsNothing) {
  registry_.AddSimpleStage("flaky", {"flaky"});
  registry_.AddTask("flaky", std::make_shared<FlakyTask>());
  RecordingPublisher rec(&store_);
  Build(&rec);
  std::string id =
      Start(Json::array({{{"refId", "1"}, {"type", "flaky"}, {"name", "F"}}}));
  Run();
  ASSERT_EQ(String(testing::GetExecution(&store_, id), "status"), "SUCCEEDED");
  std::vector<std::string> types;
  for (const auto& s : rec.seen) types.push_back(s.event.type);
  // The stage started in the transaction that failed, and again in its
  // retry: reported once.
  EXPECT_EQ(types, (std::vector<std::string>{
                       "orca:pipeline:starting", "orca:stage:starting",
                       "orca:stage:complete", "orca:pipeline:complete"}));
}

TEST_F(EngineEventsTest, ARunReachesEchoThroughThePublisher) {
  EchoServer server;
  auto publisher =
      NewEchoEventPublisher(MakeChannel(server.Address()), FastRetries());
  Build(publisher.get());
  std::string id = Start(Json::array({Wait("1", "Only")}));
  Run();
  ASSERT_TRUE(publisher->Flush(milliseconds(10000)));
  std::vector<Received> got = server.echo().Events();
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].type, "orca:pipeline:starting");
  EXPECT_EQ(got[3].type, "orca:pipeline:complete");
  EXPECT_EQ(String(got[3].content["execution"], "id"), id);
  EXPECT_EQ(String(got[3].content["execution"], "status"), "SUCCEEDED");
  EXPECT_EQ(got[1].content["isSynthetic"], false);
}

}  // namespace
}  // namespace gennaker::orca
