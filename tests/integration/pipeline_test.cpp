// End to end: events XADDed to a real Redis stream reach real HTTP receivers through the
// real service, signed, retried and recorded; the admin API shows what happened.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <set>

#include "dispatcher/signing/signature.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/service_test.hpp"
#include "tests/support/test_receiver.hpp"

namespace dispatcher::testing {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

const std::string consumer_b = "22222222-2222-4222-8222-222222222222";
const std::string connection_2 = "44444444-4444-4444-8444-444444444444";

using Pipeline = service_test;

TEST_F(Pipeline, delivers_signed_events_to_matching_endpoints_only) {
  start();
  test_receiver all, created_only, other_consumer;
  auto ep_all = create_endpoint({{"url", all.url("/hooks")}});
  auto ep_created = create_endpoint({{"url", created_only.url()},
                                     {"events", {"account.connection.created"}},
                                     {"signature", "standard"}});
  create_endpoint({{"url", other_consumer.url()}, {"consumers", {consumer_b}}});

  const auto entry =
      publish(event_json("account.connection.created", consumer_a, connection_1, "active", 100));
  publish(event_json("account.connection.updated", consumer_a, connection_1, "inactive", 200,
                     "evt-known-id"));

  ASSERT_TRUE(all.wait_for_requests(2, 10s));
  ASSERT_TRUE(created_only.wait_for_requests(1, 10s));
  ASSERT_TRUE(eventually([&] { return settled(); }));
  EXPECT_EQ(all.requests().size(), 2u);
  EXPECT_EQ(created_only.requests().size(), 1u);
  EXPECT_EQ(other_consumer.requests().size(), 0u);

  // The body is the producer's bytes with only the assigned id inserted, and both
  // signatures verify over exactly those bytes.
  for (const auto& req : all.requests()) {
    const auto body = json::parse(req.body);
    const std::string id = req.headers.at("webhook-id");
    EXPECT_EQ(body["id"], id);
    EXPECT_EQ(req.target, "/hooks");
    EXPECT_EQ(req.headers.at("content-type"), "application/json");
    EXPECT_TRUE(req.headers.at("user-agent").starts_with("dispatcher/"));
    const auto ts = std::stoll(req.headers.at("webhook-timestamp"));
    EXPECT_EQ(req.headers.at("webhook-signature"),
              signing::standard_signature(ep_all["secret"].get<std::string>(), id, ts, req.body));
    EXPECT_EQ(req.headers.at("x-chift-signature"),
              signing::chift_signature(ep_all["secret"].get<std::string>(), req.body));
  }
  const auto first = all.requests()[0].headers.at("webhook-id") == "evt-known-id" ? 1 : 0;
  EXPECT_EQ(all.requests()[first].headers.at("webhook-id"), "evt_" + entry);
  EXPECT_FALSE(created_only.requests()[0].headers.contains("x-chift-signature"));
  // An event leased to two endpoints at once: each request carries the event's whole bytes
  // (the last lease takes them, the others a copy).
  EXPECT_EQ(created_only.requests()[0].headers.at("webhook-id"), "evt_" + entry);
  EXPECT_EQ(created_only.requests()[0].body, all.requests()[first].body);
  EXPECT_EQ(json::parse(created_only.requests()[0].body)["event"], "account.connection.created");

  // History: filters, one delivery with its attempt, the event with its deliveries.
  ASSERT_TRUE(eventually([&] { return deliveries("status=succeeded")["data"].size() == 3; }));
  auto by_endpoint = deliveries("endpoint_id=" + ep_created["id"].get<std::string>());
  ASSERT_EQ(by_endpoint["data"].size(), 1u);
  EXPECT_EQ(by_endpoint["data"][0]["event"], "account.connection.created");
  EXPECT_EQ(deliveries("event=account.connection.updated")["data"].size(), 1u);
  EXPECT_EQ(deliveries("consumerid=" + consumer_b)["data"].size(), 0u);
  EXPECT_EQ(deliveries("connectionid=" + connection_1)["data"].size(), 3u);

  const auto one = delivery(by_endpoint["data"][0]["id"]);
  EXPECT_EQ(one["status"], "succeeded");
  EXPECT_EQ(one["attempt_count"], 1);
  ASSERT_EQ(one["attempts"].size(), 1u);
  EXPECT_EQ(one["attempts"][0]["status_code"], 204);
  EXPECT_TRUE(one["attempts"][0]["error"].is_null());

  const auto event = service_->api("GET", "/v1/events/evt-known-id").json();
  EXPECT_EQ(event["payload"]["status"], "inactive");
  EXPECT_EQ(event["deliveries"].size(), 1u);

  const auto conn = service_->api("GET", "/v1/connections/" + connection_1).json();
  EXPECT_EQ(conn["status"], "inactive");
  EXPECT_EQ(conn["history"].size(), 2u);
  const auto active =
      service_->api("GET", "/v1/consumers/" + consumer_a + "/connections?status=inactive").json();
  EXPECT_EQ(active["data"].size(), 1u);
}

/// RFC 3339 with the milliseconds always written ("...:21Z" is "...:21.000Z"), so that the
/// text orders as the time: the API leaves out a zero fraction, and "21Z" sorts after
/// "21.006Z".
std::string with_millis(std::string t) {
  if (t.find('.') == std::string::npos && t.ends_with('Z')) t.insert(t.size() - 1, ".000");
  return t;
}

TEST_F(Pipeline, list_pages_with_cursor_newest_first) {
  start();
  test_receiver r;
  create_endpoint({{"url", r.url()}});
  for (int i = 0; i < 7; ++i) {
    publish(event_json("account.connection.updated", consumer_a, connection_1, "active", 100 + i));
  }
  ASSERT_TRUE(r.wait_for_requests(7, 10s));
  // The index walk, and a connection's deliveries (read through its history) alike.
  for (const std::string& filter : {std::string(), "&connectionid=" + connection_1}) {
    std::set<std::string> seen;
    std::string cursor;
    std::string last_created = "9999";
    int pages = 0;
    do {
      auto page = deliveries("limit=3" + filter + (cursor.empty() ? "" : "&cursor=" + cursor));
      for (const auto& d : page["data"]) {
        EXPECT_TRUE(seen.insert(d["id"].get<std::string>()).second) << filter;
        const auto created = with_millis(d["created_at"].get<std::string>());
        EXPECT_LE(created, last_created) << "newest first " << filter;
        last_created = created;
      }
      cursor = page["next_cursor"].is_null() ? "" : page["next_cursor"].get<std::string>();
      ++pages;
    } while (!cursor.empty() && pages < 10);
    EXPECT_EQ(seen.size(), 7u) << filter;
    EXPECT_EQ(pages, 3) << filter;
  }
}

/// Every page of `query` (with "limit=..." in it) that `list` answers, following
/// next_cursor: the ids in the order listed, and how many pages it took.
std::pair<std::vector<std::string>, int> all_pages(
    const std::function<json(const std::string&)>& list, const std::string& query) {
  std::vector<std::string> ids;
  std::string cursor;
  int pages = 0;
  do {
    auto page = list(query + (cursor.empty() ? "" : "&cursor=" + cursor));
    for (const auto& d : page["data"]) ids.push_back(d["id"].get<std::string>());
    cursor = page["next_cursor"].is_null() ? "" : page["next_cursor"].get<std::string>();
    ++pages;
  } while (!cursor.empty() && pages < 100);
  return {ids, pages};
}

// All deliveries and a consumer's are indexed once per event (layout 3): the list expands
// an event into its deliveries, and a page that ends inside an event resumes there.
TEST_F(Pipeline, one_events_hundred_deliveries_page_through_ten_at_a_time_each_once) {
  start();
  test_receiver r;
  for (int i = 0; i < 100; ++i) create_endpoint({{"url", r.url("/" + std::to_string(i))}});
  publish(event_json("account.connection.created", consumer_a, connection_1, "active", 100));
  ASSERT_TRUE(r.wait_for_requests(100, 20s));
  ASSERT_TRUE(eventually([&] { return settled(); }));
  const auto list = [&](const std::string& query) { return deliveries(query); };
  for (const std::string& filter :
       {std::string(), "&consumerid=" + consumer_a, std::string("&status=succeeded")}) {
    const auto [ids, pages] = all_pages(list, "limit=10" + filter);
    EXPECT_EQ(pages, 10) << filter;
    ASSERT_EQ(ids.size(), 100u) << filter;
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 100u) << filter;
    // One event: its deliveries by id, descending, as the walk's order says.
    EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end(), std::greater<>())) << filter;
  }
}

