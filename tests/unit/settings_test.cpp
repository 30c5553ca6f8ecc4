// Loading and validating settings: defaults, the precedence of file < environment < flags,
// an error naming the setting for every bad value, and the Redis URL forms.
#include "dispatcher/config/settings.hpp"

#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace dispatcher::config {
namespace {

using namespace std::chrono_literals;
using flag_map = std::map<std::string, std::string>;

env_lookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

const env_lookup no_env = env_of({});

// A file in the temporary directory, removed when the test ends.
class temp_file {
 public:
  explicit temp_file(const std::string& contents) {
    static int counter = 0;
    path_ = (std::filesystem::temp_directory_path() /
             ("settings_test_" + std::to_string(::getpid()) + "_" + std::to_string(++counter)))
                .string();
    std::ofstream(path_) << contents;
  }
  ~temp_file() { std::filesystem::remove(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The setting a load fails on, or "" when it succeeds.
std::string failing_setting(const env_lookup& env, const std::optional<std::string>& file,
                            const flag_map& flags) {
  try {
    load_settings(env, file, flags);
  } catch (const config_error& e) {
    return e.setting();
  }
  return "";
}

std::string failing_env(const std::string& name, const std::string& value) {
  return failing_setting(env_of({{name, value}}), std::nullopt, {});
}

std::string error_message(const env_lookup& env, const std::optional<std::string>& file,
                          const flag_map& flags) {
  try {
    load_settings(env, file, flags);
  } catch (const config_error& e) {
    return e.what();
  }
  return "";
}

TEST(settings, defaults_match_the_contract) {
  const settings s = load_settings(no_env, std::nullopt, {});
  EXPECT_EQ(s.redis_url, "redis://127.0.0.1:6379/0");
  EXPECT_EQ(s.stream, "lifecycle:events");
  EXPECT_EQ(s.dead_letter_stream(), "lifecycle:events:dead");
  EXPECT_EQ(s.group, "dispatcher");
  EXPECT_EQ(s.max_payload, 256u * 1024);
  EXPECT_EQ(s.dead_letter_max, 100'000u);
  EXPECT_EQ(s.request_timeout, 15s);
  EXPECT_EQ(s.retry_schedule,
            (std::vector<std::chrono::milliseconds>{5s, 5min, 30min, 2h, 5h, 10h, 10h}));
  EXPECT_EQ(s.retention, std::chrono::hours(24 * 30));
  EXPECT_EQ(s.listen, "127.0.0.1:8080");
  EXPECT_FALSE(s.allow_private_targets);
  EXPECT_EQ(s.log_level, "info");
  EXPECT_TRUE(s.admin_token.empty()) << "serve checks the token, not load_settings";
}

TEST(settings, consumer_defaults_to_hostname_and_pid) {
  const settings s = load_settings(no_env, std::nullopt, {});
  const std::string suffix = "-" + std::to_string(::getpid());
  ASSERT_GT(s.consumer.size(), suffix.size());
  EXPECT_EQ(s.consumer.substr(s.consumer.size() - suffix.size()), suffix);
}

TEST(settings, file_overrides_defaults) {
  const temp_file file(R"({"request_timeout": "10s", "batch_size": 50, "stream": "s1",
                           "allow_private_targets": true, "retry_schedule": ["1s", "2m"]})");
  const settings s = load_settings(no_env, file.path(), {});
  EXPECT_EQ(s.request_timeout, 10s);
  EXPECT_EQ(s.batch_size, 50u);
  EXPECT_EQ(s.stream, "s1");
  EXPECT_TRUE(s.allow_private_targets);
  EXPECT_EQ(s.retry_schedule, (std::vector<std::chrono::milliseconds>{1s, 2min}));
  EXPECT_EQ(s.group, "dispatcher");
}

TEST(settings, environment_overrides_file) {
  const temp_file file(R"({"request_timeout": "10s", "stream": "from-file"})");
  const settings s =
      load_settings(env_of({{"DISPATCHER_REQUEST_TIMEOUT", "20s"}}), file.path(), {});
  EXPECT_EQ(s.request_timeout, 20s);
  EXPECT_EQ(s.stream, "from-file");
}

TEST(settings, flags_override_environment) {
  const settings s = load_settings(
      env_of({{"DISPATCHER_LISTEN", "127.0.0.1:9000"}, {"DISPATCHER_GROUP", "env-group"}}),
      std::nullopt, {{"listen", "0.0.0.0:9100"}});
  EXPECT_EQ(s.listen, "0.0.0.0:9100");
  EXPECT_EQ(s.group, "env-group");
}

TEST(settings, empty_environment_variable_counts_as_unset) {
  const settings s = load_settings(env_of({{"DISPATCHER_REQUEST_TIMEOUT", ""}}), std::nullopt, {});
  EXPECT_EQ(s.request_timeout, 15s);
}

TEST(settings, every_field_has_an_environment_variable) {
  const temp_file ca("-----BEGIN CERTIFICATE-----\n");
  const settings s = load_settings(env_of({
                                       {"DISPATCHER_REDIS_URL", "redis://redis:6380/2"},
                                       {"DISPATCHER_STREAM", "st"},
                                       {"DISPATCHER_GROUP", "gr"},
                                       {"DISPATCHER_CONSUMER", "c1"},
                                       {"DISPATCHER_MAX_PAYLOAD", "2048"},
                                       {"DISPATCHER_DEAD_LETTER_MAX", "500"},
                                       {"DISPATCHER_REQUEST_TIMEOUT", "250ms"},
                                       {"DISPATCHER_RETRY_SCHEDULE", "1s, 2s"},
                                       {"DISPATCHER_RETENTION", "2d"},
                                       {"DISPATCHER_LISTEN", "[::1]:8081"},
                                       {"DISPATCHER_ADMIN_TOKEN", "adm-token-0123456"},
                                       {"DISPATCHER_METRICS_TOKEN", "met-token-0123456"},
                                       {"DISPATCHER_CA_FILE", ca.path()},
                                       {"DISPATCHER_ALLOW_PRIVATE_TARGETS", "yes"},
                                       {"DISPATCHER_BATCH_SIZE", "7"},
                                       {"DISPATCHER_MAX_IN_FLIGHT", "8"},
                                       {"DISPATCHER_ENDPOINT_CONCURRENCY", "9"},
                                       {"DISPATCHER_POLL_INTERVAL", "50ms"},
                                       {"DISPATCHER_SHUTDOWN_TIMEOUT", "3s"},
                                       {"DISPATCHER_LOG_LEVEL", "DEBUG"},
                                   }),
                                   std::nullopt, {});
  EXPECT_EQ(s.redis_url, "redis://redis:6380/2");
  EXPECT_EQ(s.stream, "st");
  EXPECT_EQ(s.group, "gr");
  EXPECT_EQ(s.consumer, "c1");
  EXPECT_EQ(s.max_payload, 2048u);
  EXPECT_EQ(s.dead_letter_max, 500u);
  EXPECT_EQ(s.request_timeout, 250ms);
  EXPECT_EQ(s.retry_schedule, (std::vector<std::chrono::milliseconds>{1s, 2s}));
  EXPECT_EQ(s.retention, std::chrono::hours(48));
  EXPECT_EQ(s.listen, "[::1]:8081");
  EXPECT_EQ(s.admin_token, "adm-token-0123456");
  EXPECT_EQ(s.metrics_token, "met-token-0123456");
  EXPECT_EQ(s.ca_file, ca.path());
  EXPECT_TRUE(s.allow_private_targets);
  EXPECT_EQ(s.batch_size, 7u);
  EXPECT_EQ(s.max_in_flight, 8u);
  EXPECT_EQ(s.endpoint_concurrency, 9u);
  EXPECT_EQ(s.poll_interval, 50ms);
  EXPECT_EQ(s.shutdown_timeout, 3s);
  EXPECT_EQ(s.log_level, "debug");
}

TEST(settings, booleans_accept_common_spellings) {
  for (const auto* yes : {"true", "1", "yes", "TRUE"}) {
    EXPECT_TRUE(load_settings(env_of({{"DISPATCHER_ALLOW_PRIVATE_TARGETS", yes}}), std::nullopt, {})
                    .allow_private_targets)
        << yes;
  }
  for (const auto* no : {"false", "0", "no"}) {
    EXPECT_FALSE(
        load_settings(no_env, std::nullopt, {{"allow_private_targets", no}}).allow_private_targets)
        << no;
  }
  EXPECT_EQ(failing_env("DISPATCHER_ALLOW_PRIVATE_TARGETS", "maybe"),
            "DISPATCHER_ALLOW_PRIVATE_TARGETS");
}

TEST(settings, each_bad_value_names_its_setting) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"DISPATCHER_REDIS_URL", "http://localhost"},
      {"DISPATCHER_MAX_PAYLOAD", "1023"},
      {"DISPATCHER_MAX_PAYLOAD", "16777217"},
      {"DISPATCHER_MAX_PAYLOAD", "-5"},
      {"DISPATCHER_MAX_PAYLOAD", "12kb"},
      {"DISPATCHER_DEAD_LETTER_MAX", "0"},
      {"DISPATCHER_DEAD_LETTER_MAX", "100000001"},
      {"DISPATCHER_REQUEST_TIMEOUT", "99ms"},
      {"DISPATCHER_REQUEST_TIMEOUT", "6m"},
      {"DISPATCHER_REQUEST_TIMEOUT", "15"},
      {"DISPATCHER_RETRY_SCHEDULE", "5s,,5m"},
      {"DISPATCHER_RETRY_SCHEDULE", "5s,0s"},
      {"DISPATCHER_RETENTION", "59m"},
      {"DISPATCHER_LISTEN", "8080"},
      {"DISPATCHER_LISTEN", "localhost:65536"},
      {"DISPATCHER_LISTEN", "::1:8080"},
      {"DISPATCHER_LISTEN", ":8080"},
      {"DISPATCHER_BATCH_SIZE", "0"},
      {"DISPATCHER_BATCH_SIZE", "10001"},
      {"DISPATCHER_MAX_IN_FLIGHT", "0"},
      {"DISPATCHER_MAX_IN_FLIGHT", "100001"},
      {"DISPATCHER_ENDPOINT_CONCURRENCY", "0"},
      {"DISPATCHER_ENDPOINT_CONCURRENCY", "10001"},
      {"DISPATCHER_POLL_INTERVAL", "soon"},
      {"DISPATCHER_SHUTDOWN_TIMEOUT", "2h"},
      {"DISPATCHER_LOG_LEVEL", "verbose"},
      {"DISPATCHER_CA_FILE", "/nonexistent/ca.pem"},
      {"DISPATCHER_CA_FILE", "/"},
  };
  for (const auto& [name, value] : cases) {
    EXPECT_EQ(failing_env(name, value), name) << value;
  }
}

TEST(settings, breaker_and_disable_defaults_follow_the_contract) {
  const settings s = load_settings(no_env, std::nullopt, {});
  EXPECT_EQ(s.breaker_failures, 20u);
  EXPECT_EQ(s.breaker_probe, 30s);
  EXPECT_EQ(s.disable_after, std::chrono::hours(24 * 5));
  const settings short_ones = load_settings(env_of({{"DISPATCHER_BREAKER_FAILURES", "3"},
                                                    {"DISPATCHER_BREAKER_PROBE", "1s"},
                                                    {"DISPATCHER_DISABLE_AFTER", "1s"}}),
                                            std::nullopt, {});
  EXPECT_EQ(short_ones.breaker_failures, 3u);
  EXPECT_EQ(short_ones.breaker_probe, 1s);
  EXPECT_EQ(short_ones.disable_after, 1s);
}

TEST(settings, breaker_and_disable_settings_are_checked) {
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"DISPATCHER_BREAKER_FAILURES", "0"},
           {"DISPATCHER_BREAKER_FAILURES", "1000001"},
           {"DISPATCHER_BREAKER_FAILURES", "many"},
           {"DISPATCHER_BREAKER_PROBE", "999ms"},
           {"DISPATCHER_BREAKER_PROBE", "25h"},
           {"DISPATCHER_DISABLE_AFTER", "0s"},
           {"DISPATCHER_DISABLE_AFTER", "500ms"},
           {"DISPATCHER_DISABLE_AFTER", "366d"},
       }) {
    EXPECT_EQ(failing_env(name, value), name) << value;
  }
}

