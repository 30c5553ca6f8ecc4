// CONTRACT section 9 end to end, with two dispatcher processes sharing one Redis: ordering
// per connection under failures (and replays that do not hold fresh deliveries back), the
// circuit breaker opening, probing and closing with its pacing, and the auto-disable.
// Faults are injected by the receivers' scripts; waits are on conditions.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <set>

#include "tests/support/harness.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/test_receiver.hpp"

namespace dispatcher::testing {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

const std::string connection_2 = "44444444-4444-4444-8444-444444444444";

std::map<std::string, std::string> env_for(const redis_server& redis, const std::string& consumer,
                                           std::map<std::string, std::string> extra) {
  std::map<std::string, std::string> env{{"DISPATCHER_REDIS_URL", redis.url()},
                                         {"DISPATCHER_CONSUMER", consumer},
                                         {"DISPATCHER_REQUEST_TIMEOUT", "2s"},
                                         {"DISPATCHER_RETRY_SCHEDULE", "300ms,300ms,300ms"},
                                         {"DISPATCHER_POLL_INTERVAL", "20ms"}};
  for (auto& [k, v] : extra) env[k] = v;
  return env;
}

// Tests publish right after creating an endpoint on either instance, without waiting for the
// other's registry poll: ingest refuses an event matched at an older endpoints:version than
// Redis holds ("stale"), and the instance refreshes and matches it again.
struct two_instances {
  two_instances(const redis_server& redis, const std::map<std::string, std::string>& extra)
      : one(env_for(redis, "one", extra)), two(env_for(redis, "two", extra)) {}
  dispatcher_process one;
  dispatcher_process two;
};

json call(std::uint16_t port, const std::string& method, const std::string& target,
          const json& body = nullptr) {
  const auto r = http_request(port, method, target, body.is_null() ? std::string() : body.dump());
  EXPECT_LT(r.status, 300) << method << " " << target << ": " << r.body;
  return r.json();
}

std::string publish(redis_server& redis, const std::string& type, const std::string& connection,
                    const std::string& id, long long created) {
  return redis.cmd({"XADD", "lifecycle:events", "*", "payload",
                    event_json(type, consumer_a, connection, "active", created, id)});
}

// The indexes of the requests carrying `event_id`, in arrival order.
std::vector<std::size_t> arrivals(const std::vector<recorded_request>& reqs,
                                  const std::string& event_id) {
  std::vector<std::size_t> at;
  for (std::size_t i = 0; i < reqs.size(); ++i) {
    if (reqs[i].headers.at("webhook-id") == event_id) at.push_back(i);
  }
  return at;
}

// The receiver fails the first two attempts of "early"; everything else is accepted.
responder fail_early_twice() {
  auto seen = std::make_shared<std::atomic<int>>(0);
  return [seen](const recorded_request& req, std::size_t) {
    if (req.headers.at("webhook-id") == "early" && seen->fetch_add(1) < 2) {
      return reply{.status = 500};
    }
    return reply{.status = 204};
  };
}

TEST(Ordering, a_connections_later_event_waits_for_the_earlier_ones_retries) {
  redis_server redis;
  test_receiver ordered;
  test_receiver unordered;  // the control: today's parallelism
  ordered.set_responder(fail_early_twice());
  unordered.set_responder(fail_early_twice());
  two_instances d(redis, {});
  const auto ep = call(d.one.port(), "POST", "/v1/endpoints",
                       {{"url", ordered.url()}, {"ordering", "connection"}});
  EXPECT_EQ(ep["ordering"], "connection");
  EXPECT_EQ(ep["circuit"], "closed");
  call(d.two.port(), "POST", "/v1/endpoints", {{"url", unordered.url()}});

  // Back to back: which instance reads which entry is up to the group.
  publish(redis, "account.connection.created", connection_1, "early", 1);
  publish(redis, "account.connection.created", connection_2, "other-1", 1);
  publish(redis, "account.connection.updated", connection_1, "late", 2);
  publish(redis, "account.connection.updated", connection_2, "other-2", 2);

  // While "early" is retrying, "late" waits: pending, never attempted.
  ASSERT_TRUE(eventually([&] { return unordered.requests().size() >= 3; }));
  const auto waiting = call(d.one.port(), "GET",
                            "/v1/deliveries?endpoint_id=" + ep["id"].get<std::string>() +
                                "&connectionid=" + connection_1);
  bool saw_late = false;
  for (const auto& item : waiting["data"]) {
    if (item["event_id"] == "late" && arrivals(ordered.requests(), "early").size() < 3) {
      saw_late = true;
      EXPECT_EQ(item["status"], "pending");
      EXPECT_EQ(item["attempt_count"], 0);
    }
  }
  EXPECT_TRUE(saw_late);

  ASSERT_TRUE(eventually([&] { return ordered.requests().size() == 6; }, 15s));
  ASSERT_TRUE(eventually([&] { return unordered.requests().size() == 6; }, 15s));
  const auto reqs = ordered.requests();
  const auto early = arrivals(reqs, "early");
  ASSERT_EQ(early.size(), 3u);
  ASSERT_EQ(arrivals(reqs, "late").size(), 1u);
  EXPECT_GT(arrivals(reqs, "late")[0], early[2]) << "late came before early succeeded";
  // The other connection was not held up by connection 1's retries.
  EXPECT_LT(arrivals(reqs, "other-1")[0], early[2]);
  EXPECT_LT(arrivals(reqs, "other-2")[0], early[2]);
  // Without ordering, late goes while early is still retrying.
  const auto control = unordered.requests();
  EXPECT_LT(arrivals(control, "late")[0], arrivals(control, "early")[2]);

  // An operator's replay of the old delivery does not hold back a fresh one: the replay
  // hangs for 1.5 s at the receiver while the next event of its connection goes.
  ordered.set_responder([](const recorded_request& req, std::size_t) {
    if (req.headers.at("webhook-id") == "early") return reply{.status = 204, .delay = 1500ms};
    return reply{.status = 204};
  });
  std::string early_delivery;
  const auto listed =
      call(d.one.port(), "GET", "/v1/deliveries?endpoint_id=" + ep["id"].get<std::string>());
  for (const auto& item : listed["data"]) {
    if (item["event_id"] == "early") early_delivery = item["id"].get<std::string>();
  }
  ASSERT_FALSE(early_delivery.empty()) << listed.dump();
  EXPECT_EQ(
      http_request(d.two.port(), "POST", "/v1/deliveries/" + early_delivery + "/retry").status,
      202);
  ASSERT_TRUE(eventually([&] { return ordered.requests().size() == 7; }));
  publish(redis, "account.connection.updated", connection_1, "fresh", 3);
  ASSERT_TRUE(eventually([&] { return arrivals(ordered.requests(), "fresh").size() == 1; }));
  const auto after = ordered.requests();
  const auto replayed_at = after[arrivals(after, "early")[3]].received_steady;
  const auto fresh_at = after[arrivals(after, "fresh")[0]].received_steady;
  EXPECT_LT(fresh_at - replayed_at, 1500ms) << "the fresh event waited for the replay";
  EXPECT_EQ(d.one.terminate(), 0);
  EXPECT_EQ(d.two.terminate(), 0);
}

// An earlier event read by an instance but not ingested yet (a fake consumer holds it
// pending, as an instance that stalls or dies after XREADGROUP would) holds back the later
// event of its connection, whichever instance ingests that one; once the service takes the
// entry over (XAUTOCLAIM after 2x the request timeout idle), they go in stream order.
TEST(Ordering, a_later_event_waits_while_an_earlier_one_is_read_but_not_ingested) {
  redis_server redis;
  test_receiver ordered;
  test_receiver unordered;  // the control: not held by the pending entry
  two_instances d(redis, {{"DISPATCHER_REQUEST_TIMEOUT", "1s"}});
  const auto ep = call(d.one.port(), "POST", "/v1/endpoints",
                       {{"url", ordered.url()}, {"ordering", "connection"}});
  call(d.two.port(), "POST", "/v1/endpoints", {{"url", unordered.url()}});
  ASSERT_TRUE(eventually([&] {
    return redis.cmd({"XINFO", "GROUPS", "lifecycle:events"}).find("\ndispatcher\n") !=
           std::string::npos;
  })) << "the group exists";

  // XADD and the fake consumer's read in one script: the instances, blocked on
  // XREADGROUP, are served only after it, so "stalled" reads the entry, not them.
  const auto stalled = redis.cmd(
      {"EVAL",
       "local id = redis.call('XADD', KEYS[1], '*', 'payload', ARGV[1]) "
       "local got = redis.call('XREADGROUP', 'GROUP', ARGV[2], 'stalled', 'COUNT', '1', "
       "'STREAMS', KEYS[1], '>') "
       "return {id, got[1][2][1][1]}",
       "1", "lifecycle:events",
       event_json("account.connection.created", consumer_a, connection_1, "active", 1, "early"),
       "dispatcher"});
  const auto newline = stalled.find('\n');
  ASSERT_NE(newline, std::string::npos) << stalled;
  ASSERT_EQ(stalled.substr(0, newline), stalled.substr(newline + 1)) << "read by the fake consumer";
  publish(redis, "account.connection.updated", connection_1, "late", 2);

  // "late" is ingested (the control receives it) but not attempted while "early" is
  // pending. The entry cannot be taken over before it is 2 s idle (2x 1s): this check
  // ends well before that.
  ASSERT_TRUE(eventually([&] { return arrivals(unordered.requests(), "late").size() == 1; }));
  const auto list_late = [&] {
    json late;
    const auto listed =
        call(d.one.port(), "GET", "/v1/deliveries?endpoint_id=" + ep["id"].get<std::string>());
    for (const auto& item : listed["data"]) {
      if (item["event_id"] == "late") late = item;
    }
    return late;
  };
  ASSERT_TRUE(eventually([&] { return !list_late().is_null(); }));
  std::this_thread::sleep_for(700ms);  // 14 looks by the claim at least
  const auto late = list_late();
  EXPECT_EQ(late["status"], "pending") << late.dump();
  EXPECT_EQ(late["attempt_count"], 0) << late.dump();
  EXPECT_TRUE(ordered.requests().empty()) << "late went while early was pending";
  EXPECT_NE(redis.cmd({"XPENDING", "lifecycle:events", "dispatcher"}).substr(0, 2), "0\n")
      << "early is still pending";

  // An instance takes "early" over and ingests it: it goes first, then "late".
  ASSERT_TRUE(eventually([&] { return ordered.requests().size() == 2; }, 15s));
  const auto reqs = ordered.requests();
  EXPECT_EQ(reqs[0].headers.at("webhook-id"), "early");
  EXPECT_EQ(reqs[1].headers.at("webhook-id"), "late");
  EXPECT_EQ(d.one.terminate(), 0);
  EXPECT_EQ(d.two.terminate(), 0);
}

TEST(Ordering, switching_it_off_lets_the_held_deliveries_go) {
  redis_server redis;
  test_receiver r;
  r.always(reply{.status = 500});
  two_instances d(redis, {{"DISPATCHER_RETRY_SCHEDULE", "5s"}});
  const auto ep =
      call(d.one.port(), "POST", "/v1/endpoints", {{"url", r.url()}, {"ordering", "connection"}});
  const auto id = ep["id"].get<std::string>();
  publish(redis, "account.connection.created", connection_1, "first", 1);
  publish(redis, "account.connection.updated", connection_1, "second", 2);
  ASSERT_TRUE(r.wait_for_requests(1, 10s));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(r.requests().size(), 1u) << "second is held while first is retrying";
  call(d.two.port(), "PATCH", "/v1/endpoints/" + id, {{"ordering", "none"}});
  ASSERT_TRUE(eventually([&] { return arrivals(r.requests(), "second").size() == 1; }, 3s))
      << "second did not go once ordering was switched off";
  EXPECT_EQ(arrivals(r.requests(), "first").size(), 1u) << "first waits for its 5 s retry";
}

// Arrivals within `window` before each request (itself included): at most the endpoint's
// concurrency when each answer takes longer than the window.
std::size_t peak_arrivals(const std::vector<recorded_request>& reqs, std::size_t from,
                          std::chrono::milliseconds window) {
  std::size_t peak = 0;
  for (std::size_t i = from; i < reqs.size(); ++i) {
    std::size_t n = 0;
    for (std::size_t j = from; j <= i; ++j) {
      if (reqs[i].received_steady - reqs[j].received_steady < window) ++n;
    }
    peak = std::max(peak, n);
  }
  return peak;
}

// A metric without labels from /metrics; -1 when absent.
int metric(std::uint16_t port, const std::string& name) {
  const auto body = http_request(port, "GET", "/metrics", {}, {}).body;
  const auto needle = "\n" + name + " ";
  const auto at = body.find(needle);
  return at == std::string::npos ? -1 : std::stoi(body.substr(at + needle.size()));
}
int circuit_gauge(std::uint16_t port) {
  return metric(port, "dispatcher_endpoint_circuit_open");
}
int disabled_counter(std::uint16_t port) {
  return metric(port, "dispatcher_endpoints_disabled_total");
}

TEST(Breaker, opens_probes_once_per_period_and_closes_paced_by_concurrency) {
  redis_server redis;
  test_receiver r;
  auto failing = std::make_shared<std::atomic<bool>>(true);
  r.set_responder([failing](const recorded_request&, std::size_t) {
    if (*failing) return reply{.status = 503};
    return reply{.status = 204, .delay = 300ms};
  });
  two_instances d(redis, {{"DISPATCHER_BREAKER_FAILURES", "3"},
                          {"DISPATCHER_BREAKER_PROBE", "1s"},
                          {"DISPATCHER_ENDPOINT_CONCURRENCY", "2"},
                          {"DISPATCHER_RETRY_SCHEDULE",
                           "100ms,100ms,100ms,100ms,100ms,100ms,"
                           "100ms,100ms,100ms,100ms,100ms,100ms"}});
  const auto id =
      call(d.one.port(), "POST", "/v1/endpoints", {{"url", r.url()}})["id"].get<std::string>();
  constexpr int events = 12;
  for (int i = 0; i < events; ++i) {
    publish(redis, "account.connection.updated", connection_1, "evt-" + std::to_string(i), i);
  }
  ASSERT_TRUE(eventually(
      [&] { return call(d.two.port(), "GET", "/v1/endpoints/" + id)["circuit"] != "closed"; }));
  EXPECT_TRUE(eventually([&] { return circuit_gauge(d.one.port()) == 1; }, 3s));
  // Open: one probe a second, whatever the twelve due deliveries.
  const auto opened = r.requests().size();
  EXPECT_LE(opened, 3u + 2u) << "three failures open it; two may have been in flight";
  std::this_thread::sleep_for(2500ms);
  const auto probes = r.requests().size() - opened;
  EXPECT_GE(probes, 1u);
  EXPECT_LE(probes, 3u) << "more than one probe per second while open";

  *failing = false;
  const auto closing_from = r.requests().size();
  ASSERT_TRUE(eventually(
      [&] {
        return call(d.one.port(), "GET", "/v1/deliveries?status=succeeded&limit=100")["data"]
                   .size() == events;
      },
      15s));
  EXPECT_EQ(call(d.one.port(), "GET", "/v1/endpoints/" + id)["circuit"], "closed");
  EXPECT_TRUE(eventually([&] { return circuit_gauge(d.one.port()) == 0; }, 3s));
  // Paced by DISPATCHER_ENDPOINT_CONCURRENCY (2), across both instances: each answer takes
  // 300 ms, so no 250 ms window holds more than two arrivals.
  EXPECT_LE(peak_arrivals(r.requests(), closing_from, 250ms), 2u);
  // Probes are attempts like any other: every request is some delivery's attempt.
  std::size_t attempts = 0;
  const auto listed = call(d.one.port(), "GET", "/v1/deliveries?endpoint_id=" + id + "&limit=100");
  ASSERT_EQ(listed["data"].size(), static_cast<std::size_t>(events)) << listed.dump();
  for (const auto& item : listed["data"]) {
    attempts += item["attempt_count"].get<std::size_t>();
  }
  EXPECT_EQ(attempts, r.requests().size());
}

TEST(AutoDisable, an_endpoint_failing_for_the_setting_is_disabled_and_recovers_like_after_410) {
  redis_server redis;
  test_receiver r;
  auto failing = std::make_shared<std::atomic<bool>>(true);
  r.set_responder([failing](const recorded_request&, std::size_t) {
    return reply{.status = *failing ? 500 : 204};
  });
  two_instances d(redis, {{"DISPATCHER_DISABLE_AFTER", "1s"},
                          {"DISPATCHER_RETRY_SCHEDULE",
                           "200ms,200ms,200ms,200ms,200ms,200ms,"
                           "200ms,200ms,200ms,200ms"}});
  const auto id = call(d.one.port(), "POST", "/v1/endpoints",
                       {{"url", r.url()}, {"ordering", "connection"}})["id"]
                      .get<std::string>();
  publish(redis, "account.connection.created", connection_1, "first", 1);
  publish(redis, "account.connection.updated", connection_1, "held", 2);
  ASSERT_TRUE(eventually(
      [&] { return !call(d.two.port(), "GET", "/v1/endpoints/" + id)["enabled"]; }, 10s));
  const auto ep = call(d.two.port(), "GET", "/v1/endpoints/" + id);
  const auto reason = ep["disabled_reason"].get<std::string>();
  EXPECT_NE(reason.find("DISPATCHER_DISABLE_AFTER"), std::string::npos) << reason;
  EXPECT_NE(reason.find("every attempt failed since"), std::string::npos) << reason;
  EXPECT_EQ(ep["circuit"], "closed");
  // Counted once, by the instance whose record disabled it.
  EXPECT_EQ(disabled_counter(d.one.port()) + disabled_counter(d.two.port()), 1);
  // What waited, the held delivery included, is failed, as after a 410.
  ASSERT_TRUE(eventually([&] {
    return call(d.one.port(), "GET", "/v1/deliveries?status=failed")["data"].size() == 2;
  }));
  const auto requests_when_disabled = r.requests().size();
  EXPECT_GE(requests_when_disabled, 2u) << "a failure, and one at least 1 s later";
  EXPECT_TRUE(arrivals(r.requests(), "held").empty());
  // Recover answers 409 while disabled; re-enabled, it requeues both.
  EXPECT_EQ(http_request(d.one.port(), "POST", "/v1/endpoints/" + id + "/recover", "{}").status,
            409);
  *failing = false;
  call(d.one.port(), "PATCH", "/v1/endpoints/" + id, {{"enabled", true}});
  const auto recovered =
      call(d.two.port(), "POST", "/v1/endpoints/" + id + "/recover", json::object());
  EXPECT_EQ(recovered["queued"], 2);
  ASSERT_TRUE(eventually([&] {
    return call(d.one.port(), "GET", "/v1/deliveries?status=succeeded")["data"].size() == 2;
  }));
  const auto after = call(d.one.port(), "GET", "/v1/endpoints/" + id);
  EXPECT_EQ(after["enabled"], true);
  EXPECT_TRUE(after["disabled_reason"].is_null());
}

}  // namespace
}  // namespace dispatcher::testing
