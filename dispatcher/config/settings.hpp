// Every setting of the service as one plain struct with typed defaults. Values come, in
// rising precedence, from these defaults, an optional JSON config file, DISPATCHER_*
// environment variables and command-line flags; load_settings validates them once at
// startup and names the offending setting when one is wrong.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dispatcher::config {

using namespace std::chrono_literals;

struct settings {
  /// DISPATCHER_REDIS_URL: redis://[:password@]host[:port][/db]
  std::string redis_url = "redis://127.0.0.1:6379/0";
  /// DISPATCHER_STREAM: the lifecycle event stream; dead letters go to "<stream>:dead".
  std::string stream = "lifecycle:events";
  /// DISPATCHER_GROUP
  std::string group = "dispatcher";
  /// DISPATCHER_CONSUMER: defaults to <hostname>-<pid>.
  std::string consumer;
  /// DISPATCHER_MAX_PAYLOAD: bytes; larger entries are dead-lettered.
  std::size_t max_payload = 256 * 1024;
  /// DISPATCHER_DEAD_LETTER_MAX: about how many entries the dead-letter stream keeps.
  std::size_t dead_letter_max = 100'000;
  /// DISPATCHER_REQUEST_TIMEOUT: the whole webhook attempt, resolve to last response byte.
  std::chrono::milliseconds request_timeout = 15s;
  /// DISPATCHER_RETRY_SCHEDULE: delays before attempts 2, 3, ...
  std::vector<std::chrono::milliseconds> retry_schedule = {5s, 5min, 30min, 2h, 5h, 10h, 10h};
  /// DISPATCHER_RETENTION: how long events, deliveries and attempts are kept.
  std::chrono::milliseconds retention = std::chrono::hours(24 * 30);
  /// DISPATCHER_LISTEN: host:port of the admin API, health and metrics.
  std::string listen = "127.0.0.1:8080";
  /// DISPATCHER_ADMIN_TOKEN: bearer token for /v1/ (required by serve; 16+ characters).
  std::string admin_token;
  /// DISPATCHER_METRICS_TOKEN: when set (16+ characters), /metrics needs it as a bearer token.
  std::string metrics_token;
  /// DISPATCHER_CA_FILE: PEM bundle used instead of the system store for HTTPS targets.
  std::string ca_file;
  /// DISPATCHER_ALLOW_PRIVATE_TARGETS
  bool allow_private_targets = false;
  /// DISPATCHER_BATCH_SIZE: stream entries read per XREADGROUP.
  std::size_t batch_size = 100;
  /// DISPATCHER_MAX_IN_FLIGHT: webhook attempts in flight in this process. It also bounds
  /// how many events one read takes at fan-out (each needs a slot per endpoint): at 100
  /// endpoints 256 made calls of about 2 events, and Redis spent a third more CPU per
  /// delivery than with 512 (README, Benchmark).
  std::size_t max_in_flight = 512;
  /// DISPATCHER_ENDPOINT_CONCURRENCY: attempts in flight per endpoint, across all instances.
  std::size_t endpoint_concurrency = 16;
  /// DISPATCHER_BREAKER_FAILURES: failed attempts in a row that open an endpoint's circuit.
  std::size_t breaker_failures = 20;
  /// DISPATCHER_BREAKER_PROBE: while a circuit is open, one probe attempt per this period.
  std::chrono::milliseconds breaker_probe = 30s;
  /// DISPATCHER_DISABLE_AFTER: an endpoint whose attempts have all failed this long is
  /// disabled (counted from the first failure after its last success or creation).
  std::chrono::milliseconds disable_after = std::chrono::hours(24 * 5);
  /// DISPATCHER_REPLAY_RATE: deliveries per second per endpoint that a bulk replay or a
  /// recover queues; fresh deliveries slot in between, so a large replay cannot starve them.
  std::size_t replay_rate = 100;
  /// DISPATCHER_METRICS_ENDPOINTS: endpoints that get their own series in
  /// dispatcher_attempts_total; the rest are counted as endpoint="other".
  std::size_t metrics_endpoints = 100;
  /// DISPATCHER_POLL_INTERVAL: how often due retries are looked for when nothing woke us.
  std::chrono::milliseconds poll_interval = 100ms;
  /// DISPATCHER_SHUTDOWN_TIMEOUT: how long in-flight attempts may finish after SIGTERM.
  std::chrono::milliseconds shutdown_timeout = 10s;
  /// DISPATCHER_LOG_LEVEL: debug, info, warn or error.
  std::string log_level = "info";
  /// DISPATCHER_ENCRYPTION_KEY: base64 of 32 bytes; when set, endpoint secrets are stored
  /// encrypted (AES-256-GCM). Empty: they are stored as they are.
  std::string encryption_key;