TEST(settings, retry_schedule_allows_at_most_fifty_delays) {
  std::string fifty = "1s";
  for (int i = 1; i < 50; ++i) fifty += ",1s";
  EXPECT_EQ(failing_env("DISPATCHER_RETRY_SCHEDULE", fifty), "");
  EXPECT_EQ(failing_env("DISPATCHER_RETRY_SCHEDULE", fifty + ",1s"), "DISPATCHER_RETRY_SCHEDULE");
}

TEST(settings, limits_are_inclusive) {
  EXPECT_EQ(failing_env("DISPATCHER_MAX_PAYLOAD", "1024"), "");
  EXPECT_EQ(failing_env("DISPATCHER_MAX_PAYLOAD", "16777216"), "");
  EXPECT_EQ(failing_env("DISPATCHER_REQUEST_TIMEOUT", "100ms"), "");
  EXPECT_EQ(failing_env("DISPATCHER_REQUEST_TIMEOUT", "5m"), "");
  EXPECT_EQ(failing_env("DISPATCHER_RETENTION", "1h"), "");
  EXPECT_EQ(failing_env("DISPATCHER_BATCH_SIZE", "10000"), "");
  EXPECT_EQ(failing_env("DISPATCHER_DEAD_LETTER_MAX", "1"), "");
  EXPECT_EQ(failing_env("DISPATCHER_DEAD_LETTER_MAX", "100000000"), "");
}

