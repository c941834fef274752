// The shared gRPC runtime: health, interceptors (identity and request id across
// two hops, metrics, UNIMPLEMENTED messages), and graceful shutdown, over real
// loopback servers.
#include "common/grpc/grpc_server.h"

#include <gmock/gmock.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "common/grpc/channel.h"
#include "common/grpc/health_client.h"
#include "common/log/call_context.h"
#include "common/metrics/metrics.h"
#include "common/service/health_watchdog.h"
#include "common/testing/status_matchers.h"
#include "gennaker/gate/v1/gate.grpc.pb.h"
#include "gennaker/halyard/v1/halyard.grpc.pb.h"

namespace gennaker {
namespace {

using ::gennaker::testing::IsOk;
using ::testing::HasSubstr;
using ::testing::Not;

// Second hop: reports the call context it sees.
class Hop2 final : public gate::v1::GateService::Service {
  grpc::Status GetCurrentUser(grpc::ServerContext*,
                              const gate::v1::GetCurrentUserRequest*,
                              gate::v1::GetCurrentUserResponse* r) override {
    r->set_username(CurrentCallContext().user);
    r->set_email(CurrentCallContext().request_id);  // request id, for the test
    return grpc::Status::OK;
  }
};

// First hop: calls the second hop without passing anything along explicitly.
class Hop1 final : public halyard::v1::HalyardService::Service {
 public:
  explicit Hop1(std::string hop2) : channel_(MakeChannel(hop2)) {}
  grpc::Status GetVersions(grpc::ServerContext*,
                           const halyard::v1::GetVersionsRequest*,
                           halyard::v1::GetVersionsResponse* r) override {
    auto stub = gate::v1::GateService::NewStub(channel_);
    auto ctx = MakeClientContext(std::chrono::seconds(5));
    gate::v1::GetCurrentUserResponse seen;
    grpc::Status s = stub->GetCurrentUser(ctx.get(), {}, &seen);
    if (!s.ok()) return s;
    (*r->mutable_service_versions())["hop1_user"] = CurrentCallContext().user;
    (*r->mutable_service_versions())["hop1_request"] =
        CurrentCallContext().request_id;
    (*r->mutable_service_versions())["hop2_user"] = seen.username();
    (*r->mutable_service_versions())["hop2_request"] = seen.email();
    return grpc::Status::OK;
  }

