// What operators do when webhooks went wrong, end to end with a real Redis and real
// receivers: replay one delivery, replay by filter (and dry-run it), recover an endpoint,
// pause and resume it, rotate its secret, and do the same from the command line.
#include <gtest/gtest.h>

#include <set>

#include "dispatcher/common/time.hpp"
#include "dispatcher/signing/signature.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/service_test.hpp"
#include "tests/support/test_receiver.hpp"

namespace dispatcher::testing {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

class Operator : public service_test {
 protected:
  // Operators name an endpoint by its id.
  std::string create_endpoint(const json& body) {
    return service_test::create_endpoint(body).value("id", "");
  }

  void publish(const std::string& status = "active", long long created = 1) {
    service_test::publish(
        event_json("account.connection.updated", consumer_a, connection_1, status, created));
  }

  std::string endpoint_filter(const std::string& id) { return "endpoint_id=" + id; }
};

TEST_F(Operator, replaying_one_delivery_resends_the_same_id_and_bytes_as_a_manual_attempt) {
  start();  // schedule: 3 retries, so 4 attempts
  test_receiver r;
  r.always(reply{.status = 500});
  const auto ep = create_endpoint({{"url", r.url()}});
  publish();
  ASSERT_TRUE(eventually([&] { return count("status=failed") == 1; }));
  const std::string id = deliveries("status=failed")["data"][0]["id"];
  ASSERT_EQ(r.requests().size(), 4u);

  r.always(reply{.status = 204});
  auto queued = service_->api("POST", "/v1/deliveries/" + id + "/retry");
  ASSERT_EQ(queued.status, 202) << queued.body;
  EXPECT_EQ(queued.json()["id"], id);
  ASSERT_TRUE(r.wait_for_requests(5, 5s));
  ASSERT_TRUE(eventually([&] { return delivery(id)["status"] == "succeeded"; }));

  auto reqs = r.requests();
  EXPECT_EQ(reqs[4].body, reqs[0].body);
  EXPECT_EQ(reqs[4].headers.at("webhook-id"), reqs[0].headers.at("webhook-id"));
  auto d = delivery(id);
  ASSERT_EQ(d["attempts"].size(), 5u);
  EXPECT_EQ(d["attempt_count"], 5);
  EXPECT_EQ(d["attempts"][0]["trigger"], "scheduled");
  EXPECT_EQ(d["attempts"][4]["trigger"], "manual");
  EXPECT_EQ(d["attempts"][4]["attempt"], 5);
  EXPECT_EQ(d["attempts"][4]["status_code"], 204);

  // A succeeded delivery can be replayed too; a failing manual attempt is not retried on
  // the schedule: the delivery is failed again, for the operator to replay.
  r.always(reply{.status = 500});
  ASSERT_EQ(service_->api("POST", "/v1/deliveries/" + id + "/retry").status, 202);
  ASSERT_TRUE(eventually([&] { return delivery(id)["status"] == "failed"; }));
  ASSERT_TRUE(eventually([&] { return settled(); }));
  EXPECT_EQ(r.requests().size(), 6u);
  d = delivery(id);
  EXPECT_EQ(d["attempts"][5]["trigger"], "manual");
  EXPECT_TRUE(d["next_attempt_at"].is_null());
  EXPECT_EQ(r.requests()[5].body, reqs[0].body);

  EXPECT_EQ(service_->api("POST", "/v1/deliveries/dlv_000000000000000000000000/retry").status, 404);
  EXPECT_EQ(service_->api("GET", "/v1/deliveries/" + id + "/retry").status, 405);
}

TEST_F(Operator, a_delivery_still_queued_cannot_be_replayed_twice) {
  auto s = test_settings(redis_.url());
  s.retry_schedule = {std::chrono::seconds(30)};
  start(s);
  test_receiver r;
  r.always(reply{.status = 500});
  create_endpoint({{"url", r.url()}});
  publish();
  ASSERT_TRUE(eventually([&] { return count("status=retrying") == 1; }));
  const std::string id = deliveries("status=retrying")["data"][0]["id"];
  auto conflict = service_->api("POST", "/v1/deliveries/" + id + "/retry");
  EXPECT_EQ(conflict.status, 409) << conflict.body;
  EXPECT_NE(conflict.body.find("retrying"), std::string::npos) << conflict.body;
}

TEST_F(Operator, bulk_replay_dry_run_counts_and_queues_nothing_then_replays_by_filter) {
  start();
  test_receiver a, b;
  a.always(reply{.status = 500});
  b.always(reply{.status = 500});
  const auto ep_a = create_endpoint({{"url", a.url()}});
  const auto ep_b = create_endpoint({{"url", b.url()}});
  for (int i = 0; i < 5; ++i) publish("active", i);
  ASSERT_TRUE(eventually([&] { return count("status=failed") == 10; }));
  a.always(reply{.status = 204});
  b.always(reply{.status = 204});

  auto dry = service_->api("POST", "/v1/deliveries/retry", R"({"dry_run":true})");
  ASSERT_EQ(dry.status, 200) << dry.body;
  EXPECT_EQ(dry.json(), (json{{"matched", 10}, {"queued", 0}}));
  ASSERT_TRUE(eventually([&] { return settled(); }));
  EXPECT_EQ(a.requests().size(), 20u);
  EXPECT_EQ(count("status=failed"), 10u);

  auto bulk = service_->api("POST", "/v1/deliveries/retry",
                            json{{"status", "failed"}, {"endpoint_id", ep_a}}.dump());
  ASSERT_EQ(bulk.status, 202) << bulk.body;
  EXPECT_EQ(bulk.json(), (json{{"matched", 5}, {"queued", 5}}));
  ASSERT_TRUE(a.wait_for_requests(25, 5s));
  ASSERT_TRUE(eventually([&] { return count("status=succeeded") == 5; }));
  ASSERT_TRUE(eventually([&] { return settled(); }));
  EXPECT_EQ(a.requests().size(), 25u);
  EXPECT_EQ(b.requests().size(), 20u);
  EXPECT_EQ(count("status=failed&" + endpoint_filter(ep_b)), 5u);

  auto bad = service_->api("POST", "/v1/deliveries/retry", R"({"endpoint":"x"})");
  EXPECT_EQ(bad.status, 422);
  EXPECT_EQ(bad.json()["error"]["field"], "endpoint");
  EXPECT_EQ(service_->api("POST", "/v1/deliveries/retry", R"({"status":"pending"})").status, 422);
}

TEST_F(Operator, event_wildcard_filters_the_list_and_the_bulk_replay) {
  start();
  test_receiver r;
  r.always(reply{.status = 500});
  create_endpoint({{"url", r.url()}});
  for (const std::string type :
       {"account.connection.created", "account.connection.updated", "account.consumer.updated"}) {
    redis_.cmd({"XADD", "lifecycle:events", "*", "payload",
                event_json(type, consumer_a, connection_1, "active", 1)});
  }
  ASSERT_TRUE(eventually([&] { return count("status=failed") == 3; }));
  const auto listed = deliveries("event=account.connection.*");
  ASSERT_EQ(listed["data"].size(), 2u) << listed.dump();
  for (const auto& d : listed["data"]) {
    EXPECT_TRUE(d["event"].get<std::string>().starts_with("account.connection.")) << d.dump();
  }
  EXPECT_EQ(count("event=account.*&status=failed"), 3u);
  EXPECT_EQ(count("event=account.connection.created"), 1u);

  auto dry = service_->api("POST", "/v1/deliveries/retry",
                           R"({"event":"account.connection.*","dry_run":true})");
  ASSERT_EQ(dry.status, 200) << dry.body;
  EXPECT_EQ(dry.json(), (json{{"matched", 2}, {"queued", 0}}));

  auto bad = service_->api("GET", "/v1/deliveries?event=account.connection*");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.json()["error"]["field"], "event");
  auto unknown = service_->api("GET", "/v1/deliveries?endpoint=ep_1");
  EXPECT_EQ(unknown.status, 400);
  const std::string message = unknown.json()["error"]["message"];
  EXPECT_NE(message.find("endpoint_id"), std::string::npos) << message;
  EXPECT_NE(message.find("connectionid"), std::string::npos) << message;
}