TEST(settings, empty_stream_or_group_is_refused) {
  // Only a file or a flag can make them empty: an empty variable means "unset".
  EXPECT_EQ(failing_setting(no_env, std::nullopt, {{"stream", ""}}), "DISPATCHER_STREAM");
  EXPECT_EQ(failing_setting(no_env, std::nullopt, {{"group", ""}}), "DISPATCHER_GROUP");
}

TEST(settings, error_says_where_the_value_came_from) {
  const std::string from_flag =
      error_message(no_env, std::nullopt, {{"request_timeout", "10 seconds"}});
  EXPECT_NE(from_flag.find("DISPATCHER_REQUEST_TIMEOUT"), std::string::npos) << from_flag;
  EXPECT_NE(from_flag.find("--request-timeout"), std::string::npos) << from_flag;

  const std::string from_env =
      error_message(env_of({{"DISPATCHER_BATCH_SIZE", "0"}}), std::nullopt, {});
  EXPECT_NE(from_env.find("environment"), std::string::npos) << from_env;
}

TEST(settings, secrets_are_not_echoed_in_errors) {
  const std::string message = error_message(
      env_of({{"DISPATCHER_REDIS_URL", "redis://:hunter2@host:99999"}}), std::nullopt, {});
  EXPECT_NE(message.find("DISPATCHER_REDIS_URL"), std::string::npos);
  EXPECT_EQ(message.find("hunter2"), std::string::npos) << message;
}