  std::string dead_letter_stream() const { return stream + ":dead"; }
};

/// Thrown by load_settings; `setting` is the environment variable name of the bad value.
class config_error : public std::runtime_error {
 public:
  config_error(std::string setting, const std::string& message)
      : std::runtime_error(setting + ": " + message), setting_(std::move(setting)) {}
  const std::string& setting() const noexcept { return setting_; }

 private:
  std::string setting_;
};

/// Looks a variable up; returns nullopt when unset. Tests pass a map, main passes getenv.
using env_lookup = std::function<std::optional<std::string>(const std::string&)>;

/// Applies defaults < config file (JSON object keyed by the variable names without the
/// DISPATCHER_ prefix, lower case: {"request_timeout": "10s"}) < environment < flags
/// (keyed by variable name without prefix, lower case, e.g. {"listen", "0.0.0.0:9000"}).
/// Throws config_error naming the setting on any invalid value.
settings load_settings(const env_lookup& env, const std::optional<std::string>& config_file,
                       const std::map<std::string, std::string>& flags);

struct redis_address {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::string password;
  int db = 0;
};

/// A process environment as name/value pairs (main reads `environ` into one).
using environment = std::vector<std::pair<std::string, std::string>>;

/// A DISPATCHER_* variable that no setting reads: most likely a misspelt one.
struct unknown_variable {
  std::string name;
  /// Known variables close to the name (an edit or two away, or one is a prefix of the
  /// other), closest first; empty when none is.
  std::vector<std::string> suggestions;
  /// "unknown setting DISPATCHER_ALLOW_PRIVATE_TARGET; did you mean
  /// DISPATCHER_ALLOW_PRIVATE_TARGETS?", or "unknown setting DISPATCHER_X; it is ignored".
  std::string message() const;
};

/// The DISPATCHER_* variables of env that the dispatcher does not read, in env's order,
/// each with the known names it may have meant. serve logs them at warn at startup so a
/// misspelt setting does not pass silently (CONTRACT section 7).
std::vector<unknown_variable> unknown_variables(const environment& env);

/// Every setting, lower_snake name and value as text, in the order of the settings struct:
/// what serve logs at startup. Secrets (the tokens, the encryption key) show as "***", or
/// "" when unset, and the Redis URL with its password as ***: never their values.
std::vector<std::pair<std::string, std::string>> effective_settings(const settings& s);

/// The URL with the password of its user information (or all of it, when it has no ':')
/// replaced by ***: redis://:hunter2@host:6379 -> redis://:***@host:6379.
std::string mask_url_credentials(std::string_view url);

/// Parses redis://[:password@]host[:port][/db]; throws config_error("DISPATCHER_REDIS_URL").
redis_address parse_redis_url(const std::string& url);

struct host_port {
  std::string host;  // without the brackets of an IPv6 literal
  std::uint16_t port = 0;
};

/// Splits "host:port", "[::1]:port" into its parts; nullopt when the host is empty, an
/// IPv6 literal lacks brackets or the port is not 0..65535. Shared by the validation of
/// DISPATCHER_LISTEN and the admin server's bind, so both accept exactly the same forms.
std::optional<host_port> parse_host_port(std::string_view text);

}  // namespace dispatcher::config
