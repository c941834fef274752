// echo's email notification channel, internal to echo_notify (the contract
// is notify.h): a NotificationSender of type "email" that sends a rendered
// message as one HTML email (notify_internal::ComposeEmail) over SMTP with
// libcurl. Send splits the address and cc on spaces, commas and semicolons,
// refuses invalid addresses and more than 100 recipients (INVALID_ARGUMENT),
// and maps failures: timeouts DEADLINE_EXCEEDED; login, TLS and URL errors and
// SMTP 5xx replies FAILED_PRECONDITION; anything else (4xx, connection)
// UNAVAILABLE. Never logs or returns the password.
//
// The caller (BuildSenders) validates the EmailConfig first and has called
// curl_global_init before any sender is used.
#ifndef GENNAKER_SERVICES_ECHO_NOTIFY_EMAIL_SENDER_H_
#define GENNAKER_SERVICES_ECHO_NOTIFY_EMAIL_SENDER_H_

#include <memory>

#include "services/echo/notify/notify.h"

namespace gennaker::echo::notify_internal {

// The sender for a validated `config` (smtp_port 0 means 25).
std::unique_ptr<NotificationSender> NewEmailSender(
    const v1::EmailConfig& config);

}  // namespace gennaker::echo::notify_internal

#endif  // GENNAKER_SERVICES_ECHO_NOTIFY_EMAIL_SENDER_H_
