// The dead-letter stream as the admin API shows it (CONTRACT section 6): a list, newest
// first with cursor paging, and the removal of one entry once it was retried or discarded.
// The stream reader writes the entries (CONTRACT section 1: payload, error, source_id);
// this unit only reads and deletes them, and holds every Redis command the dead-letter
// routes need, so those routes stay parse, ask, render. The parsing of the routes' input
// and the rendering of an entry are pure functions in dead_letter.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <system_error>
#include <variant>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "dispatcher/ingest/dead_letter.hpp"
#include "dispatcher/redis/connection.hpp"

namespace dispatcher::ingest {

class dead_letter_store {
 public:
  dead_letter_store(redis::connection& conn, std::string stream)
      : conn_(conn), stream_(std::move(stream)) {}

  struct page {
    std::error_code ec;
    std::vector<dead_letter> items;
    std::optional<std::string> next;  // the cursor of the next page, nullopt at the end
  };
  /// Newest first, at most q.limit, older than q.after when given.
  boost::asio::awaitable<page> async_list(const dead_letter_query& q);

  struct lookup {
    std::error_code ec;
    std::optional<dead_letter> value;  // nullopt: no such entry
  };
  /// `id` must be a stream id (is_stream_id).
  boost::asio::awaitable<lookup> async_get(const std::string& id);

  struct removal {
    std::error_code ec;
    bool removed = false;  // false: there was no such entry
  };
  /// XDEL; `id` must be a stream id.
  boost::asio::awaitable<removal> async_remove(const std::string& id);

 private:
  redis::connection& conn_;
  std::string stream_;
};

}  // namespace dispatcher::ingest
