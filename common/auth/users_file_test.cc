#include "common/auth/users_file.h"

#include <stdio.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_stores.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spdlog/sinks/ostream_sink.h"
#include "spdlog/spdlog.h"

namespace gennaker::auth {
namespace {

using ::gennaker::testing::IsOk;
using ::gennaker::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// Valid bcrypt hashes (crypt_blowfish test vectors).
constexpr char kHashA[] =
    "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";
constexpr char kHashB[] =
    "$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK";

TEST(ParseUsersFileTest, ParsesEveryField) {
  const std::string yaml = absl::StrCat(R"(
users:
  - username: Alice
    passwordHash: ")",
                                        kHashA, R"("
    roles: [Team-A, deployers, " team-a ", "", DEPLOYERS]
    email: alice@example.com
    firstName: Alice
    lastName: Liddell
  - username: bob
    password_hash: ")",
                                        kHashB, R"("
    first_name: Bob
    last_name: Builder
  - username: svc
    roles:
      - ops
)");
  absl::StatusOr<std::vector<FileUser>> users = ParseUsersFile(yaml);
  ASSERT_THAT(users, IsOk());
  ASSERT_EQ(users->size(), 3u);
  const FileUser& alice = (*users)[0];
  EXPECT_EQ(alice.username, "Alice");
  EXPECT_EQ(alice.password_hash, kHashA);
  EXPECT_THAT(alice.roles, ElementsAre("deployers", "team-a"));
  EXPECT_EQ(alice.email, "alice@example.com");
  EXPECT_EQ(alice.first_name, "Alice");
  EXPECT_EQ(alice.last_name, "Liddell");
  const FileUser& bob = (*users)[1];
  EXPECT_EQ(bob.password_hash, kHashB);
  EXPECT_EQ(bob.first_name, "Bob");
  EXPECT_EQ(bob.last_name, "Builder");
  EXPECT_THAT(bob.roles, IsEmpty());
  EXPECT_EQ(bob.email, "");
  const FileUser& svc = (*users)[2];
  EXPECT_EQ(svc.password_hash, "");
  EXPECT_THAT(svc.roles, ElementsAre("ops"));
}

TEST(ParseUsersFileTest, EmptyListIsValid) {
  absl::StatusOr<std::vector<FileUser>> users = ParseUsersFile("users: []\n");
  ASSERT_THAT(users, IsOk());
  EXPECT_THAT(*users, IsEmpty());
}

TEST(ParseUsersFileTest, NamesEachError) {
  struct Case {
    std::string yaml;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"users: [a", "not valid YAML"},
      {"", "no `users` list"},
      {"- username: a\n", "no `users` list"},
      {"people: []\n", "no `users` list"},
      {"users: 3\n", "`users` is not a list"},
      {"users: {username: a}\n", "`users` is not a list"},
      {"users:\n  - username: a\n  - roles: [x]\n", "users[1]: no username"},
      {"users:\n  - username: \"  \"\n", "users[0]: no username"},
      {"users:\n  - username: [a]\n", "users[0]: username is not a string"},
      {"users:\n  - just-a-string\n", "users[0]: not a map"},
      {"users:\n  - username: alice\n  - username: ALICE\n",
       "users[1] (ALICE): duplicate username (also users[0])"},
      {"users:\n  - username: a\n    roles: admin\n",
       "users[0] (a): roles is not a list of strings"},
      {"users:\n  - username: a\n    roles: [x, {y: z}]\n",
       "users[0] (a): roles is not a list of strings"},
      {"users:\n  - username: a\n    email: [x]\n",
       "users[0] (a): email is not a string"},
      {"users:\n  - username: a\n    passwordHash: plaintext-secret\n",
       "users[0] (a): passwordHash is not a supported crypt hash"},
      {"users:\n  - username: a\n    password_hash: \"$1$abc$Kb85XxsXB\"\n",
       "users[0] (a): passwordHash is not a supported crypt hash"},
      // fiat's unrestricted user: its roles would go to everyone.
      {"users:\n  - username: a\n  - username: anonymous\n",
       "users[1] (anonymous): username is reserved"},
      {"users:\n  - username: \" AnonYmous \"\n",
       "users[0] (AnonYmous): username is reserved"},
      {"users:\n  - username: __unrestricted_user__\n",
       "users[0] (__unrestricted_user__): username is reserved"},
      {"users:\n  - username: __UNRESTRICTED_USER__\n",
       "users[0] (__UNRESTRICTED_USER__): username is reserved"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.yaml);
    absl::StatusOr<std::vector<FileUser>> users = ParseUsersFile(c.yaml);
    EXPECT_THAT(users, StatusIs(absl::StatusCode::kInvalidArgument,
                                HasSubstr(c.message)));
  }
  // A refused hash is never quoted back (it may be a pasted password).
  absl::StatusOr<std::vector<FileUser>> users = ParseUsersFile(
      "users:\n  - username: a\n    passwordHash: plaintext-secret\n");
  EXPECT_THAT(std::string(users.status().message()),
              Not(HasSubstr("plaintext-secret")));
}

TEST(IsReservedUsernameTest, AnonymousAndUnrestrictedInAnyCase) {
  EXPECT_TRUE(IsReservedUsername("anonymous"));
  EXPECT_TRUE(IsReservedUsername(" ANONYMOUS\t"));
  EXPECT_TRUE(IsReservedUsername("__Unrestricted_User__"));
  EXPECT_FALSE(IsReservedUsername("anonymous2"));
  EXPECT_FALSE(IsReservedUsername("anon ymous"));
  EXPECT_FALSE(IsReservedUsername(""));
}

class UsersFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = gennaker::testing::MakeTempDir("users-file");
    path_ = dir_ + "/users.yml";
  }
  void TearDown() override { gennaker::testing::RemoveTree(dir_); }

  // Replaces the file atomically, as editors and config management do.
  void Write(const std::string& text) {
    const std::string tmp = path_ + ".tmp";
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out << text;
    }
    ASSERT_EQ(rename(tmp.c_str(), path_.c_str()), 0);
  }

  // Rewrites the file in place (same inode), as `cat > file` does.
  void Overwrite(const std::string& text) {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out << text;
  }

  std::string dir_;
  std::string path_;
};