TEST_F(Operator, recover_requeues_only_that_endpoints_failed_deliveries_in_the_window) {
  start();
  test_receiver a, b;
  // Endpoint a fails "inactive" events and accepts "active" ones.
  a.set_responder([](const recorded_request& req, std::size_t) {
    return req.body.find("\"inactive\"") != std::string::npos ? reply{.status = 500}
                                                              : reply{.status = 204};
  });
  b.always(reply{.status = 500});
  const auto ep_a = create_endpoint({{"url", a.url()}});
  create_endpoint({{"url", b.url()}});

  publish("inactive", 1);  // before the window: stays failed
  ASSERT_TRUE(eventually([&] { return count("status=failed") == 2; }));
  // `since` is in whole seconds: the window starts at the next second after those failures.
  const auto failed_by = unix_now_ms() / 1000;
  ASSERT_TRUE(eventually([&] { return unix_now_ms() / 1000 > failed_by; }));
  const auto since = unix_now_ms() / 1000;
  for (int i = 0; i < 3; ++i) publish("inactive", 10 + i);
  publish("active", 20);  // succeeds on a, fails on b
  ASSERT_TRUE(eventually([&] { return count("status=failed") == 2 + 3 + 4; }));
  ASSERT_TRUE(eventually([&] { return count("status=succeeded") == 1; }));
  const auto a_before = a.requests().size();
  const auto b_before = b.requests().size();

  a.always(reply{.status = 204});
  auto r =
      service_->api("POST", "/v1/endpoints/" + ep_a + "/recover", json{{"since", since}}.dump());
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(r.json()["queued"], 3);
  ASSERT_TRUE(a.wait_for_requests(a_before + 3, 5s));
  ASSERT_TRUE(eventually([&] { return count("status=succeeded&" + endpoint_filter(ep_a)) == 4; }));
  ASSERT_TRUE(eventually([&] { return settled(); }));
  EXPECT_EQ(a.requests().size(), a_before + 3);
  EXPECT_EQ(b.requests().size(), b_before);
  EXPECT_EQ(count("status=failed&" + endpoint_filter(ep_a)), 1u);  // the one before the window

  EXPECT_EQ(service_->api("POST", "/v1/endpoints/ep_missing/recover", "{}").status, 404);
  auto bad = service_->api("POST", "/v1/endpoints/" + ep_a + "/recover", R"({"since":"soon"})");
  EXPECT_EQ(bad.status, 422);
  EXPECT_EQ(bad.json()["error"]["field"], "since");
}

