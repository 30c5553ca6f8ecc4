// Dead letters as an operator handles them (issue 14, CONTRACT §6): a malformed stream
// entry listed with its error; a retry of the unchanged payload refused (422 naming the
// field) while the dead letter stays; a corrected payload published like POST /v1/events,
// delivered to a receiver, and the dead letter gone; delete; cursor paging; and the same
// through `dispatcher dead-letters`. Real Redis, the real service, a real receiver.
#include <unistd.h>

#include <fstream>
#include <set>

#include <gtest/gtest.h>

#include "tests/support/harness.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/service_test.hpp"
#include "tests/support/test_receiver.hpp"

namespace dispatcher::testing {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

class DeadLetters : public ::testing::Test {
 protected:
  void SetUp() override {
    service_ = std::make_unique<in_process_dispatcher>(test_settings(redis_.url()));
  }

  // XADDs a payload to the event stream; returns its stream entry id.
  std::string add_entry(const std::string& payload) {
    return redis_.cmd({"XADD", "lifecycle:events", "*", "payload", payload});
  }

  // A valid connection event but for a consumerid that is no UUID.
  std::string bad_event(long long created, const std::string& id = {}) {
    auto j = json::parse(
        event_json("account.connection.created", consumer_a, connection_1, "active", created, id));
    j["consumerid"] = "not-a-uuid";
    return j.dump();
  }

  json list(const std::string& query = {}) {
    auto r = service_->api("GET", "/v1/dead-letters" + query);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json();
  }

  // Waits until the dead-letter stream holds n entries; returns the list.
  json wait_for(std::size_t n) {
    json seen;
    EXPECT_TRUE(eventually([&] {
      seen = list("?limit=500");
      return seen["data"].size() == n;
    })) << seen.dump();
    return seen;
  }

  std::map<std::string, std::string> cli_env() const {
    return {{"DISPATCHER_URL", "http://127.0.0.1:" + std::to_string(service_->port())},
            {"DISPATCHER_ADMIN_TOKEN", admin_token}};
  }

