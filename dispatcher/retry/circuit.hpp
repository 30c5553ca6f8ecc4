// The circuit breaker and auto-disable rules of CONTRACT section 9, as pure decisions.
// An endpoint's breaker state is shared by every instance, so it lives in the endpoint's
// Redis hash and the scripts change it atomically with the attempt records
// (redis/scripts.cpp: breaker_after in complete_attempts, the probe grant in claim_due,
// make_ready); the Lua there follows these functions step for step and names them. Here
// they are stated once in C++ so each rule is tested without Redis, and the API's
// `circuit` is derived from the same state.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "dispatcher/routing/endpoint.hpp"

namespace dispatcher::retry {

struct breaker_settings {
  std::size_t failures = 20;                             // DISPATCHER_BREAKER_FAILURES
  std::chrono::milliseconds probe{30'000};               // DISPATCHER_BREAKER_PROBE
  std::chrono::milliseconds disable_after{432'000'000};  // DISPATCHER_DISABLE_AFTER (5d)
};

/// What the endpoint hash holds (field names in brackets).
struct breaker_state {
  std::int64_t failures = 0;                     // failed attempts in a row (cb_fails)
  std::optional<std::int64_t> open_until_ms;     // open; the next probe may start (cb_open)
  std::optional<std::string> probe;              // delivery of the probe in flight (cb_probe)
  std::optional<std::int64_t> failing_since_ms;  // first failure after a success (fail_since)
};

routing::circuit_state circuit_of(const breaker_state& s);

struct attempt_effect {
  breaker_state state;
  bool opened = false;   // this failure opened the circuit
  bool closed = false;   // this success closed it
  bool disable = false;  // attempts have failed for disable_after: disable the endpoint
};

/// The state after one attempt of `delivery_id` ended at `now_ms`. A failure counts
/// towards opening and starts the disable clock; the probe's failure re-arms the next
/// probe one period later; any success closes the circuit and stops the clock.
attempt_effect after_attempt(breaker_state s, bool succeeded, std::string_view delivery_id,
                             std::int64_t now_ms, const breaker_settings& settings);

struct claim_allowance {
  std::size_t take = 0;  // deliveries the claim may lease now
  bool probe = false;    // the one taken is the probe: remember it (cb_probe)
  /// Open, waiting for the probe time: the endpoint is ready again no earlier than this.
  std::optional<std::int64_t> not_before_ms;
};

/// How many of `free_slots` a claim may use: all while closed; while open none before the
/// probe time, then one (the probe); none while the probe is in flight.
claim_allowance allowance(const breaker_state& s, std::size_t free_slots, std::int64_t now_ms);

/// The reason an auto-disabled endpoint shows (`disabled_reason`).
std::string disable_reason(std::int64_t failing_since_ms, std::int64_t now_ms);

}  // namespace dispatcher::retry
