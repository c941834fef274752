#include "services/echo/triggers/events.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cctype>
#include <string>
#include <utility>
#include <vector>

#include "common/testing/status_matchers.h"

namespace gennaker::echo {
namespace {

using ::gennaker::testing::IsOk;
using ::gennaker::testing::StatusIs;
using ::testing::HasSubstr;

std::string HmacHex(const EVP_MD* md, const std::string& key,
                    const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(md, key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out,
       &len);
  static const char* kDigits = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex.push_back(kDigits[out[i] >> 4]);
    hex.push_back(kDigits[out[i] & 0xf]);
  }
  return hex;
}

// A GitHub push as GitHub sends it (trimmed of fields nobody reads).
const char kGithubPush[] = R"({
  "ref": "refs/heads/main",
  "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
  "after": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
  "created": false, "deleted": false, "forced": false,
  "base_ref": null,
  "compare": "https://github.com/octocat/Hello-World/compare/6113728f27ae...0d1a26e67d8f",
  "commits": [
    {"id": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
     "message": "Deploy the new service",
     "timestamp": "2026-11-30T10:15:00Z",
     "author": {"name": "Mona", "email": "mona@example.com", "username": "mona"},
     "added": ["deploy/app.yaml"],
     "removed": ["old.txt"],
     "modified": ["README.md", "deploy/app.yaml"]},
    {"id": "1e2b3c", "added": ["../../etc/passwd", "a//b"],
     "removed": [], "modified": ["dir with space/f#1.txt"]}
  ],
  "head_commit": {"id": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"},
  "repository": {
    "id": 1296269, "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5",
    "name": "Hello-World", "full_name": "octocat/Hello-World",
    "private": false,
    "owner": {"name": "octocat", "email": "octocat@github.com",
              "login": "octocat", "id": 583231, "type": "User"},
    "html_url": "https://github.com/octocat/Hello-World",
    "contents_url": "https://api.github.com/repos/octocat/Hello-World/contents/{+path}",
    "default_branch": "main"
  },
  "pusher": {"name": "mona", "email": "mona@example.com"},
  "sender": {"login": "mona", "id": 1}
})";

IncomingWebhook Github(
    std::string body,
    std::vector<std::pair<std::string, std::string>> extra = {}) {
  IncomingWebhook w;
  w.type = "git";
  w.source = "github";
  w.raw_body = std::move(body);
  w.headers = {{"X-GitHub-Event", "push"},
               {"X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"},
               {"Content-Type", "application/json"},
               {"Authorization", "Bearer not-for-storage"}};
  for (auto& h : extra) w.headers.push_back(std::move(h));
  return w;
}

TEST(BuildWebhookEventTest, GithubPush) {
  auto ev = BuildWebhookEvent(Github(kGithubPush));
  ASSERT_THAT(ev, IsOk());
  EXPECT_TRUE(ev->processed);
  const Json& e = ev->event;
  EXPECT_EQ(e["details"]["type"], "git");
  EXPECT_EQ(e["details"]["source"], "github");
  EXPECT_FALSE(e["details"]["created"].get<std::string>().empty());
  const Json& headers = e["details"]["requestHeaders"];
  EXPECT_EQ(headers["x-github-event"], Json::array({"push"}));
  EXPECT_FALSE(headers.contains("authorization"));
  EXPECT_FALSE(headers.contains("Authorization"));
  EXPECT_EQ(e["rawContent"], kGithubPush);
  const Json& c = e["content"];
  EXPECT_EQ(c["repoProject"], "octocat");
  EXPECT_EQ(c["slug"], "Hello-World");
  EXPECT_EQ(c["hash"], "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c");
  EXPECT_EQ(c["branch"], "main");
  EXPECT_EQ(c["action"], "push:push");
  EXPECT_EQ(e["payload"]["ref"], "refs/heads/main");
  EXPECT_FALSE(e["payload"].contains("repoProject"));

  // Added and modified files, once each; unsafe paths dropped.
  const Json& a = c["artifacts"];
  ASSERT_EQ(a.size(), 3u) << a.dump();
  EXPECT_EQ(a[0]["type"], "github/file");
  EXPECT_EQ(a[0]["name"], "deploy/app.yaml");
  EXPECT_EQ(a[0]["version"], "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c");
  EXPECT_EQ(a[0]["reference"],
            "https://api.github.com/repos/octocat/Hello-World/contents/"
            "deploy/app.yaml");
  EXPECT_EQ(a[1]["name"], "README.md");
  EXPECT_EQ(a[2]["reference"],
            "https://api.github.com/repos/octocat/Hello-World/contents/"
            "dir%20with%20space/f%231.txt");
}