TEST(settings, tokens_need_sixteen_characters) {
  for (const auto* name : {"DISPATCHER_ADMIN_TOKEN", "DISPATCHER_METRICS_TOKEN"}) {
    EXPECT_EQ(failing_env(name, "fifteen-chars-x"), name);
    EXPECT_EQ(failing_env(name, "sixteen-chars-xx"), "");
    const std::string message = error_message(env_of({{name, "short-secret"}}), std::nullopt, {});
    EXPECT_NE(message.find("16"), std::string::npos) << message;
    EXPECT_EQ(message.find("short-secret"), std::string::npos) << "never echoed: " << message;
  }
  EXPECT_EQ(failing_setting(no_env, std::nullopt, {{"admin_token", "too-short"}}),
            "DISPATCHER_ADMIN_TOKEN");
  const temp_file file(R"({"metrics_token": "too-short"})");
  EXPECT_EQ(failing_setting(no_env, file.path(), {}), "DISPATCHER_METRICS_TOKEN");
}

TEST(settings, tokens_must_be_sendable_in_a_header) {
  EXPECT_EQ(failing_env("DISPATCHER_ADMIN_TOKEN", "sixteen chars xxx"), "DISPATCHER_ADMIN_TOKEN");
  EXPECT_EQ(failing_env("DISPATCHER_ADMIN_TOKEN", "sixteen-chars-xx\n"), "DISPATCHER_ADMIN_TOKEN");
  EXPECT_EQ(failing_env("DISPATCHER_ADMIN_TOKEN", "sixteen-chars-xx\x01"),
            "DISPATCHER_ADMIN_TOKEN");
  EXPECT_EQ(failing_env("DISPATCHER_ADMIN_TOKEN", "sixteen-chars-\xc3\xa9\xc3\xa9"),
            "DISPATCHER_ADMIN_TOKEN");
}

