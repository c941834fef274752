#include "common/auth/users_file.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <unordered_map>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/auth/password.h"
#include "common/log/log.h"
#include "yaml-cpp/yaml.h"

namespace gennaker::auth {
namespace {

constexpr absl::Duration kRacyWindow = absl::Seconds(2);
constexpr char kAnonymousName[] = "anonymous";
constexpr char kUnrestrictedName[] = "__unrestricted_user__";

std::string Lower(absl::string_view s) { return absl::AsciiStrToLower(s); }

// "users[2] (alice)" or "users[2]" when the entry has no username yet.
std::string EntryName(size_t i, const std::string& username) {
  std::string name = absl::StrCat("users[", i, "]");
  if (!username.empty()) absl::StrAppend(&name, " (", username, ")");
  return name;
}

// The scalar under `key` (or its snake_case `alt`); "" when absent or null.
absl::StatusOr<std::string> OptionalScalar(const YAML::Node& entry,
                                           const char* key, const char* alt,
                                           const std::string& where) {
  for (const char* k : {key, alt}) {
    if (k == nullptr) continue;
    const YAML::Node v = entry[k];
    if (!v.IsDefined() || v.IsNull()) continue;
    if (!v.IsScalar()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": ", k, " is not a string"));
    }
    return std::string(absl::StripAsciiWhitespace(v.Scalar()));
  }
  return std::string();
}

absl::StatusOr<std::vector<std::string>> ParseRoles(const YAML::Node& entry,
                                                    const std::string& where) {
  std::vector<std::string> roles;
  const YAML::Node node = entry["roles"];
  if (!node.IsDefined() || node.IsNull()) return roles;
  if (!node.IsSequence()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": roles is not a list of strings"));
  }
  for (const YAML::Node& role : node) {
    if (!role.IsScalar()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": roles is not a list of strings"));
    }
    std::string r = Lower(absl::StripAsciiWhitespace(role.Scalar()));
    if (!r.empty()) roles.push_back(std::move(r));
  }
  std::sort(roles.begin(), roles.end());
  roles.erase(std::unique(roles.begin(), roles.end()), roles.end());
  return roles;
}

absl::StatusOr<std::vector<FileUser>> ParseNode(const YAML::Node& root) {
  if (!root.IsMap() || !root["users"].IsDefined()) {
    return absl::InvalidArgumentError("users file has no `users` list");
  }
  const YAML::Node users = root["users"];
  if (!users.IsSequence()) {
    return absl::InvalidArgumentError("users file: `users` is not a list");
  }
  std::vector<FileUser> out;
  std::unordered_map<std::string, size_t> seen;  // lower-case name -> index
  for (size_t i = 0; i < users.size(); ++i) {
    const YAML::Node entry = users[i];
    if (!entry.IsMap()) {
      return absl::InvalidArgumentError(
          absl::StrCat(EntryName(i, ""), ": not a map"));
    }
    FileUser user;
    const YAML::Node name = entry["username"];
    if (name.IsDefined() && !name.IsNull() && !name.IsScalar()) {
      return absl::InvalidArgumentError(
          absl::StrCat(EntryName(i, ""), ": username is not a string"));
    }
    if (name.IsDefined() && name.IsScalar()) {
      user.username = std::string(absl::StripAsciiWhitespace(name.Scalar()));
    }
    if (user.username.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(EntryName(i, ""), ": no username"));
    }
    const std::string where = EntryName(i, user.username);
    if (IsReservedUsername(user.username)) {
      // Gate would push this user's roles to fiat for everyone.
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": username is reserved (", kAnonymousName,
                       " and ", kUnrestrictedName, " cannot log in)"));
    }
    auto [it, inserted] = seen.emplace(Lower(user.username), i);
    if (!inserted) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": duplicate username (also users[", it->second, "])"));
    }
    auto hash = OptionalScalar(entry, "passwordHash", "password_hash", where);
    if (!hash.ok()) return hash.status();
    // Never quote the hash itself: error messages reach the logs.
    if (!hash->empty() && !IsSupportedHash(*hash)) {
      return absl::InvalidArgumentError(absl::StrCat(
          where,
          ": passwordHash is not a supported crypt hash (bcrypt $2b$, "
          "yescrypt $y$, sha512crypt $6$)"));
    }
    user.password_hash = *std::move(hash);
    const struct {
      std::string* field;
      const char* key;
      const char* alt;
    } fields[] = {{&user.email, "email", nullptr},
                  {&user.first_name, "firstName", "first_name"},
                  {&user.last_name, "lastName", "last_name"}};
    for (const auto& f : fields) {
      auto value = OptionalScalar(entry, f.key, f.alt, where);
      if (!value.ok()) return value.status();
      *f.field = *std::move(value);
    }
    auto roles = ParseRoles(entry, where);
    if (!roles.ok()) return roles.status();
    user.roles = *std::move(roles);
    out.push_back(std::move(user));
  }
  return out;
}

// What identifies one version of the file on disk.
struct FileVersion {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = -1;
  struct timespec mtime = {};
  bool operator==(const FileVersion& o) const {
    return dev == o.dev && ino == o.ino && size == o.size &&
           mtime.tv_sec == o.mtime.tv_sec && mtime.tv_nsec == o.mtime.tv_nsec;
  }
};

