// `dispatcher listen`'s flags and the line it prints per webhook; the health check's
// address.
#include "dispatcher/app/listen.hpp"

#include <gtest/gtest.h>

#include "dispatcher/app/healthcheck.hpp"
#include "dispatcher/signing/signature.hpp"

namespace dispatcher::app {
namespace {

const std::string secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr std::int64_t now = 1700000000;

received_webhook signed_webhook() {
  received_webhook w;
  w.method = "POST";
  w.target = "/hook";
  w.id = "evt_1";
  w.timestamp = std::to_string(now);
  w.body = R"({"event":"account.connection.created","id":"evt_1"})";
  w.signature = signing::standard_signature(secret, w.id, now, w.body);
  return w;
}

TEST(listen, defaults_are_loopback_9101_answering_204) {
  const auto parsed = parse_listen_args({});
  ASSERT_TRUE(std::holds_alternative<listen_options>(parsed));
  const auto& o = std::get<listen_options>(parsed);
  EXPECT_EQ(o.host, "127.0.0.1");
  EXPECT_EQ(o.port, 9101);
  EXPECT_EQ(o.status, 204u);
  EXPECT_FALSE(o.secret);
}

TEST(listen, flags_are_read_and_bad_values_named) {
  const auto parsed =
      parse_listen_args({"--port", "9200", "--status", "500", "--secret", secret, "--host", "::1"});
  ASSERT_TRUE(std::holds_alternative<listen_options>(parsed));
  const auto& o = std::get<listen_options>(parsed);
  EXPECT_EQ(o.port, 9200);
  EXPECT_EQ(o.status, 500u);
  EXPECT_EQ(o.secret, secret);
  EXPECT_EQ(o.host, "::1");

  const auto problem = [](std::vector<std::string> args) {
    const auto p = parse_listen_args(args);
    return std::holds_alternative<std::string>(p) ? std::get<std::string>(p) : std::string();
  };
  EXPECT_NE(problem({"--port", "0"}).find("--port"), std::string::npos);
  EXPECT_NE(problem({"--status", "99"}).find("--status"), std::string::npos);
  EXPECT_NE(problem({"--secret", "hunter2"}).find("whsec_"), std::string::npos);
  EXPECT_NE(problem({"--host", "localhost"}).find("--host"), std::string::npos);
  EXPECT_NE(problem({"--port"}).find("needs a value"), std::string::npos);
  EXPECT_NE(problem({"--verbose"}).find("unknown option"), std::string::npos);
}

TEST(listen, a_signed_webhook_is_verified) {
  EXPECT_EQ(describe_webhook(signed_webhook(), secret, now, 204),
            "evt_1 account.connection.created verified -> 204");
}

TEST(listen, a_tampered_body_says_why_it_failed) {
  auto w = signed_webhook();
  w.body += " ";
  EXPECT_EQ(describe_webhook(w, secret, now, 500),
            "evt_1 account.connection.created NOT verified (no signature matches) -> 500");
}

TEST(listen, chift_only_requests_are_verified_with_that_scheme) {
  auto w = signed_webhook();
  w.signature.clear();
  w.chift = signing::chift_signature(secret, w.body);
  EXPECT_EQ(describe_webhook(w, secret, now, 204),
            "evt_1 account.connection.created verified -> 204");
}

TEST(listen, without_a_secret_nothing_is_claimed) {
  received_webhook w;
  w.method = "GET";
  w.target = "/";
  EXPECT_EQ(describe_webhook(w, std::nullopt, now, 204),
            "- - unverified (no --secret) [GET /] -> 204");
}

TEST(healthcheck, an_unspecified_listen_address_is_asked_on_loopback) {
  EXPECT_EQ(healthcheck_address(std::nullopt), "127.0.0.1:8080");
  EXPECT_EQ(healthcheck_address("0.0.0.0:8080"), "127.0.0.1:8080");
  EXPECT_EQ(healthcheck_address("[::]:9000"), "[::1]:9000");
  EXPECT_EQ(healthcheck_address("127.0.0.1:18080"), "127.0.0.1:18080");
}

}  // namespace
}  // namespace dispatcher::app