TEST(settings, encryption_key_is_base64_of_exactly_32_bytes) {
  // 32 bytes of 'k' in base64.
  const std::string good = "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=";
  EXPECT_EQ(
      load_settings(env_of({{"DISPATCHER_ENCRYPTION_KEY", good}}), std::nullopt, {}).encryption_key,
      good);
  EXPECT_TRUE(load_settings(no_env, std::nullopt, {}).encryption_key.empty());
  for (const std::string bad : {"a2tra2tra2tra2tra2tra2tra2tra2tra2tra2traw==",  // 31 bytes
                                "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tr",  // 33 bytes
                                "correct horse battery staple correct horse"}) {
    EXPECT_EQ(failing_env("DISPATCHER_ENCRYPTION_KEY", bad), "DISPATCHER_ENCRYPTION_KEY") << bad;
    const std::string message =
        error_message(env_of({{"DISPATCHER_ENCRYPTION_KEY", bad}}), std::nullopt, {});
    EXPECT_EQ(message.find(bad), std::string::npos) << "the key is a secret: " << message;
  }
  const temp_file file(R"({"encryption_key": "c2hvcnQ="})");
  EXPECT_EQ(failing_setting(no_env, file.path(), {}), "DISPATCHER_ENCRYPTION_KEY");
}

TEST(settings, unknown_config_file_key_is_named) {
  const temp_file file(R"({"request_timout": "10s"})");
  const std::string message = error_message(no_env, file.path(), {});
  EXPECT_NE(message.find("request_timout"), std::string::npos) << message;
  EXPECT_EQ(failing_setting(no_env, file.path(), {}), "--config");
}

TEST(settings, config_file_must_be_a_json_object) {
  const temp_file not_json("request_timeout = 10s");
  EXPECT_EQ(failing_setting(no_env, not_json.path(), {}), "--config");
  const temp_file array("[1, 2]");
  EXPECT_EQ(failing_setting(no_env, array.path(), {}), "--config");
  EXPECT_EQ(failing_setting(no_env, std::string("/nonexistent/dispatcher.json"), {}), "--config");
}

TEST(settings, bad_value_in_config_file_names_the_setting) {
  const temp_file file(R"({"batch_size": "many"})");
  EXPECT_EQ(failing_setting(no_env, file.path(), {}), "DISPATCHER_BATCH_SIZE");
  const temp_file wrong_type(R"({"listen": {"host": "x"}})");
  EXPECT_EQ(failing_setting(no_env, wrong_type.path(), {}), "DISPATCHER_LISTEN");
  const temp_file negative(R"({"max_in_flight": -1})");
  EXPECT_EQ(failing_setting(no_env, negative.path(), {}), "DISPATCHER_MAX_IN_FLIGHT");
}

TEST(settings, unknown_flag_is_refused) {
  EXPECT_EQ(failing_setting(no_env, std::nullopt, {{"no_such_setting", "1"}}), "--no-such-setting");
}

TEST(settings, redis_url_with_host_only_uses_defaults) {
  const redis_address a = parse_redis_url("redis://cache.internal");
  EXPECT_EQ(a.host, "cache.internal");
  EXPECT_EQ(a.port, 6379);
  EXPECT_EQ(a.password, "");
  EXPECT_EQ(a.db, 0);
}