TEST(BuildWebhookEventTest, GithubPingIsNotProcessed) {
  auto ev = BuildWebhookEvent(Github(
      R"({"zen": "Design for failure.", "hook_id": 109948940,
          "hook": {"type": "Repository", "id": 109948940, "active": true},
          "repository": {"full_name": "octocat/Hello-World"}})"));
  ASSERT_THAT(ev, IsOk());
  EXPECT_FALSE(ev->processed);
}

TEST(BuildWebhookEventTest, GithubPullRequest) {
  auto ev = BuildWebhookEvent(Github(R"({
    "action": "opened", "number": 42,
    "pull_request": {"number": 42, "state": "open", "title": "Add feature",
                     "draft": false,
                     "head": {"ref": "feature/x", "sha": "abc123"},
                     "base": {"ref": "main", "sha": "def456"}},
    "repository": {"name": "Hello-World", "full_name": "octocat/Hello-World",
                   "owner": {"login": "octocat"}}})"));
  ASSERT_THAT(ev, IsOk());
  const Json& c = ev->event["content"];
  EXPECT_EQ(c["action"], "pull_request:opened");
  EXPECT_EQ(c["repoProject"], "octocat");
  EXPECT_EQ(c["branch"], "feature/x");
  EXPECT_EQ(c["hash"], "abc123");
  EXPECT_EQ(c["number"], "42");
  EXPECT_EQ(c["draft"], "false");
  EXPECT_EQ(c["state"], "open");
  EXPECT_EQ(c["title"], "Add feature");
}

TEST(BuildWebhookEventTest, GithubBranchCreate) {
  auto w = Github(R"({"ref": "feature/y", "ref_type": "branch",
      "repository": {"name": "r", "owner": {"login": "o"}}})");
  w.headers[0].second = "create";
  auto ev = BuildWebhookEvent(w);
  ASSERT_THAT(ev, IsOk());
  EXPECT_EQ(ev->event["content"]["action"], "branch:create");
  EXPECT_EQ(ev->event["content"]["branch"], "feature/y");
}

TEST(BuildWebhookEventTest, GitBodyArtifactsAreIgnored) {
  Json body = Json::parse(kGithubPush);
  body["repository"]["contents_url"] = "https://evil.example/x?q={+path}";
  body["artifacts"] = Json::array(
      {{{"type", "http/file"}, {"reference", "http://169.254.169.254/"}}});
  auto ev = BuildWebhookEvent(Github(body.dump()));
  ASSERT_THAT(ev, IsOk());
  // Not the body's, and none from a contents_url of the wrong shape.
  EXPECT_EQ(ev->event["content"]["artifacts"], Json::array());
  EXPECT_FALSE(ev->event["payload"].contains("artifacts"));
}

