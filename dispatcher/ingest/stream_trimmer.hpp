// Keeps the event stream bounded: acknowledged entries older than the retention are
// trimmed with XTRIM MINID, never an entry some consumer group has not read yet or has
// read and not acknowledged (retention.hpp decides the bound). Every instance runs it;
// trims by several instances at once are harmless, as each removes only what all groups
// are done with. The dead-letter stream is capped where dead letters are written.
//
// It also drops the history past retention: records live in one hash per hour
// (redis/keys.hpp), so an expired hour goes whole, with its events' entries in the dedupe
// hash, instead of a TTL on every record.
//
// And it forgets the consumers of instances that stopped: each restart under the default
// name `<host>-<pid>` adds one to the group, and XINFO CONSUMERS would list them forever.
#pragma once

#include <chrono>
#include <cstddef>
#include <system_error>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "dispatcher/config/settings.hpp"
#include "dispatcher/redis/connection.hpp"
#include "dispatcher/redis/keys.hpp"

namespace dispatcher::ingest {

struct trim_result {
  std::error_code ec;
  std::size_t removed = 0;
};

class stream_trimmer {
 public:
  stream_trimmer(boost::asio::any_io_executor executor, redis::connection& conn,
                 const config::settings& settings);

  /// Trims once now.
  boost::asio::awaitable<trim_result> async_trim_once();
  /// Drops the hour buckets past retention; `removed` counts buckets.
  boost::asio::awaitable<trim_result> async_sweep_once();
  /// Deletes our group's consumers idle longer than `idle_limit` that hold nothing pending
  /// (what a stopped instance held, XAUTOCLAIM has taken over); `removed` counts them.
  boost::asio::awaitable<trim_result> async_forget_idle_consumers(
      std::chrono::milliseconds idle_limit);
  /// Trims every `interval` until stop(); a failed trim is logged and retried with backoff.
  /// Never throws.
  boost::asio::awaitable<void> async_run(std::chrono::milliseconds interval);
  void stop();

 private:
  redis::connection& conn_;
  const config::settings& settings_;
  redis::keyspace keys_;
  boost::asio::steady_timer timer_;
  bool stopped_ = false;
};

}  // namespace dispatcher::ingest
