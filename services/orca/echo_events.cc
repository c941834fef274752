#include "services/orca/echo_events.h"

#include <algorithm>
#include <deque>
#include <thread>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/grpc/channel.h"
#include "common/log/log.h"
#include "common/status/grpc_status.h"
#include "gennaker/echo/v1/echo.grpc.pb.h"

namespace gennaker::orca {

namespace {

namespace ev1 = ::gennaker::echo::v1;

// Worth posting again: echo is down, slow or failed for a moment.
bool Transient(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::CANCELLED:
      return true;
    default:
      return false;
  }
}

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

class Publisher : public EchoEventPublisher {
 public:
  Publisher(std::shared_ptr<grpc::Channel> channel, EchoPublisherOptions o)
      : stub_(ev1::EchoService::NewStub(std::move(channel))), options_(o) {
    options_.max_queued = std::max<size_t>(options_.max_queued, 1);
    thread_ = std::thread([this] { Loop(); });
  }

  ~Publisher() override {
    {
      absl::MutexLock l(&mu_);
      stop_ = true;
      if (inflight_ != nullptr) inflight_->TryCancel();
    }
    thread_.join();
  }

  void Publish(std::vector<ExecutionEvent> events) override {
    absl::MutexLock l(&mu_);
    for (ExecutionEvent& e : events) {
      if (queue_.size() >= options_.max_queued) {
        const ExecutionEvent& old = queue_.front();
        SPDLOG_ERROR(
            "event=echo_event_dropped reason=queue_full max={} type={} "
            "execution={} stage={}",
            options_.max_queued, old.type, old.execution_id, old.stage_id);
        queue_.pop_front();
        ++dropped_;
      }
      queue_.push_back(std::move(e));
    }
  }

  bool Flush(std::chrono::milliseconds timeout) override {
    absl::MutexLock l(&mu_);
    auto idle = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return queue_.empty() && !busy_;
    };
    mu_.AwaitWithTimeout(absl::Condition(&idle), absl::FromChrono(timeout));
    return idle();
  }

  int64_t Dropped() const override {
    absl::MutexLock l(&mu_);
    return dropped_;
  }

 private:
  void Loop() {
    while (true) {
      ExecutionEvent event;
      {
        absl::MutexLock l(&mu_);
        auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
          return stop_ || !queue_.empty();
        };
        mu_.Await(absl::Condition(&ready));
        if (stop_) return;
        event = std::move(queue_.front());
        queue_.pop_front();
        busy_ = true;
      }
      Deliver(event);
      absl::MutexLock l(&mu_);
      busy_ = false;
    }
  }

  ev1::PostEventRequest Request(const ExecutionEvent& e) const {
    ev1::PostEventRequest req;
    ev1::Event* out = req.mutable_event();
    out->set_type(e.type);
    out->set_source("orca");
    out->set_application(e.application);
    out->set_created_at_ms(e.created_ms > 0 ? e.created_ms : NowMs());
    Json details = {
        {"source", "orca"}, {"type", e.type}, {"application", e.application}};
    out->mutable_details()->set_json(Dump(details));
    out->mutable_content()->set_json(
        e.Content().dump(-1, ' ', false, Json::error_handler_t::replace));
    req.set_idempotency_key(e.IdempotencyKey());
    return req;
  }

  // Posts `e` until echo takes or refuses it, or the publisher stops.
  void Deliver(const ExecutionEvent& e) {
    const ev1::PostEventRequest req = Request(e);
    std::chrono::milliseconds backoff = options_.initial_backoff;
    for (int attempt = 1;; ++attempt) {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + options_.deadline);
      {
        absl::MutexLock l(&mu_);
        if (stop_) return;
        inflight_ = &ctx;
      }
      ev1::PostEventResponse resp;
      grpc::Status s = stub_->PostEvent(&ctx, req, &resp);
      {
        absl::MutexLock l(&mu_);
        inflight_ = nullptr;
        if (stop_) return;
      }
      if (s.ok()) {
        if (attempt > 1) {
          SPDLOG_INFO(
              "event=echo_event_posted type={} execution={} attempts={}",
              e.type, e.execution_id, attempt);
        }
        return;
      }
      if (!Transient(s.error_code())) {
        SPDLOG_ERROR(
            "event=echo_event_dropped reason=refused type={} execution={} "
            "stage={} code={} error={}",
            e.type, e.execution_id, e.stage_id,
            static_cast<int>(s.error_code()), s.error_message());
        absl::MutexLock l(&mu_);
        ++dropped_;
        return;
      }
      if (attempt <= 5 || attempt % 20 == 0) {
        SPDLOG_WARN(
            "event=echo_event_retry type={} execution={} attempt={} error={}",
            e.type, e.execution_id, attempt, s.error_message());
      }
      absl::MutexLock l(&mu_);
      auto stopping = [this]()
                          ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stop_; };
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping),
                               absl::FromChrono(backoff))) {
        return;
      }
      backoff = std::min(backoff * 2, options_.max_backoff);
    }
  }

  std::unique_ptr<ev1::EchoService::Stub> stub_;
  EchoPublisherOptions options_;
  mutable absl::Mutex mu_;
  std::deque<ExecutionEvent> queue_ ABSL_GUARDED_BY(mu_);
  bool busy_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* inflight_ ABSL_GUARDED_BY(mu_) = nullptr;
  int64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace

std::unique_ptr<EchoEventPublisher> NewEchoEventPublisher(
    std::shared_ptr<grpc::Channel> channel, EchoPublisherOptions options) {
  return std::make_unique<Publisher>(std::move(channel), options);
}

}  // namespace gennaker::orca