TEST(BuildWebhookEventTest, GitlabPush) {
  IncomingWebhook w;
  w.type = "git";
  w.source = "gitlab";
  w.headers = {{"X-Gitlab-Event", "Push Hook"},
               {"X-Gitlab-Token", "s3cret-token"}};
  w.raw_body = R"({
    "object_kind": "push", "event_name": "push",
    "before": "95790bf891e76fee5e1747ab589903a6a1f80f22",
    "after": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
    "ref": "refs/heads/master",
    "checkout_sha": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
    "user_name": "John Smith", "project_id": 15,
    "project": {"id": 15, "name": "Diaspora", "namespace": "Mike",
                "path_with_namespace": "mike/diaspora",
                "homepage": "http://example.com/mike/diaspora",
                "http_url": "http://example.com/mike/diaspora.git",
                "web_url": "http://example.com/mike/diaspora"},
    "commits": [{"id": "b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327",
                 "added": ["CHANGELOG"], "modified": ["app/controller/app.rb"],
                 "removed": []}],
    "total_commits_count": 1})";
  auto ev = BuildWebhookEvent(w);
  ASSERT_THAT(ev, IsOk());
  const Json& c = ev->event["content"];
  EXPECT_EQ(c["repoProject"], "Mike");
  EXPECT_EQ(c["slug"], "Diaspora");
  EXPECT_EQ(c["hash"], "da1560886d4f094c3e6c9ef40349f7d38b5d27d7");
  EXPECT_EQ(c["branch"], "master");
  EXPECT_EQ(c["action"], "push");
  ASSERT_EQ(c["artifacts"].size(), 2u);
  EXPECT_EQ(c["artifacts"][1]["type"], "gitlab/file");
  EXPECT_EQ(c["artifacts"][1]["reference"],
            "http://example.com/api/v4/projects/mike%2Fdiaspora/repository/"
            "files/app%2Fcontroller%2Fapp.rb/raw");
  // The token is the secret itself: neither it nor a digest of it is kept.
  const Json& headers = ev->event["details"]["requestHeaders"];
  EXPECT_FALSE(headers.contains("x-gitlab-token"));
  EXPECT_EQ(ev->event.dump().find("s3cret-token"), std::string::npos);
  EXPECT_EQ(ev->event.dump().find("sha256:"), std::string::npos);
  EXPECT_EQ(CheckGitSignature(ev->event, "s3cret-token"),
            SignatureCheck::kValid);
  EXPECT_EQ(CheckGitSignature(ev->event, "other"), SignatureCheck::kInvalid);
  EXPECT_EQ(CheckGitSignature(ev->event, ""), SignatureCheck::kUnexpected);
}

const char kGitlabMinimal[] =
    R"({"ref": "refs/heads/a", "object_kind": "push",
        "project": {"name": "p", "namespace": "n"}})";

TEST(BuildWebhookEventTest, GitlabStoredTokenProofIsNotAPassword) {
  IncomingWebhook w{
      "git", "gitlab", kGitlabMinimal, {{"X-Gitlab-Token", "tok"}}};
  auto ev = BuildWebhookEvent(w);
  ASSERT_THAT(ev, IsOk());
  const Json stored = ev->event;
  ASSERT_EQ(CheckGitSignature(stored, "tok"), SignatureCheck::kValid);
  // Whatever is stored, sent back as the token, proves nothing.
  for (const auto& [name, values] :
       stored["details"]["requestHeaders"].items()) {
    for (const Json& v : values) {
      IncomingWebhook replay = w;
      replay.headers = {{"X-Gitlab-Token", v.get<std::string>()}};
      auto again = BuildWebhookEvent(replay);
      ASSERT_THAT(again, IsOk());
      EXPECT_EQ(CheckGitSignature(again->event, "tok"),
                SignatureCheck::kInvalid)
          << name;
    }
  }
  // The old stored digest form is no longer accepted.
  Json digest = stored;
  digest["details"]["requestHeaders"] = {
      {"x-gitlab-token",
       {"sha256:"
        "2a8a8b2f9f52e3ea8b3e1ab8b3ef8a47d4d7c0ea1f5b0b91bde0d6b7b5b7bb5c"}}};
  EXPECT_EQ(CheckGitSignature(digest, "tok"), SignatureCheck::kMissing);
  // Nor a raw token put in an event's JSON.
  Json raw = stored;
  raw["details"]["requestHeaders"] = {{"x-gitlab-token", {"tok"}}};
  EXPECT_EQ(CheckGitSignature(raw, "tok"), SignatureCheck::kMissing);
  // The derived header sent by a caller is dropped.
  IncomingWebhook forged{"git",
                         "gitlab",
                         kGitlabMinimal,
                         {{"X-Gennaker-Gitlab-Token-Hmac", "sha256=00"}}};
  auto f = BuildWebhookEvent(forged);
  ASSERT_THAT(f, IsOk());
  EXPECT_EQ(CheckGitSignature(f->event, "tok"), SignatureCheck::kMissing);
  // The proof is bound to the body.
  Json other_body = stored;
  other_body["rawContent"] = "{}";
  EXPECT_EQ(CheckGitSignature(other_body, "tok"), SignatureCheck::kInvalid);
}