TEST_F(Operator, a_large_replay_is_paced_and_fresh_deliveries_go_between) {
  auto s = test_settings(redis_.url());
  s.replay_rate = 20;  // 40 replays take two seconds
  start(s);
  test_receiver r;
  r.always(reply{.status = 500});
  create_endpoint({{"url", r.url()}});
  for (int i = 0; i < 40; ++i) publish("active", i);
  ASSERT_TRUE(eventually([&] { return count("status=failed&limit=100") == 40; }, 20s));
  r.always(reply{.status = 204});
  const auto before = r.requests().size();

  auto bulk = service_->api("POST", "/v1/deliveries/retry", "{}");
  ASSERT_EQ(bulk.status, 202) << bulk.body;
  EXPECT_EQ(bulk.json()["queued"], 40);
  ASSERT_TRUE(r.wait_for_requests(before + 1, 5s));  // the replay is under way
  redis_.cmd({"XADD", "lifecycle:events", "*", "payload",
              event_json("account.connection.created", consumer_a, connection_1, "active", 99,
                         "evt-fresh")});
  ASSERT_TRUE(r.wait_for_requests(before + 41, 10s));
  const auto reqs = r.requests();
  std::size_t fresh_at = 0;
  for (std::size_t i = before; i < reqs.size(); ++i) {
    if (reqs[i].headers.at("webhook-id") == "evt-fresh") fresh_at = i - before;
  }
  // The fresh event did not wait behind the replay: it arrived among the first replays,
  // and the replay itself was spread over about two seconds.
  EXPECT_LT(fresh_at, 20u);
  EXPECT_GE(reqs.back().received_steady - reqs[before].received_steady, 1500ms);
}

