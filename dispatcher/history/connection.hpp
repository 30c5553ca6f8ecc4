// The connection status history as stored: one sorted-set member per event that names a
// connection, scored by the event's `created` (seconds), so the newest status is the last
// member whatever order the events arrived in; ties go by stream position, which leads
// the member. The same set serves the delivery list's `connectionid` filter. A member is
// kept under 64 bytes for any UUID event id, so Redis stores a connection's set in its
// compact listpack form rather than as a skiplist (about 1.2 KB for one entry). No I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace dispatcher::history {

/// A stream id "ms-seq" as a key whose string order is stream order: each number as a
/// letter giving its digit count ('a' + count) and its digits ("1700000000000-3" becomes
/// "n1700000000000b3"). Short, and general: any 64-bit part sorts right.
std::string stream_order_key(std::string_view stream_id);
/// Appends stream_order_key(stream_id) to `out`.
void append_stream_order_key(std::string& out, std::string_view stream_id);

struct history_member {
  std::string order;   // stream_order_key of the event's stream entry
  char status = '-';   // 'a' active, 'i' inactive, 'd' deleted, '-' not a status change
  std::string bucket;  // the hour holding the event's records (redis/keys.hpp)
  std::string event_id;
  std::string type;  // the event type ("account.connection.created" ...)
};

/// "<order>|<status>|<bucket>|<event id>|<type code>", the three known connection event
/// types coded as c, u and d. The ingest script writes the same.
std::string pack(const history_member& m);
/// Appends what pack() writes for these fields, for callers that hold them as views.
void append_history_member(std::string& out, std::string_view order, char status,
                           std::string_view bucket, std::string_view event_id,
                           std::string_view type);
/// nullopt when `text` is not a member (written by hand, or damaged).
std::optional<history_member> parse_history_member(std::string_view text);

/// What an event says of its connection: 'a', 'i' or 'd' for the connection events that
/// change its status (a deletion, or `status` active or inactive), '-' for any other.
char status_change(std::string_view type, std::string_view status);

/// "active", "inactive", "deleted"; empty for '-'.
std::string_view status_name(char status);

/// The API form of a status entry: event, status, at (RFC 3339, or the number as stored
/// when it is outside what RFC 3339 can say) and event_id.
nlohmann::json history_entry_json(const history_member& m, std::int64_t created_seconds);

}  // namespace dispatcher::history
