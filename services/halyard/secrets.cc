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
  // Written whole to a private temporary file, then linked into place: link()
  // never replaces an existing file, so of two concurrent applies exactly one
  // creates the secret and the other reads the winner's.
  GENNAKER_ASSIGN_OR_RETURN(std::string suffix, RandomHex(8));
  const std::string temp = absl::StrCat(path, ".tmp.", suffix);
  int fd = open(temp.c_str(),
                O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::InternalError(
        absl::StrCat("cannot create ", temp, ": ", strerror(errno)));
  }
  const std::string content = fresh + "\n";
  size_t done = 0;
  bool ok = true;
  while (done < content.size()) {
    ssize_t n = write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      break;
    }
    done += static_cast<size_t>(n);
  }
  ok = ok && fsync(fd) == 0;
  ok = close(fd) == 0 && ok;
  if (!ok) {
    unlink(temp.c_str());
    return absl::InternalError(absl::StrCat("cannot write ", temp));
  }
  const int linked = link(temp.c_str(), path.c_str());
  const int link_errno = errno;
  unlink(temp.c_str());
  if (linked != 0) {
    // Someone else created it first: theirs is the deployment's secret.
    if (link_errno == EEXIST) return ReadSecret(path);
    return absl::InternalError(
        absl::StrCat("cannot create ", path, ": ", strerror(link_errno)));
  }
  return fresh;
}

// <stateDir>/secrets, private to this user.
absl::Status MakeSecretsDir(const std::string& state_dir) {
  const std::string dir = SecretsDir(state_dir);
  GENNAKER_RETURN_IF_ERROR(process::MakeDirs(dir));
  if (chmod(dir.c_str(), 0700) != 0) {
    return absl::InternalError(
        absl::StrCat("cannot chmod ", dir, ": ", strerror(errno)));
  }
  return absl::OkStatus();
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

std::string KubernetesHashSaltPath(const std::string& state_dir) {
  return SecretsDir(state_dir) + "/kubernetes-hash.salt";
}

absl::StatusOr<std::string> KubernetesHashSalt(const std::string& state_dir) {
  GENNAKER_RETURN_IF_ERROR(MakeSecretsDir(state_dir));
  return EnsureSecret(KubernetesHashSaltPath(state_dir));
}

absl::StatusOr<StoreSecrets> EnsureStoreSecrets(const std::string& state_dir) {
  GENNAKER_RETURN_IF_ERROR(MakeSecretsDir(state_dir));
  StoreSecrets secrets;
  GENNAKER_ASSIGN_OR_RETURN(secrets.postgres_password,
                            EnsureSecret(PostgresPasswordPath(state_dir)));
  GENNAKER_ASSIGN_OR_RETURN(secrets.redis_password,
                            EnsureSecret(RedisPasswordPath(state_dir)));
  return secrets;
}

}  // namespace gennaker::halyard
