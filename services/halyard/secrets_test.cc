#include "services/halyard/secrets.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_stores.h"
#include "services/halyard/halconfig.h"

namespace gennaker::halyard {
namespace {

using ::gennaker::testing::IsOk;
using ::gennaker::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

int Mode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

class SecretsTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::MakeTempDir("secrets"); }
  void TearDown() override { testing::RemoveTree(dir_); }
  std::string dir_;
};

TEST_F(SecretsTest, GeneratedOnceKeptPrivateAndReadBack) {
  auto first = EnsureStoreSecrets(dir_);
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->postgres_password.size(), 32u);
  EXPECT_EQ(first->redis_password.size(), 32u);
  EXPECT_NE(first->postgres_password, first->redis_password);
  EXPECT_EQ(Mode(dir_ + "/secrets"), 0700);
  EXPECT_EQ(Mode(PostgresPasswordPath(dir_)), 0600);
  EXPECT_EQ(Mode(RedisPasswordPath(dir_)), 0600);

  // Loosened by hand: read back unchanged, and tightened again.
  chmod(PostgresPasswordPath(dir_).c_str(), 0644);
  chmod((dir_ + "/secrets").c_str(), 0755);
  auto again = EnsureStoreSecrets(dir_);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->postgres_password, first->postgres_password);
  EXPECT_EQ(again->redis_password, first->redis_password);
  EXPECT_EQ(Mode(PostgresPasswordPath(dir_)), 0600);
  EXPECT_EQ(Mode(dir_ + "/secrets"), 0700);

  // Another deployment gets other passwords.
  std::string other = testing::MakeTempDir("secrets");
  auto theirs = EnsureStoreSecrets(other);
  testing::RemoveTree(other);
  ASSERT_THAT(theirs, IsOk());
  EXPECT_NE(theirs->postgres_password, first->postgres_password);
}

TEST_F(SecretsTest, DamagedOrLinkedFileIsAnErrorNotReplaced) {
  ASSERT_THAT(EnsureStoreSecrets(dir_), IsOk());
  std::ofstream(RedisPasswordPath(dir_), std::ios::trunc) << "x y\n";
  EXPECT_THAT(EnsureStoreSecrets(dir_),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("does not hold a password")));
  std::filesystem::remove(RedisPasswordPath(dir_));
  std::filesystem::create_symlink("/etc/hostname", RedisPasswordPath(dir_));
  EXPECT_THAT(EnsureStoreSecrets(dir_),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

// Two applies at once: both end up with the one password on disk, never each
// with its own.
TEST_F(SecretsTest, ConcurrentCreatorsAgreeOnOnePassword) {
  for (int round = 0; round < 20; ++round) {
    const std::string state = absl::StrCat(dir_, "/round", round);
    constexpr int kThreads = 8;
    std::vector<absl::StatusOr<StoreSecrets>> results(
        kThreads, absl::UnknownError("not run"));
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back(
          [&results, &state, i] { results[i] = EnsureStoreSecrets(state); });
    }
    for (std::thread& t : threads) t.join();
    auto on_disk = EnsureStoreSecrets(state);
    ASSERT_THAT(on_disk, IsOk());
    for (const auto& r : results) {
      ASSERT_THAT(r, IsOk());
      EXPECT_EQ(r->postgres_password, on_disk->postgres_password);
      EXPECT_EQ(r->redis_password, on_disk->redis_password);
    }
    // No temporary files left behind.
    int files = 0;
    for (const auto& e :
         std::filesystem::directory_iterator(state + "/secrets")) {
      (void)e;
      ++files;
    }
    EXPECT_EQ(files, 2);
  }
}

TEST(RedactedHalconfigTest, HidesExternalStorePasswords) {
  v1::Halconfig c = DefaultHalconfig();
  c.mutable_storage()->set_mode(v1::STORAGE_MODE_EXTERNAL);
  c.mutable_storage()->mutable_postgres()->set_dsn(
      "host=db port=5432 dbname=g user=u password=hunter2");
  c.mutable_storage()->mutable_redis()->set_url("redis://:s3cret@db:6379");
  v1::Halconfig shown = RedactedHalconfig(c);
  EXPECT_EQ(shown.storage().postgres().dsn(),
            "host=db port=5432 dbname=g user=u password=***");
  EXPECT_EQ(shown.storage().redis().url(), "redis://:***@db:6379");
  EXPECT_EQ(shown.services().orca().grpc_port(),
            c.services().orca().grpc_port());
  EXPECT_THAT(shown.DebugString(), Not(HasSubstr("hunter2")));
}

}  // namespace
}  // namespace gennaker::halyard
