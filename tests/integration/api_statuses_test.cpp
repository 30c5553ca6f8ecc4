// The statuses of schemas/openapi.yaml that the behaviour tests do not produce on their
// way: 401 on every /v1 operation, 400 for a body that is not JSON, 413 past the limits,
// 422 on a rotation and a PATCH, a dry-run recover, a delete, and 503 on every Redis-backed
// operation once Redis is gone. Each answer is checked here for its status, and by the
// openapi_responses test (tests/contract) for its body, so what the document promises for
// these statuses is exercised rather than assumed.
#include <gtest/gtest.h>

#include "tests/support/harness.hpp"
#include "tests/support/redis_server.hpp"

namespace dispatcher::testing {
namespace {

using json = nlohmann::json;

const std::string stream_id = "1700000000000-0";
const std::string delivery_id = "dlv_0123456789abcdef01234567";

struct call {
  std::string method;
  std::string target;
  std::string body{};
};

/// Every operation under /v1, with ids of the right shape.
std::vector<call> v1_calls(const std::string& endpoint_id) {
  const std::string ep = "/v1/endpoints/" + endpoint_id;
  return {
      {"POST", "/v1/endpoints", R"({"url":"http://127.0.0.1:9/hook"})"},
      {"GET", "/v1/endpoints"},
      {"GET", ep},
      {"PATCH", ep, R"({"description":"x"})"},
      {"POST", ep + "/secret/rotate", "{}"},
      {"POST", ep + "/recover", R"({"dry_run":true})"},
      {"POST", "/v1/events",
       event_json("account.connection.created", consumer_a, connection_1, "active", 1)},
      {"GET", "/v1/events/evt_1"},
      {"GET", "/v1/deliveries"},
      {"POST", "/v1/deliveries/retry", R"({"dry_run":true})"},
      {"GET", "/v1/deliveries/" + delivery_id},
      {"POST", "/v1/deliveries/" + delivery_id + "/retry"},
      {"GET", "/v1/dead-letters"},
      {"GET", "/v1/dead-letters/" + stream_id},
      {"POST", "/v1/dead-letters/" + stream_id + "/retry"},
      {"GET", "/v1/connections/" + connection_1},
      {"GET", "/v1/consumers/" + consumer_a + "/connections"},
      {"DELETE", "/v1/dead-letters/" + stream_id},
      {"DELETE", ep},
  };
}

class ApiStatuses : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = test_settings(redis_.url());
    s.metrics_token = "metrics-token-0123456789";
    service_ = std::make_unique<in_process_dispatcher>(std::move(s));
    auto created = service_->api("POST", "/v1/endpoints", R"({"url":"http://127.0.0.1:9/hook"})");
    ASSERT_EQ(created.status, 201) << created.body;
    endpoint_id_ = created.json()["id"];
  }
  int status(const call& c, const std::string& token = admin_token) {
    return http_request(service_->port(), c.method, c.target, c.body, token).status;
  }

  redis_server redis_;
  std::unique_ptr<in_process_dispatcher> service_;
  std::string endpoint_id_;
};

TEST_F(ApiStatuses, every_v1_operation_refuses_a_missing_or_wrong_token) {
  for (const auto& c : v1_calls(endpoint_id_)) {
    EXPECT_EQ(status(c, ""), 401) << c.method << " " << c.target;
    EXPECT_EQ(status(c, "not-the-admin-token"), 401) << c.method << " " << c.target;
  }
  EXPECT_EQ(status({"GET", "/metrics"}, ""), 401);
  EXPECT_EQ(status({"GET", "/metrics"}, "metrics-token-0123456789"), 200);
}

TEST_F(ApiStatuses, bodies_that_are_not_json_objects_or_too_large_are_refused) {
  const std::string ep = "/v1/endpoints/" + endpoint_id_;
  for (const auto& target :
       {ep, ep + "/secret/rotate", ep + "/recover", std::string("/v1/deliveries/retry"),
        "/v1/dead-letters/" + stream_id + "/retry"}) {
    const std::string method = target == ep ? "PATCH" : "POST";
    EXPECT_EQ(status({method, target, "{"}), 400) << target;
    EXPECT_EQ(status({method, target, "[1]"}), 400) << target;
    EXPECT_EQ(status({method, target, std::string(1024 * 1024 + 1, ' ')}), 413) << target;
  }
  EXPECT_EQ(status({"POST", "/v1/endpoints", std::string(1024 * 1024 + 1, ' ')}), 413);
  // An event past DISPATCHER_MAX_PAYLOAD but within the server's 1 MiB.
  auto big =
      json::parse(event_json("account.connection.created", consumer_a, connection_1, "active", 1));
  big["pad"] = std::string(300 * 1024, 'x');
  EXPECT_EQ(status({"POST", "/v1/events", big.dump()}), 413);
}

TEST_F(ApiStatuses, bad_parameters_and_fields_name_what_is_wrong) {
  const std::string ep = "/v1/endpoints/" + endpoint_id_;
  EXPECT_EQ(status({"GET", "/v1/endpoints?limit=0"}), 400);
  EXPECT_EQ(status({"GET", "/v1/endpoints?colour=red"}), 400);
  EXPECT_EQ(status({"GET", "/v1/consumers/" + consumer_a + "/connections?status=gone"}), 400);
  EXPECT_EQ(status({"PATCH", ep, R"({"url":5})"}), 422);
  EXPECT_EQ(status({"POST", ep + "/secret/rotate", R"({"grace":"forever"})"}), 422);
  EXPECT_EQ(status({"POST", "/v1/endpoints/ep_doesnotexist/secret/rotate", "{}"}), 404);
  EXPECT_EQ(status({"POST", ep + "/recover", R"({"dry_run":true})"}), 200);
  EXPECT_EQ(status({"POST", ep + "/secret/rotate", R"({"grace":"1h"})"}), 200);
  EXPECT_EQ(status({"DELETE", ep}), 204);
  EXPECT_EQ(status({"GET", ep}), 404);
}

TEST_F(ApiStatuses, every_redis_backed_operation_answers_503_while_redis_is_down) {
  redis_.stop();
  ASSERT_TRUE(eventually([&] { return status({"GET", "/readyz"}, "") == 503; }));
  for (const auto& c : v1_calls(endpoint_id_)) {
    EXPECT_EQ(status(c), 503) << c.method << " " << c.target;
  }
  EXPECT_EQ(status({"GET", "/healthz"}, ""), 200);
}

}  // namespace
}  // namespace dispatcher::testing