TEST_F(Pipeline, consumer_status_and_endpoint_filters_combine_across_fanned_out_events) {
  start();
  test_receiver good, bad;
  bad.always(reply{.status = 500});
  const auto good_id = create_endpoint({{"url", good.url()}})["id"].get<std::string>();
  const auto bad_id = create_endpoint({{"url", bad.url()}})["id"].get<std::string>();
  for (int i = 0; i < 3; ++i) {
    publish(event_json("account.connection.updated", consumer_a, connection_1, "active", 100 + i));
  }
  for (int i = 0; i < 2; ++i) {
    publish(event_json("account.connection.updated", consumer_b, connection_2, "active", 200 + i));
  }
  ASSERT_TRUE(good.wait_for_requests(5, 10s));
  ASSERT_TRUE(bad.wait_for_requests(5, 10s));
  const auto list = [&](const std::string& query) { return deliveries(query); };
  const auto listed = [&](const std::string& query) { return all_pages(list, query).first.size(); };
  // The failing endpoint's deliveries are waited for until they end (failed, after the
  // fixture's four quick attempts): a status they only pass through would change under the
  // listing.
  ASSERT_TRUE(eventually([&] { return listed("limit=500&status=failed") == 5; }));
  // Small pages end inside events (each has a delivery to both endpoints).
  for (const std::string limit : {"limit=1", "limit=2", "limit=500"}) {
    const auto ids = all_pages(list, limit + "&consumerid=" + consumer_a).first;
    EXPECT_EQ(ids.size(), 6u) << limit;
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 6u) << limit;
    const auto succeeded =
        all_pages(list, limit + "&consumerid=" + consumer_a + "&status=succeeded").first;
    ASSERT_EQ(succeeded.size(), 3u) << limit;
    for (const auto& id : succeeded) {
      const auto d = delivery(id);
      EXPECT_EQ(d["endpoint_id"], good_id);
      EXPECT_EQ(d["consumerid"], consumer_a);
      EXPECT_EQ(d["status"], "succeeded");
    }
    EXPECT_EQ(listed(limit + "&consumerid=" + consumer_b + "&status=failed"), 2u) << limit;
    EXPECT_EQ(listed(limit + "&consumerid=" + consumer_b + "&endpoint_id=" + good_id), 2u) << limit;
    EXPECT_EQ(listed(limit + "&consumerid=" + consumer_a + "&endpoint_id=" + bad_id +
                     "&status=succeeded"),
              0u)
        << limit;
    EXPECT_EQ(listed(limit + "&status=succeeded&event=account.connection.updated"), 5u) << limit;
  }
}

