#include "services/halyard/secrets.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/process/process.h"
#include "common/status/status_macros.h"

namespace gennaker::halyard {
namespace {

// 32 hex digits: 128 random bits.
constexpr int kSecretBytes = 16;

std::string SecretsDir(const std::string& state_dir) {
  return state_dir + "/secrets";
}

// Reads a secret file; NotFound when it does not exist.
absl::StatusOr<std::string> ReadSecret(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return absl::NotFoundError(path);
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read ", path, ": ", strerror(errno)));
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
    close(fd);
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is not a regular file owned by this user"));
  }
  if ((st.st_mode & 077) != 0) (void)fchmod(fd, 0600);
  char buffer[256];
  ssize_t n = read(fd, buffer, sizeof(buffer));
  close(fd);
  if (n < 0) {
    return absl::FailedPreconditionError(absl::StrCat("cannot read ", path));
  }
  std::string value(absl::StripAsciiWhitespace(
      absl::string_view(buffer, static_cast<size_t>(n))));
  bool valid = value.size() >= 16 && value.size() < sizeof(buffer) - 1;
  for (char c : value) valid &= absl::ascii_isalnum(c) != 0;
  if (!valid) {
    return absl::FailedPreconditionError(absl::StrCat(
        path,
        " does not hold a password (16 or more letters and digits); the "
        "stores still use the old one: restore it, or `deploy clean "
        "--delete-data` to start over"));
  }
  return value;
}

absl::StatusOr<std::string> EnsureSecret(const std::string& path) {
  auto existing = ReadSecret(path);
  if (existing.ok() || !absl::IsNotFound(existing.status())) return existing;
  GENNAKER_ASSIGN_OR_RETURN(std::string fresh, RandomHex(kSecretBytes));
  GENNAKER_RETURN_IF_ERROR(process::WritePrivateFile(path, fresh + "\n"));
  return fresh;
}

}  // namespace

std::string PostgresPasswordPath(const std::string& state_dir) {
  return SecretsDir(state_dir) + "/postgres.password";
}

std::string RedisPasswordPath(const std::string& state_dir) {
  return SecretsDir(state_dir) + "/redis.password";
}

absl::StatusOr<std::string> RandomHex(int bytes) {
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::InternalError("cannot open /dev/urandom");
  std::string raw(static_cast<size_t>(bytes), '\0');
  size_t done = 0;
  while (done < raw.size()) {
    ssize_t n = read(fd, raw.data() + done, raw.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close(fd);
      return absl::InternalError("cannot read /dev/urandom");
    }
    done += static_cast<size_t>(n);
  }
  close(fd);
  std::string hex;
  for (unsigned char c : raw) absl::StrAppendFormat(&hex, "%02x", c);
  return hex;
}

absl::StatusOr<StoreSecrets> EnsureStoreSecrets(const std::string& state_dir) {
  const std::string dir = SecretsDir(state_dir);
  GENNAKER_RETURN_IF_ERROR(process::MakeDirs(dir));
  if (chmod(dir.c_str(), 0700) != 0) {
    return absl::InternalError(
        absl::StrCat("cannot chmod ", dir, ": ", strerror(errno)));
  }
  StoreSecrets secrets;
  GENNAKER_ASSIGN_OR_RETURN(secrets.postgres_password,
                            EnsureSecret(PostgresPasswordPath(state_dir)));
  GENNAKER_ASSIGN_OR_RETURN(secrets.redis_password,
                            EnsureSecret(RedisPasswordPath(state_dir)));
  return secrets;
}

}  // namespace gennaker::halyard
