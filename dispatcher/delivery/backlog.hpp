// The backlog gauges (CONTRACT §6): how far the consumer group is behind the stream
// (dispatcher_stream_lag), what it read but has not acknowledged (dispatcher_stream_pending)
// and how many deliveries wait for an attempt (dispatcher_deliveries_due). They are read
// from Redis once a second by the scheduler's loop, never per delivery, so a scrape costs
// nothing and a busy service pays a few cheap commands a second (XINFO GROUPS is O(groups),
// ZCARD O(1) per endpoint). The reply decoding is pure and unit-tested; only
// async_sample_backlog talks to Redis.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "dispatcher/redis/connection.hpp"
#include "dispatcher/redis/keys.hpp"
#include "dispatcher/redis/reply.hpp"

namespace dispatcher::delivery {

/// One consumer group's row of XINFO GROUPS.
struct group_backlog {
  /// Entries added to the stream that the group has not read yet; nullopt when Redis cannot
  /// tell (it answers nil after entries were deleted from the middle of the stream).
  std::optional<std::int64_t> lag;
  /// Entries read by a consumer of the group and not acknowledged.
  std::int64_t pending = 0;
};

/// Finds `group` in an XINFO GROUPS reply (RESP2: an array of flat name/value arrays);
/// nullopt when it is not there or the reply has another shape.
std::optional<group_backlog> find_group_backlog(const redis::reply& xinfo_groups,
                                                std::string_view group);

/// Reads the three gauges and sets them in obs::global_metrics(). A gauge whose read
/// failed keeps its last value: a Redis hiccup must not read as an empty backlog.
boost::asio::awaitable<void> async_sample_backlog(redis::connection& conn,
                                                  const redis::keyspace& keys, std::string group,
                                                  std::vector<std::string> endpoint_ids);

}  // namespace dispatcher::delivery