  redis_server redis_;
  std::unique_ptr<in_process_dispatcher> service_;
};

TEST_F(DeadLetters, a_malformed_entry_is_listed_retried_when_corrected_and_removed) {
  test_receiver receiver;
  ASSERT_EQ(service_->api("POST", "/v1/endpoints", json{{"url", receiver.url()}}.dump()).status,
            201);
  const std::string payload = bad_event(1700000000);
  const std::string source = add_entry(payload);

  const auto listed = wait_for(1);
  const auto& letter = listed["data"][0];
  const std::string id = letter["id"];
  EXPECT_EQ(letter["payload"], payload);
  EXPECT_EQ(letter["error"], "field 'consumerid' must be a UUID string");
  EXPECT_EQ(letter["source_id"], source);
  // `at` is the dead letter's own entry time: RFC 3339 of its id's milliseconds.
  const std::string at = letter["at"];
  EXPECT_TRUE(at.size() >= 20 && at[10] == 'T' && at.back() == 'Z') << at;
  EXPECT_TRUE(listed["next_cursor"].is_null());
  EXPECT_EQ(service_->api("GET", "/v1/dead-letters/" + id).json(), letter);

  // Unchanged it is still invalid: 422 naming the field, and it stays.
  auto unchanged = service_->api("POST", "/v1/dead-letters/" + id + "/retry");
  EXPECT_EQ(unchanged.status, 422) << unchanged.body;
  EXPECT_EQ(unchanged.json()["error"]["field"], "payload.consumerid") << unchanged.body;
  EXPECT_NE(unchanged.json()["error"]["message"].get<std::string>().find("consumerid"),
            std::string::npos);
  // A corrected payload that is still wrong elsewhere: the same, naming that field.
  auto still_bad = json::parse(payload);
  still_bad["consumerid"] = consumer_a;
  still_bad["status"] = "paused";
  auto wrong_status = service_->api("POST", "/v1/dead-letters/" + id + "/retry",
                                    json{{"payload", still_bad}}.dump());
  EXPECT_EQ(wrong_status.status, 422) << wrong_status.body;
  EXPECT_EQ(wrong_status.json()["error"]["field"], "payload.status");
  auto not_object = service_->api("POST", "/v1/dead-letters/" + id + "/retry",
                                  R"({"payload":"{\"event\":\"a.b\"}"})");
  EXPECT_EQ(not_object.status, 422) << not_object.body;
  EXPECT_EQ(not_object.json()["error"]["field"], "payload");
  EXPECT_EQ(list()["data"].size(), 1u);
  EXPECT_TRUE(receiver.requests().empty());

  // Corrected: published as the stream entry would have been (its evt_ id), delivered, and
  // the dead letter removed.
  auto corrected = json::parse(payload);
  corrected["consumerid"] = consumer_a;
  auto retried = service_->api("POST", "/v1/dead-letters/" + id + "/retry",
                               json{{"payload", corrected}}.dump());
  ASSERT_EQ(retried.status, 202) << retried.body;
  EXPECT_EQ(retried.json(), (json{{"id", "evt_" + source}}));
  ASSERT_TRUE(receiver.wait_for_requests(1, 10s));
  const auto delivered = json::parse(receiver.requests()[0].body);
  EXPECT_EQ(delivered["id"], "evt_" + source);
  EXPECT_EQ(delivered["consumerid"], consumer_a);
  EXPECT_EQ(receiver.requests()[0].headers.at("webhook-id"), "evt_" + source);
  EXPECT_TRUE(list()["data"].empty());
  EXPECT_EQ(service_->api("GET", "/v1/dead-letters/" + id).status, 404);
  EXPECT_EQ(service_->api("POST", "/v1/dead-letters/" + id + "/retry").status, 404);
}

TEST_F(DeadLetters, a_corrected_event_whose_id_was_accepted_is_a_duplicate_and_not_sent_again) {
  test_receiver receiver;
  ASSERT_EQ(service_->api("POST", "/v1/endpoints", json{{"url", receiver.url()}}.dump()).status,
            201);
  const std::string good =
      event_json("account.connection.created", consumer_a, connection_1, "active", 1, "evt-77");
  ASSERT_EQ(service_->api("POST", "/v1/events", good).status, 202);
  ASSERT_TRUE(receiver.wait_for_requests(1, 10s));
  add_entry(bad_event(2, "evt-77"));
  const std::string id = wait_for(1)["data"][0]["id"];

  auto retried = service_->api("POST", "/v1/dead-letters/" + id + "/retry",
                               json{{"payload", json::parse(good)}}.dump());
  ASSERT_EQ(retried.status, 202) << retried.body;
  EXPECT_EQ(retried.json(), (json{{"id", "evt-77"}, {"duplicate", true}}));
  EXPECT_TRUE(list()["data"].empty()) << "resolved: the event is in already";
  ASSERT_TRUE(eventually([&] { return settled(redis_, service_->port()); }));
  EXPECT_EQ(receiver.requests().size(), 1u);
}

TEST_F(DeadLetters, delete_removes_one_and_ids_that_cannot_exist_never_reach_redis) {
  add_entry("not json");
  add_entry(bad_event(1));
  const auto listed = wait_for(2);
  const std::string newest = listed["data"][0]["id"];
  const std::string oldest = listed["data"][1]["id"];
  EXPECT_EQ(listed["data"][1]["payload"], "not json");

  auto deleted = service_->api("DELETE", "/v1/dead-letters/" + oldest);
  EXPECT_EQ(deleted.status, 204) << deleted.body;
  EXPECT_TRUE(deleted.body.empty());
  const auto left = list();
  ASSERT_EQ(left["data"].size(), 1u);
  EXPECT_EQ(left["data"][0]["id"], newest);
  EXPECT_EQ(service_->api("DELETE", "/v1/dead-letters/" + oldest).status, 404);
  EXPECT_EQ(redis_.cmd({"XLEN", "lifecycle:events:dead"}), "1");

  // Not stream ids: 404 without a lookup; nothing else is touched.
  for (const std::string bad : {"abc", "1-0-0", "%2B", "-", "18446744073709551616-0", "1-0:x"}) {
    EXPECT_EQ(service_->api("DELETE", "/v1/dead-letters/" + bad).status, 404) << bad;
    EXPECT_EQ(service_->api("POST", "/v1/dead-letters/" + bad + "/retry").status, 404) << bad;
  }
  EXPECT_EQ(redis_.cmd({"XLEN", "lifecycle:events:dead"}), "1");
  EXPECT_EQ(service_->api("PATCH", "/v1/dead-letters/" + newest).status, 405);
  EXPECT_EQ(service_->api("POST", "/v1/dead-letters").status, 405);
  EXPECT_EQ(http_request(service_->port(), "GET", "/v1/dead-letters", {}, "").status, 401);
}

TEST_F(DeadLetters, a_cursor_pages_through_them_newest_first) {
  for (int i = 0; i < 3; ++i) add_entry(bad_event(i));
  const auto all = wait_for(3);
  std::vector<std::string> ids;
  for (const auto& letter : all["data"]) ids.push_back(letter["id"]);
  EXPECT_TRUE(std::is_sorted(ids.rbegin(), ids.rend())) << all.dump();

  const auto first = list("?limit=2");
  ASSERT_EQ(first["data"].size(), 2u);
  EXPECT_EQ(first["data"][0]["id"], ids[0]);
  EXPECT_EQ(first["data"][1]["id"], ids[1]);
  ASSERT_TRUE(first["next_cursor"].is_string()) << first.dump();
  const auto second = list("?limit=2&cursor=" + first["next_cursor"].get<std::string>());
  ASSERT_EQ(second["data"].size(), 1u);
  EXPECT_EQ(second["data"][0]["id"], ids[2]);
  EXPECT_TRUE(second["next_cursor"].is_null());

  auto bad_limit = service_->api("GET", "/v1/dead-letters?limit=501");
  EXPECT_EQ(bad_limit.status, 400);
  EXPECT_EQ(bad_limit.json()["error"]["field"], "limit");
  auto bad_cursor = service_->api("GET", "/v1/dead-letters?cursor=%2B");
  EXPECT_EQ(bad_cursor.status, 400);
  EXPECT_EQ(bad_cursor.json()["error"]["field"], "cursor");
  auto unknown = service_->api("GET", "/v1/dead-letters?status=failed");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(unknown.body.find("limit, cursor"), std::string::npos) << unknown.body;
}

TEST_F(DeadLetters, the_cli_lists_retries_and_deletes_them) {
  test_receiver receiver;
  ASSERT_EQ(service_->api("POST", "/v1/endpoints", json{{"url", receiver.url()}}.dump()).status,
            201);
  const std::string payload = bad_event(5);
  const std::string source = add_entry(payload);
  add_entry("{\"event\":");
  add_entry("\x1b[31mred");
  const auto listed = wait_for(3);
  const std::string to_retry = listed["data"][2]["id"];
  const std::string truncated = listed["data"][1]["id"];
  const std::string escape = listed["data"][0]["id"];
  const auto env = cli_env();

  auto shown = run_cli({"dead-letters", "--limit", "2"}, env);
  EXPECT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.out.find(escape + "  "), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find(truncated + "  "), std::string::npos) << shown.out;
  EXPECT_EQ(shown.out.find(to_retry + "  "), std::string::npos) << "past the limit";
  EXPECT_EQ(shown.out.find('\x1b'), std::string::npos) << "control characters are not printed";
  EXPECT_NE(shown.out.find("more: dispatcher dead-letters --limit 2 --cursor " + truncated),
            std::string::npos)
      << shown.out;
  auto rest = run_cli({"dead-letters", "--limit", "2", "--cursor", truncated}, env);
  EXPECT_EQ(rest.exit_code, 0) << rest.err;
  EXPECT_NE(rest.out.find(to_retry + "  "), std::string::npos) << rest.out;
  EXPECT_NE(rest.out.find("error:   field 'consumerid' must be a UUID string"), std::string::npos)
      << rest.out;
  EXPECT_NE(rest.out.find("payload: " + payload), std::string::npos) << rest.out;
  EXPECT_EQ(rest.out.find("more:"), std::string::npos) << rest.out;

