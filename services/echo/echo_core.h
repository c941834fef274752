// Echo's domain logic, below the RPC boundary.
//
// Events: PostEvent / ReceiveWebhook store the event (EchoStore) before
// answering; delivery workers claim undelivered events (an expiring claim, so
// a dead instance's events are taken over), match them against the current
// TriggerIndex snapshot, start each matched pipeline in orca (idempotency key
// = the match's key, so a redelivery or a second instance never starts a
// pipeline twice), enqueue the notifications of orca:* events in the outbox,
// and mark the event DELIVERED (with the executions) or retry it with backoff
// until FAILED. Every match is tried on its own: one that fails does not stop
// the others nor the notifications. Transient errors (UNAVAILABLE,
// DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL) are retried for a
// time budget without counting toward max_attempts; a non-retryable error of
// one match is recorded in the event's error. Each claim carries its own
// token (instance id + uuid), so a stale worker cannot end a newer claim.
// Workers wait until the first pipeline load succeeded (events stay ACCEPTED
// meanwhile).
//
// Cron: every enabled cron trigger of the index is scheduled in one global
// zone; a scheduler thread fires due slots, each claimed in the store (one
// fire per slot across instances) together with a stored "echo:cron" event
// that the delivery workers turn into an orca start (so a fire survives a
// restart and is retried like any event). Slots later than the misfire
// threshold are dropped, not replayed; a slot whose claim failed (store
// error) stays pending and is claimed again until that threshold.
//
// Notifications: outbox rows are claimed by a notification worker and sent
// through the senders; retryable failures are retried with backoff up to
// max attempts, every failure is logged, none fails an event.
//
// Time comes from a Clock so that tests drive the scheduler and retries.
#ifndef GENNAKER_SERVICES_ECHO_ECHO_CORE_H_
#define GENNAKER_SERVICES_ECHO_ECHO_CORE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/spinnaker/json.h"
#include "gennaker/echo/v1/echo.pb.h"
#include "services/echo/cron/cron.h"
#include "services/echo/notify/notify.h"
#include "services/echo/store/echo_store.h"
#include "services/echo/triggers/events.h"
#include "services/echo/triggers/trigger_index.h"

namespace gennaker {
class Metrics;
}

namespace gennaker::echo {

using spinnaker::Json;

// Wall-clock time in epoch ms. Waiters (the scheduler) register for
// advances so that a manual clock wakes them at once.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowMs() = 0;
  // Calls `fn` whenever the time jumps (manual clocks); real clocks never
  // do. The returned id is passed to RemoveListener.
  virtual int AddListener(std::function<void()> fn) {
    (void)fn;
    return 0;
  }
  virtual void RemoveListener(int id) { (void)id; }
};

// absl::Now().
Clock* SystemClock();

// A clock tests set and advance; advancing wakes the listeners.
class ManualClock : public Clock {
 public:
  explicit ManualClock(int64_t now_ms) : now_(now_ms) {}
  int64_t NowMs() override { return now_.load(); }
  void Advance(int64_t ms) { Set(now_.load() + ms); }
  void Set(int64_t now_ms);
  int AddListener(std::function<void()> fn) override;
  // Returns only once no call of the listener is in flight.
  void RemoveListener(int id) override;

 private:
  std::atomic<int64_t> now_;
  // Held while listeners run (RemoveListener waits on it); never while mu_
  // is held, so a listener may add listeners.
  absl::Mutex call_mu_;
  absl::Mutex mu_;
  int next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<int, std::function<void()>> listeners_ ABSL_GUARDED_BY(mu_);
};

// An execution orca started.
struct StartedExecution {
  std::string id;
  std::string application;
};

// What echo asks orca to start.
struct PipelineStart {
  std::string pipeline_id;
  std::string application;
  Json trigger;
  std::string idempotency_key;
  // The identity the call is made for (the trigger's runAsUser); "" =
  // anonymous.
  std::string run_as_user;
};

class OrcaClient {
 public:
  virtual ~OrcaClient() = default;
  virtual absl::StatusOr<StartedExecution> StartPipeline(
      const PipelineStart& start) = 0;
};

