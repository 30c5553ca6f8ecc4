// Loads the settings once at startup: defaults, then the JSON config file, then DISPATCHER_*
// environment variables, then command-line flags, each layer overriding the one before.
// Every value is parsed as it is applied (so a typo is reported with where it came from)
// and the merged result is validated as a whole at the end. One table lists every setting,
// so the file, environment and flag spellings cannot drift apart.
//
// Secrets (the admin and metrics tokens, the Redis URL which may carry a password) are never
// echoed in error messages: they are the values most likely to end up in a CI log.
#include "dispatcher/config/settings.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <variant>

#include <boost/url/parse.hpp>
#include <nlohmann/json.hpp>

#include "dispatcher/common/ascii.hpp"
#include "dispatcher/config/duration.hpp"
#include "dispatcher/signing/secret_box.hpp"

namespace dispatcher::config {
namespace {

using std::chrono::milliseconds;

using member =
    std::variant<std::string settings::*, std::size_t settings::*, milliseconds settings::*,
                 std::vector<milliseconds> settings::*, bool settings::*>;

struct field {
  std::string_view name;  // lower_snake: the config file key and the flag map key
  member target;
  bool secret = false;   // never echo the value
  bool zero_ok = false;  // a duration that may be 0; the others must be positive
};

const auto fields = std::to_array<field>({
    {"redis_url", &settings::redis_url, true},
    {"stream", &settings::stream},
    {"group", &settings::group},
    {"consumer", &settings::consumer},
    {"max_payload", &settings::max_payload},
    {"dead_letter_max", &settings::dead_letter_max},
    {"request_timeout", &settings::request_timeout},
    {"retry_schedule", &settings::retry_schedule},
    {"retention", &settings::retention},
    {"listen", &settings::listen},
    {"admin_token", &settings::admin_token, true},
    {"metrics_token", &settings::metrics_token, true},
    {"ca_file", &settings::ca_file},
    {"allow_private_targets", &settings::allow_private_targets},
    {"batch_size", &settings::batch_size},
    {"max_in_flight", &settings::max_in_flight},
    {"endpoint_concurrency", &settings::endpoint_concurrency},
    {"breaker_failures", &settings::breaker_failures},
    {"breaker_probe", &settings::breaker_probe},
    {"disable_after", &settings::disable_after},
    {"replay_rate", &settings::replay_rate},
    {"metrics_endpoints", &settings::metrics_endpoints},
    {"poll_interval", &settings::poll_interval},
    {"shutdown_timeout", &settings::shutdown_timeout, false, true},
    {"log_level", &settings::log_level},
    {"encryption_key", &settings::encryption_key, true},
});

const field* find_field(std::string_view name) {
  for (const auto& f : fields) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::string env_name(std::string_view name) {
  std::string out = "DISPATCHER_";
  for (const char c : name) out += static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  return out;
}

std::string flag_name(std::string_view name) {
  std::string out = "--";
  for (const char c : name) out += c == '_' ? '-' : c;
  return out;
}

// Where each value came from, for error messages: "the environment", "--listen", ...
using origins = std::map<std::string, std::string, std::less<>>;

// " (from the environment)", or "" for a default.
std::string from(const origins& where, std::string_view name) {
  const auto it = where.find(name);
  return it == where.end() ? std::string() : " (from " + it->second + ")";
}

std::string shown(const field& f, const std::string& value) {
  return f.secret ? std::string("the value") : "\"" + value + "\"";
}

std::optional<std::size_t> parse_size(std::string_view text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  std::size_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<bool> parse_bool(std::string_view text) {
  const std::string t = ascii_lower(text);
  if (t == "true" || t == "1" || t == "yes") return true;
  if (t == "false" || t == "0" || t == "no") return false;
  return std::nullopt;
}

// Parses one textual value into its field, or throws naming the setting and the source.
void apply(settings& s, const field& f, const std::string& value, const std::string& source,
           origins& where) {
  const std::string setting = env_name(f.name);
  const std::string bad = shown(f, value) + " (from " + source + ")";
  std::visit(
      [&](auto ptr) {
        using type = std::remove_reference_t<decltype(s.*ptr)>;
        if constexpr (std::is_same_v<type, std::string>) {
          s.*ptr = value;
        } else if constexpr (std::is_same_v<type, std::size_t>) {
          const auto n = parse_size(value);
          if (!n) throw config_error(setting, bad + " is not a positive integer");
          s.*ptr = *n;
        } else if constexpr (std::is_same_v<type, milliseconds>) {
          const auto d = parse_duration_or_zero(value);
          if (!d) {
            throw config_error(setting, bad +
                                            " is not a duration; write a number and a unit, e.g. "
                                            "250ms, 5s, 5m, 2h or 30d");
          }
          if (d->count() == 0 && !f.zero_ok) {
            throw config_error(setting, "must be positive, not " + bad);
          }
          s.*ptr = *d;
        } else if constexpr (std::is_same_v<type, std::vector<milliseconds>>) {
          // Zeros are read here and refused by validate() as "must be positive".
          const auto list = parse_duration_list(value, true);
          if (!list) {
            throw config_error(setting, bad +
                                            " is not a comma-separated list of durations, "
                                            "e.g. 5s,5m,30m,2h");
          }
          s.*ptr = *list;
        } else {
          static_assert(std::is_same_v<type, bool>);
          const auto b = parse_bool(value);
          if (!b) throw config_error(setting, bad + " is not true/false, 1/0 or yes/no");
          s.*ptr = *b;
        }
      },
      f.target);
  where[std::string(f.name)] = source;
}

// The config file's JSON value as the same text the environment would carry, so one parser
// serves both: "10s", 100, true, ["5s","5m"] (retry_schedule) are all accepted.
std::string json_to_text(const field& f, const nlohmann::json& value, const std::string& source) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_unsigned() || value.is_number_integer()) return value.dump();
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  if (value.is_array() && std::holds_alternative<std::vector<milliseconds> settings::*>(f.target)) {
    std::string joined;
    for (const auto& item : value) {
      if (!item.is_string()) {
        throw config_error(
            env_name(f.name),
            "every entry must be a duration string such as \"5m\" (from " + source + ")");
      }
      if (!joined.empty()) joined += ',';
      joined += item.get<std::string>();
    }
    return joined;
  }
  throw config_error(env_name(f.name), "has a value of the wrong JSON type (from " + source + ")");
}

void apply_config_file(settings& s, const std::string& path, origins& where) {
  std::ifstream in(path);
  if (!in) throw config_error("--config", "cannot read " + path + ": " + std::strerror(errno));
  nlohmann::json document;
  try {
    document = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw config_error("--config", path + " is not valid JSON: " + e.what());
  }
  if (!document.is_object()) throw config_error("--config", path + " must hold a JSON object");
  const std::string source = "the config file " + path;
  for (const auto& [key, value] : document.items()) {
    // Editors use "$schema" to find the JSON Schema of the file; it is not a setting.
    if (key == "$schema") continue;
    const field* f = find_field(key);
    if (f == nullptr) {
      throw config_error("--config", "unknown setting \"" + key + "\" in " + path);
    }
    apply(s, *f, json_to_text(*f, value, source), source, where);
  }
}

std::string default_consumer() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') {
    std::strcpy(host, "dispatcher");
  }
  return std::string(host) + "-" + std::to_string(::getpid());
}

