// A request line into the Beast-free admin::request: target decoding and the token header.
// The limits Beast's parser runs with are tested with Beast in
// tests/integration/request_limits_test.cpp.
#include "dispatcher/admin/request_parser.hpp"

#include <gtest/gtest.h>

namespace dispatcher::admin {
namespace {

TEST(request_parser, query_is_decoded_and_a_repeated_key_keeps_its_first_value) {
  const auto r = to_admin_request(
      "GET",
      "/v1/deliveries?event=account.connection.%2A&status=failed&status=succeeded&consumerid=a+b",
      "Bearer t0k3n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->method, "GET");
  EXPECT_EQ(r->path, "/v1/deliveries");
  EXPECT_EQ(r->query.at("event"), "account.connection.*");
  EXPECT_EQ(r->query.at("status"), "failed");
  EXPECT_EQ(r->query.at("consumerid"), "a b");
  EXPECT_EQ(r->authorization, "Bearer t0k3n");
  EXPECT_TRUE(r->body.empty());
}

TEST(request_parser, path_is_percent_decoded_and_an_absent_token_is_empty) {
  const auto r = to_admin_request("DELETE", "/v1/endpoints/ep%5F1", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->path, "/v1/endpoints/ep_1");
  EXPECT_TRUE(r->query.empty());
  EXPECT_EQ(r->authorization, "");
}

TEST(request_parser, target_not_in_origin_form_is_refused) {
  EXPECT_FALSE(to_admin_request("OPTIONS", "*", ""));
  EXPECT_FALSE(to_admin_request("GET", "http://example.com/v1/endpoints", ""));
  EXPECT_FALSE(to_admin_request("GET", "", ""));
}

}  // namespace
}  // namespace dispatcher::admin
