// Wall-clock helpers shared by the API and the history: RFC 3339 output and the two
// input forms the API accepts for times (RFC 3339 or unix seconds).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dispatcher {

/// 9999-12-31T23:59:59Z, the last second RFC 3339 can write: the bound on event times
/// (CONTRACT section 1), which also keeps seconds * 1000 far from overflow.
inline constexpr std::int64_t max_rfc3339_seconds = 253402300799;

/// Milliseconds since the Unix epoch, from the system clock.
std::int64_t unix_now_ms();

/// "2026-11-23T09:41:05.123Z" (milliseconds only when not zero).
std::string format_rfc3339(std::int64_t unix_ms);

/// Unix ms from "1700000000" (seconds) or an RFC 3339 timestamp with Z or an offset.
std::optional<std::int64_t> parse_time(std::string_view text);

}  // namespace dispatcher