std::string show(std::size_t n) {
  return std::to_string(n);
}
std::string show(milliseconds d) {
  return format_duration(d);
}

template <class T>
void check_range(const origins& where, std::string_view name, T value, T min, T max,
                 const std::string& allowed) {
  if (value < min || value > max) {
    throw config_error(env_name(name),
                       show(value) + from(where, name) + " is out of range; allowed " + allowed);
  }
}

redis_address parse_redis(const std::string& url, const std::string& origin) {
  const std::string setting = "DISPATCHER_REDIS_URL";
  const std::string form = origin + "; expected redis://[:password@]host[:port][/db]";
  const auto parsed = boost::urls::parse_uri(url);
  if (!parsed) throw config_error(setting, "is not a valid URL" + form);
  const auto& u = *parsed;

  const std::string scheme = ascii_lower(std::string_view(u.scheme().data(), u.scheme().size()));
  if (scheme == "rediss") throw config_error(setting, "rediss:// (TLS) is not supported" + origin);
  if (scheme != "redis") throw config_error(setting, "must start with redis://" + form);
  if (!u.has_authority() || u.host_address().empty()) {
    throw config_error(setting, "has no host" + form);
  }
  if (u.has_query() || u.has_fragment()) {
    throw config_error(setting, "must not have a query or fragment" + form);
  }

  redis_address out;
  out.host = u.host_address();
  if (u.has_userinfo()) {
    // Redis 6 ACLs: "default" is the user AUTH <password> logs in as; any other user would
    // need AUTH <user> <password>, which we do not send, so refuse it instead of failing
    // to authenticate later.
    const std::string user = u.user();
    if (!user.empty() && user != "default") {
      throw config_error(setting, "only the default user is supported" + form);
    }
    out.password = u.password();
  }
  if (u.has_port()) {
    const auto port = parse_size(std::string_view(u.port().data(), u.port().size()));
    if (!port || *port == 0 || *port > 65535) {
      throw config_error(setting, "has an invalid port" + form);
    }
    out.port = static_cast<std::uint16_t>(*port);
  }
  const std::string path = u.path();
  if (!path.empty() && path != "/") {
    const auto db =
        path.front() == '/' ? parse_size(std::string_view(path).substr(1)) : std::nullopt;
    if (!db || *db > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
      throw config_error(setting, "has an invalid database number" + form);
    }
    out.db = static_cast<int>(*db);
  }
  return out;
}

