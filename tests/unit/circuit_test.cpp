// The circuit breaker and auto-disable rules (retry/circuit.hpp), step by step: no Redis,
// no clock.
#include "dispatcher/retry/circuit.hpp"

#include <gtest/gtest.h>

namespace dispatcher::retry {
namespace {

using routing::circuit_state;
using namespace std::chrono_literals;

const breaker_settings three{3, 30s, 3600s};

breaker_state fail_times(breaker_state s, int n, std::int64_t now) {
  for (int i = 0; i < n; ++i) s = after_attempt(s, false, "dlv_x", now, three).state;
  return s;
}

TEST(circuit, opens_after_the_configured_failures_in_a_row) {
  auto s = fail_times({}, 2, 1000);
  EXPECT_EQ(circuit_of(s), circuit_state::closed);
  const auto third = after_attempt(s, false, "dlv_x", 1000, three);
  EXPECT_TRUE(third.opened);
  EXPECT_EQ(circuit_of(third.state), circuit_state::open);
  EXPECT_EQ(third.state.open_until_ms, 1000 + 30'000);
}

TEST(circuit, a_success_in_between_resets_the_count) {
  auto s = fail_times({}, 2, 1000);
  s = after_attempt(s, true, "dlv_x", 1000, three).state;
  s = fail_times(s, 2, 1000);
  EXPECT_EQ(circuit_of(s), circuit_state::closed);
  EXPECT_EQ(s.failures, 2);
}

TEST(circuit, while_open_nothing_goes_before_the_probe_time_then_one_probe) {
  const auto s = fail_times({}, 3, 1000);
  const auto early = allowance(s, 16, 30'999);
  EXPECT_EQ(early.take, 0u);
  EXPECT_EQ(early.not_before_ms, 31'000);
  const auto due = allowance(s, 16, 31'000);
  EXPECT_EQ(due.take, 1u);
  EXPECT_TRUE(due.probe);
  EXPECT_EQ(allowance(s, 0, 31'000).take, 0u);
  EXPECT_FALSE(allowance(s, 0, 31'000).probe);
}

TEST(circuit, nothing_goes_while_the_probe_is_in_flight) {
  auto s = fail_times({}, 3, 1000);
  s.probe = "dlv_p";
  EXPECT_EQ(circuit_of(s), circuit_state::half_open);
  EXPECT_EQ(allowance(s, 16, 1'000'000).take, 0u);
}

TEST(circuit, a_failed_probe_rearms_the_next_one_a_period_later) {
  auto s = fail_times({}, 3, 1000);
  s.probe = "dlv_p";
  const auto after = after_attempt(s, false, "dlv_p", 40'000, three);
  EXPECT_FALSE(after.state.probe);
  EXPECT_EQ(circuit_of(after.state), circuit_state::open);
  EXPECT_EQ(after.state.open_until_ms, 70'000);
  EXPECT_FALSE(after.opened) << "it was open already";
}

TEST(circuit, a_straggler_failing_while_the_probe_runs_keeps_the_probe) {
  auto s = fail_times({}, 3, 1000);
  s.probe = "dlv_p";
  const auto after = after_attempt(s, false, "dlv_other", 2000, three);
  EXPECT_EQ(after.state.probe, "dlv_p");
  EXPECT_EQ(after.state.open_until_ms, 31'000);
}

TEST(circuit, a_success_closes_it_and_the_claim_takes_every_free_slot_again) {
  auto s = fail_times({}, 3, 1000);
  s.probe = "dlv_p";
  const auto after = after_attempt(s, true, "dlv_p", 31'500, three);
  EXPECT_TRUE(after.closed);
  EXPECT_EQ(circuit_of(after.state), circuit_state::closed);
  EXPECT_EQ(after.state.failures, 0);
  EXPECT_FALSE(after.state.failing_since_ms);
  // Paced by the endpoint's concurrency: the free slots, not the backlog.
  EXPECT_EQ(allowance(after.state, 16, 31'500).take, 16u);
}

TEST(circuit, disables_once_attempts_have_failed_for_the_setting) {
  const breaker_settings short_disable{100, 30s, 1s};
  auto first = after_attempt({}, false, "dlv_a", 10'000, short_disable);
  EXPECT_EQ(first.state.failing_since_ms, 10'000);
  EXPECT_FALSE(first.disable);
  const auto before = after_attempt(first.state, false, "dlv_a", 10'999, short_disable);
  EXPECT_FALSE(before.disable);
  const auto at = after_attempt(before.state, false, "dlv_a", 11'000, short_disable);
  EXPECT_TRUE(at.disable);
}

TEST(circuit, the_disable_clock_restarts_after_a_success) {
  const breaker_settings short_disable{100, 30s, 1s};
  auto s = after_attempt({}, false, "dlv_a", 10'000, short_disable).state;
  s = after_attempt(s, true, "dlv_a", 10'500, short_disable).state;
  const auto later = after_attempt(s, false, "dlv_a", 20'000, short_disable);
  EXPECT_FALSE(later.disable) << "counted from the first failure after the last success";
  EXPECT_EQ(later.state.failing_since_ms, 20'000);
}

TEST(circuit, disable_reason_names_the_setting_and_both_times) {
  EXPECT_EQ(disable_reason(1'700'000'000'123, 1'700'000'432'999),
            "every attempt failed since 2023-11-14T22:13:20Z (DISPATCHER_DISABLE_AFTER); "
            "disabled at 2023-11-14T22:20:32Z");
}

}  // namespace
}  // namespace dispatcher::retry
