// A lifecycle event as the stream carries it, and its validation. Validation never
// re-serialises the payload: the bytes the producer wrote are the bytes we sign and
// send, with only an "id" member inserted when the producer gave none.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "dispatcher/common/time.hpp"

namespace dispatcher::ingest {

/// The largest `created` accepted (CONTRACT section 1).
inline constexpr std::int64_t max_created = max_rfc3339_seconds;

struct event {
  std::string id;    // producer's idempotency key, or "evt_<stream entry id>"
  std::string type;  // "event" field, e.g. account.connection.created
  std::string accountid;
  std::string consumerid;
  std::string connectionid;  // empty unless given (required for account.connection.*)
  std::string status;        // "active", "inactive" or empty
  std::int64_t created = 0;  // unix seconds
  std::string body;          // the exact bytes to sign and send: the payload with "id" set
};

struct validation_error {
  std::string message;  // one sentence naming the field, e.g. "field 'consumerid' must be a UUID"
  /// The member the message is about ("consumerid"); empty when the payload as a whole is
  /// wrong (not JSON, too large, not an object).
  std::string field = {};
};

/// Validates one stream entry's payload per the contract (section 1): JSON nested at most
/// 64 deep, no key twice in an object, the fields of the table. `entry_id` is the
/// stream entry id, used for the default event id "evt_<entry_id>".
std::variant<event, validation_error> parse_event(std::string_view payload,
                                                  std::string_view entry_id,
                                                  std::size_t max_payload);

/// A stand-in stream entry id for an event the admin API takes in (POST /v1/events, a dead
/// letter retried without a source id): "api_" and 20 random id characters, so an event
/// without an id of its own gets evt_api_<random>.
std::string api_entry_id();

}  // namespace dispatcher::ingest