TEST_F(Pipeline, receiver_failing_then_recovering_succeeds_on_a_retry) {
  start();
  test_receiver r;
  r.set_responder([](const recorded_request&, std::size_t i) {
    return i < 2 ? reply{.status = 500, .body = "boom"} : reply{.status = 204};
  });
  create_endpoint({{"url", r.url()}});
  publish(event_json("account.connection.created", consumer_a, connection_1, "active", 1));
  ASSERT_TRUE(r.wait_for_requests(3, 10s));
  ASSERT_TRUE(eventually([&] { return deliveries("status=succeeded")["data"].size() == 1; }));
  const auto d = delivery(deliveries("")["data"][0]["id"]);
  EXPECT_EQ(d["attempt_count"], 3);
  ASSERT_EQ(d["attempts"].size(), 3u);
  EXPECT_EQ(d["attempts"][0]["status_code"], 500);
  EXPECT_EQ(d["attempts"][0]["response_excerpt"], "boom");
  EXPECT_EQ(d["attempts"][2]["status_code"], 204);
  // Every attempt carries the same id and the same bytes.
  const auto reqs = r.requests();
  for (const auto& req : reqs) {
    EXPECT_EQ(req.body, reqs[0].body);
    EXPECT_EQ(req.headers.at("webhook-id"), reqs[0].headers.at("webhook-id"));
  }
}

TEST_F(Pipeline, always_failing_receiver_ends_failed_after_the_schedule) {
  start();  // schedule: 3 retries, so 4 attempts
  test_receiver r;
  r.always(reply{.status = 503});
  create_endpoint({{"url", r.url()}});
  publish(event_json("account.connection.created", consumer_a, connection_1, "active", 1));
  ASSERT_TRUE(eventually([&] { return deliveries("status=failed")["data"].size() == 1; }));
  const auto d = delivery(deliveries("")["data"][0]["id"]);
  EXPECT_EQ(d["attempt_count"], 4);
  EXPECT_EQ(d["attempts"].size(), 4u);
  EXPECT_EQ(d["last_status_code"], 503);
  EXPECT_TRUE(d["next_attempt_at"].is_null());
  ASSERT_TRUE(eventually([&] { return settled(); }));
  EXPECT_EQ(r.requests().size(), 4u);
}

