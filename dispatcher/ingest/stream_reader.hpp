// The consumer-group reader: takes lifecycle events off the stream, validates them,
// dead-letters what is malformed, and turns each batch of valid events into their
// deliveries with one Lua call, which acknowledges the entries in the same atomic step
// (a crash before it replays them; the event-id dedupe makes the replay harmless). Entries another
// instance left pending for longer than twice the request timeout are taken over with XAUTOCLAIM.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "dispatcher/config/settings.hpp"
#include "dispatcher/delivery/scheduler.hpp"
#include "dispatcher/redis/connection.hpp"
#include "dispatcher/routing/endpoint_store.hpp"

namespace dispatcher::ingest {

class stream_reader {
 public:
  /// `blocking` is used only for XREADGROUP BLOCK (a blocked read holds its connection);
  /// `conn` carries everything else. Deliveries the ingest script leases at once go
  /// straight to `scheduler`; it is woken for those it queued.
  stream_reader(redis::connection& blocking, redis::connection& conn,
                const config::settings& settings, routing::registry& endpoints,
                delivery::scheduler& scheduler);

  /// Reads until stop(). Never throws; Redis errors are logged and retried with backoff.
  boost::asio::awaitable<void> async_run();
  void stop() { stopped_ = true; }

  /// XGROUP CREATE ... MKSTREAM, tolerating BUSYGROUP; false on other errors.
  boost::asio::awaitable<bool> async_ensure_group();

 private:
  struct entry {
    std::string id;
    std::optional<std::string> payload;  // nullopt: no payload field
    bool deleted = false;                // XAUTOCLAIM of an entry trimmed away
  };

  boost::asio::awaitable<bool> async_process(std::vector<entry> entries);
  boost::asio::awaitable<std::error_code> async_read_pending(std::string_view start);
  boost::asio::awaitable<std::error_code> async_autoclaim();

  redis::connection& blocking_;
  redis::connection& conn_;
  const config::settings& settings_;
  routing::registry& endpoints_;
  delivery::scheduler& scheduler_;
  std::string autoclaim_cursor_ = "0-0";
  std::size_t fanout_ = 1;  // deliveries per event in the last batch, at least 1
  bool stopped_ = false;
};

/// The history order key of a stream id "ms-seq": fixed-width so that string order is
/// stream order ("000001700000000000-0000000003").
std::string stream_order_key(std::string_view stream_id);

}  // namespace dispatcher::ingest
