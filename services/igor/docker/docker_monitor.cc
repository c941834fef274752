#include "services/igor/docker/docker_monitor.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/http/outbound.h"
#include "common/log/log.h"
#include "common/spinnaker/names.h"
#include "common/status/status_macros.h"
#include "services/igor/docker/registry_client.h"

namespace gennaker::igor {
namespace {

using internal::Origin;
using internal::ParseAddress;
using internal::RegistryClient;
using internal::ValidTag;

std::string HashKey(const std::string& account) {
  return absl::StrCat("dockerRegistry:v2:", account);
}
// Marks an account polled once, so that an empty registry's first tags
// later still send events.
std::string PolledKey(const std::string& account) {
  return absl::StrCat("dockerRegistryPolled:", account);
}

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

// A transport or server failure (the registry is down): the whole poll
// fails. Anything else concerns one repository.
bool RegistryDown(const absl::Status& s) {
  return s.code() == absl::StatusCode::kUnavailable ||
         s.code() == absl::StatusCode::kDeadlineExceeded;
}

struct SeenValue {
  std::string digest;
  int64_t seen_at_ms = 0;
  std::string registry;
};

SeenValue ParseSeen(const std::string& text) {
  SeenValue v;
  absl::StatusOr<spinnaker::Json> j = spinnaker::ParseJsonObject(
      text, "a seen docker tag", spinnaker::kStoredJsonLimits);
  if (!j.ok()) return v;
  v.digest = spinnaker::String(*j, "digest");
  v.seen_at_ms = spinnaker::Int(*j, "seenAtMs", 0);
  v.registry = spinnaker::String(*j, "registry");
  return v;
}

std::string SeenText(const std::string& digest, int64_t seen_at_ms,
                     const std::string& registry) {
  spinnaker::Json j = spinnaker::Json::object();
  j["digest"] = digest;
  j["seenAtMs"] = seen_at_ms;
  j["registry"] = registry;
  return spinnaker::Dump(j);
}

class DockerMonitor : public Monitor {
 public:
  DockerMonitor(const v1::DockerRegistryAccount& account, SeenStore* store,
                EventSink* sink, const http::OutboundClient* outbound)
      : account_(account), store_(store), sink_(sink), outbound_(outbound) {
    absl::StatusOr<Origin> origin = ParseAddress(account.address());
    if (origin.ok()) {
      client_ = std::make_unique<RegistryClient>(account, *origin, outbound);
    } else {
      config_error_ = origin.status();
    }
  }

  std::string name() const override {
    return absl::StrCat("docker:", account_.name());
  }

  absl::Status Poll() override {
    GENNAKER_RETURN_IF_ERROR(config_error_);
    if (outbound_ == nullptr) {
      return absl::FailedPreconditionError("no outbound HTTP client");
    }
    const std::string& account = account_.name();
    const std::string& registry = client_->origin().registry;

    // 1. What the registry holds now (nothing is written before all of it
    // is known, so a registry going down mid-poll marks nothing).
    std::vector<std::string> repositories(account_.repositories().begin(),
                                          account_.repositories().end());
    const bool from_catalog = repositories.empty();
    if (from_catalog) {
      GENNAKER_ASSIGN_OR_RETURN(repositories, client_->Catalog());
    }
    std::sort(repositories.begin(), repositories.end());
    repositories.erase(std::unique(repositories.begin(), repositories.end()),
                       repositories.end());
    absl::Status problem;  // the first repository that could not be read
    std::vector<std::pair<std::string, std::string>> found;  // repo, tag
    for (const std::string& repository : repositories) {
      if (!spinnaker::ValidDockerRepository(repository)) {
        SPDLOG_WARN("event=docker_repository_invalid account={} repository={}",
                    account, repository.substr(0, 256));
        if (problem.ok()) {
          problem = absl::InvalidArgumentError(
              absl::StrCat("'", repository.substr(0, 256),
                           "' is not a valid repository name"));
        }
        continue;
      }
      absl::StatusOr<std::vector<std::string>> tags = client_->Tags(repository);
      if (!tags.ok()) {
        if (RegistryDown(tags.status())) return tags.status();
        // A repository the catalog lists but that has no tags any more is
        // not a problem; one configured but unreadable is.
        if (!(from_catalog && absl::IsNotFound(tags.status()))) {
          SPDLOG_WARN("event=docker_tags_failed account={} repository={} {}",
                      account, repository, tags.status());
          if (problem.ok() || absl::IsNotFound(problem)) {
            problem = tags.status();
          }
        }
        continue;
      }
      for (const std::string& tag : *tags) {
        if (!ValidTag(tag)) continue;
        found.emplace_back(repository, tag);
      }
    }

    GENNAKER_ASSIGN_OR_RETURN(auto seen, store_->HashGetAll(HashKey(account)));
    GENNAKER_ASSIGN_OR_RETURN(std::optional<std::string> polled,
                              store_->Get(PolledKey(account)));
    // Spinnaker does not replay a registry's history: the first poll of an
    // account only remembers.
    // Only the marker counts (written after every tag of the first poll is
    // remembered): a first poll interrupted midway leaves some tags seen,
    // and the next poll must not take the rest for new ones.
    const bool first_poll = !polled.has_value();
    // A repository that exists but could not be read (credentials, policy)
    // on the first poll would later replay its history: remember nothing
    // until every repository can be read (missing ones aside).
    if (first_poll && !problem.ok() && !absl::IsNotFound(problem) &&
        !absl::IsInvalidArgument(problem)) {
      return problem;
    }

    // Digests: of every tag with track_digests, else of new tags only (for
    // their events).
    struct Item {
      std::string repository, tag, digest;
      std::optional<SeenValue> before;
    };
    std::vector<Item> items;
    for (auto& [repository, tag] : found) {
      Item item{repository, tag, "", std::nullopt};
      auto it = seen.find(absl::StrCat(repository, ":", tag));
      if (it != seen.end()) item.before = ParseSeen(it->second);
      const bool want_digest =
          account_.track_digests() || (!item.before.has_value() && !first_poll);
      if (!item.before.has_value() || want_digest) {
        if (want_digest) {
          absl::StatusOr<std::string> digest = client_->Digest(repository, tag);
          if (!digest.ok()) {
            if (RegistryDown(digest.status())) return digest.status();
            // Deleted since it was listed: next poll will tell.
            if (absl::IsNotFound(digest.status())) continue;
            if (first_poll) return digest.status();
            if (problem.ok()) problem = digest.status();
            continue;
          }
          item.digest = *digest;
        }
        items.push_back(std::move(item));
      }
    }

    // 2. Events, each before what it reports is remembered.
    int events = 0;
    const int64_t now = NowMs();
    for (const Item& item : items) {
      const std::string field = absl::StrCat(item.repository, ":", item.tag);
      bool send = false;
      if (!item.before.has_value()) {
        send = !first_poll;
      } else {
        if (item.digest.empty() || item.digest == item.before->digest) {
          continue;
        }
        // A known tag without a remembered digest only learns it.
        send = !item.before->digest.empty();
      }
      if (send) {
        GENNAKER_RETURN_IF_ERROR(
            sink_->Post(Event(registry, item.repository, item.tag, item.digest),
                        absl::StrCat("docker:", account, ":", item.repository,
                                     ":", item.tag, ":", item.digest)));
        ++events;
      }
      GENNAKER_RETURN_IF_ERROR(store_->HashSet(
          HashKey(account), field, SeenText(item.digest, now, registry)));
    }
    if (!polled.has_value()) {
      GENNAKER_RETURN_IF_ERROR(store_->Set(
          PolledKey(account), absl::StrCat(now), std::chrono::milliseconds(0)));
    }
    if (events > 0 || first_poll) {
      SPDLOG_INFO(
          "event=docker_polled account={} repositories={} tags={} "
          "events={} first_poll={}",
          account, repositories.size(), found.size(), events, first_poll);
    }
    return problem;
  }