TEST(settings, redis_url_with_every_part) {
  const redis_address a = parse_redis_url("redis://:s%40cret@10.0.0.5:6380/3");
  EXPECT_EQ(a.host, "10.0.0.5");
  EXPECT_EQ(a.port, 6380);
  EXPECT_EQ(a.password, "s@cret");
  EXPECT_EQ(a.db, 3);
}

TEST(settings, redis_url_default_user_and_ipv6) {
  const redis_address a = parse_redis_url("redis://default:pw@[::1]:7000/");
  EXPECT_EQ(a.host, "::1");
  EXPECT_EQ(a.port, 7000);
  EXPECT_EQ(a.password, "pw");
  EXPECT_EQ(a.db, 0);
}

TEST(settings, redis_url_bad_forms_are_refused) {
  for (const auto* url : {"", "localhost:6379", "http://localhost", "rediss://localhost",
                          "redis://", "redis://host:0", "redis://host:70000", "redis://host/x",
                          "redis://host/1/2", "redis://host?db=1", "redis://alice:pw@host"}) {
    try {
      parse_redis_url(url);
      ADD_FAILURE() << "accepted " << url;
    } catch (const config_error& e) {
      EXPECT_EQ(e.setting(), "DISPATCHER_REDIS_URL") << url;
    }
  }
}

TEST(settings, host_port_forms) {
  EXPECT_EQ(parse_host_port("127.0.0.1:8080")->host, "127.0.0.1");
  EXPECT_EQ(parse_host_port("127.0.0.1:8080")->port, 8080);
  EXPECT_EQ(parse_host_port("[::1]:0")->host, "::1");
  EXPECT_EQ(parse_host_port("localhost:65535")->port, 65535);
  EXPECT_FALSE(parse_host_port("[::1]"));
  EXPECT_FALSE(parse_host_port("host:"));
  EXPECT_FALSE(parse_host_port("host:http"));
}

// -- issue 14: zero durations, unknown variables, the settings in effect ----------------

TEST(settings, a_zero_duration_must_be_positive_not_malformed) {
  for (const auto* name :
       {"DISPATCHER_REQUEST_TIMEOUT", "DISPATCHER_RETENTION", "DISPATCHER_POLL_INTERVAL"}) {
    for (const auto* zero : {"0s", "0", "0ms", "00m"}) {
      const std::string message = error_message(env_of({{name, zero}}), std::nullopt, {});
      EXPECT_EQ(failing_env(name, zero), name) << zero;
      EXPECT_NE(message.find(std::string(name) + ": must be positive"), std::string::npos)
          << message;
      EXPECT_EQ(message.find("is not a duration"), std::string::npos) << message;
    }
  }
  // The same from a flag and from the file (a JSON 0 is the text "0").
  EXPECT_NE(error_message(no_env, std::nullopt, {{"poll_interval", "0s"}}).find("must be positive"),
            std::string::npos);
  const temp_file file(R"({"request_timeout": 0})");
  EXPECT_NE(error_message(no_env, file.path(), {}).find("must be positive"), std::string::npos);
  // A delay of the schedule too.
  const std::string schedule =
      error_message(env_of({{"DISPATCHER_RETRY_SCHEDULE", "5s,0s"}}), std::nullopt, {});
  EXPECT_NE(schedule.find("DISPATCHER_RETRY_SCHEDULE: every delay must be positive"),
            std::string::npos)
      << schedule;
  // Text that is no duration at all still says so.
  EXPECT_NE(error_message(env_of({{"DISPATCHER_POLL_INTERVAL", "0x"}}), std::nullopt, {})
                .find("is not a duration"),
            std::string::npos);
}

TEST(settings, shutdown_timeout_may_be_zero) {
  EXPECT_EQ(load_settings(env_of({{"DISPATCHER_SHUTDOWN_TIMEOUT", "0s"}}), std::nullopt, {})
                .shutdown_timeout,
            0ms);
  EXPECT_EQ(load_settings(no_env, std::nullopt, {{"shutdown_timeout", "0"}}).shutdown_timeout, 0ms);
}