TEST(BuildWebhookEventTest, GitlabArtifactsOnlyFromTheProjectsOwnHost) {
  auto artifacts = [](Json project) {
    Json body = {{"ref", "refs/heads/main"},
                 {"after", "abc"},
                 {"project", std::move(project)},
                 {"commits", {{{"added", {"f.yaml"}}}}}};
    IncomingWebhook w{"git", "gitlab", body.dump(), {}};
    auto ev = BuildWebhookEvent(w);
    EXPECT_THAT(ev, IsOk());
    return ev.ok() ? ev->event["content"]["artifacts"] : Json();
  };
  Json good = {{"name", "p"},
               {"namespace", "g"},
               {"path_with_namespace", "g/p"},
               {"web_url", "https://gitlab.example.com/g/p"},
               {"http_url", "https://gitlab.example.com/g/p.git"}};
  Json a = artifacts(good);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0]["reference"],
            "https://gitlab.example.com/api/v4/projects/g%2Fp/repository/"
            "files/f.yaml/raw");
  Json other_host = good;
  other_host["web_url"] = "https://evil.example/g/p";
  other_host["homepage"] = "https://evil.example/g/p";
  EXPECT_EQ(artifacts(other_host), Json::array());
  Json no_clone_url = good;
  no_clone_url.erase("http_url");
  EXPECT_EQ(artifacts(no_clone_url), Json::array());
  Json other_path = good;
  other_path["web_url"] = "https://gitlab.example.com/x/g/p";
  EXPECT_EQ(artifacts(other_path), Json::array());
}

TEST(BuildWebhookEventTest, GithubArtifactsOnlyAgainstApiGithubCom) {
  Json body = Json::parse(kGithubPush);
  body["repository"]["contents_url"] =
      "https://evil.example/repos/octocat/Hello-World/contents/{+path}";
  auto ev = BuildWebhookEvent(Github(body.dump()));
  ASSERT_THAT(ev, IsOk());
  EXPECT_EQ(ev->event["content"]["artifacts"], Json::array());
  body["repository"]["contents_url"] =
      "https://api.github.com/repos/someone/else/contents/{+path}";
  ev = BuildWebhookEvent(Github(body.dump()));
  ASSERT_THAT(ev, IsOk());
  EXPECT_EQ(ev->event["content"]["artifacts"], Json::array());
}

TEST(BuildWebhookEventTest, EmptyBodyStillHasRawContent) {
  IncomingWebhook w{"git", "bitbucket", "", {}};
  auto ev = BuildWebhookEvent(w);
  ASSERT_THAT(ev, IsOk());
  ASSERT_TRUE(ev->event.contains("rawContent"));
  EXPECT_EQ(ev->event["rawContent"], "");
}

TEST(BuildWebhookEventTest, GitlabWithoutProjectIsInvalid) {
  IncomingWebhook w{"git", "gitlab", R"({"object_kind": "push"})", {}};
  EXPECT_THAT(BuildWebhookEvent(w), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("project")));
}

