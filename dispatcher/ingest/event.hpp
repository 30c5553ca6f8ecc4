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

/// True for event ids as the contract allows them: ^[A-Za-z0-9_.:-]{1,128}$. The assigned
/// forms, evt_<stream entry id> and api_<random>, fit it too.
bool is_event_id(std::string_view text);

/// True for Redis stream entry ids as XADD * makes them: <ms>-<seq>, both decimal, each
/// within 64 bits. Ids from a path are checked with it before they reach a command.
bool is_stream_id(std::string_view text);

/// True for 8-4-4-4-12 hexadecimal UUID strings (either case).
bool is_uuid(std::string_view text);

/// True for event type names: ^[a-z0-9_]+(\.[a-z0-9_]+)+$ (at least two dot-separated
/// segments). Shared with endpoint validation so filters and events agree on the grammar.
bool is_event_type(std::string_view text);

}  // namespace dispatcher::ingest