TEST_F(Pipeline, gone_disables_the_endpoint_and_fails_the_delivery) {
  start();
  test_receiver r;
  r.always(reply{.status = 410});
  // The service runs in this process: its counters carry what earlier tests counted.
  const auto disabled_total = [&] {
    const auto body = service_->api("GET", "/metrics").body;
    const std::string needle = "\ndispatcher_endpoints_disabled_total ";
    const auto at = body.find(needle);
    return at == std::string::npos ? -1 : std::stoi(body.substr(at + needle.size()));
  };
  const auto disabled_before = disabled_total();
  auto ep = create_endpoint({{"url", r.url()}});
  publish(event_json("account.connection.created", consumer_a, connection_1, "active", 1));
  ASSERT_TRUE(eventually([&] { return deliveries("status=failed")["data"].size() == 1; }));
  const auto got = service_->api("GET", "/v1/endpoints/" + ep["id"].get<std::string>()).json();
  EXPECT_EQ(got["enabled"], false);
  EXPECT_NE(got["disabled_reason"].get<std::string>().find("410"), std::string::npos);
  // Counted when the record's reply is back, a moment after the API shows the change.
  EXPECT_TRUE(eventually([&] { return disabled_total() == disabled_before + 1; }));
  // A disabled endpoint gets no new deliveries. No wait for the registry poll: an event
  // matched at an older endpoints:version than Redis has is refused as stale and rematched.
  publish(event_json("account.connection.updated", consumer_a, connection_1, "inactive", 2));
  ASSERT_TRUE(eventually([&] { return settled(); }));
  EXPECT_EQ(r.requests().size(), 1u);
  EXPECT_EQ(deliveries("")["data"].size(), 1u);
}

// The counter is process-wide and other tests of the process dead-letter too: this test
// counts its own, the increase over the value /metrics showed before it published.
double invalid_total(std::uint16_t port) {
  const auto text = http_request(port, "GET", "/metrics", {}, {}).body;
  const std::string series = "\ndispatcher_events_invalid_total ";
  const auto at = text.find(series);
  return at == std::string::npos ? -1 : std::stod(text.substr(at + series.size()));
}

TEST_F(Pipeline, malformed_entries_go_to_the_dead_letter_stream_and_valid_ones_flow) {
  start();
  const double invalid_before = invalid_total(service_->port());
  ASSERT_GE(invalid_before, 0);
  test_receiver r;
  create_endpoint({{"url", r.url()}});
  publish(event_json("account.connection.created", consumer_a, connection_1, "active", 1));
  redis_.cmd({"XADD", "lifecycle:events", "*", "other", "x"});
  publish("{not json");
  publish(
      R"({"event":"account.connection.created","accountid":"7f9c2c1e-8a3b-4c5d-9e6f-0a1b2c3d4e5f","created":1})");
  publish(event_json("account.connection.updated", consumer_a, connection_1, "inactive", 2));
  ASSERT_TRUE(r.wait_for_requests(2, 10s));
  ASSERT_TRUE(eventually([&] { return redis_.cmd({"XLEN", "lifecycle:events:dead"}) == "3"; }));
  const auto dead = redis_.cmd({"XRANGE", "lifecycle:events:dead", "-", "+"});
  EXPECT_NE(dead.find("no 'payload' field"), std::string::npos) << dead;
  EXPECT_NE(dead.find("not valid JSON"), std::string::npos) << dead;
  EXPECT_NE(dead.find("consumerid"), std::string::npos) << dead;
  EXPECT_NE(dead.find("source_id"), std::string::npos);
  // Everything was acknowledged: nothing stays pending.
  ASSERT_TRUE(eventually([&] {
    return redis_.cmd({"XPENDING", "lifecycle:events", "dispatcher"}).starts_with("0");
  }));
  EXPECT_EQ(invalid_total(service_->port()) - invalid_before, 3);
}

TEST_F(Pipeline, an_event_id_seen_before_is_not_dispatched_again) {
  start();
  test_receiver r;
  create_endpoint({{"url", r.url()}});
  const auto payload =
      event_json("account.connection.created", consumer_a, connection_1, "active", 1, "same-id");
  publish(payload);
  publish(payload);
  ASSERT_TRUE(r.wait_for_requests(1, 10s));
  ASSERT_TRUE(eventually([&] { return settled(); }));
  EXPECT_EQ(r.requests().size(), 1u);
}

