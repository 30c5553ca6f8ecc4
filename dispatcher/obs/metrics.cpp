// Prints the process-wide counters in the Prometheus text exposition format 0.0.4. The
// counters are bumped where things happen (see metrics.hpp); this file is the one place
// that knows their public names and help texts, so renaming a metric is a one-line change
// here and a CHANGELOG entry.
#include "dispatcher/obs/metrics.hpp"

#include <charconv>
#include <chrono>
#include <cmath>
#include <string_view>
#include <system_error>

namespace dispatcher::obs {
namespace {

// Shortest text that reads back as the same double ("0.005", "2.5", "30"), which is what
// Prometheus clients print for bucket bounds too.
std::string format_double(double value) {
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  if (ec != std::errc{}) return "0";
  return std::string(buffer, end);
}

void append_header(std::string& out, std::string_view name, std::string_view type,
                   std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void append_counter(std::string& out, std::string_view name, std::string_view help,
                    const counter& c) {
  append_header(out, name, "counter", help);
  out.append(name).append(" ").append(std::to_string(c.get())).append("\n");
}

void append_gauge(std::string& out, std::string_view name, std::string_view help, const gauge& g) {
  append_header(out, name, "gauge", help);
  const std::int64_t v = g.get();
  out.append(name).append(" ").append(v == gauge::unknown ? "NaN" : std::to_string(v)).append("\n");
}

template <const auto& Bounds>
void append_histogram(std::string& out, std::string_view name, std::string_view help,
                      const histogram<Bounds>& h) {
  append_header(out, name, "histogram", help);
  // Buckets are stored per interval and summed here into Prometheus' cumulative form.
  // _count is that same sum rather than h.count, so the +Inf bucket always equals _count
  // even while other threads observe during the render.
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= Bounds.size(); ++i) {
    cumulative += h.buckets[i].load(std::memory_order_relaxed);
    const std::string le = i < Bounds.size() ? format_double(Bounds[i]) : std::string("+Inf");
    out.append(name).append("_bucket{le=\"").append(le).append("\"} ");
    out.append(std::to_string(cumulative)).append("\n");
  }
  const double sum_seconds =
      static_cast<double>(h.sum_micros.load(std::memory_order_relaxed)) / 1e6;
  out.append(name).append("_sum ").append(format_double(sum_seconds)).append("\n");
  out.append(name).append("_count ").append(std::to_string(cumulative)).append("\n");
}

}  // namespace

template <const auto& Bounds>
void histogram<Bounds>::observe(double seconds) noexcept {
  // A clock step can make a measured duration negative; count it as zero rather than
  // corrupting the sum.
  if (!(seconds > 0)) seconds = 0;
  std::size_t i = 0;
  while (i < bounds.size() && seconds > bounds[i]) ++i;  // le is inclusive
  buckets[i].fetch_add(1, std::memory_order_relaxed);
  count.fetch_add(1, std::memory_order_relaxed);
  sum_micros.fetch_add(static_cast<std::uint64_t>(std::llround(seconds * 1e6)),
                       std::memory_order_relaxed);
}

template struct histogram<attempt_duration_bounds>;
template struct histogram<delivery_latency_bounds>;

void endpoint_attempts::set_cap(std::size_t cap) {
  const std::lock_guard lock(mutex_);
  cap_ = cap;
  by_endpoint_.clear();
  other_ = row{"other"};
}

void endpoint_attempts::inc(std::string_view endpoint, bool succeeded) {
  const std::lock_guard lock(mutex_);
  auto it = by_endpoint_.find(endpoint);
  if (it == by_endpoint_.end()) {
    if (by_endpoint_.size() < cap_) {
      it = by_endpoint_.emplace(std::string(endpoint), row{std::string(endpoint)}).first;
    }
  }
  row& r = it == by_endpoint_.end() ? other_ : it->second;
  ++(succeeded ? r.succeeded : r.failed);
}

std::vector<endpoint_attempts::row> endpoint_attempts::rows() const {
  const std::lock_guard lock(mutex_);
  std::vector<row> out;
  out.reserve(by_endpoint_.size() + 1);
  for (const auto& [id, r] : by_endpoint_) out.push_back(r);
  if (other_.succeeded + other_.failed > 0) out.push_back(other_);
  return out;
}

std::string metrics::render() const {
  return render(std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count());
}

std::string metrics::render(std::int64_t now_ms) const {
  std::string out;
  out.reserve(4096);
  append_counter(out, "dispatcher_events_received_total",
                 "Stream entries read from the event stream.", events_received);
  append_counter(out, "dispatcher_events_invalid_total",
                 "Stream entries that were not valid events and went to the dead-letter stream.",
                 events_invalid);
  append_counter(out, "dispatcher_events_duplicate_total",
                 "Events acknowledged without dispatch because their id was already accepted.",
                 events_duplicate);
  append_counter(out, "dispatcher_events_reclaimed_total",
                 "Stream entries claimed from other consumers that stopped (XAUTOCLAIM).",
                 events_claimed);
  append_counter(out, "dispatcher_deliveries_created_total",
                 "Deliveries created, one per event and matching endpoint.", deliveries_created);
  append_counter(out, "dispatcher_deliveries_succeeded_total",
                 "Deliveries whose endpoint answered 2xx.", deliveries_succeeded);
  append_counter(out, "dispatcher_deliveries_failed_total",
                 "Deliveries that ran out of attempts or whose endpoint was disabled or deleted.",
                 deliveries_failed);

  // One family with outcome and endpoint labels, so a success rate, overall or for one
  // receiver, is a single PromQL ratio.
  append_header(out, "dispatcher_attempts_total", "counter",
                "Webhook attempts made, by endpoint (the first DISPATCHER_METRICS_ENDPOINTS "
                "endpoints; the rest as \"other\") and outcome.");
  for (const auto& row : attempts.rows()) {
    // Endpoint ids are ep_ and alphanumerics, "other" is ours: nothing to escape.
    for (const bool success : {true, false}) {
      out.append("dispatcher_attempts_total{endpoint=\"").append(row.endpoint);
      out.append(success ? "\",outcome=\"success\"} " : "\",outcome=\"failure\"} ");
      out.append(std::to_string(success ? row.succeeded : row.failed)).append("\n");
    }
  }

  append_counter(out, "dispatcher_endpoints_disabled_total",
                 "Endpoints disabled: they answered 410 Gone, or every attempt failed for "
                 "DISPATCHER_DISABLE_AFTER.",
                 endpoints_disabled);
  append_counter(out, "dispatcher_leases_expired_total",
                 "Delivery leases that expired and were taken over by another worker.",
                 leases_expired);
  append_counter(out, "dispatcher_redis_errors_total",
                 "Redis commands that failed (connection loss, timeout or error reply).",
                 redis_errors);
  append_gauge(out, "dispatcher_attempts_in_flight", "Webhook attempts currently in flight.",
               attempts_in_flight);
  append_gauge(out, "dispatcher_scheduler_last_run_timestamp_seconds",
               "Unix time of the last pass of the retry scheduler.", last_scheduler_run_unix);
  append_header(out, "dispatcher_oldest_due_seconds", "gauge",
                "Age, since its creation, of the oldest delivery waiting for an attempt "
                "(0 when none waits).");
  const std::int64_t oldest = oldest_due_created_ms.get();
  const std::int64_t age_ms = oldest > 0 && now_ms > oldest ? now_ms - oldest : 0;
  out.append("dispatcher_oldest_due_seconds ")
      .append(format_double(static_cast<double>(age_ms) / 1000.0))
      .append("\n");
  append_gauge(out, "dispatcher_endpoint_circuit_open",
               "Endpoints whose circuit breaker is open or half-open.", endpoint_circuit_open);
  append_histogram(out, "dispatcher_attempt_duration_seconds",
                   "Duration of webhook attempts, connect to last response byte.",
                   attempt_duration);
  append_histogram(out, "dispatcher_delivery_latency_seconds",
                   "From the event's stream entry to the attempt that succeeded.",
                   delivery_latency);
  append_gauge(out, "dispatcher_stream_lag",
               "Stream entries the consumer group has not read yet (sampled each second; NaN "
               "while Redis cannot tell).",
               stream_lag);
  append_gauge(out, "dispatcher_stream_pending",
               "Stream entries read by the group and not yet acknowledged (sampled each second).",
               stream_pending);
  append_gauge(out, "dispatcher_deliveries_due",
               "Deliveries waiting for an attempt, pending or retrying (sampled each second).",
               deliveries_due);
  return out;
}

metrics& global_metrics() {
  // A function-local static: initialised on first use, safe from any thread, and free of
  // the static initialisation order problem for counters bumped during startup.
  static metrics instance;
  return instance;
}

}  // namespace dispatcher::obs