class Front50Client {
 public:
  virtual ~Front50Client() = default;
  // Every enabled pipeline config (front50 JSON with id, application, name,
  // disabled, triggers).
  virtual absl::StatusOr<std::vector<Json>> ListPipelines() = 0;
  // The application's notification set body with the global entries
  // appended; null when none.
  virtual absl::StatusOr<Json> ApplicationNotifications(
      const std::string& application) = 0;
};

struct CoreOptions {
  // Owner name of claims; a fresh UUID when empty.
  std::string instance_id;
  // Delivery threads; 0 starts none (tests call DeliverPending()).
  int worker_threads = 2;
  // Whether Start() starts the notification, refresh and scheduler threads
  // (tests call SendPendingNotifications(), RefreshPipelines(),
  // RunScheduler()).
  bool background = true;
  int claim_seconds = 60;
  // Attempts that ended in a non-retryable error before an event is FAILED
  // (transient errors do not count: see transient_retry_ms).
  int max_attempts = 5;
  // How long after acceptance an event whose delivery keeps failing with
  // transient errors (orca or igor down) is still retried. No config field
  // exists for it yet: the default is used.
  int64_t transient_retry_ms = int64_t{3600} * 1000;
  int retention_days = 7;
  int pipeline_poll_ms = 30000;
  std::string git_shared_secret;
  int64_t max_webhook_bytes = int64_t{1} << 20;
  bool scheduler_enabled = true;
  std::string time_zone = "America/Los_Angeles";
  int64_t misfire_threshold_ms = 60000;
  std::string spinnaker_base_url;
  int notification_max_attempts = 5;
  // Backoff of retries: base * 2^(attempt-1), capped.
  int64_t retry_base_ms = 1000;
  int64_t retry_max_ms = 60000;
  // Safety poll of the workers (real time): NOTIFY normally wakes them.
  absl::Duration poll = absl::Seconds(1);
  // Gauges echo_pipelines_indexed and echo_cron_triggers_scheduled; may be
  // null.
  Metrics* metrics = nullptr;
};

// The event type of a cron fire (stored like any event, delivered by
// starting its pipeline).
inline constexpr char kCronEventType[] = "echo:cron";

struct WebhookResult {
  bool processed = true;
  std::string event_id;
  bool duplicate = false;
};

struct SyncCounts {
  int added = 0, updated = 0, removed = 0;
};

struct ScheduledTriggerInfo {
  std::string trigger_id, pipeline_id, pipeline_name, application;
  std::string cron_expression, effective_expression, time_zone, run_as_user;
  Json parameters = Json::object();
  int64_t next_fire_ms = 0;
  int64_t previous_fire_ms = 0;
};

struct CronValidation {
  bool valid = false;
  std::string message;
  std::vector<int64_t> next_fire_ms;
  std::string time_zone;
};

// A rendered notification as stored in the outbox, and back.
Json NotificationMessageJson(const NotificationMessage& message);
NotificationMessage NotificationMessageFromJson(const Json& json);

// An idempotency key as stored: keys up to 200 characters unchanged, longer
// ones (up to 4096 bytes) as "sha256:" + the hex SHA-256 of the key;
// INVALID_ARGUMENT beyond.
absl::StatusOr<std::string> NormalizeIdempotencyKey(const std::string& key);

class EchoCore {
 public:
  // `igor` may be null (build triggers then start without buildInfo).
  // `senders` are the enabled notification channels. INVALID_ARGUMENT from
  // Create when the time zone is unknown.
  static absl::StatusOr<std::unique_ptr<EchoCore>> Create(
      EchoStore* store, OrcaClient* orca, Front50Client* front50,
      BuildInfoSource* igor,
      std::vector<std::unique_ptr<NotificationSender>> senders, Clock* clock,
      CoreOptions options);
  ~EchoCore();

  // Starts the threads (idempotent).
  void Start();
  // Stops the threads (idempotent); unfinished work stays in the store.
  void Stop();
  // Wakes the delivery and notification workers (NOTIFY arrived).
  void Wake();

