// The retry decision: from what one attempt produced to what happens next. No I/O and
// no clock: callers pass the jitter draw, so every branch is unit-testable.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace dispatcher::retry {

struct attempt_outcome {
  std::optional<int> status_code;  // nullopt when no response arrived
  std::optional<std::chrono::seconds> retry_after;
  /// An operator's replay is one attempt: when it fails the delivery is `failed` again
  /// rather than starting a new day-long schedule (a bulk replay of 100k deliveries to a
  /// still-broken receiver would otherwise retry them all for a day). Replay again instead.
  bool manual = false;
};

enum class action_kind {
  succeeded,         // 2xx: done
  retry,             // wait `delay`, then try again
  failed,            // attempts exhausted
  disable_endpoint,  // 410 Gone: disable the endpoint, fail its pending deliveries
};

struct action {
  action_kind kind = action_kind::failed;
  std::chrono::milliseconds delay{0};
};

/// `attempt` is the 1-based number of the attempt just made; `schedule` the delays before
/// attempts 2..N (so N = schedule.size() + 1 attempts in all); `jitter_draw` in [-1, 1]
/// scales the ±20% jitter. Retry-After (429 and 503 only) wins when longer than the
/// jittered delay, capped at 24h.
action decide(const attempt_outcome& outcome, int attempt,
              const std::vector<std::chrono::milliseconds>& schedule, double jitter_draw);

/// Retry-After as delay seconds or an HTTP-date (relative to now_unix); nullopt if neither.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::int64_t now_unix);

}  // namespace dispatcher::retry
