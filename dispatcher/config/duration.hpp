// Durations as operators write them: 250ms, 5s, 5m, 2h, 30d.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dispatcher::config {

/// Parses "<positive integer><unit>" with unit ms, s, m, h or d; nullopt otherwise.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

/// As parse_duration, but a zero ("0", "0s", "0ms", ...) parses as 0ms: settings read
/// values with it so that a zero is reported as "must be positive" where one is required,
/// rather than as text that is not a duration at all.
std::optional<std::chrono::milliseconds> parse_duration_or_zero(std::string_view text);

/// Parses a comma-separated list of durations ("5s,5m,30m"); nullopt if any is bad. With
/// zero_ok, items are read by parse_duration_or_zero.
std::optional<std::vector<std::chrono::milliseconds>> parse_duration_list(std::string_view text,
                                                                          bool zero_ok = false);

/// The shortest exact spelling: 300000ms -> "5m".
std::string format_duration(std::chrono::milliseconds d);

}  // namespace dispatcher::config