TEST_F(Operator, pausing_an_endpoint_holds_its_queued_work_until_resumed) {
  auto s = test_settings(redis_.url());
  s.retry_schedule = {std::chrono::milliseconds(800)};
  start(s);
  test_receiver r;
  r.set_responder(
      [](const recorded_request&, std::size_t i) { return reply{.status = i == 0 ? 500 : 204}; });
  const auto ep = create_endpoint({{"url", r.url()}});
  publish();
  ASSERT_TRUE(r.wait_for_requests(1, 5s));
  auto paused = service_->api("PATCH", "/v1/endpoints/" + ep, R"({"enabled":false})");
  ASSERT_EQ(paused.status, 200) << paused.body;
  EXPECT_EQ(paused.json()["enabled"], false);
  // A fixed wait: it must outlast the retry's due time (800 ms), and a retry held back
  // leaves nothing to observe but its absence.
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(r.requests().size(), 1u);

  ASSERT_EQ(service_->api("PATCH", "/v1/endpoints/" + ep, R"({"enabled":true})").status, 200);
  ASSERT_TRUE(r.wait_for_requests(2, 2s));
  ASSERT_TRUE(eventually([&] { return count("status=succeeded") == 1; }));
}

TEST_F(Operator, an_endpoint_disabled_by_410_is_reenabled_and_recovered) {
  start();
  test_receiver r;
  r.always(reply{.status = 410});
  const auto ep = create_endpoint({{"url", r.url()}});
  publish();
  ASSERT_TRUE(eventually([&] { return count("status=failed") == 1; }));
  auto got = service_->api("GET", "/v1/endpoints/" + ep).json();
  ASSERT_EQ(got["enabled"], false);

  auto refused = service_->api("POST", "/v1/endpoints/" + ep + "/recover", "{}");
  EXPECT_EQ(refused.status, 409) << refused.body;
  const std::string id = deliveries("status=failed")["data"][0]["id"];
  EXPECT_EQ(service_->api("POST", "/v1/deliveries/" + id + "/retry").status, 409);

  r.always(reply{.status = 204});
  auto enabled = service_->api("PATCH", "/v1/endpoints/" + ep, R"({"enabled":true})").json();
  EXPECT_EQ(enabled["enabled"], true);
  EXPECT_TRUE(enabled["disabled_reason"].is_null() || enabled["disabled_reason"] == "");
  auto recovered = service_->api("POST", "/v1/endpoints/" + ep + "/recover", "{}");
  ASSERT_EQ(recovered.status, 202) << recovered.body;
  EXPECT_EQ(recovered.json()["queued"], 1);
  ASSERT_TRUE(r.wait_for_requests(2, 5s));
  ASSERT_TRUE(eventually([&] { return delivery(id)["status"] == "succeeded"; }));
  EXPECT_EQ(r.requests()[1].body, r.requests()[0].body);
}

