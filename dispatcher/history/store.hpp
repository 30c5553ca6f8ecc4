// Reads of the delivery history for the admin API: deliveries by filter with cursor
// paging, one delivery with its attempts, one event with its deliveries, and the
// connection status view. Every list walks an index sorted set written at ingest time
// and checks the conditions no index answers (status, event type) on the records it
// meets, with a bound on the work per request.
#pragma once

#include <optional>
#include <string>
#include <system_error>

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "dispatcher/history/event_deliveries.hpp"
#include "dispatcher/history/filter.hpp"
#include "dispatcher/redis/connection.hpp"
#include "dispatcher/redis/keys.hpp"

namespace dispatcher::history {

struct query_result {
  std::error_code ec;
  std::optional<nlohmann::json> value;  // nullopt: not found
};

class store {
 public:
  store(redis::connection& conn, redis::keyspace keys) : conn_(conn), keys_(std::move(keys)) {}

  /// {"data": [...], "next_cursor": ...}, newest first.
  boost::asio::awaitable<query_result> async_list_deliveries(const delivery_filter& f);
  /// Ids of up to `want` matching deliveries, newest first, and the cursor to continue
  /// from (nullopt at the end). Bounded work per call, for walking large matches in steps.
  struct id_page {
    std::error_code ec;
    std::vector<std::string> ids;
    std::optional<cursor> next;
  };
  boost::asio::awaitable<id_page> async_match_ids(const delivery_filter& f, std::size_t want);

  boost::asio::awaitable<query_result> async_get_delivery(const std::string& id);
  boost::asio::awaitable<query_result> async_get_event(const std::string& id);
  boost::asio::awaitable<query_result> async_get_connection(const std::string& id);
  boost::asio::awaitable<query_result> async_consumer_connections(
      const std::string& consumerid, const std::optional<std::string>& status);

 private:
  struct page {
    std::error_code ec;
    struct item {
      std::string id;
      std::int64_t score = 0;
      delivery_record delivery;
      std::optional<event_record> event;
    };
    std::vector<item> items;
    std::optional<cursor> next;
  };
  struct located_event {
    std::string bucket;  // the bucket the event was received in
    event_record event;
  };
  struct event_deliveries {
    std::error_code ec;
    std::vector<std::vector<event_delivery>> per_event;  // in the order of the events
  };
  /// The deliveries of each event, read in one pipelined round trip: the one reader of an
  /// event's deliveries, for the event view and the connection's list alike.
  boost::asio::awaitable<event_deliveries> async_read_deliveries(
      const std::vector<located_event>& events);
  /// Deliveries of the filter's connection, through its history.
  boost::asio::awaitable<page> async_scan_connection(const delivery_filter& f, std::size_t want);
  /// `with_events`: read each delivery's event record even when no condition needs it.
  /// At most `max_scanned` delivery records are read; a page may then come back short,
  /// with a cursor where the walk stopped.
  boost::asio::awaitable<page> async_scan(const delivery_filter& f, std::size_t want,
                                          std::size_t max_scanned, bool with_events);
  /// A walk of an index of events (index_holds_events): each event's record, then its
  /// deliveries, in (created_at, event, delivery) order, newest first.
  boost::asio::awaitable<page> async_scan_events(const delivery_filter& f, std::size_t want,
                                                 std::size_t max_scanned);

  redis::connection& conn_;
  redis::keyspace keys_;
};

}  // namespace dispatcher::history
