#include "common/auth/password.h"

#include <crypt.h>
#include <errno.h>
#include <string.h>

#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace gennaker::auth {
namespace {

// bcrypt uses only the first 72 bytes of a password.
constexpr size_t kBcryptMaxBytes = 72;

bool IsBcrypt(absl::string_view hash) {
  return absl::StartsWith(hash, "$2a$") || absl::StartsWith(hash, "$2b$") ||
         absl::StartsWith(hash, "$2y$");
}

// crypt(3)'s base-64 alphabet.
bool IsCryptChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' ||
         c == '/';
}

bool AllCryptChars(absl::string_view s) {
  for (char c : s) {
    if (!IsCryptChar(c)) return false;
  }
  return true;
}

// The length of the checksum (the text after the last '$') each supported
// scheme produces; 0 for an unknown prefix.
size_t ChecksumLength(absl::string_view hash) {
  if (absl::StartsWith(hash, "$6$")) return 86;  // sha512crypt
  if (absl::StartsWith(hash, "$y$") || absl::StartsWith(hash, "$gy$") ||
      absl::StartsWith(hash, "$7$")) {
    return 43;  // yescrypt, gost-yescrypt, scrypt
  }
  return 0;
}

// Equal contents, in a time that depends only on the lengths.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  volatile unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = diff | static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

// crypt_data holds derived key material: cleared before it is freed.
struct CryptDataDeleter {
  void operator()(crypt_data* d) const {
    explicit_bzero(d, sizeof(*d));
    delete d;
  }
};

std::unique_ptr<crypt_data, CryptDataDeleter> NewCryptData() {
  // crypt_data is ~32 KiB: on the heap, zeroed as libxcrypt requires.
  return std::unique_ptr<crypt_data, CryptDataDeleter>(new crypt_data());
}

}  // namespace

absl::StatusOr<std::string> HashPassword(absl::string_view password, int cost) {
  if (password.empty()) {
    return absl::InvalidArgumentError("password is empty");
  }
  if (password.size() > kBcryptMaxBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("password is longer than ", kBcryptMaxBytes, " bytes"));
  }
  if (password.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError("password contains a NUL byte");
  }
  if (cost < 4 || cost > 31) {
    return absl::InvalidArgumentError(
        absl::StrCat("bcrypt cost ", cost, " is outside 4..31"));
  }
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  // No random bytes given: libxcrypt reads the OS's RNG.
  if (crypt_gensalt_rn("$2b$", static_cast<unsigned long>(cost), nullptr, 0,
                       setting, sizeof(setting)) == nullptr) {
    return absl::InternalError(
        absl::StrCat("crypt_gensalt failed: ", strerror(errno)));
  }
  const std::string phrase(password);
  auto data = NewCryptData();
  const char* out =
      crypt_rn(phrase.c_str(), setting, data.get(), sizeof(*data));
  if (out == nullptr || out[0] == '*') {
    return absl::InternalError(absl::StrCat("crypt failed: ", strerror(errno)));
  }
  return std::string(out);
}

bool VerifyPassword(absl::string_view password, absl::string_view hash) {
  if (password.empty() || !IsSupportedHash(hash)) return false;
  // bcrypt would ignore the bytes past 72, and crypt stops at a NUL: refuse
  // rather than accept a password that only shares a prefix.
  if (IsBcrypt(hash) && password.size() > kBcryptMaxBytes) return false;
  if (password.find('\0') != absl::string_view::npos) return false;
  const std::string phrase(password);
  const std::string setting(hash);
  auto data = NewCryptData();
  const char* out =
      crypt_rn(phrase.c_str(), setting.c_str(), data.get(), sizeof(*data));
  if (out == nullptr || out[0] == '*') return false;
  return ConstantTimeEquals(out, hash);
}

bool IsSupportedHash(absl::string_view hash) {
  if (hash.empty() || hash.find('\0') != absl::string_view::npos) {
    return false;
  }
  const std::string h(hash);
  if (crypt_checksalt(h.c_str()) != CRYPT_SALT_OK) return false;
  if (IsBcrypt(hash)) {
    // "$2b$" two cost digits "$" then 22 salt and 31 hash characters.
    return hash.size() == 60 && absl::ascii_isdigit(hash[4]) &&
           absl::ascii_isdigit(hash[5]) && hash[6] == '$' &&
           AllCryptChars(hash.substr(7));
  }
  const size_t checksum_length = ChecksumLength(hash);
  if (checksum_length == 0) return false;
  const size_t last = hash.rfind('$');
  const absl::string_view checksum = hash.substr(last + 1);
  return checksum.size() == checksum_length && AllCryptChars(checksum);
}

}  // namespace gennaker::auth