TEST_F(UsersFileTest, OpenFailsFastOnMissingOrInvalidFile) {
  EXPECT_THAT(UsersFile::Open(path_),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(path_)));
  Write("users:\n  - roles: [x]\n");
  EXPECT_THAT(UsersFile::Open(path_),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("users[0]: no username")));
}

TEST_F(UsersFileTest, FindIgnoresCase) {
  Write(absl::StrCat("users:\n  - username: Alice\n    passwordHash: \"",
                     kHashA, "\"\n    roles: [Admins]\n"));
  absl::StatusOr<std::unique_ptr<UsersFile>> file = UsersFile::Open(path_);
  ASSERT_THAT(file, IsOk());
  for (const char* name : {"alice", "ALICE", "Alice"}) {
    std::optional<FileUser> user = (*file)->Find(name);
    ASSERT_TRUE(user.has_value()) << name;
    EXPECT_EQ(user->username, "Alice");
    EXPECT_EQ(user->password_hash, kHashA);
    EXPECT_THAT(user->roles, ElementsAre("admins"));
  }
  EXPECT_FALSE((*file)->Find("bob").has_value());
  EXPECT_FALSE((*file)->Find("").has_value());
}

TEST_F(UsersFileTest, ReloadsWhenTheFileChanges) {
  Write("users:\n  - username: alice\n    roles: [a]\n");
  absl::StatusOr<std::unique_ptr<UsersFile>> file = UsersFile::Open(path_);
  ASSERT_THAT(file, IsOk());
  EXPECT_THAT((*file)->Find("alice")->roles, ElementsAre("a"));

  // Replaced by rename.
  Write(
      "users:\n  - username: alice\n    roles: [a, b]\n"
      "  - username: bob\n");
  EXPECT_THAT((*file)->Find("alice")->roles, ElementsAre("a", "b"));
  EXPECT_TRUE((*file)->Find("bob").has_value());
  EXPECT_EQ((*file)->All().size(), 2u);

  // Rewritten in place, the same size: the modification time tells.
  Overwrite(
      "users:\n  - username: alice\n    roles: [c, d]\n"
      "  - username: cal\n");
  EXPECT_THAT((*file)->Find("alice")->roles, ElementsAre("c", "d"));
  EXPECT_FALSE((*file)->Find("bob").has_value());
  EXPECT_TRUE((*file)->Find("cal").has_value());
}

// The log lines written while it lives.
class CapturedLog {
 public:
  CapturedLog()
      : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(out_)) {
    spdlog::default_logger()->sinks().push_back(sink_);
  }
  ~CapturedLog() {
    auto& sinks = spdlog::default_logger()->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
  }
  std::string Text() {
    spdlog::default_logger()->flush();
    return out_.str();
  }
  size_t Count(const std::string& needle) {
    const std::string text = Text();
    size_t n = 0;
    for (size_t pos = text.find(needle); pos != std::string::npos;
         pos = text.find(needle, pos + 1)) {
      ++n;
    }
    return n;
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
};

