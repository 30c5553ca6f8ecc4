// A dead letter as the admin API shows it and takes it (CONTRACT section 6): the entry
// read back from an XRANGE reply, its JSON, the list's parameters and a retry's body. Pure
// functions, apart from the store (dead_letters.hpp) that issues the Redis commands, so the
// routes' input and output are unit-tested without Redis or Asio.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "dispatcher/redis/reply.hpp"

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

}  // namespace dispatcher::ingest
