// A hand-written reader rather than a general parser: one number and one unit, with limits
// that keep every accepted duration inside int64 milliseconds.
#include "dispatcher/config/duration.hpp"

#include <charconv>

namespace dispatcher::config {

std::optional<std::chrono::milliseconds> parse_duration_or_zero(std::string_view text) {
  // A zero needs no unit: "0" means the same in every one.
  if (!text.empty() && text.find_first_not_of('0') == std::string_view::npos) {
    return std::chrono::milliseconds(0);
  }
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  // Nine digits of days still fit in int64 milliseconds.
  if (digits == 0 || digits > 9) return std::nullopt;
  long long value = 0;
  std::from_chars(text.data(), text.data() + digits, value);
  const std::string_view unit = text.substr(digits);
  long long factor = 0;
  if (unit == "ms")
    factor = 1;
  else if (unit == "s")
    factor = 1000;
  else if (unit == "m")
    factor = 60'000;
  else if (unit == "h")
    factor = 3'600'000;
  else if (unit == "d")
    factor = 86'400'000;
  else
    return std::nullopt;
  return std::chrono::milliseconds(value * factor);
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  auto d = parse_duration_or_zero(text);
  if (!d || d->count() == 0) return std::nullopt;
  return d;
}

std::optional<std::vector<std::chrono::milliseconds>> parse_duration_list(std::string_view text,
                                                                          bool zero_ok) {
  std::vector<std::chrono::milliseconds> out;
  while (true) {
    const auto comma = text.find(',');
    auto item = text.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    auto d = zero_ok ? parse_duration_or_zero(item) : parse_duration(item);
    if (!d) return std::nullopt;
    out.push_back(*d);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

std::string format_duration(std::chrono::milliseconds d) {
  const long long ms = d.count();
  struct unit {
    long long factor;
    const char* suffix;
  };
  for (const unit u :
       {unit{86'400'000, "d"}, unit{3'600'000, "h"}, unit{60'000, "m"}, unit{1000, "s"}}) {
    if (ms != 0 && ms % u.factor == 0) return std::to_string(ms / u.factor) + u.suffix;
  }
  return std::to_string(ms) + "ms";
}

}  // namespace dispatcher::config