// The warning of each unknown variable, in the environment's order.
std::vector<std::string> warnings(const environment& env) {
  std::vector<std::string> out;
  for (const auto& unknown : unknown_variables(env)) out.push_back(unknown.message());
  return out;
}

TEST(settings, a_misspelt_variable_is_warned_about_with_the_setting_it_meant) {
  EXPECT_EQ(warnings({{"DISPATCHER_ALLOW_PRIVATE_TARGET", "true"}}),
            std::vector<std::string>{"unknown setting DISPATCHER_ALLOW_PRIVATE_TARGET; did you "
                                     "mean DISPATCHER_ALLOW_PRIVATE_TARGETS?"});
  const auto unknown = unknown_variables({{"DISPATCHER_ALLOW_PRIVATE_TARGET", "true"}});
  ASSERT_EQ(unknown.size(), 1u);
  EXPECT_EQ(unknown[0].name, "DISPATCHER_ALLOW_PRIVATE_TARGET");
  EXPECT_EQ(unknown[0].suggestions, std::vector<std::string>{"DISPATCHER_ALLOW_PRIVATE_TARGETS"});

  const std::vector<std::pair<std::string, std::string>> typos{
      {"DISPATCHER_LSITEN", "DISPATCHER_LISTEN"},                   // two keys swapped
      {"DISPATCHER_REQUEST_TIMOUT", "DISPATCHER_REQUEST_TIMEOUT"},  // one left out
      {"DISPATCHER_ADMIN_TOKENS", "DISPATCHER_ADMIN_TOKEN"},        // a trailing S
      {"DISPATCHER_REDIS_ULR", "DISPATCHER_REDIS_URL"},
      {"DISPATCHER_log_level", "DISPATCHER_LOG_LEVEL"},    // case
      {"DISPATCHER_LISTEN_ADDRESS", "DISPATCHER_LISTEN"},  // a known name as its prefix
      {"DISPATCHER_RETRY", "DISPATCHER_RETRY_SCHEDULE"},   // a prefix of a known name
      {"DISPATCHER_UR", "DISPATCHER_URL"},                 // the commands' variable
  };
  for (const auto& [typo, meant] : typos) {
    EXPECT_EQ(warnings({{typo, "x"}}), std::vector<std::string>{"unknown setting " + typo +
                                                                "; did you mean " + meant + "?"});
  }
}

TEST(settings, an_unknown_variable_close_to_nothing_is_still_named) {
  EXPECT_EQ(warnings({{"DISPATCHER_COLOUR", "blue"}}),
            std::vector<std::string>{"unknown setting DISPATCHER_COLOUR; it is ignored"});
  // An empty one too: the name is wrong whatever its value.
  EXPECT_EQ(unknown_variables({{"DISPATCHER_BATCHSIZE_X", ""}}).size(), 1u);
  // Too short a prefix points at nothing in particular.
  EXPECT_TRUE(unknown_variables({{"DISPATCHER_MA", "1"}})[0].suggestions.empty());
}

TEST(settings, the_closest_setting_is_offered_and_ties_are_all_named) {
  // A prefix of both DISPATCHER_RETENTION and DISPATCHER_RETRY_SCHEDULE: the nearer wins.
  EXPECT_EQ(unknown_variables({{"DISPATCHER_RET", "1"}})[0].suggestions,
            std::vector<std::string>{"DISPATCHER_RETENTION"});
  const unknown_variable two{"DISPATCHER_X", {"DISPATCHER_A", "DISPATCHER_B"}};
  EXPECT_EQ(two.message(),
            "unknown setting DISPATCHER_X; did you mean DISPATCHER_A or DISPATCHER_B?");
}

