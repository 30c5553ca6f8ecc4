// Counters bumped where things happen, printed in one place in the Prometheus text format.
// One process-wide instance; counters are relaxed atomics so any thread may bump them.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace dispatcher::obs {

struct counter {
  std::atomic<std::uint64_t> value{0};
  void inc(std::uint64_t n = 1) noexcept { value.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t get() const noexcept { return value.load(std::memory_order_relaxed); }
};

struct gauge {
  /// A value no gauge takes, rendered as NaN: what a sampled gauge shows while its source
  /// cannot tell (Prometheus' way to say "no valid value").
  static constexpr std::int64_t unknown = std::numeric_limits<std::int64_t>::min();
  std::atomic<std::int64_t> value{0};
  void set(std::int64_t v) noexcept { value.store(v, std::memory_order_relaxed); }
  void add(std::int64_t v) noexcept { value.fetch_add(v, std::memory_order_relaxed); }
  std::int64_t get() const noexcept { return value.load(std::memory_order_relaxed); }
};

/// Cumulative histogram in seconds over the fixed bucket bounds `Bounds`.
template <const auto& Bounds>
struct histogram {
  static constexpr const auto& bounds = Bounds;
  std::array<std::atomic<std::uint64_t>, Bounds.size() + 1> buckets{};  // last = +Inf
  std::atomic<std::uint64_t> count{0};
  std::atomic<std::uint64_t> sum_micros{0};
  void observe(double seconds) noexcept;
};

inline constexpr std::array<double, 12> attempt_duration_bounds{0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                                0.5,   1,    2.5,   5,    10,  30};
/// From the stream entry to the successful attempt: milliseconds when the receiver is up,
/// up to the retry schedule's 27 hours when it was down.
inline constexpr std::array<double, 16> delivery_latency_bounds{
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200, 36000};

using duration_histogram = histogram<attempt_duration_bounds>;
using latency_histogram = histogram<delivery_latency_bounds>;

/// Attempt outcomes by endpoint. The first `cap` endpoints seen get series of their own
/// and the rest share endpoint="other", so a deployment with many endpoints cannot grow a
/// scrape without bound (Prometheus keeps every series it ever saw).
class endpoint_attempts {
 public:
  struct row {
    std::string endpoint;
    std::uint64_t succeeded = 0;
    std::uint64_t failed = 0;
  };
  /// Starts counting afresh with this cap: once per process, when the scheduler is built
  /// (a test that runs several services in one process gets each its own counts).
  void set_cap(std::size_t cap);
  void inc(std::string_view endpoint, bool succeeded);
  /// By endpoint id, then "other" when anything was counted there.
  std::vector<row> rows() const;

 private:
  mutable std::mutex mutex_;
  std::size_t cap_ = 100;
  std::map<std::string, row, std::less<>> by_endpoint_;
  row other_{"other"};
};

struct metrics {
  counter events_received;              // dispatcher_events_received_total
  counter events_invalid;               // dispatcher_events_invalid_total (dead-lettered)
  counter events_duplicate;             // dispatcher_events_duplicate_total
  counter events_claimed;               // dispatcher_events_reclaimed_total (XAUTOCLAIM)
  counter deliveries_created;           // dispatcher_deliveries_created_total
  counter deliveries_succeeded;         // dispatcher_deliveries_succeeded_total
  counter deliveries_failed;            // dispatcher_deliveries_failed_total
  endpoint_attempts attempts;           // dispatcher_attempts_total{endpoint,outcome}
  counter endpoints_disabled;           // dispatcher_endpoints_disabled_total (410, or failing)
  counter leases_expired;               // dispatcher_leases_expired_total
  counter redis_errors;                 // dispatcher_redis_errors_total
  gauge attempts_in_flight;             // dispatcher_attempts_in_flight
  gauge last_scheduler_run_unix;        // dispatcher_scheduler_last_run_timestamp_seconds
  gauge oldest_due_created_ms;          // dispatcher_oldest_due_seconds: age of this, 0 = none
  gauge endpoint_circuit_open;          // dispatcher_endpoint_circuit_open (open or half-open)
  duration_histogram attempt_duration;  // dispatcher_attempt_duration_seconds
  latency_histogram delivery_latency;   // dispatcher_delivery_latency_seconds
  // Sampled from Redis once a second (delivery/backlog.hpp).
  gauge stream_lag{gauge::unknown};  // dispatcher_stream_lag; unknown until sampled
  gauge stream_pending;              // dispatcher_stream_pending
  gauge deliveries_due;              // dispatcher_deliveries_due

  /// Prometheus text exposition format 0.0.4, with HELP and TYPE lines.
  std::string render(std::int64_t now_ms) const;
  std::string render() const;
};

/// The process-wide instance.
metrics& global_metrics();

}  // namespace dispatcher::obs
