// JSON built to hurt (issue 8, items 1 and 10): deeply nested documents, whether published
// or written straight into Redis, and duplicated keys. The service refuses what comes in,
// shows what is stored, and keeps answering.
#include <gtest/gtest.h>

#include "dispatcher/history/delivery.hpp"
#include "dispatcher/redis/keys.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/test_receiver.hpp"

namespace dispatcher::testing {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

const std::string consumer = "11111111-1111-4111-8111-111111111111";
const std::string connection = "33333333-3333-4333-8333-333333333333";

// A valid event with `extra` members added before its closing brace.
std::string event_with(const std::string& extra, long long created = 1,
                       const std::string& id = {}) {
  std::string payload =
      event_json("account.connection.created", consumer, connection, "active", created, id);
  payload.insert(payload.rfind('}'), extra);
  return payload;
}

std::string nested_arrays(std::size_t levels) {
  return std::string(levels, '[') + std::string(levels, ']');
}

class HostileJson : public ::testing::Test {
 protected:
  const redis::keyspace keys{"lifecycle:events"};
  void SetUp() override {
    service_ = std::make_unique<in_process_dispatcher>(test_settings(redis_.url()));
  }

  bool still_answers() const {
    return http_request(service_->port(), "GET", "/healthz", {}, {}).status == 200;
  }

  std::string publish(const std::string& payload) {
    return redis_.cmd({"XADD", "lifecycle:events", "*", "payload", payload});
  }