TEST_F(Pipeline, an_older_event_arriving_late_does_not_overwrite_the_status) {
  start();
  publish(event_json("account.connection.updated", consumer_a, connection_1, "inactive", 200));
  publish(event_json("account.connection.created", consumer_a, connection_1, "active", 100));
  ASSERT_TRUE(eventually([&] {
    return service_->api("GET", "/v1/connections/" + connection_1).json()["history"].size() == 2;
  }));
  const auto conn = service_->api("GET", "/v1/connections/" + connection_1).json();
  EXPECT_EQ(conn["status"], "inactive");
  EXPECT_EQ(conn["history"][0]["status"], "active");
  EXPECT_EQ(conn["history"][1]["status"], "inactive");
  publish(event_json("account.connection.deleted", consumer_a, connection_1, "", 300));
  ASSERT_TRUE(eventually([&] {
    return service_->api("GET", "/v1/connections/" + connection_1).json()["status"] == "deleted";
  }));
}

TEST_F(Pipeline, a_slow_endpoint_does_not_hold_up_the_others) {
  auto s = test_settings(redis_.url());
  s.endpoint_concurrency = 2;
  start(s);
  test_receiver slow, fast;
  slow.always(reply{.status = 204, .delay = 1500ms});
  create_endpoint({{"url", slow.url()}});
  create_endpoint({{"url", fast.url()}});
  const auto begin = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) {
    publish(event_json("account.connection.updated", consumer_a, connection_1, "active", i));
  }
  ASSERT_TRUE(fast.wait_for_requests(20, 10s));
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 1400ms);
  // The slow one never has more than its two slots in flight.
  EXPECT_LE(slow.requests().size(), 2u);
}

// Reading does not run ahead of delivery (delivery/read_pace): while the only endpoint the
// events go to has no free slot, its backlog waits in the stream, not in its due queue;
// events for another endpoint behind that backlog are still reached, and none is lost.
TEST_F(Pipeline, a_full_endpoints_backlog_waits_in_the_stream_and_others_still_flow) {
  auto s = test_settings(redis_.url());
  s.endpoint_concurrency = 2;
  start(s);
  test_receiver slow, fast;
  slow.always(reply{.status = 204, .delay = 300ms});
  const auto slow_id =
      create_endpoint({{"url", slow.url()}, {"events", {"account.connection.updated"}}})["id"]
          .get<std::string>();
  publish(event_json("account.connection.updated", consumer_a, connection_1, "active", 0));
  ASSERT_TRUE(slow.wait_for_requests(1, 10s));
  const std::string marker = "987654321";
  const auto payload = event_json("account.connection.updated", consumer_a, connection_1, "active",
                                  5, "evt_" + marker);  // ids evt_1 ... evt_100
  const auto at = payload.find(marker);
  redis_.cmd({"EVAL",
              "for i = 1, 100 do redis.call('XADD', KEYS[1], '*', 'payload', ARGV[1] .. i .. "
              "ARGV[2]) end",
              "1", "lifecycle:events", payload.substr(0, at), payload.substr(at + marker.size())});
  // Two rounds of its two slots: time enough to read the whole backlog, had it run ahead.
  ASSERT_TRUE(slow.wait_for_requests(5, 10s));
  const auto due = std::stoul(redis_.cmd({"ZCARD", "{lifecycle:events}:q:due:" + slow_id}));
  EXPECT_LE(due, 4u) << "the reader ran ahead of the slow endpoint";

  // Another endpoint's events behind the slow one's backlog in the stream.
  create_endpoint({{"url", fast.url()}, {"events", {"account.connection.created"}}});
  for (int i = 0; i < 10; ++i) {
    publish(event_json("account.connection.created", consumer_a, connection_1, "active", i));
  }
  ASSERT_TRUE(fast.wait_for_requests(10, 10s));
  EXPECT_LT(slow.requests().size(), 101u) << "the fast one waited for the slow backlog";
  // Every slow delivery was recorded (queued, not lost) once the stream was read past it.
  ASSERT_TRUE(eventually([&] {
    return redis_.cmd({"ZCARD", "{lifecycle:events}:i:ep:" + slow_id}) == "101";
  }));
}

