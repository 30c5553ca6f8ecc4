// The backlog gauges (CONTRACT §6): how far the consumer group is behind the stream
// (dispatcher_stream_lag), what it read but has not acknowledged (dispatcher_stream_pending)
// and how many deliveries wait for an attempt (dispatcher_deliveries_due). They are read
// from Redis once a second by the scheduler's loop, never per delivery, so a scrape costs
// nothing and a busy service pays a few cheap commands a second (XINFO GROUPS is O(groups),
// ZCARD O(1) per endpoint). The reply decoding is pure
// (group_backlog.hpp); only async_sample_backlog talks to Redis.
#pragma once

#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "dispatcher/delivery/group_backlog.hpp"
#include "dispatcher/redis/connection.hpp"
#include "dispatcher/redis/keys.hpp"

namespace dispatcher::delivery {

/// Reads the three gauges and sets them in obs::global_metrics(). A gauge whose read
/// failed keeps its last value: a Redis hiccup must not read as an empty backlog. A lag
/// Redis answers nil for is set to obs::gauge::unknown.
boost::asio::awaitable<void> async_sample_backlog(redis::connection& conn,
                                                  const redis::keyspace& keys, std::string group,
                                                  std::vector<std::string> endpoint_ids);

}  // namespace dispatcher::delivery