TEST_F(Operator, a_rotated_secret_keeps_signing_during_its_grace_then_only_the_new_one) {
  start();
  test_receiver r;
  auto created =
      service_->api("POST", "/v1/endpoints", json{{"url", r.url()}, {"signature", "both"}}.dump())
          .json();
  const std::string ep = created["id"], old_secret = created["secret"];
  const auto before = unix_now_ms();
  auto rotated =
      service_->api("POST", "/v1/endpoints/" + ep + "/secret/rotate", R"({"grace":"2s"})");
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  const std::string new_secret = rotated.json()["secret"];
  ASSERT_NE(new_secret, old_secret);
  // grace_until: RFC 3339, two seconds after the rotation.
  const std::string grace_text = rotated.json().value("grace_until", "");
  ASSERT_NE(grace_text.find('T'), std::string::npos) << rotated.body;
  const auto grace_until = parse_time(grace_text);
  ASSERT_TRUE(grace_until) << rotated.body;
  EXPECT_GE(*grace_until, before + 2000 - 1000);
  EXPECT_LE(*grace_until, unix_now_ms() + 2000);

  publish("active", 1);
  ASSERT_TRUE(r.wait_for_requests(1, 5s));
  ASSERT_TRUE(eventually([&] { return unix_now_ms() > *grace_until; }, 5s));
  publish("inactive", 2);
  ASSERT_TRUE(r.wait_for_requests(2, 5s));

  const auto reqs = r.requests();
  auto expected = [&](const recorded_request& req, const std::string& secret) {
    return signing::standard_signature(secret, req.headers.at("webhook-id"),
                                       std::stoll(req.headers.at("webhook-timestamp")), req.body);
  };
  const auto during = reqs[0].headers.at("webhook-signature");
  EXPECT_EQ(during, expected(reqs[0], new_secret) + " " + expected(reqs[0], old_secret));
  EXPECT_EQ(reqs[1].headers.at("webhook-signature"), expected(reqs[1], new_secret));
  // x-chift-signature carries one value: the old secret during the grace, then the new.
  EXPECT_EQ(reqs[0].headers.at("x-chift-signature"),
            signing::chift_signature(old_secret, reqs[0].body));
  EXPECT_EQ(reqs[1].headers.at("x-chift-signature"),
            signing::chift_signature(new_secret, reqs[1].body));
}

TEST_F(Operator, the_cli_replays_through_a_running_service) {
  start();
  test_receiver r;
  r.always(reply{.status = 500});
  const auto ep = create_endpoint({{"url", r.url()}});
  publish("active", 1);
  publish("inactive", 2);
  ASSERT_TRUE(eventually([&] { return count("status=failed") == 2; }));
  r.always(reply{.status = 204});
  const std::map<std::string, std::string> env{
      {"DISPATCHER_URL", "http://127.0.0.1:" + std::to_string(service_->port())},
      {"DISPATCHER_ADMIN_TOKEN", admin_token}};

  auto dry = run_cli({"replay", "--endpoint", ep, "--dry-run"}, env);
  EXPECT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_EQ(dry.out, "dry run: 2 deliveries match; none queued\n");
  ASSERT_TRUE(eventually([&] { return settled(); }));
  EXPECT_EQ(r.requests().size(), 8u);

  auto real = run_cli({"replay", "--endpoint", ep, "--since", "2020-01-01T00:00:00Z"}, env);
  EXPECT_EQ(real.exit_code, 0) << real.err;
  EXPECT_EQ(real.out, "matched 2 deliveries, queued 2\n");
  ASSERT_TRUE(r.wait_for_requests(10, 5s));
  ASSERT_TRUE(eventually([&] { return count("status=succeeded") == 2; }));

  auto usage = run_cli({"replay", "--status", "pending"}, env);
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_NE(usage.err.find("--status"), std::string::npos) << usage.err;
  auto no_token = run_cli({"replay"}, {{"DISPATCHER_URL", env.at("DISPATCHER_URL")}});
  EXPECT_EQ(no_token.exit_code, 2);
  EXPECT_NE(no_token.err.find("DISPATCHER_ADMIN_TOKEN"), std::string::npos) << no_token.err;
  auto refused = run_cli({"replay", "--since", "tomorrow"}, env);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("since"), std::string::npos) << refused.err;
  auto unreachable = run_cli({"replay"}, {{"DISPATCHER_URL", "http://127.0.0.1:1"},
                                          {"DISPATCHER_ADMIN_TOKEN", admin_token}});
  EXPECT_EQ(unreachable.exit_code, 1);
}

