// Identifiers the services generate: ULIDs for executions (time-ordered, as
// Spinnaker's orca uses) and random UUIDs for configs and events.
#ifndef GENNAKER_COMMON_IDS_IDS_H_
#define GENNAKER_COMMON_IDS_IDS_H_

#include <cstdint>
#include <string>

namespace gennaker {

// A ULID (26 Crockford base32 characters: 48-bit epoch milliseconds, then 80
// random bits) for `unix_ms`. Later times sort after earlier ones.
std::string UlidAt(int64_t unix_ms);

// A ULID for now, strictly increasing within the process (within one
// millisecond the random part is incremented).
std::string NewUlid();

// A random (version 4) UUID, lower-case with dashes.
std::string NewUuid();

}  // namespace gennaker

#endif  // GENNAKER_COMMON_IDS_IDS_H_
