// Hand-written matchers rather than std::regex: they run on every event and every
// filter, std::regex is slow to build and to run, and each grammar is a few lines.
#include "dispatcher/common/ids.hpp"

#include <charconv>
#include <cstdint>
#include <string>

namespace dispatcher {

bool is_event_id(std::string_view text) {
  if (text.empty() || text.size() > 128) return false;
  for (const char c : text) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool is_stream_id(std::string_view text) {
  const auto dash = text.find('-');
  if (dash == std::string_view::npos) return false;
  // Redis answers an error, not an empty result, for a part past 2^64 - 1.
  const auto is_number = [](std::string_view part) {
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
    return !part.empty() && ec == std::errc{} && end == part.data() + part.size();
  };
  return is_number(text.substr(0, dash)) && is_number(text.substr(dash + 1));
}

bool is_uuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

bool is_event_type(std::string_view text) {
  std::size_t segments = 0;
  std::size_t segment_length = 0;
  for (const char c : text) {
    if (c == '.') {
      if (segment_length == 0) return false;
      ++segments;
      segment_length = 0;
    } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') {
      ++segment_length;
    } else {
      return false;
    }
  }
  if (segment_length == 0) return false;
  return segments + 1 >= 2;
}

bool is_event_filter(std::string_view filter) {
  if (is_event_type(filter)) return true;
  if (!filter.ends_with(".*")) return false;
  const std::string_view prefix = filter.substr(0, filter.size() - 2);
  // "a.*" is a one-segment prefix; is_event_type wants two segments, so check "a.x".
  return !prefix.empty() && is_event_type(std::string(prefix) + ".x");
}

bool event_filter_matches(std::string_view filter, std::string_view event_type) {
  if (filter.ends_with(".*")) {
    // Keep the dot: "account.*" matches "account.x" but not "accounts.x".
    return event_type.starts_with(filter.substr(0, filter.size() - 1));
  }
  return filter == event_type;
}

}  // namespace dispatcher
