// The Prometheus text rendering: every family has HELP and TYPE lines, counters show their
// values, and the attempt-duration histogram is cumulative and consistent.
#include "dispatcher/obs/metrics.hpp"

#include <sstream>
#include <vector>

#include <gtest/gtest.h>

namespace dispatcher::obs {
namespace {

bool contains_line(const std::string& text, const std::string& line) {
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    if (l == line) return true;
  }
  return false;
}

TEST(metrics, attempts_by_endpoint_are_capped_and_the_rest_counted_as_other) {
  metrics m;
  m.attempts.set_cap(2);
  m.attempts.inc("ep_b", false);
  m.attempts.inc("ep_a", true);
  m.attempts.inc("ep_c", false);  // third endpoint: over the cap
  m.attempts.inc("ep_d", true);
  m.attempts.inc("ep_b", false);  // known: keeps its own series
  const std::string text = m.render();
  EXPECT_TRUE(
      contains_line(text, "dispatcher_attempts_total{endpoint=\"ep_b\",outcome=\"failure\"} 2"))
      << text;
  EXPECT_TRUE(
      contains_line(text, "dispatcher_attempts_total{endpoint=\"ep_a\",outcome=\"success\"} 1"));
  EXPECT_TRUE(
      contains_line(text, "dispatcher_attempts_total{endpoint=\"other\",outcome=\"failure\"} 1"));
  EXPECT_TRUE(
      contains_line(text, "dispatcher_attempts_total{endpoint=\"other\",outcome=\"success\"} 1"));
  EXPECT_EQ(text.find("ep_c"), std::string::npos);
  EXPECT_EQ(text.find("ep_d"), std::string::npos);
}

TEST(metrics, circuit_open_is_a_gauge_of_endpoints) {
  metrics m;
  EXPECT_TRUE(contains_line(m.render(0), "dispatcher_endpoint_circuit_open 0"));
  m.endpoint_circuit_open.set(2);
  const auto text = m.render(0);
  EXPECT_TRUE(contains_line(text, "# TYPE dispatcher_endpoint_circuit_open gauge")) << text;
  EXPECT_TRUE(contains_line(text, "dispatcher_endpoint_circuit_open 2")) << text;
}

TEST(metrics, oldest_due_is_the_age_of_the_oldest_waiting_delivery) {
  metrics m;
  EXPECT_TRUE(contains_line(m.render(5'000), "dispatcher_oldest_due_seconds 0"));
  m.oldest_due_created_ms.set(1'500);
  const std::string text = m.render(4'000);
  EXPECT_TRUE(contains_line(text, "# TYPE dispatcher_oldest_due_seconds gauge")) << text;
  EXPECT_TRUE(contains_line(text, "dispatcher_oldest_due_seconds 2.5")) << text;
}

TEST(metrics, render_shows_counters_with_help_and_type) {
  metrics m;
  m.events_received.inc(3);
  m.deliveries_succeeded.inc();
  for (int i = 0; i < 5; ++i) m.attempts.inc("ep_a", true);
  for (int i = 0; i < 2; ++i) m.attempts.inc("ep_a", false);
  m.attempts_in_flight.set(4);
  const std::string text = m.render();

  EXPECT_TRUE(contains_line(text, "# TYPE dispatcher_events_received_total counter")) << text;
  EXPECT_TRUE(contains_line(text, "dispatcher_events_received_total 3")) << text;
  EXPECT_TRUE(contains_line(text, "dispatcher_deliveries_succeeded_total 1"));
  EXPECT_TRUE(contains_line(text, "dispatcher_events_invalid_total 0"));
  EXPECT_TRUE(
      contains_line(text, "dispatcher_attempts_total{endpoint=\"ep_a\",outcome=\"success\"} 5"))
      << text;
  EXPECT_TRUE(
      contains_line(text, "dispatcher_attempts_total{endpoint=\"ep_a\",outcome=\"failure\"} 2"));
  EXPECT_TRUE(contains_line(text, "# TYPE dispatcher_attempts_in_flight gauge"));
  EXPECT_TRUE(contains_line(text, "dispatcher_attempts_in_flight 4"));
  EXPECT_TRUE(contains_line(text, "# TYPE dispatcher_attempt_duration_seconds histogram"));
}

TEST(metrics, every_family_has_help_before_type) {
  const std::string text = metrics{}.render();
  std::istringstream in(text);
  std::string previous;
  int families = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# TYPE ", 0) == 0) {
      ++families;
      const std::string name = line.substr(7, line.find(' ', 7) - 7);
      EXPECT_EQ(previous.rfind("# HELP " + name + " ", 0), 0u) << line;
    }
    previous = line;
  }
  EXPECT_EQ(families, 20);  // with the backlog gauges, the delivery latency and the circuit gauge
  EXPECT_EQ(text.back(), '\n');
}

TEST(metrics, histogram_is_cumulative_after_observe) {
  metrics m;
  m.attempt_duration.observe(0.003);  // le 0.005
  m.attempt_duration.observe(0.005);  // le 0.005: bounds are inclusive
  m.attempt_duration.observe(0.2);    // le 0.25
  m.attempt_duration.observe(42);     // +Inf only
  const std::string text = m.render();
  const std::string name = "dispatcher_attempt_duration_seconds";

  EXPECT_TRUE(contains_line(text, name + "_bucket{le=\"0.005\"} 2")) << text;
  EXPECT_TRUE(contains_line(text, name + "_bucket{le=\"0.1\"} 2"));
  EXPECT_TRUE(contains_line(text, name + "_bucket{le=\"0.25\"} 3"));
  EXPECT_TRUE(contains_line(text, name + "_bucket{le=\"2.5\"} 3"));
  EXPECT_TRUE(contains_line(text, name + "_bucket{le=\"30\"} 3"));
  EXPECT_TRUE(contains_line(text, name + "_bucket{le=\"+Inf\"} 4"));
  EXPECT_TRUE(contains_line(text, name + "_count 4"));
  EXPECT_TRUE(contains_line(text, name + "_sum 42.208"));
}

TEST(metrics, histogram_buckets_never_decrease) {
  metrics m;
  for (const double s : {0.001, 0.02, 0.02, 0.7, 3.0, 8.0, 29.0}) m.attempt_duration.observe(s);
  std::istringstream in(m.render());
  std::uint64_t last = 0;
  int buckets = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("dispatcher_attempt_duration_seconds_bucket", 0) != 0) continue;
    const std::uint64_t value = std::stoull(line.substr(line.rfind(' ') + 1));
    EXPECT_GE(value, last) << line;
    last = value;
    ++buckets;
  }
  EXPECT_EQ(buckets, 13);
  EXPECT_EQ(last, 7u);
}

TEST(metrics, negative_durations_count_as_zero) {
  metrics m;
  m.attempt_duration.observe(-1.0);
  const std::string text = m.render();
  EXPECT_TRUE(contains_line(text, "dispatcher_attempt_duration_seconds_bucket{le=\"0.005\"} 1"));
  EXPECT_TRUE(contains_line(text, "dispatcher_attempt_duration_seconds_sum 0"));
}

TEST(metrics, backlog_gauges_and_the_latency_histogram_are_rendered) {
  metrics m;
  m.stream_lag.set(5);
  m.stream_pending.set(2);
  m.deliveries_due.set(7);
  m.delivery_latency.observe(40.0);  // between the 30 and 60 bounds
  const std::string text = m.render();
  EXPECT_TRUE(contains_line(text, "# TYPE dispatcher_stream_lag gauge")) << text;
  EXPECT_TRUE(contains_line(text, "dispatcher_stream_lag 5"));
  EXPECT_TRUE(contains_line(text, "dispatcher_stream_pending 2"));
  EXPECT_TRUE(contains_line(text, "dispatcher_deliveries_due 7"));
  EXPECT_TRUE(contains_line(text, "# TYPE dispatcher_delivery_latency_seconds histogram"));
  EXPECT_TRUE(contains_line(text, "dispatcher_delivery_latency_seconds_bucket{le=\"30\"} 0"));
  EXPECT_TRUE(contains_line(text, "dispatcher_delivery_latency_seconds_bucket{le=\"60\"} 1"));
  EXPECT_TRUE(contains_line(text, "dispatcher_delivery_latency_seconds_bucket{le=\"+Inf\"} 1"));
  EXPECT_TRUE(contains_line(text, "dispatcher_delivery_latency_seconds_sum 40"));
  EXPECT_TRUE(contains_line(text, "dispatcher_delivery_latency_seconds_count 1"));
}

TEST(metrics, the_stream_lag_is_unknown_until_sampled_and_whenever_redis_cannot_tell) {
  metrics m;
  EXPECT_TRUE(contains_line(m.render(), "dispatcher_stream_lag NaN")) << m.render();
  m.stream_lag.set(0);
  EXPECT_TRUE(contains_line(m.render(), "dispatcher_stream_lag 0"));
  m.stream_lag.set(gauge::unknown);
  EXPECT_TRUE(contains_line(m.render(), "dispatcher_stream_lag NaN"));
  EXPECT_TRUE(contains_line(m.render(), "dispatcher_stream_pending 0"));  // others start at 0
}

TEST(metrics, global_metrics_is_one_instance) {
  EXPECT_EQ(&global_metrics(), &global_metrics());
  const auto before = global_metrics().redis_errors.get();
  global_metrics().redis_errors.inc();
  EXPECT_EQ(global_metrics().redis_errors.get(), before + 1);
}

}  // namespace
}  // namespace dispatcher::obs