// Bearer tokens, when set: long enough not to be guessed, and only characters that travel
// unchanged in an Authorization header (a space or a control character would make the
// token impossible to send, locking everyone out). The value itself is never echoed.
constexpr std::size_t min_token_length = 16;

void check_token(const std::string& token, const origins& where, std::string_view name) {
  if (token.empty()) return;
  if (token.size() < min_token_length) {
    throw config_error(env_name(name), "is too short" + from(where, name) + "; use at least " +
                                           std::to_string(min_token_length) +
                                           " characters, e.g. the output of openssl rand -hex 24");
  }
  for (const char c : token) {
    if (c <= ' ' || c > '~') {
      throw config_error(env_name(name), "may hold only printable ASCII characters without spaces" +
                                             from(where, name));
    }
  }
}

void validate(settings& s, const origins& where) {
  parse_redis(s.redis_url, from(where, "redis_url"));
  if (s.stream.empty()) throw config_error("DISPATCHER_STREAM", "must not be empty");
  if (s.group.empty()) throw config_error("DISPATCHER_GROUP", "must not be empty");
  if (s.consumer.empty()) s.consumer = default_consumer();

  check_range<std::size_t>(where, "max_payload", s.max_payload, 1024, 16 * 1024 * 1024,
                           "1024 to 16777216 bytes (1 KiB to 16 MiB)");
  check_range<std::size_t>(where, "dead_letter_max", s.dead_letter_max, 1, 100'000'000,
                           "1 to 100000000 entries");
  check_range<milliseconds>(where, "request_timeout", s.request_timeout, milliseconds(100),
                            std::chrono::minutes(5), "100ms to 5m");
  if (s.retry_schedule.empty()) {
    throw config_error("DISPATCHER_RETRY_SCHEDULE", "must list at least one delay");
  }
  // More entries than this is almost certainly a mistake (and would keep a failing event
  // alive for a very long time); the default has seven.
  if (s.retry_schedule.size() > 50) {
    throw config_error("DISPATCHER_RETRY_SCHEDULE",
                       "has " + std::to_string(s.retry_schedule.size()) + " delays" +
                           from(where, "retry_schedule") + "; at most 50 are allowed");
  }
  for (const auto d : s.retry_schedule) {
    if (d <= milliseconds(0)) {
      throw config_error("DISPATCHER_RETRY_SCHEDULE",
                         "every delay must be positive" + from(where, "retry_schedule"));
    }
  }
  // Below an hour, history would vanish while a delivery is still being retried.
  if (s.retention < std::chrono::hours(1)) {
    throw config_error("DISPATCHER_RETENTION", "must be at least 1h" + from(where, "retention"));
  }
  if (!parse_host_port(s.listen)) {
    throw config_error("DISPATCHER_LISTEN", "\"" + s.listen + "\"" + from(where, "listen") +
                                                " is not host:port (write IPv6 as [::1]:8080)");
  }
  check_range<std::size_t>(where, "batch_size", s.batch_size, 1, 10'000, "1 to 10000");
  check_range<std::size_t>(where, "max_in_flight", s.max_in_flight, 1, 100'000, "1 to 100000");
  check_range<std::size_t>(where, "endpoint_concurrency", s.endpoint_concurrency, 1, 10'000,
                           "1 to 10000");
  check_range<std::size_t>(where, "breaker_failures", s.breaker_failures, 1, 1'000'000,
                           "1 to 1000000");
  check_range<milliseconds>(where, "breaker_probe", s.breaker_probe, std::chrono::seconds(1),
                            std::chrono::hours(24), "1s to 24h");
  check_range<milliseconds>(where, "disable_after", s.disable_after, std::chrono::seconds(1),
                            std::chrono::hours(24 * 365), "1s to 365d");
  check_range<std::size_t>(where, "replay_rate", s.replay_rate, 1, 100'000, "1 to 100000");
  check_range<std::size_t>(where, "metrics_endpoints", s.metrics_endpoints, 0, 100'000,
                           "0 to 100000");
  check_range<milliseconds>(where, "poll_interval", s.poll_interval, milliseconds(1),
                            std::chrono::minutes(1), "1ms to 1m");
  check_range<milliseconds>(where, "shutdown_timeout", s.shutdown_timeout, milliseconds(0),
                            std::chrono::hours(1), "0ms to 1h");

  check_token(s.admin_token, where, "admin_token");
  check_token(s.metrics_token, where, "metrics_token");

  s.log_level = ascii_lower(s.log_level);
  if (s.log_level != "debug" && s.log_level != "info" && s.log_level != "warn" &&
      s.log_level != "error") {
    throw config_error("DISPATCHER_LOG_LEVEL", "\"" + s.log_level + "\"" +
                                                   from(where, "log_level") +
                                                   " is not one of debug, info, warn, error");
  }

  // A key that does not decode would leave secrets unreadable or in clear: refuse to start.
  if (!s.encryption_key.empty() && !signing::secret_box::from_base64(s.encryption_key)) {
    throw config_error("DISPATCHER_ENCRYPTION_KEY",
                       "the value" + from(where, "encryption_key") +
                           " is not the base64 of exactly 32 bytes; make one with "
                           "`openssl rand -base64 32`");
  }

  if (!s.ca_file.empty()) {
    std::error_code ec;
    if (std::filesystem::is_directory(s.ca_file, ec)) {
      throw config_error("DISPATCHER_CA_FILE",
                         s.ca_file + from(where, "ca_file") + " is a directory, not a PEM file");
    }
    std::ifstream in(s.ca_file);
    if (!in) {
      throw config_error("DISPATCHER_CA_FILE", "cannot read " + s.ca_file + from(where, "ca_file") +
                                                   ": " + std::strerror(errno));
    }
  }
}

// Variables read outside the settings table: the admin API's address, for the commands
// that talk to it (replay, dead-letters), often set in the same environment as serve's.
constexpr std::array<std::string_view, 1> other_variables{"DISPATCHER_URL"};

bool is_known_variable(std::string_view name) {
  for (const auto& f : fields) {
    if (env_name(f.name) == name) return true;
  }
  return std::find(other_variables.begin(), other_variables.end(), name) != other_variables.end();
}

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  return out;
}

// Edits (insert, delete, substitute, swap two neighbours) turning a into b: the optimal
// string alignment distance, which counts the usual typo, two keys swapped, as one.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// How close an unknown name is to a known one, or nullopt when too far to suggest: up to
// two edits, or one name a prefix of the other (DISPATCHER_LISTEN_ADDR, DISPATCHER_RETRY).
// Compared in upper case, so DISPATCHER_listen finds DISPATCHER_LISTEN. A prefix shorter
// than three characters after DISPATCHER_ says too little to point at one setting.
std::optional<std::size_t> closeness(const std::string& unknown, const std::string& known) {
  constexpr std::size_t max_edits = 2;
  constexpr std::size_t min_prefix = std::string_view("DISPATCHER_").size() + 3;
  const std::size_t distance = edit_distance(unknown, known);
  if (distance <= max_edits) return distance;
  const auto& shorter = unknown.size() < known.size() ? unknown : known;
  const auto& longer = unknown.size() < known.size() ? known : unknown;
  if (shorter.size() >= min_prefix && longer.starts_with(shorter)) return distance;
  return std::nullopt;
}

}  // namespace

std::string unknown_variable::message() const {
  std::string out = "unknown setting " + name;
  if (suggestions.empty()) return out + "; it is ignored";
  out += "; did you mean ";
  for (std::size_t i = 0; i < suggestions.size(); ++i) {
    if (i > 0) out += i + 1 == suggestions.size() ? " or " : ", ";
    out += suggestions[i];
  }
  return out + "?";
}

std::vector<unknown_variable> unknown_variables(const environment& env) {
  std::vector<std::string> known;
  for (const auto& f : fields) known.push_back(env_name(f.name));
  for (const auto name : other_variables) known.emplace_back(name);

  std::vector<unknown_variable> out;
  for (const auto& [name, value] : env) {
    if (!name.starts_with("DISPATCHER_") || is_known_variable(name)) continue;
    unknown_variable unknown{name, {}};
    // The closest known names; ties are all offered (DISPATCHER_MAX_IN_FLIGHTS is one edit
    // from one setting, but a bare prefix may fit two equally).
    std::optional<std::size_t> best;
    const std::string wanted = upper(name);
    for (const auto& candidate : known) {
      const auto c = closeness(wanted, candidate);
      if (!c || (best && *c > *best)) continue;
      if (!best || *c < *best) unknown.suggestions.clear();
      best = c;
      unknown.suggestions.push_back(candidate);
    }
    out.push_back(std::move(unknown));
  }
  return out;
}

std::string mask_url_credentials(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url);
  const std::size_t authority = scheme_end + 3;
  const std::size_t authority_end = std::min(url.find_first_of("/?#", authority), url.size());
  const auto at = url.substr(0, authority_end).rfind('@');
  if (at == std::string_view::npos || at < authority) return std::string(url);
  const std::string_view userinfo = url.substr(authority, at - authority);
  const auto colon = userinfo.find(':');
  std::string out(url.substr(0, authority));
  if (colon != std::string_view::npos) out += userinfo.substr(0, colon + 1);
  out += "***";
  out += url.substr(at);
  return out;
}

