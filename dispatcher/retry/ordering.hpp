// Ordering per connection (CONTRACT section 9), as pure decisions. For an endpoint with
// `ordering: connection`, each connection has at most one delivery that may be attempted,
// its head; the others wait in a chain sorted by stream order and are not in the due
// queue at all, so neither the claim nor an endpoint without ordering pays for them. The
// scripts (redis/scripts.cpp: the ingest, complete_attempts and wake_endpoint scripts)
// carry these decisions out atomically and name the function they follow.
//
// An operator's replay (a `manual` requeue of a finished delivery) is never ordered: it
// is neither a head nor in a chain, so it cannot hold back fresh deliveries, and its
// completion advances nothing.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "dispatcher/history/delivery.hpp"

namespace dispatcher::retry {

/// Whether a delivery takes part in ordering: the endpoint asks for it and the event names
/// a connection. Events without a connectionid are not ordered.
bool is_ordered(bool endpoint_orders, std::string_view connectionid);

/// The connection's current head, as the ingest script sees it.
struct chain_head {
  std::string order;     // its stream order key (history::stream_order_key)
  bool started = false;  // attempted at least once, or leased to an attempt now
};

enum class ingest_place {
  head,       // nothing of this connection is unfinished: it may go at once
  hold,       // wait in the chain behind the head
  take_over,  // it comes earlier in the stream than a head that has not started (two
              // instances read the connection's events at about the same time): it becomes
              // the head, and the old head goes back into the chain
};

ingest_place place_on_ingest(const std::optional<chain_head>& head, std::string_view order);

/// Whether an ordered head that has not started may start now. Instances read the stream
/// in batches and ingest them apart: an earlier event of the connection may have been read
/// by another instance (pending in the consumer group) but not ingested yet. So a head
/// waits while the group holds a pending entry older than its own; once that entry is
/// ingested it takes the head over (place_on_ingest) if it is of this connection, or lets
/// the head go. `oldest_pending` is the smallest pending stream id (XPENDING) once the
/// caller's own entries were acknowledged, nullopt when nothing is pending. Stream ids
/// compare as numbers (ms, then sequence), not as strings.
enum class head_start {
  go,    // nothing older is pending
  wait,  // stay due `head_recheck` from now, and look again then
};
head_start start_head(std::string_view head_order, std::optional<std::string_view> oldest_pending);

/// How long a waiting head stays in its due queue before the claim looks again: short, as
/// the earlier entry is usually being ingested by another instance now, but long enough
/// that the claim loop does not spin on it.
inline constexpr std::chrono::milliseconds head_recheck{50};

/// Whether a head leaving this state lets the next delivery of its connection go: once it
/// is succeeded or failed. A retrying head stays the head.
bool releases_next(history::delivery_status status);

}  // namespace dispatcher::retry
