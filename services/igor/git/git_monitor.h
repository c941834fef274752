// Polling a git repository's branches for new commits, for teams whose git
// server cannot send webhooks. Each poll runs `git ls-remote --heads <url>`
// (a child process with a timeout, no shell, GIT_TERMINAL_PROMPT=0) and
// compares each watched branch's head with the one remembered in the
// SeenStore hash "git:<source>:<project>:<slug>" (field branch, value sha).
// A changed head sends the event a push webhook would have made:
//   {details:{type:"git", source:<source>},
//    content:{repoProject:<project>, slug:<slug>, hash:<sha>,
//             branch:<branch>, action:"push:push"}}
// The first poll of a repository only remembers the heads.
#ifndef GENNAKER_SERVICES_IGOR_GIT_GIT_MONITOR_H_
#define GENNAKER_SERVICES_IGOR_GIT_GIT_MONITOR_H_

#include <memory>

#include "gennaker/igor/v1/config.pb.h"
#include "services/igor/polling.h"

namespace gennaker::igor {

// Name "git:<source>/<project>/<slug>". Pointers are not owned.
std::unique_ptr<Monitor> NewGitMonitor(const v1::GitRepository& repository,
                                       SeenStore* store, EventSink* sink);

}  // namespace gennaker::igor

#endif  // GENNAKER_SERVICES_IGOR_GIT_GIT_MONITOR_H_
