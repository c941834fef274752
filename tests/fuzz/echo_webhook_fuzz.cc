// libFuzzer target for echo's webhook intake and trigger matching: what
// happens to a body anyone can POST to gate's /webhooks/{type}/{source}.
//
// Input: the first line is "<type> <source>" (e.g. "git github",
// "webhook hook"), the second a header value used as X-Hub-Signature-256
// and X-Gitlab-Token, the rest the body.
//
// Covered: BuildWebhookEvent (services/echo/triggers/events.cc: the GitHub,
// GitLab, Bitbucket, Stash and generic shapes, artifact extraction),
// CheckGitSignature, and TriggerIndex::Match / GitSecretsFor over a fixed
// index of git, webhook (payload constraints with JSON paths and regexes),
// jenkins, docker and pipeline triggers (trigger_index.cc,
// trigger_rules.cc). Built and run by scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "services/echo/triggers/events.h"
#include "services/echo/triggers/trigger_index.h"

namespace gennaker::echo {
namespace {

std::vector<Json> Pipelines() {
  auto pipeline = [](const std::string& id, Json trigger) {
    return Json{{"id", id},
                {"application", "app"},
                {"name", id},
                {"triggers", Json::array({std::move(trigger)})}};
  };
  return {
      pipeline("git", {{"type", "git"},
                       {"enabled", true},
                       {"source", "github"},
                       {"project", "acme"},
                       {"slug", "web"},
                       {"branch", "release-.*"},
                       {"secret", "s3cret"}}),
      pipeline("gitlab", {{"type", "git"},
                          {"enabled", true},
                          {"source", "gitlab"},
                          {"project", "acme"},
                          {"slug", "web"}}),
      pipeline("hook", {{"type", "webhook"},
                        {"enabled", true},
                        {"source", "hook"},
                        {"payloadConstraints",
                         {{"env", "^prod$"},
                          {"$.a.b[*].c", "x+y"},
                          {"$..deep", "(a|b)*c"}}}}),
      pipeline("jenkins", {{"type", "jenkins"},
                           {"enabled", true},
                           {"master", "ci"},
                           {"job", "app"}}),
      pipeline("docker", {{"type", "docker"},
                          {"enabled", true},
                          {"account", "reg"},
                          {"repository", "acme/web"},
                          {"tag", "v.*"}}),
      pipeline("child", {{"type", "pipeline"},
                         {"enabled", true},
                         {"pipeline", "git"},
                         {"status", {"successful", "failed"}}}),
  };
}

}  // namespace
}  // namespace gennaker::echo

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gennaker::echo;  // NOLINT: a fuzz entry point
  static const TriggerIndex* const kIndex =
      new TriggerIndex(Pipelines(), MatchOptions{"shared"});
  absl::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t first = in.find('\n');
  if (first == absl::string_view::npos) return 0;
  absl::string_view head = in.substr(0, first);
  in.remove_prefix(first + 1);
  const size_t second = in.find('\n');
  if (second == absl::string_view::npos) return 0;
  const std::string signature(in.substr(0, second));
  in.remove_prefix(second + 1);
  IncomingWebhook w;
  const size_t space = head.find(' ');
  w.type = std::string(head.substr(0, space));
  if (space != absl::string_view::npos) {
    w.source = std::string(head.substr(space + 1));
  }
  w.raw_body = std::string(in);
  w.headers = {{"X-GitHub-Event", "push"},
               {"X-Hub-Signature-256", signature},
               {"X-Gitlab-Token", signature},
               {"X-Event-Key", "repo:push"}};
  absl::StatusOr<WebhookEvent> built = BuildWebhookEvent(w);
  if (!built.ok()) return 0;
  (void)CheckGitSignature(built->event, "s3cret");
  (void)CheckGitSignature(built->event, "");
  std::vector<std::string> secrets;
  (void)kIndex->GitSecretsFor(built->event, &secrets);
  for (const TriggerMatch& m : kIndex->Match(built->event)) {
    (void)gennaker::spinnaker::Dump(m.trigger);
  }
  // The same body as an internal event of other types.
  Json event = built->event;
  for (const char* type : {"build", "docker", "orca:pipeline:complete"}) {
    event["details"]["type"] = type;
    (void)kIndex->Match(event);
  }
  return 0;
}
