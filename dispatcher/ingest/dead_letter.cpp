// The dead letters' pure side: a cursor is a stream id, and `at` is read from the entry
// id itself, since XADD * stamps it with the time the entry was dead-lettered.
#include "dispatcher/ingest/dead_letter.hpp"

#include <charconv>

#include "dispatcher/common/ids.hpp"
#include "dispatcher/common/time.hpp"

namespace dispatcher::ingest {

namespace {

constexpr std::string_view valid_parameters = "limit, cursor";

}  // namespace

std::optional<std::int64_t> stream_id_ms(std::string_view id) {
  if (!is_stream_id(id)) return std::nullopt;
  std::uint64_t ms = 0;
  std::from_chars(id.data(), id.data() + id.find('-'), ms);
  // Past what RFC 3339 can write, the id was not made by XADD *: no time to show.
  if (ms > static_cast<std::uint64_t>(max_rfc3339_seconds) * 1000) return std::nullopt;
  return static_cast<std::int64_t>(ms);
}

nlohmann::json to_api_json(const dead_letter& letter) {
  const auto ms = stream_id_ms(letter.id);
  return {{"id", letter.id},
          {"payload", letter.payload},
          {"error", letter.error},
          {"source_id", letter.source_id},
          {"at", ms ? nlohmann::json(format_rfc3339(*ms)) : nlohmann::json(nullptr)}};
}

std::variant<dead_letter_query, dead_letter_input_error> parse_dead_letter_query(
    const std::map<std::string, std::string>& query) {
  dead_letter_query q;
  for (const auto& [name, value] : query) {
    if (name == "limit") {
      std::size_t n = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc{} || end != value.data() + value.size() || n < 1 ||
          n > max_dead_letter_limit) {
        return dead_letter_input_error{name, "limit must be an integer from 1 to 500"};
      }
      q.limit = n;
    } else if (name == "cursor") {
      if (!is_stream_id(value)) {
        return dead_letter_input_error{name, "cursor is not one this API returned"};
      }
      q.after = value;
    } else {
      return dead_letter_input_error{name, "unknown parameter '" + name + "'; valid parameters: " +
                                               std::string(valid_parameters)};
    }
  }
  return q;
}

std::variant<std::optional<std::string>, dead_letter_input_error> parse_retry_body(
    const nlohmann::json& body) {
  std::optional<std::string> payload;
  for (const auto& [name, value] : body.items()) {
    if (name != "payload") {
      return dead_letter_input_error{name, "unknown field '" + name + "'; the body is {} or " +
                                               "{\"payload\": {...}}, a corrected event"};
    }
    if (!value.is_object()) {
      return dead_letter_input_error{"payload",
                                     "payload must be a JSON object (the corrected "
                                     "event), or left out to retry the stored one"};
    }
    payload = value.dump();
  }
  return payload;
}

std::vector<dead_letter> to_dead_letters(const redis::reply& entries) {
  std::vector<dead_letter> out;
  if (entries.type != redis::reply::kind::array) return out;
  out.reserve(entries.elements.size());
  for (const auto& entry : entries.elements) {
    if (entry.type != redis::reply::kind::array || entry.elements.size() < 2 ||
        entry.elements[0].type != redis::reply::kind::string) {
      continue;
    }
    dead_letter letter;
    letter.id = entry.elements[0].str;
    const auto& fields = entry.elements[1].elements;
    for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
      const auto& name = fields[i].str;
      auto* slot = name == "payload"     ? &letter.payload
                   : name == "error"     ? &letter.error
                   : name == "source_id" ? &letter.source_id
                                         : nullptr;
      if (slot != nullptr) *slot = fields[i + 1].str;
    }
    out.push_back(std::move(letter));
  }
  return out;
}

}  // namespace dispatcher::ingest