  // Unchanged: still invalid, exit 1, and it stays.
  auto unchanged = run_cli({"dead-letters", "retry", to_retry}, env);
  EXPECT_EQ(unchanged.exit_code, 1);
  EXPECT_EQ(
      unchanged.err.rfind(
          "dispatcher dead-letters: dead letter " + to_retry + " is still invalid and stays: ", 0),
      0u)
      << unchanged.err;
  EXPECT_EQ(list()["data"].size(), 3u);

  // A corrected event from a file, then one on standard input.
  auto corrected = json::parse(payload);
  corrected["consumerid"] = consumer_a;
  const std::string file = "/tmp/dispatcher-dead-letter-" + std::to_string(::getpid()) + ".json";
  std::ofstream(file) << corrected.dump(2) << "\n";
  auto retried = run_cli({"dead-letters", "retry", to_retry, file}, env);
  ::unlink(file.c_str());
  EXPECT_EQ(retried.exit_code, 0) << retried.err;
  EXPECT_EQ(retried.out, "retried dead letter " + to_retry + ": published as event evt_" + source +
                             "; the dead letter is removed\n");
  ASSERT_TRUE(receiver.wait_for_requests(1, 10s));
  EXPECT_EQ(json::parse(receiver.requests()[0].body)["id"], "evt_" + source);

  const std::string fixed =
      event_json("account.connection.updated", consumer_a, connection_1, "inactive", 6);
  auto from_stdin = run_cli({"dead-letters", "retry", truncated, "-"}, env, fixed);
  EXPECT_EQ(from_stdin.exit_code, 0) << from_stdin.err;
  ASSERT_TRUE(receiver.wait_for_requests(2, 10s));
  auto not_json = run_cli({"dead-letters", "retry", escape, "-"}, env, "{oops");
  EXPECT_EQ(not_json.exit_code, 1);
  EXPECT_NE(not_json.err.find("standard input is not valid JSON"), std::string::npos)
      << not_json.err;

  auto deleted = run_cli({"dead-letters", "delete", escape}, env);
  EXPECT_EQ(deleted.exit_code, 0) << deleted.err;
  EXPECT_EQ(deleted.out, "deleted dead letter " + escape + "\n");
  auto again = run_cli({"dead-letters", "delete", escape}, env);
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_EQ(again.err, "dispatcher dead-letters: no dead letter " + escape + "\n");
  auto empty = run_cli({"dead-letters"}, env);
  EXPECT_EQ(empty.exit_code, 0) << empty.err;
  EXPECT_EQ(empty.out, "no dead letters\n");

  auto usage = run_cli({"dead-letters", "retry", "dlv_1"}, env);
  EXPECT_EQ(usage.exit_code, 2);
  auto no_token = run_cli({"dead-letters"}, {{"DISPATCHER_URL", env.at("DISPATCHER_URL")}});
  EXPECT_EQ(no_token.exit_code, 2);
  EXPECT_NE(no_token.err.find("DISPATCHER_ADMIN_TOKEN"), std::string::npos) << no_token.err;
}

}  // namespace
}  // namespace dispatcher::testing