TEST_F(UsersFileTest, BadEditKeepsLastGoodCopyAndLogsEachErrorOnce) {
  CapturedLog log;
  Write(absl::StrCat("users:\n  - username: alice\n    passwordHash: \"",
                     kHashA, "\"\n    roles: [a]\n"));
  absl::StatusOr<std::unique_ptr<UsersFile>> file = UsersFile::Open(path_);
  ASSERT_THAT(file, IsOk());

  // A duplicate user: the whole edit is refused.
  Write(absl::StrCat("users:\n  - username: alice\n    passwordHash: \"",
                     kHashB, "\"\n  - username: Alice\n"));
  for (int i = 0; i < 5; ++i) {
    std::optional<FileUser> alice = (*file)->Find("alice");
    ASSERT_TRUE(alice.has_value());
    EXPECT_EQ(alice->password_hash, kHashA);
    EXPECT_THAT(alice->roles, ElementsAre("a"));
    EXPECT_EQ((*file)->All().size(), 1u);
  }
  // Saved again with the same mistake: not logged again.
  Write(absl::StrCat("users:\n  - username: alice\n    passwordHash: \"",
                     kHashB, "\"\n  - username: Alice\n  - username: x\n"));
  EXPECT_EQ((*file)->Find("alice")->password_hash, kHashA);
  // Another mistake: logged once, the last good copy still in force.
  Write("users:\n  - username: anonymous\n");
  EXPECT_EQ((*file)->Find("alice")->password_hash, kHashA);
  EXPECT_FALSE((*file)->Find("anonymous").has_value());
  EXPECT_EQ((*file)->All().size(), 1u);

  // Fixed: applies.
  Write("users:\n  - username: alice\n    roles: [z]\n");
  EXPECT_THAT((*file)->Find("alice")->roles, ElementsAre("z"));

  EXPECT_EQ(log.Count("duplicate username"), 1u) << log.Text();
  EXPECT_EQ(log.Count("username is reserved"), 1u) << log.Text();
  EXPECT_THAT(log.Text(), Not(HasSubstr(kHashA)));
  EXPECT_THAT(log.Text(), Not(HasSubstr(kHashB)));
}

TEST_F(UsersFileTest, DeletedFileMeansNoUsersUntilItIsBack) {
  Write(absl::StrCat("users:\n  - username: alice\n    passwordHash: \"",
                     kHashA, "\"\n    roles: [a]\n"));
  absl::StatusOr<std::unique_ptr<UsersFile>> file = UsersFile::Open(path_);
  ASSERT_THAT(file, IsOk());
  ASSERT_TRUE((*file)->Find("alice").has_value());

  CapturedLog log;
  // Deleted: fail closed, logged once.
  ASSERT_EQ(remove(path_.c_str()), 0);
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE((*file)->Find("alice").has_value());
    EXPECT_THAT((*file)->All(), IsEmpty());
  }
  EXPECT_EQ(log.Count("cannot stat users file"), 1u) << log.Text();
  EXPECT_THAT(log.Text(), HasSubstr("no users until it is back"));

  // Back (even invalid first: nothing to keep, still no users).
  Write("users:\n  - username: alice\n  - username: alice\n");
  EXPECT_FALSE((*file)->Find("alice").has_value());
  Write("users:\n  - username: alice\n    roles: [b]\n");
  ASSERT_TRUE((*file)->Find("alice").has_value());
  EXPECT_THAT((*file)->Find("alice")->roles, ElementsAre("b"));

  // Deleted a second time: logged again.
  ASSERT_EQ(remove(path_.c_str()), 0);
  EXPECT_FALSE((*file)->Find("alice").has_value());
  EXPECT_EQ(log.Count("cannot stat users file"), 2u) << log.Text();
}

TEST_F(UsersFileTest, ConcurrentReadersDuringEdits) {
  Write("users:\n  - username: alice\n    roles: [a]\n");
  absl::StatusOr<std::unique_ptr<UsersFile>> file = UsersFile::Open(path_);
  ASSERT_THAT(file, IsOk());
  std::atomic<bool> stop{false};
  std::atomic<int> misses{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        if (!(*file)->Find("alice").has_value()) ++misses;
      }
    });
  }
  for (int i = 0; i < 50; ++i) {
    Write(absl::StrCat("users:\n  - username: alice\n    roles: [r", i, "]\n"));
  }
  stop = true;
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(misses.load(), 0);
  EXPECT_THAT((*file)->Find("alice")->roles, ElementsAre("r49"));
}

}  // namespace
}  // namespace gennaker::auth
