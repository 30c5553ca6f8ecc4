// Every Redis key the service uses, in one place. All of them carry the hash tag of the
// event stream ("{lifecycle:events}:..."), so each Lua script touches keys of one slot and
// the layout runs unchanged on Redis Cluster, the stream itself included (a key without
// braces hashes its whole name, which is the tag's content). Sharding the stream N ways
// later means N streams, each with its own tagged keyspace: a change of prefix, not of
// layout. The scripts build the same names from KEYS[1] (the stream); the layout is
// described in the README ("Redis layout").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dispatcher::redis {

/// Bumped whenever a key or a packed value changes meaning. The service refuses to start
/// on a Redis holding another version (app/service.cpp).
inline constexpr std::string_view layout_version = "4";

/// Records are kept in one hash per hour of receipt; retention drops whole hours.
inline constexpr std::int64_t bucket_ms = 3'600'000;

/// The hour `ms` falls in as six lowercase hex digits: the bucket's name, and the start of
/// every delivery id created in it (history::delivery_id), so an id alone finds its record.
std::string bucket_name(std::int64_t ms);

/// Why the service must not start on a Redis whose layout key holds `stored` (nullopt:
/// none yet) and which does (`legacy_keys`) or does not hold keys of the first layout,
/// whose keys had no prefix; nullopt when it may.
std::optional<std::string> layout_problem(const std::optional<std::string>& stored,
                                          bool legacy_keys);

class keyspace {
 public:
  explicit keyspace(std::string_view stream);

  const std::string& stream() const noexcept { return stream_; }
  /// "{<stream>}:": the hash tag every other key starts with.
  const std::string& prefix() const noexcept { return prefix_; }

  std::string layout() const { return prefix_ + "layout"; }
  std::string endpoint(std::string_view id) const { return cat("ep:", id); }
  std::string endpoints() const { return prefix_ + "endpoints"; }
  std::string endpoints_version() const { return prefix_ + "endpoints:version"; }
  /// event id -> the bucket holding it: the dedupe set and the event lookup.
  std::string seen() const { return prefix_ + "seen"; }
  /// The hour's records: e:<event id> (metadata, a newline, the payload),
  /// d:<delivery id> (state and attempts).
  std::string bucket(std::string_view name) const { return cat("b:", name); }
  /// Buckets that exist, scored by their hour: what the retention sweep walks.
  std::string buckets() const { return prefix_ + "buckets"; }
  /// Event id -> received_at (ms): every event that has deliveries.
  std::string index_all() const { return prefix_ + "i:all"; }
  /// Delivery id -> created_at (ms), which is its event's received_at.
  std::string index_endpoint(std::string_view id) const { return cat("i:ep:", id); }
  /// Event id -> received_at (ms): the consumer's events with deliveries.
  std::string index_consumer(std::string_view id) const { return cat("i:consumer:", id); }
  std::string connection_history(std::string_view id) const { return cat("conn:", id, ":history"); }
  std::string consumer_connections(std::string_view id) const {
    return cat("consumer:", id, ":connections");
  }
  std::string due(std::string_view endpoint_id) const { return cat("q:due:", endpoint_id); }
  /// An ordered endpoint's heads: c:<connection> -> "<order>|<delivery>" (the one that may
  /// go), d:<delivery> -> <connection> (what its completion advances).
  std::string ordering_heads(std::string_view endpoint_id) const { return cat("oh:", endpoint_id); }
  /// The deliveries of one connection held behind its head, by stream order.
  std::string ordering_chain(std::string_view endpoint_id, std::string_view connectionid) const {
    return cat("oc:", endpoint_id, std::string(":") + std::string(connectionid));
  }

 private:
  std::string cat(std::string_view a, std::string_view b, std::string_view c = {}) const;

  std::string stream_;
  std::string prefix_;
};

}  // namespace dispatcher::redis