std::vector<std::pair<std::string, std::string>> effective_settings(const settings& s) {
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(fields.size());
  for (const auto& f : fields) {
    std::string text = std::visit(
        [&](auto ptr) -> std::string {
          const auto& value = s.*ptr;
          using type = std::remove_cvref_t<decltype(value)>;
          if constexpr (std::is_same_v<type, std::string>) {
            return value;
          } else if constexpr (std::is_same_v<type, std::size_t>) {
            return std::to_string(value);
          } else if constexpr (std::is_same_v<type, milliseconds>) {
            return format_duration(value);
          } else if constexpr (std::is_same_v<type, std::vector<milliseconds>>) {
            std::string joined;
            for (const auto d : value) {
              if (!joined.empty()) joined += ',';
              joined += format_duration(d);
            }
            return joined;
          } else {
            static_assert(std::is_same_v<type, bool>);
            return value ? "true" : "false";
          }
        },
        f.target);
    // The Redis URL is worth showing (which host?) once its password is out of it.
    if (f.name == "redis_url") {
      text = mask_url_credentials(text);
    } else if (f.secret && !text.empty()) {
      text = "***";
    }
    out.emplace_back(std::string(f.name), std::move(text));
  }
  return out;
}

settings load_settings(const env_lookup& env, const std::optional<std::string>& config_file,
                       const std::map<std::string, std::string>& flags) {
  settings s;
  origins where;

  if (config_file) apply_config_file(s, *config_file, where);

  for (const auto& f : fields) {
    const std::string name = env_name(f.name);
    // An empty variable counts as unset: compose files and systemd units often declare
    // `DISPATCHER_X=` to mean "use the default".
    if (auto value = env(name); value && !value->empty()) {
      apply(s, f, *value, "the environment variable " + name, where);
    }
  }

  for (const auto& [key, value] : flags) {
    const field* f = find_field(key);
    if (f == nullptr) throw config_error(flag_name(key), "unknown setting");
    apply(s, *f, value, "the flag " + flag_name(key), where);
  }

  validate(s, where);
  return s;
}

redis_address parse_redis_url(const std::string& url) {
  return parse_redis(url, "");
}

std::optional<host_port> parse_host_port(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find("]:");
    if (close == std::string_view::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    // An IPv6 literal without brackets is ambiguous: is "::1:80" port 80 of ::1?
    if (host.find(':') != std::string_view::npos) return std::nullopt;
  }
  if (host.empty() || port.empty() || port.size() > 5) return std::nullopt;
  for (const char c : host) {
    if (c == ' ' || c == '\t' || c == '[' || c == ']' || c == '/') return std::nullopt;
  }
  const auto n = parse_size(port);
  if (!n || *n > 65535) return std::nullopt;
  return host_port{std::string(host), static_cast<std::uint16_t>(*n)};
}

}  // namespace dispatcher::config
