// The sentences the operator commands print when Redis or the admin API fails them
// (CONTRACT §7): one per step and kind, naming what did not answer and the --timeout.
#include "dispatcher/app/command_failure.hpp"

#include <gtest/gtest.h>

namespace dispatcher::app {
namespace {

using namespace std::chrono_literals;

const std::string redis = "Redis at 127.0.0.1:6379";
const std::string local_api = "the admin API at http://localhost:8080";

std::string say(failed_step step, failure_kind kind, std::string detail = {},
                const std::string& server = redis) {
  return failure_sentence({step, kind, std::move(detail)}, server, "localhost", 1s);
}

TEST(command_failure, a_lookup_names_the_host) {
  EXPECT_EQ(say(failed_step::lookup, failure_kind::timed_out),
            "the lookup of localhost did not answer within 1s");
  EXPECT_EQ(say(failed_step::lookup, failure_kind::unknown_host), "cannot resolve host localhost");
  EXPECT_EQ(say(failed_step::lookup, failure_kind::other, "Temporary failure in name resolution"),
            "cannot resolve host localhost: temporary failure in name resolution");
}

TEST(command_failure, a_connect_names_the_server) {
  EXPECT_EQ(say(failed_step::connect, failure_kind::timed_out),
            "Redis at 127.0.0.1:6379 did not accept the connection within 1s");
  EXPECT_EQ(say(failed_step::connect, failure_kind::other, "Connection refused", local_api),
            "cannot connect to the admin API at http://localhost:8080: connection refused");
}

TEST(command_failure, a_redis_command_that_fails) {
  EXPECT_EQ(say(failed_step::command, failure_kind::timed_out),
            "Redis at 127.0.0.1:6379 did not answer within 1s");
  EXPECT_EQ(say(failed_step::command, failure_kind::closed),
            "Redis at 127.0.0.1:6379 closed the connection");
  EXPECT_EQ(say(failed_step::command, failure_kind::other, "Bad message"),
            "lost the connection to Redis at 127.0.0.1:6379: bad message");
}

TEST(command_failure, an_http_exchange_that_fails) {
  EXPECT_EQ(say(failed_step::request, failure_kind::timed_out, {}, local_api),
            local_api + " did not answer within 1s");
  EXPECT_EQ(say(failed_step::answer, failure_kind::timed_out, {}, local_api),
            local_api + " did not answer within 1s");
  EXPECT_EQ(say(failed_step::request, failure_kind::closed, {}, local_api),
            local_api + " closed the connection without answering");
  EXPECT_EQ(say(failed_step::answer, failure_kind::closed, {}, local_api),
            local_api + " closed the connection without answering");
  EXPECT_EQ(say(failed_step::request, failure_kind::other, "Network is unreachable", local_api),
            "lost the connection to " + local_api + ": network is unreachable");
  EXPECT_EQ(say(failed_step::answer, failure_kind::other, "Bad version", local_api),
            local_api + " sent an answer that is not HTTP: bad version");
}

TEST(command_failure, the_timeout_is_written_like_every_duration) {
  EXPECT_EQ(failure_sentence({failed_step::command, failure_kind::timed_out, {}}, redis, "h", 30s),
            "Redis at 127.0.0.1:6379 did not answer within 30s");
  EXPECT_EQ(
      failure_sentence({failed_step::command, failure_kind::timed_out, {}}, redis, "h", 250ms),
      "Redis at 127.0.0.1:6379 did not answer within 250ms");
}

TEST(command_failure, redis_is_named_by_address_with_ipv6_in_brackets) {
  EXPECT_EQ(redis_server_name("127.0.0.1", 6379), "Redis at 127.0.0.1:6379");
  EXPECT_EQ(redis_server_name("::1", 7000), "Redis at [::1]:7000");
  EXPECT_EQ(redis_server_name("cache.internal", 6380), "Redis at cache.internal:6380");
}

TEST(command_failure, a_refused_handshake_says_which_setting_is_wrong) {
  EXPECT_EQ(refused_handshake_sentence("AUTH", redis, 0),
            "Redis at 127.0.0.1:6379 refused the password");
  EXPECT_EQ(refused_handshake_sentence("SELECT", redis, 3),
            "cannot select database 3 on Redis at 127.0.0.1:6379");
}

TEST(command_failure, only_the_first_letter_is_lowered) {
  EXPECT_EQ(lowercase_first("Connection refused"), "connection refused");
  EXPECT_EQ(lowercase_first(""), "");
  EXPECT_EQ(lowercase_first("already"), "already");
}

}  // namespace
}  // namespace dispatcher::app