const char kBitbucketCloudPush[] = R"({
  "actor": {"display_name": "Emma", "type": "user"},
  "repository": {"type": "repository", "full_name": "team/service-a",
                 "name": "service-a", "owner": {"username": "team"},
                 "project": {"key": "PROJ"}},
  "push": {"changes": [{
    "new": {"type": "branch", "name": "develop",
            "target": {"type": "commit", "hash": "709d658dc5b6d6afcd46049c2f332ee3f515a67d"}},
    "old": {"type": "branch", "name": "develop"},
    "created": false, "forced": false, "closed": false,
    "commits": [{"hash": "709d658dc5b6d6afcd46049c2f332ee3f515a67d",
                 "type": "commit", "message": "Fix"}]}]}})";

TEST(BuildWebhookEventTest, BitbucketCloudPush) {
  IncomingWebhook w{
      "git",
      "bitbucket",
      kBitbucketCloudPush,
      {{"X-Event-Key", "repo:push"}, {"X-Request-UUID", "b5b2f6a4"}}};
  auto ev = BuildWebhookEvent(w);
  ASSERT_THAT(ev, IsOk());
  EXPECT_TRUE(ev->processed);
  const Json& c = ev->event["content"];
  EXPECT_EQ(c["event_type"], "repo:push");
  EXPECT_FALSE(ev->event["payload"].contains("event_type"));
  EXPECT_EQ(c["repoProject"], "team");
  EXPECT_EQ(c["slug"], "team/service-a");
  EXPECT_EQ(c["branch"], "develop");
  EXPECT_EQ(c["hash"], "709d658dc5b6d6afcd46049c2f332ee3f515a67d");
  EXPECT_EQ(c["action"], "repo:push");
}

TEST(BuildWebhookEventTest, BitbucketCloudPushWithoutCommitsUsesTarget) {
  Json body = Json::parse(kBitbucketCloudPush);
  body["push"]["changes"][0].erase("commits");
  IncomingWebhook w{
      "git", "bitbucket", body.dump(), {{"X-Event-Key", "repo:push"}}};
  auto ev = BuildWebhookEvent(w);
  ASSERT_THAT(ev, IsOk());
  EXPECT_EQ(ev->event["content"]["hash"],
            "709d658dc5b6d6afcd46049c2f332ee3f515a67d");
}

TEST(BuildWebhookEventTest, BitbucketServerRefsChangedAndDeletion) {
  const char* body = R"({
    "eventKey": "repo:refs_changed", "date": "2026-11-30T10:00:00+0000",
    "actor": {"name": "admin"},
    "repository": {"slug": "repository", "id": 84, "name": "repository",
                   "project": {"key": "PROJ", "id": 84, "name": "project"}},
    "changes": [{"ref": {"id": "refs/heads/master", "displayId": "master",
                         "type": "BRANCH"},
                 "refId": "refs/heads/master",
                 "fromHash": "ecddabb624f6f5ba43816f5926e580a5f680a932",
                 "toHash": "178864a7d521b6f5e720b386b2c2b0ef8563e0dc",
                 "type": "UPDATE"}]})";
  IncomingWebhook w{
      "git", "bitbucket", body, {{"X-Event-Key", "repo:refs_changed"}}};
  auto ev = BuildWebhookEvent(w);
  ASSERT_THAT(ev, IsOk());
  const Json& c = ev->event["content"];
  EXPECT_EQ(c["repoProject"], "PROJ");
  EXPECT_EQ(c["slug"], "repository");
  EXPECT_EQ(c["branch"], "master");
  EXPECT_EQ(c["hash"], "178864a7d521b6f5e720b386b2c2b0ef8563e0dc");
  EXPECT_TRUE(ev->processed);

  Json deleted = Json::parse(body);
  deleted["changes"][0]["toHash"] = "0000000000000000000000000000000000000000";
  w.raw_body = deleted.dump();
  ev = BuildWebhookEvent(w);
  ASSERT_THAT(ev, IsOk());
  EXPECT_FALSE(ev->processed);
}