// A slot is free for the reader once its record is sent (delivery/scheduler.cpp:
// async_record): the next ingest call goes out behind that record on the same connection,
// so Redis counts the slot free before the ingest looks. Had the ingest gone first, it
// would find the endpoint full, queue the event and mark the endpoint full for a poll
// interval, and the reader would stop for that long.
TEST_F(Pipeline, a_slot_freed_by_a_record_takes_the_next_event_without_a_poll_wait) {
  auto s = test_settings(redis_.url());
  s.endpoint_concurrency = 1;
  s.poll_interval = 10s;
  start(s);
  test_receiver r;
  create_endpoint({{"url", r.url()}});
  // One event first, so that the reader knows every event goes to this endpoint: a first
  // read with nothing matched yet takes a whole batch, and queues what one slot cannot take.
  publish(event_json("account.connection.updated", consumer_a, connection_1, "active", 0));
  ASSERT_TRUE(r.wait_for_requests(1, 5s));
  for (int i = 1; i < 30; ++i) {
    publish(event_json("account.connection.updated", consumer_a, connection_1, "active", i));
  }
  // One at a time, each a round of its own: a single poll wait would take 10 s.
  EXPECT_TRUE(r.wait_for_requests(30, 5s)) << r.requests().size() << " of 30 in 5 s";
}

// The reader reads ahead of room, so that a slot's cycle holds no read; a graceful stop
// records what it read ahead (queued, since a stopping scheduler leases nothing) rather
// than leaving it pending under this consumer until another instance's XAUTOCLAIM.
TEST_F(Pipeline, a_graceful_stop_records_the_events_read_ahead) {
  auto s = test_settings(redis_.url());
  s.endpoint_concurrency = 2;
  s.request_timeout = 10s;
  s.shutdown_timeout = 200ms;
  start(s);
  test_receiver slow;
  slow.always(reply{.status = 204, .delay = 3s});
  const auto id = create_endpoint({{"url", slow.url()}})["id"].get<std::string>();
  for (int i = 0; i < 2; ++i) {
    publish(event_json("account.connection.updated", consumer_a, connection_1, "active", i));
  }
  ASSERT_TRUE(slow.wait_for_requests(2, 10s));
  // Four at once: a blocked read would wake at the first of four XADDs and take only it.
  const auto payload = event_json("account.connection.updated", consumer_a, connection_1, "active",
                                  2, "evt_987654321");
  const auto at = payload.find("987654321");
  redis_.cmd({"EVAL",
              "for i = 1, 4 do redis.call('XADD', KEYS[1], '*', 'payload', ARGV[1] .. i .. "
              "ARGV[2]) end",
              "1", "lifecycle:events", payload.substr(0, at), payload.substr(at + 9)});
  // Both slots busy: the endpoint's two slots' worth is read ahead and waits.
  ASSERT_TRUE(eventually([&] {
    return redis_.cmd({"XPENDING", "lifecycle:events", "dispatcher"}).starts_with("2\n");
  }));
  service_->stop();
  EXPECT_TRUE(redis_.cmd({"XPENDING", "lifecycle:events", "dispatcher"}).starts_with("0"));
  // The two in flight were handed back and the two read ahead queued; two stay unread.
  EXPECT_EQ(redis_.cmd({"ZCARD", "{lifecycle:events}:q:due:" + id}), "4");
  EXPECT_EQ(redis_.cmd({"ZCARD", "{lifecycle:events}:i:ep:" + id}), "4");
}

TEST_F(Pipeline, rate_limit_is_enforced) {
  start();
  test_receiver r;
  create_endpoint({{"url", r.url()}, {"rate_limit", 10}});
  for (int i = 0; i < 25; ++i) {
    publish(event_json("account.connection.updated", consumer_a, connection_1, "active", i));
  }
  ASSERT_TRUE(r.wait_for_requests(25, 10s)) << r.requests().size();
  const auto reqs = r.requests();
  // A burst of up to one second's worth, then 10/s: 25 deliveries span at least ~1.4 s.
  EXPECT_GE(reqs.back().received_steady - reqs.front().received_steady, 1300ms);
}