 private:
  spinnaker::Json Event(const std::string& registry,
                        const std::string& repository, const std::string& tag,
                        const std::string& digest) const {
    const std::string name = absl::StrCat(registry, "/", repository);
    spinnaker::Json artifact = {{"type", "docker/image"},
                                {"name", name},
                                {"version", tag},
                                {"reference", absl::StrCat(name, ":", tag)}};
    spinnaker::Json content = {{"account", account_.name()},
                               {"registry", registry},
                               {"repository", repository},
                               {"tag", tag},
                               {"digest", digest}};
    content["artifacts"] = spinnaker::Json::array({artifact});
    return spinnaker::Json{
        {"details", {{"type", "docker"}, {"source", "igor"}}},
        {"content", std::move(content)}};
  }

  const v1::DockerRegistryAccount account_;
  SeenStore* const store_;
  EventSink* const sink_;
  const http::OutboundClient* const outbound_;
  std::unique_ptr<RegistryClient> client_;
  absl::Status config_error_;
};

}  // namespace

std::unique_ptr<Monitor> NewDockerMonitor(
    const v1::DockerRegistryAccount& account, SeenStore* store, EventSink* sink,
    const http::OutboundClient* outbound) {
  return std::make_unique<DockerMonitor>(account, store, sink, outbound);
}

absl::StatusOr<std::vector<v1::DockerTag>> SeenDockerTags(
    SeenStore* store, const std::string& account,
    const std::string& repository) {
  std::vector<std::string> keys;
  if (account.empty()) {
    GENNAKER_ASSIGN_OR_RETURN(keys, store->Scan("dockerRegistry:v2:*"));
  } else {
    keys.push_back(HashKey(account));
  }
  const std::string key_prefix = "dockerRegistry:v2:";
  std::vector<v1::DockerTag> out;
  for (const std::string& key : keys) {
    GENNAKER_ASSIGN_OR_RETURN(auto fields, store->HashGetAll(key));
    for (const auto& [field, value] : fields) {
      // Repository names hold no ':', tags neither.
      const size_t colon = field.find(':');
      if (colon == std::string::npos) continue;
      v1::DockerTag tag;
      tag.set_account(key.substr(key_prefix.size()));
      tag.set_repository(field.substr(0, colon));
      if (!repository.empty() && tag.repository() != repository) continue;
      tag.set_tag(field.substr(colon + 1));
      const SeenValue v = ParseSeen(value);
      tag.set_digest(v.digest);
      tag.set_seen_at_ms(v.seen_at_ms);
      tag.set_registry(v.registry);
      out.push_back(std::move(tag));
    }
  }
  std::sort(out.begin(), out.end(),
            [](const v1::DockerTag& a, const v1::DockerTag& b) {
              if (a.seen_at_ms() != b.seen_at_ms()) {
                return a.seen_at_ms() > b.seen_at_ms();
              }
              if (a.account() != b.account()) return a.account() < b.account();
              if (a.repository() != b.repository()) {
                return a.repository() < b.repository();
              }
              return a.tag() < b.tag();
            });
  return out;
}

}  // namespace gennaker::igor