// NOT_FOUND when the file does not exist, UNAVAILABLE for other failures.
absl::StatusOr<FileVersion> Stat(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    const int err = errno;
    std::string msg =
        absl::StrCat("cannot stat users file ", path, ": ", strerror(err));
    if (err == ENOENT) return absl::NotFoundError(msg);
    return absl::UnavailableError(msg);
  }
  return FileVersion{st.st_dev, st.st_ino, st.st_size, st.st_mtim};
}

absl::StatusOr<std::vector<FileUser>> ReadUsersFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read users file ", path));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  absl::StatusOr<std::vector<FileUser>> users = ParseUsersFile(ss.str());
  if (!users.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", users.status().message()));
  }
  return users;
}

class UsersFileImpl : public UsersFile {
 public:
  UsersFileImpl(std::string path, FileVersion version,
                std::vector<FileUser> users)
      : path_(std::move(path)), seen_(version) {
    absl::MutexLock lock(&mu_);
    Install(std::move(users));
  }

  std::optional<FileUser> Find(absl::string_view username) override {
    absl::MutexLock lock(&mu_);
    Refresh();
    auto it = index_.find(Lower(absl::StripAsciiWhitespace(username)));
    if (it == index_.end()) return std::nullopt;
    return users_[it->second];
  }

  std::vector<FileUser> All() override {
    absl::MutexLock lock(&mu_);
    Refresh();
    return users_;
  }

 private:
  void Install(std::vector<FileUser> users) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    users_ = std::move(users);
    index_.clear();
    for (size_t i = 0; i < users_.size(); ++i) {
      index_.emplace(Lower(users_[i].username), i);
    }
  }

  // Re-reads the file when it is not the version last seen. A deleted file
  // means no users (fail closed); an unreadable or invalid one keeps the last
  // good users. Each distinct error is logged once.
  void Refresh() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    absl::StatusOr<FileVersion> version = Stat(path_);
    if (!version.ok()) {
      if (absl::IsNotFound(version.status())) {
        LogOnce(version.status(), "no users until it is back");
        // Whatever appears next at the path is read.
        seen_ = FileVersion();
        racy_ = true;
        Install({});
        return;
      }
      LogOnce(version.status(), KeepingMessage());
      return;
    }
    if (*version == seen_ && !racy_) return;
    seen_ = *version;
    // File times tick in coarse steps: a same-size edit in the same step as
    // the one just read would look unchanged, so a file modified moments ago
    // is read again on each call until its time is safely in the past.
    racy_ = absl::Now() - absl::TimeFromTimespec(version->mtime) < kRacyWindow;
    absl::StatusOr<std::vector<FileUser>> users = ReadUsersFile(path_);
    if (!users.ok()) {
      LogOnce(users.status(), KeepingMessage());
      return;
    }
    const bool was_failing = !last_error_.empty();
    last_error_.clear();
    if (users->size() != users_.size() || !racy_ || was_failing) {
      SPDLOG_INFO("users file {} read: {} user(s)", path_, users->size());
    }
    Install(*std::move(users));
  }

  std::string KeepingMessage() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return absl::StrCat("keeping the previous ", users_.size(), " user(s)");
  }

  // Logs `error` unless it is the one logged last.
  void LogOnce(const absl::Status& error, absl::string_view consequence)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (error.message() == last_error_) return;
    last_error_ = std::string(error.message());
    SPDLOG_WARN("{}; {}", error.message(), consequence);
  }

  const std::string path_;
  absl::Mutex mu_;
  FileVersion seen_ ABSL_GUARDED_BY(mu_);
  bool racy_ ABSL_GUARDED_BY(mu_) = true;
  // The error logged last; "" after a good read.
  std::string last_error_ ABSL_GUARDED_BY(mu_);
  std::vector<FileUser> users_ ABSL_GUARDED_BY(mu_);
  std::unordered_map<std::string, size_t> index_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

bool IsReservedUsername(absl::string_view username) {
  const std::string name = Lower(absl::StripAsciiWhitespace(username));
  return name == kAnonymousName || name == kUnrestrictedName;
}

absl::StatusOr<std::vector<FileUser>> ParseUsersFile(absl::string_view yaml) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    // The mark only: the message could quote the text around the error.
    return absl::InvalidArgumentError(
        absl::StrCat("users file is not valid YAML (line ", e.mark.line + 1,
                     ", column ", e.mark.column + 1, ")"));
  }
  try {
    return ParseNode(root);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("users file is not valid (line ", e.mark.line + 1, ")"));
  }
}

absl::StatusOr<std::unique_ptr<UsersFile>> UsersFile::Open(std::string path) {
  absl::StatusOr<FileVersion> version = Stat(path);
  if (!version.ok()) return version.status();
  absl::StatusOr<std::vector<FileUser>> users = ReadUsersFile(path);
  if (!users.ok()) return users.status();
  return std::unique_ptr<UsersFile>(
      new UsersFileImpl(std::move(path), *version, *std::move(users)));
}

}  // namespace gennaker::auth
