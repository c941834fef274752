#include "common/auth/password.h"

#include <string>

#include "absl/strings/match.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gennaker::auth {
namespace {

using ::gennaker::testing::IsOk;
using ::gennaker::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// Cost 4 keeps the tests fast; the format is the same.
constexpr int kFastCost = 4;

TEST(PasswordTest, HashThenVerifyRoundTrips) {
  absl::StatusOr<std::string> hash = HashPassword("correct horse", kFastCost);
  ASSERT_THAT(hash, IsOk());
  EXPECT_THAT(*hash, StartsWith("$2b$04$"));
  EXPECT_EQ(hash->size(), 60u);
  EXPECT_TRUE(IsSupportedHash(*hash));
  EXPECT_TRUE(VerifyPassword("correct horse", *hash));
}

TEST(PasswordTest, DefaultCostIsTen) {
  absl::StatusOr<std::string> hash = HashPassword("pw");
  ASSERT_THAT(hash, IsOk());
  EXPECT_THAT(*hash, StartsWith("$2b$10$"));
  EXPECT_TRUE(VerifyPassword("pw", *hash));
}

TEST(PasswordTest, SaltsDiffer) {
  absl::StatusOr<std::string> a = HashPassword("same", kFastCost);
  absl::StatusOr<std::string> b = HashPassword("same", kFastCost);
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_NE(*a, *b);
  EXPECT_TRUE(VerifyPassword("same", *a));
  EXPECT_TRUE(VerifyPassword("same", *b));
}

TEST(PasswordTest, WrongPasswordFails) {
  absl::StatusOr<std::string> hash = HashPassword("correct horse", kFastCost);
  ASSERT_THAT(hash, IsOk());
  EXPECT_FALSE(VerifyPassword("correct horsf", *hash));
  EXPECT_FALSE(VerifyPassword("Correct horse", *hash));
  EXPECT_FALSE(VerifyPassword("correct horse ", *hash));
  EXPECT_FALSE(VerifyPassword("", *hash));
  // crypt stops at a NUL: a suffix after one must not be ignored.
  EXPECT_FALSE(VerifyPassword(std::string("correct horse\0x", 15), *hash));
}

TEST(PasswordTest, KnownBcryptVectors) {
  // From the crypt_blowfish test suite.
  EXPECT_TRUE(VerifyPassword(
      "U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"));
  EXPECT_TRUE(VerifyPassword(
      "U*U*", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK"));
  EXPECT_FALSE(VerifyPassword(
      "U*U*", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"));
}

TEST(PasswordTest, OtherSchemesVerify) {
  // sha512crypt made by `openssl passwd -6`, yescrypt by libxcrypt (Debian's
  // default for /etc/shadow).
  const std::string sha512 =
      "$6$saltsaltsalt$Cy2drr8kDRji6smvDcT28wkqtq0R0VzVL5CkrjPQCITc5d/"
      "31j94knt9rGTcVSyjLXfjsiIsBh5ee8qR/3QDx1";
  const std::string yescrypt =
      "$y$j9T$o1IUPz24xlDFoqPE4ZGJX0$HqlqbLW0wT66CjFmESBCgYB0rIC5/"
      "m6dQI5i6Oz0op0";
  for (const std::string& hash : {sha512, yescrypt}) {
    SCOPED_TRACE(hash);
    EXPECT_TRUE(IsSupportedHash(hash));
    EXPECT_TRUE(VerifyPassword("correct horse", hash));
    EXPECT_FALSE(VerifyPassword("correct horsE", hash));
    EXPECT_FALSE(VerifyPassword("", hash));
  }
}

TEST(PasswordTest, MalformedHashesNeverVerify) {
  absl::StatusOr<std::string> good = HashPassword("pw", kFastCost);
  ASSERT_THAT(good, IsOk());
  const std::string truncated = good->substr(0, good->size() - 1);
  const std::string bad_char = good->substr(0, good->size() - 1) + "!";
  for (const std::string& hash :
       {std::string(""), std::string("pw"), std::string("*0"),
        std::string("$2b$04$"), std::string("$2b$04$abc"), truncated, bad_char,
        std::string("$2b$xx$") + good->substr(7),
        // Legacy schemes are refused: DES and MD5-crypt.
        std::string("abJnggxhB/yWI"),
        std::string("$1$abc$Kb85XxsXB.VXinPhbS4431"),
        std::string("$6$saltsalt$"), std::string("$y$j9T$salt$"),
        std::string("{SSHA}abcdef"), std::string("$9$x$y")}) {
    SCOPED_TRACE(hash);
    EXPECT_FALSE(IsSupportedHash(hash));
    EXPECT_FALSE(VerifyPassword("pw", hash));
  }
}

TEST(PasswordTest, RefusesBadInput) {
  EXPECT_THAT(HashPassword("", kFastCost),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
  EXPECT_THAT(HashPassword("pw", 3),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cost")));
  EXPECT_THAT(HashPassword("pw", 32),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cost")));
  EXPECT_THAT(HashPassword(std::string("a\0b", 3), kFastCost),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(PasswordTest, SeventyTwoByteLimit) {
  const std::string max(72, 'p');
  absl::StatusOr<std::string> hash = HashPassword(max, kFastCost);
  ASSERT_THAT(hash, IsOk());
  EXPECT_TRUE(VerifyPassword(max, *hash));
  // bcrypt would ignore the 73rd byte; VerifyPassword refuses instead.
  EXPECT_FALSE(VerifyPassword(max + "x", *hash));
  EXPECT_FALSE(VerifyPassword(max + "p", *hash));

  const std::string too_long(73, 'p');
  absl::StatusOr<std::string> refused = HashPassword(too_long, kFastCost);
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kInvalidArgument,
                                HasSubstr("72 bytes")));
  // The message names the limit, never the password.
  EXPECT_THAT(std::string(refused.status().message()),
              Not(HasSubstr(too_long)));
}

}  // namespace
}  // namespace gennaker::auth
