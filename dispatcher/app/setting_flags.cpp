// The setting flags of serve and publish: one per field of config::settings, with the help
// line and the default shown by `dispatcher help`. Shared by the parser (cli.cpp), which
// accepts them, and the help (usage.cpp), which lists them, so the two cannot disagree.
#include "dispatcher/app/setting_flags.hpp"

#include "dispatcher/config/duration.hpp"

namespace dispatcher::app {

namespace {

std::string join_durations(const std::vector<std::chrono::milliseconds>& list) {
  std::string out;
  for (const auto d : list) {
    if (!out.empty()) out += ',';
    out += config::format_duration(d);
  }
  return out;
}

}  // namespace

const std::vector<setting_flag>& setting_flags() {
  using config::format_duration;
  using s = config::settings;
  static const std::vector<setting_flag> flags{
      {"redis_url", "URL", "Redis to use: redis://[:password@]host[:port][/db]",
       [](const s& v) { return v.redis_url; }},
      {"stream", "NAME", "stream of lifecycle events", [](const s& v) { return v.stream; }},
      {"group", "NAME", "consumer group", [](const s& v) { return v.group; }},
      {"consumer", "NAME", "consumer name within the group",
       [](const s&) { return std::string("<hostname>-<pid>"); }},
      {"max_payload", "BYTES", "largest accepted event payload",
       [](const s& v) { return std::to_string(v.max_payload); }},
      {"dead_letter_max", "N", "about how many entries the dead-letter stream keeps",
       [](const s& v) { return std::to_string(v.dead_letter_max); }},
      {"request_timeout", "DURATION", "time allowed for one webhook attempt",
       [](const s& v) { return format_duration(v.request_timeout); }},
      {"retry_schedule", "LIST", "delays before attempts 2, 3, ... (comma-separated)",
       [](const s& v) { return join_durations(v.retry_schedule); }},
      {"retention", "DURATION", "how long events, deliveries and attempts are kept",
       [](const s& v) { return format_duration(v.retention); }},
      {"listen", "HOST:PORT", "address of the admin API, health and metrics",
       [](const s& v) { return v.listen; }},
      {"admin_token", "TOKEN", "bearer token for /v1/ (required; prefer the environment)",
       [](const s&) { return std::string("none"); }},
      {"metrics_token", "TOKEN", "bearer token for /metrics",
       [](const s&) { return std::string("none"); }},
      {"ca_file", "FILE", "PEM bundle for HTTPS targets instead of the system store",
       [](const s&) { return std::string("system store"); }},
      {"allow_private_targets", "BOOL", "allow loopback and private webhook targets",
       [](const s& v) { return std::string(v.allow_private_targets ? "true" : "false"); }},
      {"batch_size", "N", "stream entries read at a time",
       [](const s& v) { return std::to_string(v.batch_size); }},
      {"max_in_flight", "N", "webhook attempts in flight in this process",
       [](const s& v) { return std::to_string(v.max_in_flight); }},
      {"endpoint_concurrency", "N", "attempts in flight per endpoint, across all instances",
       [](const s& v) { return std::to_string(v.endpoint_concurrency); }},
      {"replay_rate", "N", "deliveries per second per endpoint a bulk replay queues",
       [](const s& v) { return std::to_string(v.replay_rate); }},
      {"metrics_endpoints", "N", "endpoints with their own attempt series in /metrics",
       [](const s& v) { return std::to_string(v.metrics_endpoints); }},
      {"poll_interval", "DURATION", "how often due retries are looked for",
       [](const s& v) { return format_duration(v.poll_interval); }},
      {"shutdown_timeout", "DURATION", "time in-flight attempts get to finish on SIGTERM",
       [](const s& v) { return format_duration(v.shutdown_timeout); }},
      {"log_level", "LEVEL", "debug, info, warn or error", [](const s& v) { return v.log_level; }},
  };
  return flags;
}

std::string dashed(std::string_view name) {
  std::string out(name);
  for (char& c : out) c = c == '_' ? '-' : c;
  return out;
}

std::string env_name(std::string_view name) {
  std::string out = "DISPATCHER_";
  for (const char c : name) out += static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  return out;
}

}  // namespace dispatcher::app
