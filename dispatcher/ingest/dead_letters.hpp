// The dead-letter stream as the admin API shows it (CONTRACT section 6): a list, newest
// first with cursor paging, and the removal of one entry once it was retried or discarded.
// The stream reader writes the entries (CONTRACT section 1: payload, error, source_id);
// this unit only reads and deletes them, and holds every Redis command the dead-letter
// routes need, so those routes stay parse, ask, render. The parsing of the routes' input
// and the rendering of an entry are pure functions, tested without Redis.
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
#include <nlohmann/json.hpp>

#include "dispatcher/redis/connection.hpp"

namespace dispatcher::ingest {

struct dead_letter {
  std::string id;         // its entry id in the dead-letter stream
  std::string payload;    // the malformed entry's payload (its first 4 KiB when larger)
  std::string error;      // why it was refused
  std::string source_id;  // its entry id in the event stream
};

/// {"id", "payload", "error", "source_id", "at"}: `at` is RFC 3339 of the entry id's
/// milliseconds, when the entry was dead-lettered; the payload is a string, since it may
/// not be JSON at all.
nlohmann::json to_api_json(const dead_letter& letter);

/// The milliseconds part of a stream entry id; nullopt when it is not one.
std::optional<std::int64_t> stream_id_ms(std::string_view id);

inline constexpr std::size_t default_dead_letter_limit = 50;
inline constexpr std::size_t max_dead_letter_limit = 500;

struct dead_letter_query {
  std::size_t limit = default_dead_letter_limit;
  std::optional<std::string> after;  // the cursor: entries older than this id
};

struct dead_letter_input_error {
  std::string field;
  std::string message;
};

/// The list's parameters, `limit` (1 to 500) and `cursor` (a next_cursor this API gave);
/// anything else is refused naming the valid ones.
std::variant<dead_letter_query, dead_letter_input_error> parse_dead_letter_query(
    const std::map<std::string, std::string>& query);

/// A retry's body: {} or {"payload": {...}} (a corrected event). The corrected payload as
/// JSON text, nullopt to use the stored one, or the error naming the field.
std::variant<std::optional<std::string>, dead_letter_input_error> parse_retry_body(
    const nlohmann::json& body);

/// An XRANGE or XREVRANGE reply as dead letters; entries of another shape are skipped,
/// missing fields are empty.
std::vector<dead_letter> to_dead_letters(const redis::reply& entries);

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