TEST_F(Pipeline, admin_api_rejects_bad_requests_with_the_field_named) {
  start();
  EXPECT_EQ(http_request(service_->port(), "GET", "/v1/endpoints", {}, "wrong").status, 401);
  EXPECT_EQ(http_request(service_->port(), "GET", "/v1/endpoints", {}, {}).status, 401);
  auto bad_url = service_->api("POST", "/v1/endpoints", R"({"url":"ftp://x"})");
  EXPECT_EQ(bad_url.status, 422);
  EXPECT_EQ(bad_url.json()["error"]["field"], "url");
  auto bad_filter = service_->api("GET", "/v1/deliveries?status=nope");
  EXPECT_EQ(bad_filter.status, 400);
  EXPECT_EQ(bad_filter.json()["error"]["field"], "status");
  EXPECT_EQ(service_->api("GET", "/v1/deliveries/dlv_missing").status, 404);
  EXPECT_EQ(service_->api("POST", "/v1/endpoints", "{").status, 400);
  EXPECT_EQ(http_request(service_->port(), "GET", "/healthz", {}, {}).status, 200);
  EXPECT_TRUE(eventually(
      [&] { return http_request(service_->port(), "GET", "/readyz", {}, {}).status == 200; }));
}

TEST_F(Pipeline, events_published_through_the_api_are_delivered) {
  start();
  test_receiver r;
  create_endpoint({{"url", r.url()}});
  auto posted = service_->api(
      "POST", "/v1/events",
      event_json("account.connection.created", consumer_a, connection_1, "active", 5));
  ASSERT_EQ(posted.status, 202) << posted.body;
  ASSERT_TRUE(r.wait_for_requests(1, 10s));
  EXPECT_EQ(r.requests()[0].headers.at("webhook-id"), posted.json()["id"]);
  auto bad = service_->api("POST", "/v1/events", R"({"event":"x"})");
  EXPECT_EQ(bad.status, 422);
}

TEST_F(Pipeline, an_event_id_posted_again_is_answered_as_a_duplicate_and_not_published) {
  start();
  test_receiver r;
  create_endpoint({{"url", r.url()}});
  const auto event =
      event_json("account.connection.created", consumer_a, connection_1, "active", 5, "order-7");
  auto first = service_->api("POST", "/v1/events", event);
  ASSERT_EQ(first.status, 202) << first.body;
  EXPECT_FALSE(first.json().contains("duplicate")) << first.body;
  ASSERT_TRUE(r.wait_for_requests(1, 10s));  // accepted: its record exists

  auto again = service_->api("POST", "/v1/events", event);
  ASSERT_EQ(again.status, 202) << again.body;
  EXPECT_EQ(again.json()["id"], "order-7");
  EXPECT_EQ(again.json()["duplicate"], true);
  EXPECT_EQ(redis_.cmd({"XLEN", "lifecycle:events"}), "1") << "published only once";
}

TEST_F(Pipeline, survives_a_redis_restart_and_recreates_the_group) {
  start();
  test_receiver r;
  create_endpoint({{"url", r.url()}});
  publish(event_json("account.connection.created", consumer_a, connection_1, "active", 1));
  ASSERT_TRUE(r.wait_for_requests(1, 10s));
  redis_.kill_and_restart();  // no persistence: stream, group and endpoints are gone
  ASSERT_TRUE(eventually([&] {
    return service_->api("POST", "/v1/endpoints", json{{"url", r.url()}}.dump()).status == 201;
  }));
  ASSERT_TRUE(eventually(
      [&] { return http_request(service_->port(), "GET", "/readyz", {}, {}).status == 200; }, 15s));
  publish(event_json("account.connection.updated", consumer_a, connection_1, "inactive", 2));
  EXPECT_TRUE(r.wait_for_requests(2, 15s));
}

// Child processes of the real binary.
std::map<std::string, std::string> process_env(const redis_server& redis,
                                               const std::string& consumer) {
  return {{"DISPATCHER_REDIS_URL", redis.url()},
          {"DISPATCHER_CONSUMER", consumer},
          {"DISPATCHER_REQUEST_TIMEOUT", "1s"},
          {"DISPATCHER_RETRY_SCHEDULE", "100ms,100ms"},
          {"DISPATCHER_POLL_INTERVAL", "20ms"}};
}

std::set<std::string> webhook_ids(const test_receiver& r) {
  std::set<std::string> ids;
  for (const auto& req : r.requests()) ids.insert(req.headers.at("webhook-id"));
  return ids;
}

TEST(PipelineProcess, kill_nine_mid_stream_loses_nothing) {
  redis_server redis;
  test_receiver r;
  // Slow enough that 300 deliveries take seconds, so the kill lands mid-stream.
  r.always(reply{.status = 204, .delay = 20ms});
  constexpr int events = 300;
  {
    dispatcher_process first(process_env(redis, "first"));
    ASSERT_EQ(
        http_request(first.port(), "POST", "/v1/endpoints", json{{"url", r.url()}}.dump()).status,
        201);
    for (int i = 0; i < events; ++i) {
      redis.cmd({"XADD", "lifecycle:events", "*", "payload",
                 event_json("account.connection.updated", consumer_a, connection_1, "active", i)});
    }
    ASSERT_TRUE(r.wait_for_requests(30, 10s));
    first.kill9();
  }
  const auto before = webhook_ids(r).size();
  EXPECT_LT(before, static_cast<std::size_t>(events));
  // A new instance (another consumer name) claims what the dead one left pending and
  // reruns deliveries whose lease expired.
  dispatcher_process second(process_env(redis, "second"));
  EXPECT_TRUE(eventually([&] { return webhook_ids(r).size() == events; }, 40s))
      << "delivered " << webhook_ids(r).size() << " of " << events;
}

TEST(PipelineProcess, two_instances_share_the_group_and_deliver_each_event) {
  redis_server redis;
  test_receiver r;
  r.always(reply{.status = 204, .delay = 2ms});
  dispatcher_process one(process_env(redis, "one"));
  dispatcher_process two(process_env(redis, "two"));
  ASSERT_EQ(http_request(one.port(), "POST", "/v1/endpoints", json{{"url", r.url()}}.dump()).status,
            201);  // instance two matches at a stale version, refreshes and matches again
  constexpr int events = 200;
  for (int i = 0; i < events; ++i) {
    redis.cmd({"XADD", "lifecycle:events", "*", "payload",
               event_json("account.connection.updated", consumer_a, connection_1, "active", i)});
    // Pauses, so that each instance's XREADGROUP finds entries, not one taking the burst.
    if (i % 20 == 0) std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(eventually([&] { return webhook_ids(r).size() == events; }, 30s));
  ASSERT_TRUE(eventually([&] { return settled(redis, one.port()); }));
  EXPECT_EQ(r.requests().size(), static_cast<std::size_t>(events)) << "no event delivered twice";
  auto received = [](std::uint16_t port) {
    const auto body = http_request(port, "GET", "/metrics", {}, {}).body;
    const std::string needle = "\ndispatcher_events_received_total ";
    const auto at = body.find(needle);
    return at == std::string::npos ? 0 : std::stoi(body.substr(at + needle.size()));
  };
  EXPECT_GT(received(one.port()), 0);
  EXPECT_GT(received(two.port()), 0);
  EXPECT_EQ(received(one.port()) + received(two.port()), events);
  EXPECT_EQ(one.terminate(), 0);
  EXPECT_EQ(two.terminate(), 0);
}

// The service refuses, with a message naming the layouts, to start on a Redis that holds
// data it would misread; on an empty one it records its own layout version.
TEST(Layout, the_service_refuses_a_redis_of_another_layout) {
  redis_server redis;
  auto env = process_env(redis, "layout");
  env["DISPATCHER_ADMIN_TOKEN"] = admin_token;
  env["DISPATCHER_LISTEN"] = "127.0.0.1:0";
  redis.cmd({"SET", "endpoints:version", "4"});  // what the first layout left behind
  auto first = run_cli({"serve"}, env);
  EXPECT_EQ(first.exit_code, 2) << first.out << first.err;
  EXPECT_NE((first.out + first.err).find("layout 1"), std::string::npos) << first.out << first.err;

  redis.cmd({"DEL", "endpoints:version"});
  // Layout 2 indexed every delivery where layout 3 indexes events: its lists would miss;
  // layout 3 kept payloads in p: fields, which layout 4 would not find.
  for (const char* other : {"2", "3", "5"}) {
    redis.cmd({"SET", "{lifecycle:events}:layout", other});
    auto refused = run_cli({"serve"}, env);
    EXPECT_EQ(refused.exit_code, 2) << refused.out << refused.err;
    EXPECT_NE((refused.out + refused.err).find(std::string("layout ") + other), std::string::npos)
        << refused.out << refused.err;
    EXPECT_EQ(redis.cmd({"GET", "{lifecycle:events}:layout"}), other) << "left as it was";
  }

  redis.cmd({"DEL", "{lifecycle:events}:layout"});
  dispatcher_process fresh(env);
  EXPECT_TRUE(eventually([&] { return redis.cmd({"GET", "{lifecycle:events}:layout"}) == "4"; }));
}

}  // namespace
}  // namespace dispatcher::testing