  redis_server redis_;
  std::unique_ptr<in_process_dispatcher> service_;
};

TEST_F(HostileJson, a_stored_event_nested_90000_deep_is_shown_as_text) {
  // As the ingest script writes it, but by someone who skipped validation.
  const std::string payload = event_with(",\"data\":" + nested_arrays(90'000), 1, "deep-1");
  history::event_record record{
      "account.connection.created", consumer, connection, 1'700'000'000'000, "1", {}};
  ASSERT_EQ(redis_.cmd({"HSET", keys.bucket("000001"), "e:deep-1",
                        history::pack(record) + "\n" + payload}),
            "1");
  ASSERT_EQ(redis_.cmd({"HSET", keys.seen(), "deep-1", "000001"}), "1");

  const auto reply = service_->api("GET", "/v1/events/deep-1");
  ASSERT_EQ(reply.status, 200) << reply.body.substr(0, 200);
  const json body = reply.json();
  EXPECT_EQ(body["id"], "deep-1");
  EXPECT_EQ(body["payload"], payload);
  // A second read (the event stays for the retention period) is no different.
  EXPECT_EQ(service_->api("GET", "/v1/events/deep-1").status, 200);
  EXPECT_TRUE(still_answers());
}

TEST_F(HostileJson, stored_history_and_attempts_built_by_hand_do_not_break_their_views) {
  const std::string deep = "{\"status\":\"active\",\"x\":" + nested_arrays(90'000) + "}";
  // A member that is not one the ingest script writes is skipped, however it was built.
  redis_.cmd({"ZADD", keys.connection_history(connection), "1", "1|" + deep});
  redis_.cmd({"SADD", keys.consumer_connections(consumer), connection});
  const std::string delivery = "dlv_0123456789abcdef0123dee9";
  history::delivery_record record;
  record.status = history::delivery_status::failed;
  record.attempt_count = 1;
  record.created_at_ms = record.updated_at_ms = 1;
  record.event_id = "e1";
  record.attempts.push_back(deep);
  redis_.cmd(
      {"HSET", keys.bucket(history::bucket_of(delivery)), "d:" + delivery, history::pack(record)});

  // And one whose time (the score) would overflow when turned into milliseconds.
  redis_.cmd(
      {"ZADD", keys.connection_history(connection), "1000000000000000", "b2b0|i|000000|e2|u"});

  const auto history = service_->api("GET", "/v1/connections/" + connection);
  ASSERT_EQ(history.status, 200) << history.body.substr(0, 200);
  const json view = history.json();
  EXPECT_EQ(view["status"], "inactive");
  ASSERT_EQ(view["history"].size(), 1u) << "the deep entry is not rendered";
  EXPECT_EQ(view["history"][0]["event"], "account.connection.updated");
  EXPECT_EQ(view["history"][0]["at"], 1000000000000000LL) << "shown as stored";
  EXPECT_EQ(view["consumerid"], "") << "its event is not stored";
  const auto listed = service_->api("GET", "/v1/consumers/" + consumer + "/connections");
  EXPECT_EQ(listed.status, 200) << listed.body.substr(0, 200);
  const auto attempts = service_->api("GET", "/v1/deliveries/" + delivery);
  ASSERT_EQ(attempts.status, 200) << attempts.body.substr(0, 200);
  ASSERT_EQ(attempts.json()["attempts"].size(), 1u);
  EXPECT_EQ(attempts.json()["attempts"][0], json::object()) << "the deep attempt is not rendered";
  EXPECT_TRUE(still_answers());
}

TEST_F(HostileJson, an_event_posted_120000_deep_is_refused_and_never_stored) {
  const std::string payload = event_with(",\"data\":" + nested_arrays(120'000), 1, "deep-2");
  const auto reply = service_->api("POST", "/v1/events", payload);
  EXPECT_EQ(reply.status, 422) << reply.body.substr(0, 200);
  EXPECT_EQ(reply.json()["error"]["message"], "payload is nested deeper than 64 levels");
  EXPECT_EQ(redis_.cmd({"XLEN", "lifecycle:events"}), "0");
  EXPECT_EQ(service_->api("GET", "/v1/events/deep-2").status, 404);
  EXPECT_TRUE(still_answers());
}

TEST_F(HostileJson, admin_bodies_too_deep_or_with_a_repeated_key_get_400) {
  const auto deep =
      service_->api("POST", "/v1/endpoints", "{\"url\":" + nested_arrays(100'000) + "}");
  EXPECT_EQ(deep.status, 400);
  EXPECT_EQ(deep.json()["error"]["message"], "request body is nested deeper than 64 levels");

  const auto twice = service_->api(
      "POST", "/v1/endpoints", R"({"url":"http://127.0.0.1:9/a","url":"http://127.0.0.1:9/b"})");
  EXPECT_EQ(twice.status, 400);
  EXPECT_EQ(twice.json()["error"]["message"],
            "request body has the key 'url' twice in the same object");
  EXPECT_TRUE(still_answers());
}

TEST_F(HostileJson, stream_entries_with_a_repeated_key_or_out_of_range_created_are_dead_lettered) {
  test_receiver r;
  ASSERT_EQ(service_->api("POST", "/v1/endpoints", json{{"url", r.url()}}.dump()).status, 201);

  publish(event_with(",\"status\":\"inactive\""));
  publish(event_with(",\"data\":{\"a\":1,\"a\":2}"));
  publish(event_with("", 9'223'372'036'854'775'807LL));
  publish(event_with(",\"data\":" + nested_arrays(90'000)));
  publish(event_with("", 253'402'300'799LL, "last-valid"));

  ASSERT_TRUE(r.wait_for_requests(1, 10s));
  ASSERT_TRUE(eventually([&] { return redis_.cmd({"XLEN", "lifecycle:events:dead"}) == "4"; }));
  const auto dead = redis_.cmd({"XRANGE", "lifecycle:events:dead", "-", "+"});
  EXPECT_NE(dead.find("payload has the key 'status' twice in the same object"), std::string::npos);
  EXPECT_NE(dead.find("payload has the key 'a' twice in the object at /data"), std::string::npos);
  EXPECT_NE(dead.find("field 'created' must be an integer from 0 to 253402300799"),
            std::string::npos);
  EXPECT_NE(dead.find("payload is nested deeper than 64 levels"), std::string::npos);
  // Only the valid one reached the receiver, and no event of the others was stored.
  EXPECT_EQ(r.requests().size(), 1u);
  EXPECT_EQ(r.requests()[0].headers.at("webhook-id"), "last-valid");
  EXPECT_TRUE(still_answers());
}

}  // namespace
}  // namespace dispatcher::testing