TEST_F(Operator, the_cli_replays_one_delivery_by_id_and_says_why_it_cannot) {
  start();  // three quick retries, then failed
  test_receiver r;
  r.always(reply{.status = 500});
  const auto ep = create_endpoint({{"url", r.url()}});
  publish("active", 1);
  ASSERT_TRUE(eventually([&] { return count("status=failed") == 1; }));
  const std::string id = deliveries("status=failed")["data"][0]["id"];
  const std::map<std::string, std::string> env{
      {"DISPATCHER_URL", "http://127.0.0.1:" + std::to_string(service_->port())},
      {"DISPATCHER_ADMIN_TOKEN", admin_token}};

  r.always(reply{.status = 204});
  auto replayed = run_cli({"replay", id}, env);
  EXPECT_EQ(replayed.exit_code, 0) << replayed.err;
  EXPECT_EQ(replayed.out, "replayed delivery " + id + ": queued for one new attempt\n");
  ASSERT_TRUE(r.wait_for_requests(5, 5s));
  EXPECT_EQ(r.requests()[4].headers.at("webhook-id"), r.requests()[0].headers.at("webhook-id"));
  ASSERT_TRUE(eventually([&] { return count("status=succeeded") == 1; }));

  // Refused by the API (here: the endpoint is paused): its reason, exit 1.
  ASSERT_EQ(service_->api("PATCH", "/v1/endpoints/" + ep, R"({"enabled":false})").status, 200);
  auto conflict = run_cli({"replay", id}, env);
  EXPECT_EQ(conflict.exit_code, 1);
  EXPECT_EQ(conflict.err.rfind("dispatcher replay: cannot replay delivery " + id + ": ", 0), 0u)
      << conflict.err;
  EXPECT_NE(conflict.err.find("disabled"), std::string::npos) << conflict.err;

  auto missing = run_cli({"replay", "dlv_doesnotexist"}, env);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err.rfind("dispatcher replay: no delivery dlv_doesnotexist", 0), 0u)
      << missing.err;

  // A misspelt endpoint is an error, not "0 match".
  auto no_endpoint = run_cli({"replay", "--endpoint", "ep_doesnotexist"}, env);
  EXPECT_EQ(no_endpoint.exit_code, 1);
  EXPECT_EQ(no_endpoint.err, "dispatcher replay: endpoint ep_doesnotexist does not exist\n");
  EXPECT_EQ(no_endpoint.out, "");
  auto known = run_cli({"replay", "--endpoint", ep, "--dry-run"}, env);
  EXPECT_EQ(known.exit_code, 0) << known.err;
  EXPECT_EQ(known.out, "dry run: 0 deliveries match; none queued\n");
}

TEST_F(Operator, the_cli_publishes_lines_and_reports_each_rejected_one) {
  start();
  test_receiver r;
  create_endpoint({{"url", r.url()}});
  const std::string input =
      event_json("account.connection.created", consumer_a, connection_1, "active", 1) + "\n" +
      "{not json\n" + R"({"event":"account.connection.created","accountid":"x"})" + "\n\n" +
      event_json("account.connection.updated", consumer_a, connection_1, "inactive", 2) + "\n";
  auto result = run_cli({"publish", "-"}, {{"DISPATCHER_REDIS_URL", redis_.url()}}, input);
  EXPECT_EQ(result.exit_code, 1) << "a rejected line makes the exit code 1";
  EXPECT_NE(result.err.find("line 2: rejected: "), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("line 3: rejected: "), std::string::npos) << result.err;
  EXPECT_NE(result.out.find("2 added, 2 rejected"), std::string::npos) << result.out;
  ASSERT_TRUE(r.wait_for_requests(2, 5s));
  EXPECT_EQ(redis_.cmd({"XLEN", "lifecycle:events:dead"}), "0");

  auto help = run_cli({"help", "replay"}, {});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--dry-run"), std::string::npos);
  EXPECT_EQ(run_cli({"frobnicate"}, {}).exit_code, 2);
}

}  // namespace
}  // namespace dispatcher::testing
