// Command-line parsing: the commands, their flags and defaults, and a usage error with a
// clear message for everything else.
#include "dispatcher/app/cli.hpp"

#include <initializer_list>
#include <vector>

#include <gtest/gtest.h>

#include "dispatcher/config/settings.hpp"

namespace dispatcher::app {
namespace {

using cmd = command_line::command;

command_line parse(std::initializer_list<const char*> args) {
  std::vector<const char*> argv{"dispatcher"};
  argv.insert(argv.end(), args.begin(), args.end());
  return parse_command_line(static_cast<int>(argv.size()), argv.data());
}

// The usage error's message, or "" when the arguments parse.
std::string usage_error_of(std::initializer_list<const char*> args) {
  try {
    parse(args);
  } catch (const usage_error& e) {
    return e.what();
  }
  return "";
}

TEST(cli, serve_without_flags) {
  const command_line c = parse({"serve"});
  EXPECT_EQ(c.cmd, cmd::serve);
  EXPECT_FALSE(c.config_file);
  EXPECT_TRUE(c.setting_flags.empty());
}

TEST(cli, serve_flags_are_keyed_by_setting_name) {
  const command_line c = parse({"serve", "--listen", "0.0.0.0:9000", "--redis-url=redis://r:1/2",
                                "--request-timeout", "5s", "--retry-schedule", "1s,2s", "--config",
                                "/etc/dispatcher.json", "--log-level", "debug"});
  EXPECT_EQ(c.cmd, cmd::serve);
  EXPECT_EQ(c.config_file, "/etc/dispatcher.json");
  EXPECT_EQ(c.setting_flags.at("listen"), "0.0.0.0:9000");
  EXPECT_EQ(c.setting_flags.at("redis_url"), "redis://r:1/2");
  EXPECT_EQ(c.setting_flags.at("request_timeout"), "5s");
  EXPECT_EQ(c.setting_flags.at("retry_schedule"), "1s,2s");
  EXPECT_EQ(c.setting_flags.at("log_level"), "debug");
  EXPECT_EQ(c.setting_flags.size(), 5u);
}

TEST(cli, bare_boolean_flag_means_true) {
  EXPECT_EQ(parse({"serve", "--allow-private-targets"}).setting_flags.at("allow_private_targets"),
            "true");
  EXPECT_EQ(
      parse({"serve", "--allow-private-targets=false"}).setting_flags.at("allow_private_targets"),
      "false");
}

TEST(cli, every_serve_flag_is_a_setting_load_settings_accepts) {
  const command_line c = parse({"serve",
                                "--redis-url",
                                "redis://h:1/0",
                                "--stream",
                                "s",
                                "--group",
                                "g",
                                "--consumer",
                                "c",
                                "--max-payload",
                                "2048",
                                "--request-timeout",
                                "1s",
                                "--retry-schedule",
                                "1s",
                                "--retention",
                                "2h",
                                "--listen",
                                "127.0.0.1:1",
                                "--admin-token",
                                "t-0123456789abcdef",
                                "--metrics-token",
                                "m-0123456789abcdef",
                                "--ca-file",
                                "/dev/null",
                                "--allow-private-targets",
                                "--batch-size",
                                "5",
                                "--max-in-flight",
                                "6",
                                "--endpoint-concurrency",
                                "7",
                                "--poll-interval",
                                "10ms",
                                "--shutdown-timeout",
                                "1s",
                                "--log-level",
                                "warn"});
  EXPECT_EQ(c.setting_flags.size(), 19u);
  const auto no_env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  config::settings s;
  ASSERT_NO_THROW(s = config::load_settings(no_env, std::nullopt, c.setting_flags));
  EXPECT_EQ(s.endpoint_concurrency, 7u);
  EXPECT_EQ(s.admin_token, "t-0123456789abcdef");
}

TEST(cli, replay_defaults) {
  const command_line c = parse({"replay"});
  EXPECT_EQ(c.cmd, cmd::replay);
  EXPECT_EQ(c.replay.status, "failed");
  EXPECT_FALSE(c.replay.endpoint);
  EXPECT_FALSE(c.replay.since);
  EXPECT_FALSE(c.replay.until);
  EXPECT_FALSE(c.replay.dry_run);
  EXPECT_FALSE(c.replay.url);
}

TEST(cli, replay_with_every_option) {
  const command_line c = parse({"replay", "--endpoint", "ep_1", "--status", "succeeded", "--event",
                                "account.connection.created", "--consumer", "c1", "--connection",
                                "k1", "--since", "2024-01-01T00:00:00Z", "--until", "1700000000",
                                "--dry-run", "--url", "http://admin:8080"});
  EXPECT_EQ(c.replay.endpoint, "ep_1");
  EXPECT_EQ(c.replay.event, "account.connection.created");
  EXPECT_EQ(c.replay.consumer, "c1");
  EXPECT_EQ(c.replay.connection, "k1");
  EXPECT_EQ(c.replay.status, "succeeded");
  EXPECT_EQ(c.replay.since, "2024-01-01T00:00:00Z");
  EXPECT_EQ(c.replay.until, "1700000000");
  EXPECT_TRUE(c.replay.dry_run);
  EXPECT_EQ(c.replay.url, "http://admin:8080");
}

TEST(cli, replay_refuses_unknown_status) {
  const std::string message = usage_error_of({"replay", "--status", "broken"});
  EXPECT_NE(message.find("--status"), std::string::npos) << message;
  // Pending and retrying deliveries are already queued: nothing to replay.
  EXPECT_NE(usage_error_of({"replay", "--status", "retrying"}), "");
  EXPECT_NE(usage_error_of({"replay", "--consumer", ""}), "");
}

TEST(cli, replay_takes_one_delivery_id) {
  const command_line c = parse({"replay", "dlv_0123abcd", "--timeout", "5s"});
  EXPECT_EQ(c.cmd, cmd::replay);
  EXPECT_EQ(c.replay.delivery, "dlv_0123abcd");
  EXPECT_EQ(c.replay.timeout, std::chrono::seconds(5));
  EXPECT_FALSE(parse({"replay"}).replay.delivery);
}

TEST(cli, replay_by_id_refuses_filters_and_what_is_not_a_delivery_id) {
  std::string message = usage_error_of({"replay", "ep_123"});
  EXPECT_NE(message.find("is not a delivery id"), std::string::npos) << message;
  message = usage_error_of({"replay", "dlv_1", "--endpoint", "ep_1"});
  EXPECT_NE(message.find("--endpoint"), std::string::npos) << message;
  EXPECT_NE(message.find("cannot be combined"), std::string::npos) << message;
  EXPECT_NE(usage_error_of({"replay", "dlv_1", "--dry-run"}), "");
  EXPECT_NE(usage_error_of({"replay", "dlv_1", "--status", "failed"}), "");
  EXPECT_NE(usage_error_of({"replay", "dlv_1", "dlv_2"}), "");
  EXPECT_NE(usage_text("replay").find("DELIVERY_ID"), std::string::npos);
}

TEST(cli, replay_does_not_take_serve_flags) {
  EXPECT_NE(usage_error_of({"replay", "--listen", "x:1"}), "");
}

TEST(cli, publish_reads_stdin_by_default) {
  const command_line c = parse({"publish"});
  EXPECT_EQ(c.cmd, cmd::publish);
  EXPECT_EQ(c.publish.file, "-");
  EXPECT_EQ(parse({"publish", "-"}).publish.file, "-");
}

TEST(cli, publish_takes_a_file_and_redis_flags) {
  const command_line c = parse({"publish", "--stream", "other", "events.jsonl"});
  EXPECT_EQ(c.publish.file, "events.jsonl");
  EXPECT_EQ(c.setting_flags.at("stream"), "other");
  EXPECT_NE(usage_error_of({"publish", "a.jsonl", "b.jsonl"}), "");
}

TEST(cli, replay_and_publish_wait_30s_by_default) {
  EXPECT_EQ(parse({"replay"}).replay.timeout, std::chrono::seconds(30));
  EXPECT_EQ(parse({"publish"}).publish.timeout, std::chrono::seconds(30));
}

TEST(cli, timeout_takes_a_duration_like_every_other_flag) {
  using namespace std::chrono_literals;
  EXPECT_EQ(parse({"replay", "--timeout", "5s"}).replay.timeout, 5s);
  EXPECT_EQ(parse({"replay", "--timeout=250ms"}).replay.timeout, 250ms);
  EXPECT_EQ(parse({"publish", "--timeout", "2m", "events.jsonl"}).publish.timeout, 2min);
  EXPECT_EQ(parse({"publish", "--timeout", "2m", "events.jsonl"}).publish.file, "events.jsonl");
  EXPECT_TRUE(parse({"publish", "--timeout", "1s"}).setting_flags.empty())
      << "--timeout is the command's own flag, not a setting";
}

TEST(cli, timeout_refuses_what_is_not_a_duration) {
  for (const char* bad : {"5", "0s", "-1s", "soon", "5 s", "1.5s", ""}) {
    const std::string message = usage_error_of({"replay", "--timeout", bad});
    EXPECT_NE(message.find("--timeout"), std::string::npos) << bad << ": " << message;
  }
  EXPECT_NE(usage_error_of({"publish", "--timeout", "fast"}).find("--timeout"), std::string::npos);
  EXPECT_NE(usage_error_of({"replay", "--timeout"}), "");
  EXPECT_EQ(parse({"replay", "--timeout", "1d"}).replay.timeout, std::chrono::hours(24));
  EXPECT_NE(usage_error_of({"replay", "--timeout", "25h"}).find("at most 1d"), std::string::npos);
  EXPECT_NE(usage_error_of({"publish", "--timeout", "999999999d"}), "");
  EXPECT_NE(usage_error_of({"serve", "--timeout", "5s"}), "") << "serve has its own timeouts";
}

TEST(cli, a_zero_timeout_must_be_positive) {
  const std::string message = usage_error_of({"replay", "--timeout", "0s"});
  EXPECT_NE(message.find("--timeout must be positive"), std::string::npos) << message;
}

TEST(cli, dead_letters_lists_by_default) {
  const command_line c = parse({"dead-letters"});
  EXPECT_EQ(c.cmd, cmd::dead_letters);
  EXPECT_EQ(c.dead_letters.act, dead_letters_options::action::list);
  EXPECT_EQ(c.dead_letters.limit, 50u);
  EXPECT_FALSE(c.dead_letters.cursor);
  EXPECT_EQ(c.dead_letters.timeout, std::chrono::seconds(30));
  const command_line paged = parse({"dead-letters", "list", "--limit", "2", "--cursor",
                                    "1700000000000-1", "--url", "http://a:1", "--timeout", "5s"});
  EXPECT_EQ(paged.dead_letters.act, dead_letters_options::action::list);
  EXPECT_EQ(paged.dead_letters.limit, 2u);
  EXPECT_EQ(paged.dead_letters.cursor, "1700000000000-1");
  EXPECT_EQ(paged.dead_letters.url, "http://a:1");
  EXPECT_EQ(paged.dead_letters.timeout, std::chrono::seconds(5));
}

TEST(cli, dead_letters_retry_and_delete_take_an_id) {
  const command_line retry = parse({"dead-letters", "retry", "1700000000000-0"});
  EXPECT_EQ(retry.dead_letters.act, dead_letters_options::action::retry);
  EXPECT_EQ(retry.dead_letters.id, "1700000000000-0");
  EXPECT_FALSE(retry.dead_letters.file);
  EXPECT_EQ(parse({"dead-letters", "retry", "1-0", "fixed.json"}).dead_letters.file, "fixed.json");
  EXPECT_EQ(parse({"dead-letters", "retry", "1-0", "-"}).dead_letters.file, "-");
  const command_line del = parse({"dead-letters", "delete", "1-0"});
  EXPECT_EQ(del.dead_letters.act, dead_letters_options::action::remove);
  EXPECT_EQ(del.dead_letters.id, "1-0");
}

TEST(cli, dead_letters_refuses_what_it_cannot_do) {
  std::string message = usage_error_of({"dead-letters", "retry", "dlv_1"});
  EXPECT_NE(message.find("is not a dead-letter id"), std::string::npos) << message;
  message = usage_error_of({"dead-letters", "purge"});
  EXPECT_NE(message.find("use list, retry or delete"), std::string::npos) << message;
  EXPECT_NE(usage_error_of({"dead-letters", "retry"}), "");
  EXPECT_NE(usage_error_of({"dead-letters", "delete"}), "");
  EXPECT_NE(usage_error_of({"dead-letters", "delete", "1-0", "extra"}), "");
  EXPECT_NE(usage_error_of({"dead-letters", "retry", "1-0", "a.json", "b.json"}), "");
  EXPECT_NE(usage_error_of({"dead-letters", "list", "extra"}), "");
  EXPECT_NE(usage_error_of({"dead-letters", "delete", "1-0", "--limit", "5"}), "");
  EXPECT_NE(usage_error_of({"dead-letters", "--limit", "0"}), "");
  EXPECT_NE(usage_error_of({"dead-letters", "--limit", "501"}), "");
  EXPECT_NE(usage_error_of({"dead-letters", "--cursor", "next"}), "");
  EXPECT_NE(usage_error_of({"dead-letters", "--listen", "x:1"}), "");
  const std::string usage = usage_text("dead-letters");
  EXPECT_NE(usage.find("retry ID [FILE|-]"), std::string::npos) << usage;
  EXPECT_NE(usage_text("").find("dead-letters"), std::string::npos);
  EXPECT_EQ(parse({"help", "dead-letters"}).help.topic, "dead-letters");
  EXPECT_EQ(parse({"dead-letters", "--help"}).help.topic, "dead-letters");
}

TEST(cli, version_and_help) {
  EXPECT_EQ(parse({"--version"}).cmd, cmd::version);
  EXPECT_EQ(parse({"help"}).cmd, cmd::help);
  EXPECT_EQ(parse({"help"}).help.topic, "");
  EXPECT_EQ(parse({"--help"}).cmd, cmd::help);
  EXPECT_EQ(parse({"help", "replay"}).help.topic, "replay");
  const command_line c = parse({"serve", "--help"});
  EXPECT_EQ(c.cmd, cmd::help);
  EXPECT_EQ(c.help.topic, "serve");
}

TEST(cli, unknown_command_is_a_usage_error) {
  const std::string message = usage_error_of({"start"});
  EXPECT_NE(message.find("start"), std::string::npos) << message;
  EXPECT_NE(usage_error_of({}), "");
  EXPECT_NE(usage_error_of({"help", "start"}), "");
  EXPECT_NE(usage_error_of({"--verbose"}), "");
}

TEST(cli, unknown_flag_is_a_usage_error_naming_it) {
  const std::string message = usage_error_of({"serve", "--lisen", "x:1"});
  EXPECT_NE(message.find("lisen"), std::string::npos) << message;
}

TEST(cli, abbreviated_flags_are_refused) {
  EXPECT_NE(usage_error_of({"serve", "--request", "5s"}), "");
}

TEST(cli, missing_flag_value_is_a_usage_error) {
  EXPECT_NE(usage_error_of({"serve", "--listen"}), "");
  EXPECT_NE(usage_error_of({"replay", "--endpoint"}), "");
}

TEST(cli, serve_takes_no_arguments) {
  EXPECT_NE(usage_error_of({"serve", "extra"}), "");
}

TEST(cli, usage_error_carries_the_command_topic) {
  try {
    parse({"replay", "--bogus"});
    FAIL();
  } catch (const usage_error& e) {
    EXPECT_EQ(e.topic(), "replay");
  }
}

TEST(cli, usage_text_describes_each_command) {
  EXPECT_NE(usage_text("").find("serve"), std::string::npos);
  EXPECT_NE(usage_text("").find("--version"), std::string::npos);
  const std::string serve = usage_text("serve");
  EXPECT_NE(serve.find("--request-timeout"), std::string::npos) << serve;
  EXPECT_NE(serve.find("DISPATCHER_REQUEST_TIMEOUT"), std::string::npos) << serve;
  EXPECT_NE(serve.find("5s,5m,30m,2h,5h,10h,10h"), std::string::npos) << serve;
  EXPECT_NE(usage_text("replay").find("--dry-run"), std::string::npos);
  EXPECT_NE(usage_text("publish").find("FILE"), std::string::npos);
  EXPECT_NE(usage_text("replay").find("--timeout DURATION"), std::string::npos);
  EXPECT_NE(usage_text("publish").find("--timeout DURATION"), std::string::npos);
}

}  // namespace
}  // namespace dispatcher::app