TEST(settings, known_and_foreign_variables_are_not_warned_about) {
  environment env{{"PATH", "/usr/bin"},
                  {"HOME", "/root"},
                  {"DISPATCHER_URL", "http://x"},
                  {"dispatcher_listen", "lower case is not ours"},
                  {"XDISPATCHER_FOO", "1"}};
  // Every setting's own variable.
  for (const auto& [name, value] : effective_settings(settings{})) {
    std::string upper;
    for (const char c : name)
      upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    env.emplace_back("DISPATCHER_" + upper, "x");
  }
  EXPECT_EQ(env.size(), 5u + 26u);
  EXPECT_TRUE(unknown_variables(env).empty()) << warnings(env).front();
  // In the environment's order, each once.
  env.emplace_back("DISPATCHER_B_UNKNOWN", "1");
  env.emplace_back("DISPATCHER_A_UNKNOWN", "1");
  const auto unknown = unknown_variables(env);
  ASSERT_EQ(unknown.size(), 2u);
  EXPECT_EQ(unknown[0].name, "DISPATCHER_B_UNKNOWN");
  EXPECT_EQ(unknown[1].name, "DISPATCHER_A_UNKNOWN");
}

// The value shown for one setting.
std::string shown(const settings& s, const std::string& name) {
  for (const auto& [key, value] : effective_settings(s)) {
    if (key == name) return value;
  }
  ADD_FAILURE() << name << " is not shown";
  return {};
}

TEST(settings, the_settings_in_effect_show_every_value_but_the_secrets) {
  const settings s = load_settings(
      env_of({{"DISPATCHER_REDIS_URL", "redis://:hunter2-password@cache.internal:6380/2"},
              {"DISPATCHER_ADMIN_TOKEN", "admin-token-value-0123"},
              {"DISPATCHER_METRICS_TOKEN", "metrics-token-value-0123"},
              {"DISPATCHER_ENCRYPTION_KEY", "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s="},
              {"DISPATCHER_REQUEST_TIMEOUT", "250ms"},
              {"DISPATCHER_RETRY_SCHEDULE", "1s,5m"},
              {"DISPATCHER_ALLOW_PRIVATE_TARGETS", "true"},
              {"DISPATCHER_BATCH_SIZE", "7"}}),
      std::nullopt, {});
  const auto all = effective_settings(s);
  EXPECT_EQ(all.size(), 26u);
  for (const auto& [name, value] : all) {
    for (const auto* secret :
         {"hunter2-password", "admin-token-value-0123", "metrics-token-value-0123", "a2tra2tra2"}) {
      EXPECT_EQ(value.find(secret), std::string::npos) << name << " shows " << value;
    }
  }
  EXPECT_EQ(shown(s, "redis_url"), "redis://:***@cache.internal:6380/2");
  EXPECT_EQ(shown(s, "admin_token"), "***");
  EXPECT_EQ(shown(s, "metrics_token"), "***");
  EXPECT_EQ(shown(s, "encryption_key"), "***");
  EXPECT_EQ(shown(s, "request_timeout"), "250ms");
  EXPECT_EQ(shown(s, "retry_schedule"), "1s,5m");
  EXPECT_EQ(shown(s, "allow_private_targets"), "true");
  EXPECT_EQ(shown(s, "batch_size"), "7");
  EXPECT_EQ(shown(s, "stream"), "lifecycle:events");
  EXPECT_EQ(shown(s, "retention"), "30d");
  // Unset secrets show as empty: nothing to hide, and the operator sees they are unset.
  const settings plain = load_settings(no_env, std::nullopt, {});
  EXPECT_EQ(shown(plain, "metrics_token"), "");
  EXPECT_EQ(shown(plain, "encryption_key"), "");
  EXPECT_EQ(shown(plain, "redis_url"), "redis://127.0.0.1:6379/0");
}

TEST(settings, url_credentials_are_masked) {
  EXPECT_EQ(mask_url_credentials("redis://:pw@host:6379/0"), "redis://:***@host:6379/0");
  EXPECT_EQ(mask_url_credentials("redis://default:pw@[::1]:7000"),
            "redis://default:***@[::1]:7000");
  EXPECT_EQ(mask_url_credentials("redis://token@host"), "redis://***@host");
  EXPECT_EQ(mask_url_credentials("redis://:p@ss@host/1"), "redis://:***@host/1");
  EXPECT_EQ(mask_url_credentials("redis://host:6379/0"), "redis://host:6379/0");
  EXPECT_EQ(mask_url_credentials("redis://host/a@b"), "redis://host/a@b");
  EXPECT_EQ(mask_url_credentials("not a url"), "not a url");
}

}  // namespace
}  // namespace dispatcher::config
