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

/// Whether a head leaving this state lets the next delivery of its connection go: once it
/// is succeeded or failed. A retrying head stays the head.
bool releases_next(history::delivery_status status);

}  // namespace dispatcher::retry
