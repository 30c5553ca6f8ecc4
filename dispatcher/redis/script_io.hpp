// The typed boundary to the Lua scripts (redis/scripts.hpp): for each script, one function
// encodes its arguments and one decodes its reply, so argument positions and reply shapes
// live here and nowhere else. The first argument of every encoded list is KEYS[1], the
// stream: every key a script touches carries its hash tag (redis/keys.hpp). Arguments are
// encoded straight into a redis::command (RESP, as they go on the wire), not as strings
// copied in later: the ingest and completion calls run for every delivery (issue 9). Pure,
// so unit tests check each pair without Redis.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dispatcher/history/delivery.hpp"
#include "dispatcher/redis/reply.hpp"

namespace dispatcher::redis {

/// A delivery leased to this process, by the ingest or the claim script.
struct leased_delivery {
  std::string id;
  std::string endpoint_id;
  std::string event_id;
  int attempts_before = 0;
  std::optional<std::string> payload;  // nullopt when the event expired
  bool manual = false;                 // an operator's replay
  std::int64_t created_at_ms = 0;
  std::int64_t entry_ms = 0;  // the stream entry's time when leased at ingest, else 0
};

// ingest_events -------------------------------------------------------------------------

/// Views of the caller's values, which must outlive encode(): their bytes are copied once,
/// into the command.
struct ingest_event {
  std::string_view id, body, type, consumerid, connectionid, status;
  std::int64_t created = 0;
  std::string_view order;     // the stream order key (history::stream_order_key)
  std::string_view entry_id;  // the stream entry to acknowledge
  struct target {
    std::string_view endpoint_id, delivery_id;
  };
  std::vector<target> deliveries;
};

struct ingest_request {
  std::string stream;
  std::int64_t now_ms = 0;
  std::int64_t retention_ms = 0;
  std::size_t endpoint_concurrency = 0;
  std::size_t room = 0;  // deliveries the caller can start now
  std::string token;     // the lease token for those
  std::int64_t lease_ms = 0;
  std::string group;
  std::string endpoints_version;  // what the deliveries were matched at
  std::string bucket;             // redis::bucket_name(now_ms): the delivery ids carry it
  std::vector<ingest_event> events;
  std::int64_t head_recheck_ms = 50;  // retry::head_recheck: when a waiting ordered head is due
};

/// Arguments one event adds to an ingest call, and those of the call itself.
std::size_t ingest_event_args(std::size_t deliveries);
inline constexpr std::size_t ingest_header_args = 11;

/// The values the script stores for a fresh event, built by the caller so that Lua only
/// places them: the e: value (history::pack of its event_record, received now, with its
/// delivery ids; a newline; the body) and a delivery's pending d: record (history::pack of a
/// delivery_record with nothing attempted, due, created and updated now). `now`: the call's ms as
/// text.
std::string event_value(const ingest_event& e, std::string_view now);
std::string pending_value(std::string_view event_id, std::string_view endpoint_id,
                          std::string_view now);
/// Append what event_value and pending_value return, to a buffer the caller reuses.
void append_event_value(std::string& out, const ingest_event& e, std::string_view now);
void append_pending_value(std::string& out, std::string_view event_id, std::string_view endpoint_id,
                          std::string_view now);

/// Per event: id, e: value, connection history member (history::pack, empty without a
/// connection), connectionid, created, order, stream entry, delivery count; then per
/// delivery its pending d: value, endpoint id and delivery id. The consumer travels in the
/// e: value only: its index and set are encode_event_indexes' plain commands.
command encode(const ingest_request& r);

/// The event indexes written beside the script rather than by it, as plain commands sent
/// ahead of it in the same pipeline: each event with deliveries in its consumer's index
/// (ZADD NX, scored now), and a status-changing event's connection in its consumer's set
/// (SADD). Inside the script each cost about 10,000 instructions more per event than as a
/// plain command (issue 9). Both are idempotent, so a duplicate event, a stale call
/// matched again or a retried batch changes nothing; and written first, an entry may
/// precede its record (lists skip what has no record yet) but a record is never without
/// its entries.
std::vector<command> encode_event_indexes(const ingest_request& r);

struct ingest_reply {
  bool stale = false;  // endpoints changed since the match: nothing was written
  /// Per event: its delivery count, or -1 when the event id was already accepted.
  std::vector<long long> counts;
  std::vector<leased_delivery> leased;  // without payloads: the caller has them
  bool queued = false;                  // some deliveries wait in a due queue
  std::vector<std::string> queued_for;  // the endpoints they wait for
};
std::optional<ingest_reply> decode_ingest(reply&& r);

// claim_due -----------------------------------------------------------------------------

struct claim_request {
  std::string stream;
  std::int64_t now_ms = 0;
  std::size_t max = 0;
  std::int64_t lease_ms = 0;
  std::size_t endpoint_concurrency = 0;
  std::string token;
  std::string group;                  // whose pending entries hold ordered heads back
  std::int64_t head_recheck_ms = 50;  // retry::head_recheck
};
command encode(const claim_request& r);

struct claim_reply {
  long long expired_leases = 0;  // taken back from instances that died mid-attempt
  std::vector<leased_delivery> claimed;
};
std::optional<claim_reply> decode_claim(reply&& r);

// complete_attempts ---------------------------------------------------------------------

struct completion {
  std::string delivery_id, endpoint_id, token;
  history::delivery_status status = history::delivery_status::failed;
  std::optional<std::int64_t> next_attempt_at_ms;
  std::optional<int> status_code;
  std::string error;           // the delivery's last_error
  std::string attempt;         // the attempt's stored line; empty: no attempt was made
  std::string disable_reason;  // non-empty: disable the endpoint (410 Gone)
  /// The delivery's whole new record (history::pack) when the caller knows it: a first
  /// attempt, with no stored attempts to keep. Empty: the script appends to the stored one.
  std::string record;
};

struct complete_request {
  std::string stream;
  std::int64_t now_ms = 0;
  std::size_t endpoint_concurrency = 0;
  std::vector<completion> completions;
  // The circuit breaker and auto-disable (retry/circuit.hpp: breaker_settings).
  std::size_t breaker_failures = 20;
  std::int64_t breaker_probe_ms = 30'000;
  std::int64_t disable_after_ms = 432'000'000;
};
/// After the call's settings, runs of completions under one token (`token, count`), each
/// `delivery, endpoint, kind` and the fields its kind names: the status, whether an attempt
/// was made, and whether the whole record follows (after the next attempt's time when
/// retrying) or the attempt is appended to the stored record (next attempt, code, error,
/// attempt line), then the reason to disable, if any. A first attempt that succeeded is
/// four arguments, not ten.
command encode(const complete_request& r);

struct complete_reply {
  std::vector<bool> written;  // false: the lease was no longer ours, nothing written
  bool due_now = false;       // a freed slot has due work waiting
  struct disabled_endpoint {
    std::string endpoint_id, reason;
  };
  std::vector<disabled_endpoint> disabled;  // by this call: a 410, or DISPATCHER_DISABLE_AFTER
};
std::optional<complete_reply> decode_complete(reply&& r);

// release_leases ------------------------------------------------------------------------

struct release_request {
  std::string stream;
  std::int64_t now_ms = 0;
  std::string token;
  std::size_t endpoint_concurrency = 0;
  struct lease {
    std::string delivery_id, endpoint_id;
  };
  std::vector<lease> leases;
};
command encode(const release_request& r);
std::optional<long long> decode_release(const reply& r);

// requeue_deliveries --------------------------------------------------------------------

struct requeue_request {
  std::string stream;
  std::int64_t now_ms = 0;
  std::size_t endpoint_concurrency = 0;
  double pace_ms = 0;  // 0: all due now
  std::vector<history::delivery_status> requeueable;
  std::vector<std::string> delivery_ids;
};
command encode(const requeue_request& r);
/// One outcome per id: "queued", or why not ("not_found", "in_flight", "event_expired",
/// "endpoint_deleted", "endpoint_disabled", or the delivery's status).
std::optional<std::vector<std::string>> decode_requeue(reply&& r);

// wake_endpoint -------------------------------------------------------------------------

struct wake_request {
  std::string stream;
  std::string endpoint_id;
  std::size_t endpoint_concurrency = 0;
  /// When deliveries released by a change of `ordering` become due.
  std::int64_t now_ms = 0;
};
command encode(const wake_request& r);

// retire_hour ---------------------------------------------------------------------------

struct retire_request {
  std::string stream;
  std::string hour;         // the expired bucket's name (redis::bucket_name)
  std::int64_t end_ms = 0;  // the end of that hour: index entries before it go
  struct event_keys {
    std::string consumerid, connectionid;  // connectionid may be empty
  };
  std::vector<event_keys> events;  // of the hour's events, each pair once
  /// The endpoints the hour's deliveries went to: their indexes (no TTL) lose the hour.
  std::vector<std::string> endpoints;
};
command encode(const retire_request& r);

// forget_idle_consumers -----------------------------------------------------------------

struct forget_consumers_request {
  std::string stream;
  std::string group;
  std::int64_t idle_ms = 0;  // longer idle than this, and nothing pending: the consumer goes
};
command encode(const forget_consumers_request& r);
/// The names of the consumers the script deleted.
std::optional<std::vector<std::string>> decode_forgotten(reply&& r);

}  // namespace dispatcher::redis
