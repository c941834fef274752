// A real SMTP server for tests: aiosmtpd (Debian's python3-aiosmtpd, run by
// /usr/bin/python3 or $GENNAKER_SMTP_PYTHON) on a free loopback port, storing
// every message it accepts in a throwaway Maildir. Destroying it stops the
// server, waits for it and removes the directory; the server also dies with
// the test process.
//
//   auto smtp = TestSmtpServer::Start();
//   ... send to 127.0.0.1:smtp->port() ...
//   auto mails = (*smtp)->WaitForMessages(1, absl::Seconds(10));
//   EXPECT_EQ((*mails)[0].Header("Subject"), "hello");
#ifndef GENNAKER_COMMON_TESTING_SMTP_SERVER_H_
#define GENNAKER_COMMON_TESTING_SMTP_SERVER_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace gennaker::testing {

// One message as the server stored it.
struct ReceivedMail {
  // The stored file (aiosmtpd adds X-Peer, X-MailFrom and X-RcptTo headers).
  std::string raw;
  // Headers in order, names as written, values unfolded (CRLF + space
  // removed) and trimmed.
  std::vector<std::pair<std::string, std::string>> headers;
  // The body after the blank line; decoded when Content-Transfer-Encoding is
  // base64, as stored otherwise.
  std::string body;
  // The SMTP envelope: MAIL FROM and RCPT TO addresses.
  std::string envelope_from;
  std::vector<std::string> envelope_recipients;

  // The first header named `name` (case-insensitive), or "".
  std::string Header(const std::string& name) const;
};

class TestSmtpServer {
 public:
  // Started and accepting connections. FAILED_PRECONDITION when python3 or
  // its aiosmtpd module is missing; UNAVAILABLE when it does not start.
  static absl::StatusOr<std::unique_ptr<TestSmtpServer>> Start();
  ~TestSmtpServer();
  TestSmtpServer(const TestSmtpServer&) = delete;
  TestSmtpServer& operator=(const TestSmtpServer&) = delete;

  std::string host() const { return "127.0.0.1"; }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  // The throwaway directory (the Maildir is <dir>/mail).
  const std::string& dir() const { return dir_; }

  // The messages stored so far, oldest first.
  std::vector<ReceivedMail> Messages() const;

  // Waits until at least `n` messages are stored and returns them all;
  // DEADLINE_EXCEEDED (saying how many arrived) after `timeout`.
  absl::StatusOr<std::vector<ReceivedMail>> WaitForMessages(
      size_t n, absl::Duration timeout) const;

  // Stops the server (idempotent); the directory stays until destruction.
  void Stop();

 private:
  TestSmtpServer() = default;
  absl::Status Launch();

  pid_t pid_ = 0;
  int port_ = 0;
  std::string dir_;
};

// Parses a stored message (exposed for tests of the parser).
ReceivedMail ParseMail(const std::string& raw);

}  // namespace gennaker::testing

#endif  // GENNAKER_COMMON_TESTING_SMTP_SERVER_H_
