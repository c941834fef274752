#include "common/testing/smtp_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/process/process.h"
#include "common/status/status_macros.h"
#include "common/testing/test_stores.h"

namespace gennaker::testing {
namespace {

constexpr char kDefaultPython[] = "/usr/bin/python3";
constexpr absl::Duration kReadyTimeout = absl::Seconds(20);

std::string Python() {
  const char* env = std::getenv("GENNAKER_SMTP_PYTHON");
  return env != nullptr && *env != '\0' ? env : kDefaultPython;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Whether something accepts TCP connections on 127.0.0.1:port.
bool Accepts(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok =
      connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

std::string LogTail(const std::string& path) {
  std::string log = ReadFile(path);
  if (log.size() > 800) log = log.substr(log.size() - 800);
  return log;
}

}  // namespace

std::string ReceivedMail::Header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (absl::EqualsIgnoreCase(k, name)) return v;
  }
  return "";
}

ReceivedMail ParseMail(const std::string& raw) {
  ReceivedMail mail;
  mail.raw = raw;
  // Headers end at the first empty line (LF or CRLF line ends).
  size_t pos = 0;
  std::vector<std::string> lines;
  while (pos < raw.size()) {
    size_t end = raw.find('\n', pos);
    if (end == std::string::npos) end = raw.size();
    std::string line = raw.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    pos = end + 1;
    if (line.empty()) break;
    if ((line[0] == ' ' || line[0] == '\t') && !lines.empty()) {
      lines.back() += line;  // unfolding: drop the line break only
    } else {
      lines.push_back(std::move(line));
    }
  }
  for (const std::string& line : lines) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    mail.headers.emplace_back(
        line.substr(0, colon),
        std::string(absl::StripAsciiWhitespace(line.substr(colon + 1))));
  }
  std::string body = pos < raw.size() ? raw.substr(pos) : "";
  if (absl::EqualsIgnoreCase(mail.Header("Content-Transfer-Encoding"),
                             "base64")) {
    std::string compact;
    for (char c : body) {
      if (!absl::ascii_isspace(static_cast<unsigned char>(c))) compact += c;
    }
    std::string decoded;
    if (absl::Base64Unescape(compact, &decoded)) body = std::move(decoded);
  }
  mail.body = std::move(body);
  mail.envelope_from = mail.Header("X-MailFrom");
  for (absl::string_view r :
       absl::StrSplit(mail.Header("X-RcptTo"), ',', absl::SkipWhitespace())) {
    mail.envelope_recipients.emplace_back(absl::StripAsciiWhitespace(r));
  }
  return mail;
}

absl::StatusOr<std::unique_ptr<TestSmtpServer>> TestSmtpServer::Start() {
  if (access(Python().c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(Python(),
                     " is not installed (apt-get install python3 "
                     "python3-aiosmtpd)"));
  }
  auto s = std::unique_ptr<TestSmtpServer>(new TestSmtpServer());
  s->dir_ = MakeTempDir("smtp");
  process::SpawnOptions check;
  check.argv = {Python(), "-c", "import aiosmtpd.handlers"};
  check.log_file = absl::StrCat(s->dir_, "/check.log");
  absl::StatusOr<int> rc = process::Run(check);
  if (!rc.ok() || *rc != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        Python(),
        " cannot import aiosmtpd (apt-get install python3-aiosmtpd): ",
        LogTail(check.log_file)));
  }
  // A port taken between FreePort and the bind: try again on another.
  absl::Status last;
  for (int attempt = 0; attempt < 3; ++attempt) {
    last = s->Launch();
    if (last.ok()) return s;
    s->Stop();
  }
  return last;
}

absl::Status TestSmtpServer::Launch() {
  GENNAKER_ASSIGN_OR_RETURN(port_, process::FreePort());
  const std::string log = absl::StrCat(dir_, "/aiosmtpd.log");
  process::SpawnOptions o;
  // -n: no setuid to nobody (it would fail, or lose the Maildir, as root).
  o.argv = {Python(),
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            absl::StrCat("127.0.0.1:", port_),
            "-c",
            "aiosmtpd.handlers.Mailbox",
            absl::StrCat(dir_, "/mail")};
  o.log_file = log;
  o.die_with_parent = true;
  GENNAKER_ASSIGN_OR_RETURN(pid_, process::Spawn(o));
  const absl::Time deadline = absl::Now() + kReadyTimeout;
  while (absl::Now() < deadline) {
    if (!process::IsAlive(pid_)) {
      pid_ = 0;
      return absl::UnavailableError(
          absl::StrCat("aiosmtpd exited at start: ", LogTail(log)));
    }
    if (Accepts(port_)) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::UnavailableError(
      absl::StrCat("aiosmtpd did not listen on 127.0.0.1:", port_, " within ",
                   absl::FormatDuration(kReadyTimeout), ": ", LogTail(log)));
}

TestSmtpServer::~TestSmtpServer() {
  Stop();
  RemoveTree(dir_);
}

void TestSmtpServer::Stop() {
  if (pid_ != 0) (void)process::Terminate(pid_, absl::Seconds(5));
  pid_ = 0;
}

std::vector<ReceivedMail> TestSmtpServer::Messages() const {
  namespace fs = std::filesystem;
  // Maildir: a message is written to tmp/ and renamed into new/, so every
  // file seen in new/ (or cur/) is complete.
  std::vector<std::tuple<fs::file_time_type, std::string>> files;
  for (const char* sub : {"/mail/new", "/mail/cur"}) {
    std::error_code ec;
    for (const auto& entry :
         fs::directory_iterator(absl::StrCat(dir_, sub), ec)) {
      if (!entry.is_regular_file(ec)) continue;
      files.emplace_back(entry.last_write_time(ec), entry.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  std::vector<ReceivedMail> out;
  for (const auto& [time, path] : files)
    out.push_back(ParseMail(ReadFile(path)));
  return out;
}

absl::StatusOr<std::vector<ReceivedMail>> TestSmtpServer::WaitForMessages(
    size_t n, absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    std::vector<ReceivedMail> mails = Messages();
    if (mails.size() >= n) return mails;
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("expected ", n, " message(s) within ",
                       absl::FormatDuration(timeout), ", got ", mails.size()));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
}

}  // namespace gennaker::testing
