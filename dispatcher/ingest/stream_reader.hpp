// The consumer-group reader: takes lifecycle events off the stream, validates them,
// dead-letters what is malformed, and turns each batch of valid events into their
// deliveries with Lua calls of bounded size, each acknowledging its entries in the same
// atomic step (a crash before it replays them; the event-id dedupe makes the replay
// harmless). A call made with an out-of-date endpoint registry writes nothing; the reader
// reloads the registry and matches those events again, so an endpoint change is in force
// for every event read after it, whichever instance reads it. Entries another instance
// left pending for longer than twice the request timeout are taken over with XAUTOCLAIM.
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
    // nullopt: no payload field. Only an excerpt when it is over max_payload: such an
    // entry is dead-lettered, and the whole of it is never copied.
    std::optional<std::string> payload;
    std::size_t payload_size = 0;  // the payload's size in the stream
    bool deleted = false;          // XAUTOCLAIM of an entry trimmed away
  };
  struct valid_event;

  boost::asio::awaitable<bool> async_process(std::vector<entry> entries);
  boost::asio::awaitable<bool> async_record(std::vector<valid_event> events);
  std::vector<entry> take_entries(redis::reply& list) const;
  boost::asio::awaitable<std::error_code> async_read_pending(std::string_view start);
  boost::asio::awaitable<std::error_code> async_autoclaim();

  redis::connection& blocking_;
  redis::connection& conn_;
  const config::settings& settings_;
  routing::registry& endpoints_;
  delivery::scheduler& scheduler_;
  std::string autoclaim_cursor_ = "0-0";
  std::size_t fanout_ = 1;    // deliveries per event in the last batch, at least 1
  std::vector<entry> ahead_;  // read, not yet ingested: the oldest first
  bool stopped_ = false;
};

}  // namespace dispatcher::ingest