TEST(BuildWebhookEventTest, BitbucketPingIsNotProcessed) {
  IncomingWebhook w{"git", "bitbucket", "", {}};
  auto ev = BuildWebhookEvent(w);
  ASSERT_THAT(ev, IsOk());
  EXPECT_FALSE(ev->processed);
}

TEST(BuildWebhookEventTest, StashPush) {
  IncomingWebhook w{"git",
                    "stash",
                    R"({
    "repository": {"slug": "my-repo", "project": {"key": "ABC"}},
    "refChanges": [{"refId": "refs/heads/release", "fromHash": "a",
                    "toHash": "f00dfeed", "type": "UPDATE"}]})",
                    {}};
  auto ev = BuildWebhookEvent(w);
  ASSERT_THAT(ev, IsOk());
  const Json& c = ev->event["content"];
  EXPECT_EQ(c["repoProject"], "ABC");
  EXPECT_EQ(c["slug"], "my-repo");
  EXPECT_EQ(c["branch"], "release");
  EXPECT_EQ(c["hash"], "f00dfeed");
  EXPECT_EQ(c["action"], "");

  w.raw_body = R"({"repository": {"slug": "x"}})";
  EXPECT_THAT(BuildWebhookEvent(w),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(BuildWebhookEventTest, GiteaPushAndSignature) {
  std::string body = R"({"ref": "refs/heads/main", "after": "cafe",
      "repository": {"name": "svc", "full_name": "acme/svc",
                     "owner": {"login": "acme"}},
      "commits": []})";
  IncomingWebhook w{"git",
                    "gitea",
                    body,
                    {{"X-Gitea-Signature", HmacHex(EVP_sha256(), "k", body)}}};
  auto ev = BuildWebhookEvent(w);
  ASSERT_THAT(ev, IsOk());
  EXPECT_EQ(ev->event["content"]["repoProject"], "acme");
  EXPECT_EQ(ev->event["content"]["action"], "push");
  EXPECT_EQ(CheckGitSignature(ev->event, "k"), SignatureCheck::kValid);
  EXPECT_EQ(CheckGitSignature(ev->event, "j"), SignatureCheck::kInvalid);
}

TEST(BuildWebhookEventTest, GenericWebhookWithParametersAndArtifacts) {
  IncomingWebhook w;
  w.type = "webhook";
  w.source = "deploy-hook";
  w.raw_body = R"({
    "parameters": {"env": "prod", "version": "1.4.2"},
    "artifacts": [{"type": "docker/image", "name": "gcr.io/p/app",
                   "version": "1.4.2", "reference": "gcr.io/p/app:1.4.2"}],
    "service": {"name": "app", "team": "payments"}})";
  w.headers = {{"X-Event-Key", "deploy:requested"}};
  auto ev = BuildWebhookEvent(w);
  ASSERT_THAT(ev, IsOk());
  const Json& e = ev->event;
  EXPECT_EQ(e["details"]["type"], "webhook");
  EXPECT_EQ(e["details"]["source"], "deploy-hook");
  EXPECT_EQ(e["content"]["parameters"]["env"], "prod");
  EXPECT_EQ(e["content"]["event_type"], "deploy:requested");
  ASSERT_EQ(e["content"]["artifacts"].size(), 1u);
  EXPECT_EQ(e["content"]["artifacts"][0]["reference"], "gcr.io/p/app:1.4.2");
  EXPECT_EQ(e["payload"]["service"]["team"], "payments");
}

