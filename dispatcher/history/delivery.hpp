// A delivery (one event for one endpoint) and its event as stored: the deterministic
// delivery id, the packed values the scripts write into an hour's bucket (redis/keys.hpp),
// the attempt record, and the API JSON built from them. No I/O.
//
// Packed values (fields separated by a tab; only the last field of a line may hold free
// text, and the writers replace tabs and newlines in it):
//
//   d:<delivery id>  status, attempt_count, last_status_code, next_attempt_at (ms),
//                    created_at (ms), updated_at (ms), manual (0|1), event_id, endpoint_id,
//                    last_error; then one line per attempt, oldest first: attempt,
//                    started_at (ms), duration_ms, status code, trigger (m|s), error and
//                    response excerpt as JSON strings (error empty when none)
//   e:<event id>     type, consumerid, connectionid, received_at (ms), stream order,
//                    delivery ids (comma separated); then a newline and the event's
//                    bytes, exactly as sent (layout 4: one field per event, not two)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace dispatcher::history {

enum class delivery_status { pending, retrying, succeeded, failed };

std::string_view to_string(delivery_status s);
std::optional<delivery_status> parse_status(std::string_view text);

/// "dlv_" + the bucket (six hex digits of the hour the event was received) + 18 hex digits
/// of SHA-256(event_id, endpoint_id): reprocessing the same event for the same endpoint
/// lands on the same record (the event is deduped first), and the id names its bucket.
std::string delivery_id(std::string_view event_id, std::string_view endpoint_id,
                        std::string_view bucket);
/// Appends delivery_id(event_id, endpoint_id, bucket) to `out`.
void append_delivery_id(std::string& out, std::string_view event_id, std::string_view endpoint_id,
                        std::string_view bucket);
/// The bucket a delivery id names (its six hex digits after "dlv_").
std::string_view bucket_of(std::string_view delivery_id);

enum class trigger { scheduled, manual };

struct attempt_record {
  int attempt = 1;
  std::int64_t started_at_ms = 0;
  std::int64_t duration_ms = 0;
  std::optional<int> status_code;
  std::string error;  // empty when a response arrived
  std::string response_excerpt;
  trigger cause = trigger::scheduled;
};

/// One attempt as a line of the delivery's record: tab-separated, no raw newline.
std::string to_storage(const attempt_record& a);

/// The API form of a stored attempt (times as RFC 3339).
nlohmann::json attempt_json(std::string_view stored);

/// `text` with tabs and line breaks replaced by spaces: safe as the last field of a line.
std::string record_text(std::string_view text);
/// Appends record_text(text) to `out`.
void append_record_text(std::string& out, std::string_view text);

struct delivery_record {
  delivery_status status = delivery_status::pending;
  int attempt_count = 0;
  std::optional<int> last_status_code;
  std::optional<std::int64_t> next_attempt_at_ms;
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
  bool manual = false;
  std::string event_id;
  std::string endpoint_id;
  std::string last_error;
  std::vector<std::string> attempts;  // stored attempt lines, oldest first
};

/// nullopt when `packed` is not a delivery record (written by hand, or damaged).
std::optional<delivery_record> parse_delivery_record(std::string_view packed);
/// The packed form the scripts write; here for tests and tools.
std::string pack(const delivery_record& r);
/// pack(r) with `attempt` after r's attempts (none when empty): the record after a
/// delivery's first attempt, written without copying the attempt's line into r first.
std::string pack(const delivery_record& r, std::string_view attempt);

struct event_record {
  std::string type;
  std::string consumerid;
  std::string connectionid;
  std::int64_t received_at_ms = 0;
  std::string order;
  std::vector<std::string> delivery_ids;
};

/// Reads the record line of an e: value (what precedes its first newline).
std::optional<event_record> parse_event_record(std::string_view packed);
/// The record line alone; an e: value is this, a newline and the payload.
std::string pack(const event_record& r);
/// Appends the record line's fields before the delivery ids, each followed by a tab: what
/// pack(event_record) writes first, for callers that hold the fields as views.
void append_event_head(std::string& out, std::string_view type, std::string_view consumerid,
                       std::string_view connectionid, std::string_view received_at_ms,
                       std::string_view order);
/// The payload of an e: value: what follows its first newline; nullopt without one.
std::optional<std::string_view> event_payload(std::string_view stored);

/// The API form of a delivery. `event` (its event's record) is null when the event was
/// not found; its fields then show as null.
nlohmann::json delivery_json(std::string_view id, const delivery_record& d,
                             const event_record* event);

}  // namespace dispatcher::history
