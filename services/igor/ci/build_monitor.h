// The build monitor of one CI master (Spinnaker's JenkinsBuildMonitor
// cursor algorithm, used for Travis too): each poll lists the master's jobs
// with their newest build and, per job,
//   1. reads the cursor: field lastPollCycleTimestamp of the SeenStore hash
//      "<master>:<JOB-UPPER>:<job>";
//   2. skips the job when the cursor equals the newest build's timestamp;
//   3. without a cursor, on the master's first poll (the SeenStore key
//      "<master>:firstPollDone" is absent) and without handle_first_builds,
//      only records it (a new igor does not replay a master's history); a
//      job first seen on a later poll is new, and its builds are reported;
//   4. else reads the builds with cursor < timestamp <= newest, split into
//      completed and running;
// then, when the builds found on the whole master are no more than
// item_upper_threshold (else the cycle fails: something is wrong), commits
// each job: one "build" event per completed build not yet marked POSTED in
// the hash "<master>:<JOB-UPPER>:<job>:lastPollCycleTimestamp:<cursor>"
// (event first, then the marker: a crash in between repeats the event, which
// echo drops by its idempotency key), and advances the cursor (dropping the
// old markers) only when none of the job's builds is still running.
// Event: {details:{type:"build", source:"igor"},
//         content:{master, type:"jenkins"|"travis",
//                  project:{name:<job>, lastBuild:{building:false, number,
//                           result, timestamp, duration, url, artifacts}}}}
// with idempotency key "build:<master>:<job>:<number>".
#ifndef GENNAKER_SERVICES_IGOR_CI_BUILD_MONITOR_H_
#define GENNAKER_SERVICES_IGOR_CI_BUILD_MONITOR_H_

#include <memory>
#include <string>

#include "common/spinnaker/json.h"
#include "services/igor/ci/build_service.h"
#include "services/igor/polling.h"

namespace gennaker::igor {

struct BuildMonitorOptions {
  bool handle_first_builds = false;
  // Polls still run and cursors move; nothing is sent.
  bool events_disabled = false;
  int item_upper_threshold = 1000;
};

// Name "jenkins:<master>" or "travis:<master>". Pointers are not owned.
std::unique_ptr<Monitor> NewBuildMonitor(BuildService* service,
                                         SeenStore* store, EventSink* sink,
                                         BuildMonitorOptions options);

// The event for a completed build (exposed for tests).
spinnaker::Json BuildEvent(const std::string& master, v1::BuildServiceType type,
                           const v1::Build& build);

}  // namespace gennaker::igor

#endif  // GENNAKER_SERVICES_IGOR_CI_BUILD_MONITOR_H_
