// Delivery list filters, shared by GET /v1/deliveries (query string) and the bulk retry
// (JSON body): parsing with errors naming the field, the choice of the most selective
// index, the match of a record against the remaining conditions, and opaque cursors.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "dispatcher/history/delivery.hpp"
#include "dispatcher/redis/keys.hpp"

namespace dispatcher::history {

struct cursor {
  std::int64_t score = 0;  // created_at ms of the last item returned
  std::string id;          // its delivery id, to break ties
  /// Its event id, when the walk went through an index of events (index_holds_events):
  /// there the order is (created_at, event, delivery), so a page may end inside an event
  /// and the next resumes there. Empty for a walk of deliveries.
  std::string event;
};

/// "<score>_<delivery id>", then "~<event id>" when the cursor has one: '~' is in neither
/// id's alphabet and needs no escaping in a query string.
std::string encode_cursor(const cursor& c);
std::optional<cursor> decode_cursor(std::string_view text);

struct delivery_filter {
  std::optional<delivery_status> status;
  std::optional<std::string> endpoint_id;
  std::optional<std::string> event;
  std::optional<std::string> consumerid;
  std::optional<std::string> connectionid;
  std::optional<std::int64_t> since_ms;  // created_at >= since
  std::optional<std::int64_t> until_ms;  // created_at < until
  std::size_t limit = 50;
  std::optional<cursor> after;
};

struct filter_error {
  std::string field;
  std::string message;
};

/// The parameters parse_delivery_filter knows, as its 400 lists them.
inline constexpr std::string_view valid_filters =
    "status, endpoint_id, event, consumerid, connectionid, since, until, limit, cursor";

/// Parses the list parameters; unknown parameters are refused, so a typo is not silently
/// ignored (a bulk retry with a misspelt filter would otherwise match everything).
std::variant<delivery_filter, filter_error> parse_delivery_filter(
    const std::map<std::string, std::string>& params);

/// The index sorted set to scan: the most selective one the filter names. Status and event
/// type have no index of their own (a delivery's status changes; its type is one of a few):
/// they are checked while walking. A connection is found through its history instead
/// (history/connection.hpp), which the store reads whole.
std::string index_key(const redis::keyspace& keys, const delivery_filter& f);

/// Whether index_key names an index of events (i:all, i:consumer:<id>: member the event
/// id, scored by its receipt time) rather than of deliveries (i:ep:<id>). A filter on
/// event attributes only needs one member per event; the walk expands each event into
/// its deliveries (its e: record lists them) and checks the rest on their records.
bool index_holds_events(const delivery_filter& f);

/// The deliveries of one event met in a walk of an event index (`score` its receipt time,
/// `ids` its delivery ids as its record lists them), in the walk's order, newest page
/// first: ids descending, as members of one score come from ZREVRANGEBYSCORE. Those a
/// page before `after` returned are left out: all of an event later in the walk's order
/// than the cursor's, and in the cursor's own event the ids at or above its delivery.
std::vector<std::string> deliveries_in_walk(std::vector<std::string> ids, std::int64_t score,
                                            std::string_view event,
                                            const std::optional<cursor>& after);

/// Whether a delivery and its event satisfy every condition of the filter. `event` is null
/// when the event record is gone: only conditions on the delivery can then hold.
bool matches(const delivery_filter& f, const delivery_record& d, const event_record* event);

}  // namespace dispatcher::history
