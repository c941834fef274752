// Polling a git repository's branches for new commits, for teams whose git
// server cannot send webhooks. Each poll runs `git ls-remote --heads <url>`
// (/usr/bin/git or $GENNAKER_GIT, a child process in its own process group
// with a 60 s timeout, no shell, stdin /dev/null, GIT_TERMINAL_PROMPT=0,
// ssh in BatchMode unless GIT_SSH_COMMAND is set, transports limited to
// file, git, http, https and ssh: no ext::) and compares each watched
// branch's head with the one remembered in the SeenStore hash
// "git:<source>:<project>:<slug>" (field branch, value sha). A changed head,
// or a new branch, sends the event a push webhook would have made:
//   {details:{type:"git", source:<source>},
//    content:{repoProject:<project>, slug:<slug>, hash:<sha>,
//             branch:<branch>, action:"push:push"}}
// with idempotency key "git:<source>:<project>:<slug>:<branch>:<sha>", sent
// before the head is remembered. The first poll of a repository only
// remembers the heads (the key "gitPolled:<source>:<project>:<slug>" marks
// it done, so an empty repository's first push is still an event; it is
// written after every head, so an interrupted first poll is redone, not
// replayed). Credentials in an http(s) URL ("https://user:token@host/...")
// are taken out of it: git gets the bare URL on its command line and the
// credentials as an "Authorization: Basic" http.extraHeader through its
// environment (GIT_CONFIG_COUNT/KEY_0/VALUE_0), never in argv or logs.
// `branches` are exact branch names ("main", "release/1.0"); empty: all.
// Errors: a URL starting with '-' or holding control characters is
// INVALID_ARGUMENT; git failing (unreachable, not found, auth) is
// UNAVAILABLE with git's last message line, URL credentials redacted; a
// timeout is DEADLINE_EXCEEDED. Nothing is remembered then.
// The outbound HTTP policy does not apply to git's own connections.
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