 private:
  std::shared_ptr<grpc::Channel> channel_;
};

struct Servers {
  Metrics metrics{"test"};
  Hop2 hop2;
  std::unique_ptr<GrpcServer> server2;
  std::unique_ptr<Hop1> hop1;
  std::unique_ptr<GrpcServer> server1;
};

std::unique_ptr<Servers> StartHops() {
  auto s = std::make_unique<Servers>();
  GrpcServerOptions o;
  o.metrics = &s->metrics;
  o.unimplemented_area = "test area";
  auto two = GrpcServer::Start(o, {&s->hop2});
  EXPECT_THAT(two, IsOk());
  s->server2 = std::move(*two);
  s->hop1 =
      std::make_unique<Hop1>("127.0.0.1:" + std::to_string(s->server2->port()));
  auto one = GrpcServer::Start(o, {s->hop1.get()});
  EXPECT_THAT(one, IsOk());
  s->server1 = std::move(*one);
  return s;
}

TEST(GrpcServerTest, IdentityAndRequestIdCrossTwoHops) {
  auto s = StartHops();
  auto stub = halyard::v1::HalyardService::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(s->server1->port()),
                          grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.AddMetadata("x-spinnaker-user", "alice@example.com");
  ctx.AddMetadata("x-request-id", "req-123");
  halyard::v1::GetVersionsResponse r;
  ASSERT_TRUE(stub->GetVersions(&ctx, {}, &r).ok());
  auto v = r.service_versions();
  EXPECT_EQ(v["hop1_user"], "alice@example.com");
  EXPECT_EQ(v["hop2_user"], "alice@example.com");
  EXPECT_EQ(v["hop1_request"], "req-123");
  EXPECT_EQ(v["hop2_request"], "req-123");

  // Without a request id the first hop makes one, and the second hop sees the
  // same.
  grpc::ClientContext anon;
  halyard::v1::GetVersionsResponse r2;
  ASSERT_TRUE(stub->GetVersions(&anon, {}, &r2).ok());
  auto v2 = r2.service_versions();
  EXPECT_EQ(v2["hop1_request"].size(), 32u);
  EXPECT_EQ(v2["hop2_request"], v2["hop1_request"]);
  EXPECT_EQ(v2["hop2_user"], "");
}

TEST(GrpcServerTest, HealthMetricsAndUnimplementedMessage) {
  auto s = StartHops();
  std::string address = "127.0.0.1:" + std::to_string(s->server2->port());
  auto serving = CheckServing(address, std::chrono::seconds(2));
  ASSERT_THAT(serving, IsOk());
  EXPECT_TRUE(*serving);

  auto stub = gate::v1::GateService::NewStub(MakeChannel(address));
  grpc::ClientContext ctx;
  gate::v1::ListApplicationsResponse apps;
  grpc::Status st = stub->ListApplications(&ctx, {}, &apps);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_THAT(
      st.error_message(),
      HasSubstr(
          "/gennaker.gate.v1.GateService/ListApplications is not implemented "
          "yet (test area)"));
  EXPECT_THAT(
      s->metrics.Render(),
      HasSubstr("method=\"/gennaker.gate.v1.GateService/ListApplications\","
                "code=\"UNIMPLEMENTED\"} 1"));

  s->server2->SetServing(false);
  EXPECT_FALSE(*CheckServing(address, std::chrono::seconds(2)));
  s->server2->Shutdown(std::chrono::milliseconds(500));
  s->server2->Wait();
  EXPECT_THAT(CheckServing(address, std::chrono::milliseconds(300)),
              Not(IsOk()));
}

// Server reflection (what grpcurl uses), called with a generic stub and
// hand-encoded messages, since the reflection protos are compiled into
// grpc++_reflection itself.
TEST(GrpcServerTest, ReflectionListsTheServices) {
  auto s = StartHops();
  auto channel =
      grpc::CreateChannel("127.0.0.1:" + std::to_string(s->server2->port()),
                          grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  auto call = stub.PrepareCall(
      &ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
      &cq);
  void* tag;
  bool ok;
  auto next = [&](intptr_t want) {
    EXPECT_TRUE(cq.Next(&tag, &ok));
    EXPECT_EQ(reinterpret_cast<intptr_t>(tag), want);
    return ok;
  };
  call->StartCall(reinterpret_cast<void*>(1));
  ASSERT_TRUE(next(1));
  // ServerReflectionRequest { list_services = "" } : field 7, length-delimited,
  // empty.
  const char request_bytes[] = {0x3a, 0x00};
  grpc::Slice slice(request_bytes, sizeof(request_bytes));
  grpc::ByteBuffer request(&slice, 1);
  call->Write(request, reinterpret_cast<void*>(2));
  ASSERT_TRUE(next(2));
  grpc::ByteBuffer response;
  call->Read(&response, reinterpret_cast<void*>(3));
  ASSERT_TRUE(next(3));
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (const auto& sl : slices)
    bytes.append(reinterpret_cast<const char*>(sl.begin()), sl.size());
  EXPECT_THAT(bytes, HasSubstr("gennaker.gate.v1.GateService"));
  EXPECT_THAT(bytes, HasSubstr("grpc.health.v1.Health"));
  call->WritesDone(reinterpret_cast<void*>(4));
  next(4);
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  next(5);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

// An idle client connection must not hold up a graceful shutdown until the
// grace deadline.
TEST(GrpcServerTest, ShutdownDoesNotWaitForIdleClients) {
  auto s = StartHops();
  auto channel = MakeChannel("127.0.0.1:" + std::to_string(s->server2->port()));
  auto stub = gate::v1::GateService::NewStub(channel);
  grpc::ClientContext ctx;
  gate::v1::GetCurrentUserResponse r;
  ASSERT_TRUE(stub->GetCurrentUser(&ctx, {}, &r).ok());
  auto start = std::chrono::steady_clock::now();
  s->server2->Shutdown(std::chrono::seconds(5));
  s->server2->Wait();
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, std::chrono::seconds(2));
}

// A failing dependency check turns health to NOT_SERVING, and back once it
// passes.
TEST(GrpcServerTest, WatchdogFollowsDependencyChecks) {
  auto s = StartHops();
  std::string address = "127.0.0.1:" + std::to_string(s->server2->port());
  std::atomic<bool> store_up{true};
  HealthWatchdog watchdog(
      s->server2.get(),
      [&] {
        return store_up ? absl::OkStatus()
                        : absl::UnavailableError("store down");
      },
      std::chrono::milliseconds(20));
  auto wait_for = [&](bool want) {
    for (int i = 0; i < 200; ++i) {
      auto serving = CheckServing(address, std::chrono::seconds(1));
      if (serving.ok() && *serving == want) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  };
  EXPECT_TRUE(wait_for(true));
  store_up = false;
  EXPECT_TRUE(wait_for(false));
  store_up = true;
  EXPECT_TRUE(wait_for(true));
}

// Answers GetCurrentUser with a 5 MB user name.
class BigReply final : public gate::v1::GateService::Service {
  grpc::Status GetCurrentUser(grpc::ServerContext*,
                              const gate::v1::GetCurrentUserRequest*,
                              gate::v1::GetCurrentUserResponse* r) override {
    r->set_username(std::string(5 << 20, 'u'));
    return grpc::Status::OK;
  }
};

TEST(GrpcServerTest, MessagesAboveGrpcsDefaultPassWithTheSuitesLimit) {
  BigReply service;
  GrpcServerOptions o;
  o.max_message_bytes = 64 << 20;
  auto server = GrpcServer::Start(o, {&service});
  ASSERT_THAT(server, IsOk());
  const std::string address = "127.0.0.1:" + std::to_string((*server)->port());
  gate::v1::GetCurrentUserRequest req;
  gate::v1::GetCurrentUserResponse resp;
  auto big = gate::v1::GateService::NewStub(MakeChannel(address));
  auto ctx = MakeClientContext(std::chrono::seconds(10));
  ASSERT_TRUE(big->GetCurrentUser(ctx.get(), req, &resp).ok());
  EXPECT_EQ(resp.username().size(), size_t{5} << 20);
  // A channel with a smaller limit refuses it.
  auto small = gate::v1::GateService::NewStub(MakeChannel(address, 1 << 20));
  ctx = MakeClientContext(std::chrono::seconds(10));
  EXPECT_EQ(small->GetCurrentUser(ctx.get(), req, &resp).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  (*server)->Shutdown(std::chrono::milliseconds(100));
  (*server)->Wait();
}

// service_main starts the gRPC server NOT_SERVING and reports SERVING once
// the service's other listeners (REST APIs) are up.
TEST(GrpcServerTest, HealthCanStartNotServing) {
  BigReply service;
  GrpcServerOptions o;
  o.serving_at_start = false;
  auto server = GrpcServer::Start(o, {&service});
  ASSERT_THAT(server, IsOk());
  const std::string address = "127.0.0.1:" + std::to_string((*server)->port());
  auto serving = CheckServing(address, std::chrono::seconds(2));
  ASSERT_THAT(serving, IsOk());
  EXPECT_FALSE(*serving);
  EXPECT_FALSE((*server)->serving());
  (*server)->SetServing(true);
  EXPECT_TRUE(*CheckServing(address, std::chrono::seconds(2)));
  (*server)->Shutdown(std::chrono::milliseconds(100));
  (*server)->Wait();
}

TEST(GrpcServerTest, PortInUseIsAnError) {
  auto s = StartHops();
  GrpcServerOptions o;
  o.port = s->server1->port();
  Hop2 another;
  auto clash = GrpcServer::Start(o, {&another});
  EXPECT_THAT(clash, Not(IsOk()));
}

}  // namespace
}  // namespace gennaker