  // Stores an event (eventId, details.created filled in).
  absl::StatusOr<InsertResult> PostEvent(Json event,
                                         const std::string& idempotency_key);
  absl::StatusOr<WebhookResult> ReceiveWebhook(
      const IncomingWebhook& webhook, const std::string& idempotency_key);
  // Enqueues a direct notification; the id of its group.
  absl::StatusOr<InsertResult> SendNotification(
      const v1::Notification& notification, const std::string& idempotency_key);
  absl::StatusOr<std::vector<EventRow>> ListEvents(const EventQuery& query);
  std::vector<std::string> NotificationTypes() const;

  // Re-reads the pipelines from front50, swaps the index in and resyncs the
  // schedule.
  absl::StatusOr<SyncCounts> RefreshPipelines();
  // Asks the refresh thread for a reload now (front50 reported a change).
  void RequestRefresh();
  std::vector<ScheduledTriggerInfo> ScheduledTriggers();
  CronValidation ValidateCron(const std::string& expression,
                              const std::string& trigger_id, int count);
  const std::string& time_zone_name() const { return options_.time_zone; }
  bool index_ready();

  // Tests: claims and delivers due events in the calling thread until none
  // is left; returns how many were handled.
  int DeliverPending();
  int SendPendingNotifications();
  // Fires the slots due at the clock's now.
  void RunScheduler();
  // Deletes finished events older than the retention.
  void RunRetention();

 private:
  EchoCore(EchoStore* store, OrcaClient* orca, Front50Client* front50,
           BuildInfoSource* igor,
           std::vector<std::unique_ptr<NotificationSender>> senders,
           Clock* clock, CoreOptions options, absl::TimeZone zone);

  struct Scheduled {
    ScheduledTriggerInfo info;
    std::optional<CronExpression> expr;
    Json trigger;
    std::string params_dump;
    // Due slots whose claim failed (store error): retried by the next runs
    // until the misfire threshold passes.
    std::vector<int64_t> retry_slots;
  };
  // The outcome of one delivery: the executions started, the first transient
  // error (retry the event), the non-retryable errors (recorded) and an error
  // of the event as a whole (counts toward max_attempts).
  struct Delivery {
    Json executions = Json::array();
    absl::Status transient;
    std::vector<std::string> errors;
    absl::Status fatal;
  };

  std::shared_ptr<const TriggerIndex> Index();
  int64_t Backoff(int attempt) const;
  absl::StatusOr<InsertResult> StoreEvent(Json event, const std::string& key,
                                          EventState state);
  // One delivery.
  Delivery Deliver(const EventRow& row);
  // A fresh claim owner: instance id + a uuid.
  std::string ClaimToken() const;
  absl::Status EnqueueNotifications(const std::string& event_id,
                                    const Json& event);
  void DeliverOne(const EventRow& row, const std::string& token);
  void SendOne(const NotificationRow& row, const std::string& token);
  SyncCounts SyncSchedule(const TriggerIndex& index)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(schedule_mu_);
  // False when the slot could not be claimed (store error): retry it.
  bool FireSlot(const Scheduled& s, int64_t slot_ms);

  void WorkerLoop();
  void NotificationLoop();
  void RefreshLoop();
  void SchedulerLoop();

  EchoStore* store_;
  OrcaClient* orca_;
  Front50Client* front50_;
  BuildInfoSource* igor_;
  std::vector<std::unique_ptr<NotificationSender>> senders_;
  Clock* clock_;
  CoreOptions options_;
  absl::TimeZone zone_;
  int clock_listener_ = 0;

  absl::Mutex index_mu_;
  std::shared_ptr<const TriggerIndex> index_ ABSL_GUARDED_BY(index_mu_);

  // Serializes refreshes.
  absl::Mutex refresh_mu_;
  absl::Mutex schedule_mu_;
  std::map<std::string, Scheduled> schedule_ ABSL_GUARDED_BY(schedule_mu_);

  absl::Mutex mu_;
  absl::CondVar wake_cv_;
  int64_t wake_seq_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t sched_seq_ ABSL_GUARDED_BY(mu_) = 0;
  bool refresh_requested_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace gennaker::echo

#endif  // GENNAKER_SERVICES_ECHO_ECHO_CORE_H_
