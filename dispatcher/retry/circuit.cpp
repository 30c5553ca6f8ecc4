// The breaker and auto-disable decisions (circuit.hpp says why they live here as well as
// in the Lua of redis/scripts.cpp, which follows them step for step).
#include "dispatcher/retry/circuit.hpp"

#include <algorithm>

#include "dispatcher/common/time.hpp"

namespace dispatcher::retry {

routing::circuit_state circuit_of(const breaker_state& s) {
  if (s.probe) return routing::circuit_state::half_open;
  if (s.open_until_ms) return routing::circuit_state::open;
  return routing::circuit_state::closed;
}

attempt_effect after_attempt(breaker_state s, bool succeeded, std::string_view delivery_id,
                             std::int64_t now_ms, const breaker_settings& settings) {
  attempt_effect out;
  if (succeeded) {
    out.closed = s.open_until_ms.has_value();
    out.state = {};
    return out;
  }
  ++s.failures;
  if (!s.failing_since_ms) s.failing_since_ms = now_ms;
  if (s.probe && *s.probe == delivery_id) {
    // The probe failed: the next one goes a period from now.
    s.probe.reset();
    s.open_until_ms = now_ms + settings.probe.count();
  } else if (!s.open_until_ms && s.failures >= static_cast<std::int64_t>(settings.failures)) {
    s.open_until_ms = now_ms + settings.probe.count();
    out.opened = true;
  }
  out.disable = now_ms - *s.failing_since_ms >= settings.disable_after.count();
  out.state = std::move(s);
  return out;
}

claim_allowance allowance(const breaker_state& s, std::size_t free_slots, std::int64_t now_ms) {
  if (s.probe) return {};
  if (s.open_until_ms) {
    if (now_ms < *s.open_until_ms) return {0, false, s.open_until_ms};
    const std::size_t take = std::min<std::size_t>(free_slots, 1);
    return {take, take > 0, std::nullopt};
  }
  return {free_slots, false, std::nullopt};
}

std::string disable_reason(std::int64_t failing_since_ms, std::int64_t now_ms) {
  // Whole seconds: the script writes the same sentence (rfc3339 in redis/scripts.cpp).
  const auto whole = [](std::int64_t ms) { return ms - ((ms % 1000) + 1000) % 1000; };
  return "every attempt failed since " + format_rfc3339(whole(failing_since_ms)) +
         " (DISPATCHER_DISABLE_AFTER); disabled at " + format_rfc3339(whole(now_ms));
}

}  // namespace dispatcher::retry