TEST(BuildWebhookEventTest, SourceFromBody) {
  IncomingWebhook w{"webhook", "", R"({"source": "from-body", "a": 1})", {}};
  auto ev = BuildWebhookEvent(w);
  ASSERT_THAT(ev, IsOk());
  EXPECT_EQ(ev->event["details"]["source"], "from-body");
  EXPECT_EQ(ev->event["content"]["artifacts"], Json::array());
}

TEST(BuildWebhookEventTest, RejectsBadInput) {
  EXPECT_THAT(BuildWebhookEvent({"webhook", "s", "not json", {}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      BuildWebhookEvent({"webhook", "s", "[1,2]", {}}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("JSON object")));
  EXPECT_THAT(
      BuildWebhookEvent({"webhook", "", "{}", {}}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("source")));
  EXPECT_THAT(BuildWebhookEvent({"", "s", "{}", {}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("type")));
  EXPECT_THAT(
      BuildWebhookEvent({"git", "svn", "{}", {}}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not supported")));
  EXPECT_THAT(
      BuildWebhookEvent({"git", "github", R"({"ref": "x"})", {}}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("repository")));
  std::string deep(5000, '[');
  EXPECT_THAT(BuildWebhookEvent({"webhook", "s", deep, {}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      BuildWebhookEvent({"webhook", "s", std::string(9 << 20, ' '), {}}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("larger")));
}

// --- signatures ---

Json SignedEvent(const std::string& body,
                 std::vector<std::pair<std::string, std::string>> headers) {
  auto ev = BuildWebhookEvent(Github(body, std::move(headers)));
  EXPECT_THAT(ev, IsOk());
  return ev.ok() ? ev->event : Json();
}

TEST(CheckGitSignatureTest, Sha256) {
  const std::string body = kGithubPush;
  Json good = SignedEvent(
      body,
      {{"X-Hub-Signature-256", "sha256=" + HmacHex(EVP_sha256(), "s3", body)}});
  EXPECT_EQ(CheckGitSignature(good, "s3"), SignatureCheck::kValid);
  EXPECT_EQ(CheckGitSignature(good, "s4"), SignatureCheck::kInvalid);
  EXPECT_EQ(CheckGitSignature(good, ""), SignatureCheck::kUnexpected);

  // Upper-case hex is the same signature.
  std::string upper = HmacHex(EVP_sha256(), "s3", body);
  for (char& ch : upper) ch = static_cast<char>(std::toupper(ch));
  Json upper_ev =
      SignedEvent(body, {{"X-Hub-Signature-256", "sha256=" + upper}});
  EXPECT_EQ(CheckGitSignature(upper_ev, "s3"), SignatureCheck::kValid);

  Json malformed = SignedEvent(body, {{"X-Hub-Signature-256", "sha256=zz"}});
  EXPECT_EQ(CheckGitSignature(malformed, "s3"), SignatureCheck::kInvalid);
  Json no_prefix = SignedEvent(
      body, {{"X-Hub-Signature-256", HmacHex(EVP_sha256(), "s3", body)}});
  EXPECT_EQ(CheckGitSignature(no_prefix, "s3"), SignatureCheck::kInvalid);
}

TEST(CheckGitSignatureTest, Sha1) {
  const std::string body = kGithubPush;
  Json good = SignedEvent(
      body, {{"X-Hub-Signature", "sha1=" + HmacHex(EVP_sha1(), "s3", body)}});
  EXPECT_EQ(CheckGitSignature(good, "s3"), SignatureCheck::kValid);
  EXPECT_EQ(CheckGitSignature(good, "nope"), SignatureCheck::kInvalid);
  EXPECT_EQ(CheckGitSignature(good, ""), SignatureCheck::kUnexpected);
  // Signed over other bytes.
  Json tampered = SignedEvent(
      body, {{"X-Hub-Signature", "sha1=" + HmacHex(EVP_sha1(), "s3", "{}")}});
  EXPECT_EQ(CheckGitSignature(tampered, "s3"), SignatureCheck::kInvalid);
}

TEST(CheckGitSignatureTest, MissingAndNotNeeded) {
  Json unsigned_ev = SignedEvent(kGithubPush, {});
  EXPECT_EQ(CheckGitSignature(unsigned_ev, "s3"), SignatureCheck::kMissing);
  EXPECT_EQ(CheckGitSignature(unsigned_ev, ""), SignatureCheck::kNotNeeded);
  EXPECT_EQ(CheckGitSignature(Json(), ""), SignatureCheck::kNotNeeded);
  EXPECT_EQ(CheckGitSignature(Json::array(), "x"), SignatureCheck::kMissing);
}

TEST(CheckGitSignatureTest, GitlabTokenMissing) {
  IncomingWebhook w{
      "git", "gitlab", R"({"ref": "refs/heads/a", "project": {}})", {}};
  auto ev = BuildWebhookEvent(w);
  ASSERT_THAT(ev, IsOk());
  EXPECT_EQ(CheckGitSignature(ev->event, "t"), SignatureCheck::kMissing);
  EXPECT_EQ(CheckGitSignature(ev->event, ""), SignatureCheck::kNotNeeded);
}

TEST(BuildWebhookEventTest, RepeatedHeadersKeepEveryValue) {
  IncomingWebhook w{"webhook",
                    "s",
                    "{}",
                    {{"X-Custom", "a"}, {"x-custom", "b"}, {"Cookie", "c=1"}}};
  auto ev = BuildWebhookEvent(w);
  ASSERT_THAT(ev, IsOk());
  const Json& h = ev->event["details"]["requestHeaders"];
  EXPECT_EQ(h["x-custom"], Json::array({"a", "b"}));
  EXPECT_FALSE(h.contains("cookie"));
}

TEST(BuildWebhookEventTest, BitbucketServerPrMerged) {
  IncomingWebhook w{"git",
                    "bitbucket",
                    R"({
    "eventKey": "pr:merged",
    "pullRequest": {
      "id": 9, "state": "MERGED",
      "fromRef": {"id": "refs/heads/feature", "latestCommit": "aaa",
                  "repository": {"slug": "repo", "project": {"key": "PRJ"}}},
      "toRef": {"id": "refs/heads/main", "latestCommit": "bbb",
                "repository": {"slug": "repo", "project": {"key": "PRJ"}}},
      "properties": {"mergeCommit": {"id": "ccc", "displayId": "ccc"}}}})",
                    {{"X-Event-Key", "pr:merged"}}};
  auto ev = BuildWebhookEvent(w);
  ASSERT_THAT(ev, IsOk());
  const Json& c = ev->event["content"];
  EXPECT_EQ(c["branch"], "main");
  EXPECT_EQ(c["hash"], "ccc");
  EXPECT_EQ(c["repoProject"], "PRJ");
  EXPECT_EQ(c["slug"], "repo");
  EXPECT_EQ(c["action"], "pr:merged");
}

TEST(CheckGitSignatureTest, BitbucketServerSendsSha256InXHubSignature) {
  std::string body = R"({"eventKey": "repo:refs_changed",
      "repository": {"slug": "r", "project": {"key": "P"}},
      "changes": [{"ref": {"id": "refs/heads/main"}, "toHash": "abc"}]})";
  IncomingWebhook w{
      "git",
      "bitbucket",
      body,
      {{"X-Event-Key", "repo:refs_changed"},
       {"X-Hub-Signature", "sha256=" + HmacHex(EVP_sha256(), "bb", body)}}};
  auto ev = BuildWebhookEvent(w);
  ASSERT_THAT(ev, IsOk());
  EXPECT_EQ(CheckGitSignature(ev->event, "bb"), SignatureCheck::kValid);
  EXPECT_EQ(CheckGitSignature(ev->event, "other"), SignatureCheck::kInvalid);
}

}  // namespace
}  // namespace gennaker::echo
